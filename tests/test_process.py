"""The installed command as a real process: the console script, `python -m backprop`, raw bytes on
stdin, hostile numbers, no Python warnings on stderr, and no NumPy at start-up for a scalar program.
The same checks as the in-process fuzzers (fuzzing.py): exit 0, 1 or 2, no traceback, strict JSON."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from checks import strict_json, tally
from fuzzing import COMMON_VALUES, FLAGS, anything, assert_json_outcome, backprop_command, run_process
from hypothesis import given
from hypothesis import strategies as st
from profiles import examples


def test_the_console_script_is_installed_beside_python():
    """`pip install .` puts `backprop` in the environment's bin/, which every test here runs."""
    script = Path(sys.executable).with_name("backprop")
    assert script.exists(), script
    assert backprop_command() == [str(script)]


def test_eval_and_trace_in_a_real_process():
    code, stdout, _ = run_process("eval", "(a + b)*b^3", "--a", "7", "--b", "3", "--json")
    assert code == 0 and strict_json(stdout)["gradients"]["b"] == 297.0
    code, stdout, _ = run_process("trace", "(a + b) * b**3", "--a", "7", "--b", "3", "--json")
    last = strict_json(stdout)["backward"][-1]["text"]
    assert code == 0 and last == "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297"


def test_python_dash_m_backprop_shows_the_caret():
    done = subprocess.run(
        [sys.executable, "-m", "backprop", "eval", "a +", "--a", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "^" in done.stderr


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_no_python_warnings_reach_stderr(json_flag):
    """sum([x]) at 1e308 is finite; NumPy's "overflow encountered in add" is the engine's business."""
    code, _, _ = run_process("eval", "sum([x]) + x*0", "--x", "1e308", *json_flag)
    assert code == 0


PROCESS_STDIN = [
    b"(a + b) * c",
    b"\xff\xfe(a+b)",  # not UTF-8
    b"\xef\xbb\xbfa * 2",  # a UTF-8 byte-order mark
    b"a\x00b",
    b"",
    b"a +",
    b"\n".join(b"v%d = a * %d" % (i, i) for i in range(200)) + b"\nv199",
    "a * \u0663".encode(),  # an Arabic-Indic digit three: \d matches it, float() reads it
]


@pytest.mark.parametrize("stdin", PROCESS_STDIN, ids=[repr(raw[:20]) for raw in PROCESS_STDIN])
def test_real_process_on_stdin(stdin):
    code, stdout, stderr = run_process("eval", "-", "--json", "--a", "7", "--b", "3", "--c", "2", stdin=stdin)
    assert_json_outcome(code, stdout)
    if code == 2:
        assert stderr.startswith("error: ")


@examples(5, long=1000)
@given(st.binary(max_size=200) | anything.map(str.encode), FLAGS)
def test_real_process_on_random_stdin(raw, flags):
    """A handful of processes, a thousand in the long run (about 0.15 s a process): stdin, --json, flags."""
    code, stdout, _ = run_process("eval", "-", "--json", *flags, *COMMON_VALUES, stdin=raw)
    assert_json_outcome(code, stdout)
    tally(f"real process: exit {code}")


def test_hostile_numbers_through_a_real_process():
    for program, values in [("10**10**10", []), ("1" + "0" * 400, []), ("a*2", ["--a", "nan"])]:
        code, stdout, stderr = run_process("eval", "--json", *values, "--", program, timeout=30)
        assert code == 2 and strict_json(stdout)["error"]["type"] in ("domain", "input")


def test_numpy_is_a_declared_dependency():
    """Tensors run on NumPy: a fresh `pip install .` must bring it, or `sum([x])` is a traceback."""
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    assert dependencies and "numpy" in dependencies.group(1)


def imports_numpy(*args: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "backprop", "eval", *args, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return any(line.rstrip().endswith("| numpy") for line in result.stderr.splitlines())


def test_scalar_runs_do_not_import_numpy():
    assert not imports_numpy("a*2", "--a", "1")
    assert not imports_numpy("(a + b)*b^3", "--a", "7", "--b", "3", "--check")
    assert imports_numpy("sum(a*2)", "--a", "[1]")  # the probe does see NumPy when it is loaded
