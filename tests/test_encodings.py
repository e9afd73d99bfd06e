"""Outputs that cannot hold `∂ · → ²` or box drawing (issue 18): a Windows console or `> file` in
cp1252, `LC_ALL=C` in ASCII. Every command writes each character its stream cannot encode as ASCII
(`dL/db`, `*`, `->`, `^2`, `+--+`) and exits as it would on UTF-8, never 70 halfway through a file;
JSON stays strict (non-ASCII escaped); the caret stays under its place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backprop.cli.render.encoding import ascii_stand_in, can_hold, fitted

ROOT = Path(__file__).resolve().parent.parent
ENCODINGS = ["cp1252", "ascii"]
LECTURE = ["(a + b)*b^3", "--a", "7", "--b", "3"]


def run_in(encoding: str, *args: str, columns: int = 100) -> tuple[int, str, str]:
    """backprop as a process whose standard output and error are in `encoding` (as a file there
    would be); returns (exit code, stdout, stderr) decoded strictly from that encoding."""
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "PYTHONUTF8")}
    env.update(
        PYTHONIOENCODING=encoding, PYTHONPATH=str(ROOT), COLUMNS=str(columns), NO_COLOR="1", TERM="dumb"
    )
    done = subprocess.run(
        [sys.executable, "-m", "backprop", *args], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    return done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_eval_falls_back_to_ascii_and_finishes(encoding):
    code, out, err = run_in(encoding, "eval", *LECTURE, "--check")
    assert code == 0 and err == "" and "internal error" not in out
    assert "+----" in out and "| id | name | op" in out  # plain borders
    assert "de/dinput" in out and "gradient check passed" in out
    rows = {line.split("|")[2].strip(): line for line in out.splitlines() if line.count("|") >= 7}
    assert rows["b"].split("|")[6].strip() == "297"
    assert rows["3"].split("|")[6].strip() in ("—", "-")  # a constant's gradient (cp1252 holds —)
    assert len({len(line) for line in out.splitlines() if line.startswith(("|", "+"))}) <= 3  # aligned


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_trace_falls_back_to_ascii(encoding):
    code, out, _ = run_in(encoding, "trace", *LECTURE)
    assert code == 0
    assert "from dL/dL = 1" in out or "from de/de = 1" in out
    times = "·" if encoding == "cp1252" else "*"  # cp1252 holds · (and ²), not ∂ or →
    assert f"b.grad += c.grad {times} 1 = 27 {times} 1 = 27 -> b.grad = 270 + 27 = 297" in out
    assert "de/db = 297" in out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_paths_and_the_tree_fall_back_to_ascii(encoding):
    code, out, _ = run_in(encoding, "paths", "a*b*b", "--a", "2", "--b", "3", "--wrt", "b")
    assert code == 0 and "b -> c -> d" in out and "dd/db by backprop: 12" in out
    code, out, _ = run_in(encoding, "graph", "a*b*b", "--a", "2", "--b", "3", "--format", "tree")
    assert code == 0 and "Input a" in out and "\\u" not in out  # every drawing character has a stand-in


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_minimize_and_its_curve_fall_back_to_ascii(encoding):
    code, out, _ = run_in(encoding, "minimize", "(w - 3)**2", "--w", "0", "--steps", "20", "--wrt", "w")
    assert code == 0 and "loss 9 -> " in out and "\\u" not in out
    assert any(set(line.split("|", 1)[-1].strip()) <= set(".:' ") for line in out.splitlines() if "|" in line)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_error_keeps_its_caret_under_its_place(encoding):
    code, _, err = run_in(encoding, "eval", "L = … + x", "--x", "1")
    assert code == 2 and "Traceback" not in err and "internal" not in err
    line = next(text for text in err.splitlines() if text.startswith("1 | "))
    caret = next(text for text in err.splitlines() if text.strip().endswith("^") and "|" in text)
    start = caret.index("^")
    width = caret.count("^")
    shown = line[start : start + width]
    assert shown in ("…", "...")  # the carets cover the character, however it is written


def test_warnings_on_stderr_in_ascii():
    code, _, err = run_in("ascii", "eval", "relu(a) * b", "--a", "0", "--b", "3")
    assert code == 0 and "relu' is 0 from the left" in err


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_stays_strict_and_whole(encoding):
    code, out, _ = run_in(encoding, "eval", *LECTURE, "--json")
    assert code == 0 and json.loads(out)["gradients"] == {"a": 27.0, "b": 297.0}
    code, out, _ = run_in(encoding, "eval", "L = … + x", "--x", "1", "--json")
    assert code == 2 and json.loads(out)["error"]["message"] == "unexpected character '…'"


def test_stand_ins():
    assert ascii_stand_in("∂L/∂a = 2 · 3 → b²") == "dL/da = 2 * 3 -> b^2"
    assert ascii_stand_in("x⁻¹ · W₁₂ ≈ 3 ✓ ⋮") == "x^-1 * W_12 ~ 3 ok :"
    assert ascii_stand_in("├── └─┐│") == "|-- +-+|"
    assert ascii_stand_in("α") == "\\u03b1"  # no stand-in: the escape, never a crash
    assert ascii_stand_in("⠉⣀⡇⠀") == "'.: "


def test_only_what_the_encoding_cannot_hold_is_replaced():
    assert can_hold("utf-8") and not can_hold("cp1252") and not can_hold("ascii")
    assert fitted("∂L · x²", "cp1252") == "dL · x²"  # cp1252 holds · and ²
    assert fitted("∂L · x²", "ascii") == "dL * x^2"
    assert fitted("∂L · x²", "utf-8") == "∂L · x²"


def test_a_shortened_table_stays_aligned_in_ascii():
    program = "L = (a*x - y)**2 / 1000 + sin(a*b) * cos(x) - exp(-y*y)"
    code, out, _ = run_in(
        "ascii", "eval", program, "--a", "1.2", "--b", "0.5", "--x", "3", "--y", "2.7", columns=70
    )
    nodes = out.split("gradients of")[0]
    table = [line for line in nodes.splitlines() if line.startswith(("|", "+"))]
    assert code == 0 and "..." in nodes and len(table) == 19 + 4  # a line a node, borders, header
    assert len({len(line) for line in table}) == 1  # every line as wide: the cuts counted as printed
    assert all(len(line) <= 70 for line in out.splitlines())
