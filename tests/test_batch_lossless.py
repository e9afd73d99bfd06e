"""`batch` loses nothing and is bounded: every input line gives one output line with its own number,
a line past the limit is an error in its place (read in linear time, never held whole), the points
are read as `eval` reads values, a batch answers exactly what `eval` answers, and Ctrl-C stops after
whole lines. Issue 13, "Bounded by design"."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from checks import strict_json

from backprop import BackpropError, evaluate, parse
from backprop.cli.files import LONG_LINE, bounded_lines
from backprop.graph.batch import evaluate_batch

ROOT = Path(__file__).resolve().parent.parent


def lines_of(out: str) -> list[dict]:
    return [strict_json(line) for line in out.splitlines()]


def backprop(*args: str, stdin=subprocess.PIPE, close_stdin: bool = False, memory: int | None = None):
    """`python -m backprop ARGS` from this checkout, as a Popen; optionally with standard input
    closed (`<&-`) or its address space capped (RLIMIT_AS, bytes)."""

    def child() -> None:
        if close_stdin:
            os.close(0)
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.Popen(
        [sys.executable, "-m", "backprop", *args],
        cwd=ROOT,
        stdin=None if close_stdin else stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=child,
    )


# ------------------------------------------------------------------------------------------------
# Nothing lost: one line out per line in, with its own number
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_invalid_utf8_byte_is_one_error_in_its_place(run, tmp_path, kind):
    """Found on a .csv of 20,011 lines with one bad byte: ~1,579 lines dropped, wrong numbers."""
    if kind == "csv":
        lines = [b"a,b"] + [f"{k},{k % 7}".encode() for k in range(20_010)]
    else:
        lines = [json.dumps({"a": k, "b": k % 7}).encode() for k in range(20_011)]
    lines[4_999] += b"\xff"
    path = tmp_path / f"points.{kind}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run("batch", "a * b", "--points", str(path))
    results = lines_of(out)
    first = 2 if kind == "csv" else 1
    assert [r["line"] for r in results] == list(range(first, 20_012))
    bad = [r for r in results if "error" in r]
    assert [r["line"] for r in bad] == [5_000] and bad[0]["error"]["type"] == "input"
    assert "UTF-8" in bad[0]["error"]["message"]
    assert code == 2 and f"1 of {20_011 - first + 1} points failed" in err


def test_blank_csv_lines_are_skipped_and_the_numbers_stay_true(run, tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\r\n\r\n1,2\n , \n\n3,4\n")  # a BOM, as spreadsheets write one
    code, out, _ = run("batch", "a * b", "--points", str(path))
    assert code == 0 and [(r["line"], r["value"]) for r in lines_of(out)] == [(3, 2.0), (6, 12.0)]


def test_a_bom_before_the_first_json_line_is_not_an_error(run):
    code, out, _ = run("batch", "a * 2", input="\ufeff" + '{"a": 1}\n{"a": 2}\n')
    assert code == 0 and [r["value"] for r in lines_of(out)] == [2.0, 4.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "line 1: 'a' is given twice"),
        ('{"a": " 1_000 "}', "line 1: the value of a is not a number: ' 1_000 '"),
        ('{"a": "١٢"}', "the value of a is not a number"),  # float() reads other scripts' digits
        (
            '{"a": 1' + "0" * 1_000_000 + "}",
            "line 1: an integer of 1,000,001 digits is too large for a float64",
        ),
    ],
)
def test_points_are_read_as_eval_reads_values(run, text, message):
    code, out, _ = run("batch", "a * 2", input=text + '\n{"a": 1}\n')
    first, second = lines_of(out)
    assert first["error"]["type"] == "input" and message in first["error"]["message"]
    assert second["value"] == 2.0 and code == 2


def test_a_csv_header_naming_an_input_twice_is_an_error(run, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b,a\n1,2,3\n")
    code, out, err = run("batch", "a * b", "--points", str(path))
    assert code == 2 and "the CSV header names 'a' twice (columns 1 and 3)" in err
    assert [r["error"]["type"] for r in lines_of(out)] == ["input"]


def test_a_csv_field_of_a_million_digits_is_an_error_in_our_words(run, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a\n1" + "0" * 1_000_000 + "\n2\n")
    code, out, _ = run("batch", "a", "--points", str(path))
    first, second = lines_of(out)
    assert first["error"]["message"] == "line 2: a field is longer than 131,072 characters"
    assert second == {"line": 3, "value": 2.0, "gradients": {"a": 1.0}} and code == 2


def test_unknown_names_are_carried_however_many(run):
    wide = json.dumps({"a": 1, **{f"k{i}": 0 for i in range(20_000)}})
    code, out, err = run("batch", "a", input=wide + '\n{"a": 2, "z": 0}\n')
    first, second = lines_of(out)
    assert code == 0 and err == "" and len(first["carried"]) == 20_000 and second["carried"] == {"z": 0}


# ------------------------------------------------------------------------------------------------
# Long lines: a limit error in its place, linear time, never held whole
# ------------------------------------------------------------------------------------------------


def test_a_line_past_the_limit_is_a_limit_error_and_the_rest_go_on(run, tmp_path):
    path = tmp_path / "points.jsonl"
    path.write_text('{"a": 1}\n{"a": 2, "pad": "' + "x" * 500 + '"}\n{"a": 3}\n')
    code, out, _ = run("batch", "a * 2", "--points", str(path), "--max-line-bytes", "100")
    results = lines_of(out)
    assert [r["line"] for r in results] == [1, 2, 3] and results[2]["value"] == 6.0
    error = results[1]["error"]
    assert error["type"] == "limit" and error["message"] == "line 2 is longer than the limit of 100 bytes"
    assert "--max-line-bytes (now 100)" in error["hint"] and code == 2


class _Endless(io.RawIOBase):
    """`size` bytes of `x` with no newline, made as they are read (a stream that never ends a line)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b"x" * count
        self.left -= count
        return count


