"""Deep and large input through the command and the parser: bounded time, linear parsing, value files
of tens of megabytes. The largest are slow suites (-m slow), part of the long run (profiles.py)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
from fuzzing import cli_json, vars_file

from backprop import parse

# ------------------------------------------------------------------------------------------------
# Value files of tens of megabytes
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_vars_file_of_20_megabytes_of_values(tmp_path):
    """A million unused values beside the one needed: it finishes in seconds, with the right answer."""
    values = {f"k{i}": i * 0.5 for i in range(1_000_000)} | {"a": 1.5}
    where = vars_file(tmp_path, json.dumps(values))
    assert Path(where).stat().st_size > 20e6
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=60)
    assert code == 0 and document["value"] == 3.0
    assert time.perf_counter() - started < 20


def test_vars_file_of_20_megabytes_of_padding(tmp_path):
    """20 MB that json.loads must read through (the fast slice's big file)."""
    where = vars_file(tmp_path, '{"a": 1.5, "note": 0' + " " * 20_000_000 + "}")
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=30)
    assert code == 0 and document["value"] == 3.0
    assert time.perf_counter() - started < 10


@pytest.mark.slow
def test_vars_file_with_a_20_megabyte_vector(tmp_path):
    """A vector of 4 million elements: a result (or a clean limit error), within seconds."""
    where = vars_file(tmp_path, json.dumps({"a": [0.5] * 4_000_000}))
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "sum(a * 2)", "--json", "--vars", where, seconds=120)
    if code == 0:
        assert document["value"] == 4e6
    else:
        assert document["error"]["type"] == "limit"
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_vars_file_of_100_megabytes(tmp_path):
    """12 million numbers the program never uses beside the one it does: read in seconds (about 3 s
    and 0.7 GB here), the right answer, and a warning about the unused value."""
    where = vars_file(tmp_path, '{"a": 1.5, "pad": ' + json.dumps(list(range(12_000_000))) + "}")
    assert Path(where).stat().st_size > 100e6
    started = time.perf_counter()
    code, document, stderr = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=120)
    assert code == 0 and document["value"] == 3.0
    assert "pad is given a value but the program never uses it" in stderr
    assert time.perf_counter() - started < 60


# ------------------------------------------------------------------------------------------------
# Deep and long programs: bounded time, linear parsing
# ------------------------------------------------------------------------------------------------


def test_hundred_thousand_deep_parentheses_through_the_command():
    depth = 100_000
    started = time.perf_counter()
    code, document, _ = cli_json(
        "eval", "--json", "--x", "0.5", "--", "(" * depth + "x" + ")" * depth, seconds=60
    )
    assert time.perf_counter() - started < 30
    if code == 0:
        assert document["value"] == 0.5 and document["gradients"] == {"x": 1.0}
    else:
        assert document["error"]["type"] in ("limit", "syntax")


def test_hundred_thousand_unclosed_parentheses_is_a_syntax_error():
    code, document, _ = cli_json("eval", "--json", "--x", "0.5", "--", "(" * 100_000 + "x", seconds=60)
    assert code == 2 and document["error"]["type"] == "syntax"


STATEMENT = "u{i} = sin(x) * {i}.5 + max(y, u{j}) / (1 + x**2)  # a comment\n"


def generated_program(size: int) -> str:
    """About `size` characters of statements, each using the one before: u1 = … u0 …; the last is the output."""
    lines, total, i = ["u0 = x\n"], 7, 1
    while total < size:
        line = STATEMENT.format(i=i, j=i - 1)
        lines.append(line)
        total += len(line)
        i += 1
    lines.append(f"u{i - 1} * 2\n")
    return "".join(lines)


def parse_seconds(text: str, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("size", [100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_parsing_time_is_linear(size):
    """Ten times the text in at most twenty times the time: 100 kB to 1 MB, and 1 MB to 10 MB (slow)."""
    small_seconds = parse_seconds(generated_program(size), 3)
    large_seconds = parse_seconds(generated_program(10 * size), 1)
    ratio = large_seconds / small_seconds
    print(
        f"\n[parse] {size:,} characters in {small_seconds:.2f} s, ten times as many in {large_seconds:.2f} s"
    )
    assert ratio < 20, f"10× the text took {ratio:.1f}× the time"