def test_a_stream_without_newlines_is_never_held_whole():
    import tracemalloc

    tracemalloc.start()
    lines = [
        line for line in bounded_lines(io.BufferedReader(_Endless(64 * 2**20)), 2**20) if line is not None
    ]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines == [LONG_LINE] and peak < 4 * 2**20  # 64 MB read, 1 MiB limit: at most ~2 MiB held


def test_a_long_line_is_read_in_linear_time():
    """A 48 MB line took 186 s / (100/48)² ≈ 43 s when every read copied the line so far."""
    stream = io.BufferedReader(io.BytesIO(b'{"pad": "' + b"x" * 48_000_000 + b'"}\n{"a": 1}\n'))
    started = time.perf_counter()
    lines = [len(line) for line in bounded_lines(stream, 2**30) if line is not None]
    assert lines == [48_000_011, 8] and time.perf_counter() - started < 3


def test_an_endless_line_on_stdin_is_an_error_in_bounded_memory():
    """200 MB without a newline, under a 400 MB address space: a limit error for line 1, exit 2."""
    process = backprop("batch", "a", "--max-line-bytes", "1000000", memory=400 * 2**20)
    chunk = b"x" * 2**20
    try:
        for _ in range(199):
            process.stdin.write(chunk)
        out, err = process.communicate(chunk, timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, err
    (line,) = lines_of(out.decode())
    assert line["line"] == 1 and line["error"]["type"] == "limit"


# ------------------------------------------------------------------------------------------------
# .npy points and standard input: clean errors, never exit 70
# ------------------------------------------------------------------------------------------------


def _npy_cases(folder: Path) -> dict[str, Path]:
    arrays = {
        "subarray": np.zeros(2, dtype=[("a", "f8", (2,)), ("b", "f8")]),
        "string": np.array([("x", 1.0)], dtype=[("a", "U3"), ("b", "f8")]),
        "datetime": np.array([(np.datetime64("2020-01-01"), 1.0)], dtype=[("a", "M8[D]"), ("b", "f8")]),
        "nested": np.zeros(2, dtype=[("a", [("x", "f8")]), ("b", "f8")]),
        "complex": np.array([(1 + 2j, 1.0)], dtype=[("a", "c16"), ("b", "f8")]),
        "boolean": np.array([(True, 1.0)], dtype=[("a", "?"), ("b", "f8")]),
    }
    paths = {}
    for name, array in arrays.items():
        paths[name] = folder / f"{name}.npy"
        np.save(paths[name], array)
    np.savez(folder / "archive.npz", a=np.zeros(3))
    paths["npz renamed"] = (folder / "archive.npz").rename(folder / "archive.npy")
    return paths


@pytest.mark.parametrize(
    "case", ["subarray", "string", "datetime", "nested", "complex", "boolean", "npz renamed"]
)
def test_npy_points_that_are_not_numbers_are_input_errors(run, tmp_path, case):
    code, out, err = run("batch", "a * b", "--points", str(_npy_cases(tmp_path)[case]))
    assert code == 2 and err.startswith("error: cannot read --points") and "Warning" not in err
    assert [r["error"]["type"] for r in lines_of(out)] == ["input"]


@pytest.mark.parametrize("args", [["batch", "a * 2"], ["eval", "-", "--a", "1"]])
def test_closed_standard_input_is_an_input_error(args):
    process = backprop(*args, close_stdin=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and b"standard input is closed" in err, err
    if args[0] == "batch":
        assert [r["error"]["type"] for r in lines_of(out.decode())] == ["input"]


# ------------------------------------------------------------------------------------------------
# A batch answers exactly what eval answers
# ------------------------------------------------------------------------------------------------

UNARY = ["exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "sigmoid", "relu", "abs"]
UNARY += ["ln", "log2", "log10", "sinh", "cosh", "asin", "acos", "atan", "softplus", "leaky_relu"]
BINARY = ["+", "-", "*", "/", "**", "max", "min", "pow", "leaky_relu"]


def _random_program(rng: random.Random, depth: int) -> str:
    if depth == 0:
        return rng.choice(["a", "b", "c", "a", "b", "2", "0.5"])
    if rng.random() < 0.5:
        return f"{rng.choice(UNARY)}({_random_program(rng, depth - 1)})"
    left, right, op = _random_program(rng, depth - 1), _random_program(rng, depth - 1), rng.choice(BINARY)
    return f"{op}({left}, {right})" if op[0].isalpha() else f"({left}) {op} ({right})"


def test_batch_and_eval_agree_to_the_last_bit():
    """NumPy's vectorised exp, log, sin, cos, tan, tanh and power differ from the C library's in the
    last bits (tanh's gradient at x = 19: 0.0 in batch, 2.2e-16 in eval); batch with exact=True uses
    the latter, for the other elementary functions (log2, sinh, asin, softplus's log1p…) too (the
    fast default is held to FAST_ULPS by tests/test_fast_kernels.py)."""
    rng = random.Random(13)
    points = np.random.default_rng(13)
    compared = 0
    while compared < 3_000:
        program = parse(_random_program(rng, rng.randint(1, 4)))
        scale = 10.0 ** points.uniform(-3, 2, (3, 100))
        columns = {name: points.choice([-1, 1], 100) * scale[i] for i, name in enumerate("abc")}
        columns = {name: column for name, column in columns.items() if name in program.inputs}
        for k, result in enumerate(evaluate_batch(program, columns, exact=True)):
            try:
                single = evaluate(program, {name: float(column[k]) for name, column in columns.items()})
            except BackpropError as error:
                assert result.error is not None and result.error.message == error.message
                continue
            assert result.value == single.value and result.gradients == single.gradients
            compared += 1


# ------------------------------------------------------------------------------------------------
# Ctrl-C: every line out is whole, exit 130
# ------------------------------------------------------------------------------------------------


def test_ctrl_c_while_writing_ends_after_whole_lines(tmp_path):
    """The output pipe is left full, so Ctrl-C comes while a chunk's lines are being written (they
    were cut mid-line: at line 756 with PYTHONUNBUFFERED, 1,463 without)."""
    path = tmp_path / "points.jsonl"
    path.write_text("".join(f'{{"a": {k}, "b": 0.5}}\n' for k in range(60_000)))
    process = backprop("batch", "a * b + exp(b)", "--points", str(path))
    first = process.stdout.readline()  # output has begun; the pipe fills while nothing more is read
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out = first + process.stdout.read()
    process.communicate(timeout=60)
    assert process.returncode == 130
    lines = out.decode().split("\n")
    assert lines[-1] == "" and [strict_json(line)["line"] for line in lines[:-1]] == list(
        range(1, len(lines))
    )


def test_ctrl_c_while_waiting_for_input_stops_at_once():
    process = backprop("batch", "a * 2")
    process.stdin.write(b'{"a": 1}\n')
    process.stdin.flush()
    assert strict_json(process.stdout.readline())["value"] == 2.0
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.communicate()
