"""`backprop batch`: many points, one JSON line each, in order, bad lines in place, streaming."""

from __future__ import annotations

import json
import select
import subprocess
import sys

import numpy as np
import pytest
from checks import strict_json
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import BackpropError, evaluate, parse
from backprop.graph.batch import evaluate_batch

PROGRAMS = [
    "(a + b**3) * c",
    "u = a*b; v = u + a; u * v",
    "z = a + b; s = sigmoid(a); z * s",
    "max(a, b) * relu(c) - min(a, c) / (1 + b**2)",
    "log(abs(a) + 1) * sqrt(b*b + 1) + exp(-c*c) * tanh(a) + sin(b) * cos(c)",
    "(a - b)**2 * (2 + sin(c))",
]

point = st.fixed_dictionaries({name: st.floats(-5, 5, allow_nan=False) for name in "abc"})


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(PROGRAMS), st.lists(point, min_size=1, max_size=20))
def test_batch_equals_eval_point_by_point(text, points):
    program = parse(text)
    used = list(program.inputs)
    columns = {name: np.array([p[name] for p in points]) for name in used}
    for p, result in zip(points, evaluate_batch(program, columns)):
        try:
            single = evaluate(program, {name: p[name] for name in used})
        except BackpropError as error:
            assert result.error is not None and result.error.message == error.message
            continue
        assert result.error is None
        assert result.value == pytest.approx(single.value, rel=1e-12, abs=1e-300)
        for name, grad in single.gradients.items():
            assert result.gradients[name] == pytest.approx(grad, rel=1e-12, abs=1e-300)


def test_a_point_with_a_domain_error_gets_the_eval_message():
    results = evaluate_batch(
        parse("log(a) * b"), {"a": np.array([1.0, -1.0, 2.0]), "b": np.array([1.0, 1.0, 1.0])}
    )
    assert [r.error is None for r in results] == [True, False, True]
    assert results[1].error.message == "log(a) is undefined: log needs its argument > 0 (here a = -1)"


def lines_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_jsonl_in_jsonl_out_with_bad_lines_in_place(run):
    text = '{"a":7,"b":3,"c":2}\n{"a":1}\nnot json\n{"a":0,"b":1,"c":1}\n\n{"a":2,"b":1,"c":NaN}\n{"a":2,"b":1,"c":"x"}\n{"a":2,"b":1,"c":1}\n'
    code, out, err = run("batch", "(a + b**3) * c / a", input=text)
    results = lines_of(out)
    assert [r["line"] for r in results] == list(range(1, 9))  # as many lines out as in, in order
    assert results[0]["value"] == 68 / 7 and results[0]["gradients"]["c"] == 34 / 7
    assert [("error" in r) for r in results] == [False, True, True, True, True, True, True, False]
    assert results[1]["error"]["type"] == "name" and "no value for b, c" in results[1]["error"]["message"]
    assert results[3]["error"]["type"] == "domain" and "division by zero" in results[3]["error"]["message"]
    assert code == 2 and "6 of 8 points failed" in err


def test_all_good_exits_0_and_unknown_keys_are_carried(run):
    code, out, err = run("batch", "a * 2", input='{"a": 1, "z": 0}\n{"a": 2, "z": 0}\n')
    assert code == 0 and [r["value"] for r in lines_of(out)] == [2.0, 4.0]
    assert [r["carried"] for r in lines_of(out)] == [{"z": 0}, {"z": 0}] and err == ""


def test_check_per_point(run):
    code, out, _ = run("batch", "exp(a) * b", "--check", input='{"a": 0.5, "b": 2}\n{"a": -1, "b": 3}\n')
    assert code == 0
    assert all(r["check"]["passed"] for r in lines_of(out))


def test_csv_points(run, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a,b,c\n7,3,2\n1,2\n1,1,1\n")
    code, out, _ = run("batch", "(a + b**3) * c", "--points", str(path), "--json")
    results = lines_of(out)
    assert (
        results[0]["value"] == 68.0
        and results[1]["error"]["message"] == "line 3 has 2 values, but the header names 3 columns"
        and results[2]["value"] == 2.0
    )
    assert [r["line"] for r in results] == [2, 3, 4] and code == 2


def test_npy_points_with_columns_and_structured(run, tmp_path):
    plain = tmp_path / "grid.npy"
    np.save(plain, np.array([[7.0, 3.0, 2.0], [1.0, 1.0, 1.0]]))
    code, out, _ = run("batch", "(a + b**3) * c", "--points", str(plain), "--columns", "a,b,c")
    assert code == 0 and [r["value"] for r in lines_of(out)] == [68.0, 2.0]
    structured = tmp_path / "named.npy"
    np.save(structured, np.array([(7.0, 3.0, 2.0)], dtype=[("a", "f8"), ("b", "f8"), ("c", "f8")]))
    code, out, _ = run("batch", "(a + b**3) * c", "--points", str(structured))
    assert code == 0 and lines_of(out)[0]["gradients"] == {"a": 2.0, "b": 54.0, "c": 34.0}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", None])
def test_columns_for_a_file_that_names_its_own_is_refused(run, tmp_path, suffix):
    """--columns is for a plain .npy; elsewhere it would be ignored, so it is an error, before any point."""
    points = [] if suffix is None else ["--points", str(tmp_path / f"points{suffix}")]
    code, out, _ = run("batch", "a * b", *points, "--columns", "a,b", input='{"a": 1, "b": 2}\n')
    assert code == 2
    error = json.loads(out)["error"]
    assert error["message"].startswith("--columns names the columns of a plain 2-D .npy file, not of")
    assert error["hint"] == "drop --columns: JSON Lines, CSV and Parquet name their own columns"


def test_npy_holding_python_objects_is_refused(run, tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = run("batch", "a", "--points", str(path))
    assert code == 2 and "allow_pickle=False" in err


def test_small_chunks_give_the_same_output(run):
    text = "".join(json.dumps({"a": k, "b": 1}) + "\n" for k in range(50))
    _, whole, _ = run("batch", "a * b + a**2", input=text)
    _, chunked, _ = run("batch", "a * b + a**2", "--chunk", "7", input=text)
    assert whole == chunked and len(whole.splitlines()) == 50


def test_program_errors_exit_2_before_reading(run):
    code, _, err = run("batch", "a +", input='{"a": 1}\n')
    assert code == 2 and "ends too early" in err


def test_streaming_answers_before_the_input_ends():
    """A point written to a pipe that stays open is answered before more input arrives."""
    process = subprocess.Popen(
        [sys.executable, "-m", "backprop", "batch", "a * 2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write(b'{"a": 21}\n')
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no output while the input pipe is still open"
        assert json.loads(process.stdout.readline())["value"] == 42.0
        process.stdin.write(b'{"a": 1}\n')
        process.stdin.close()
        assert json.loads(process.stdout.readline())["value"] == 2.0
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()


def test_program_and_points_cannot_both_come_from_stdin(run):
    code, _, err = run("batch", "-", input='{"a": 1}\n')
    assert code == 2 and "--points" in err


def test_output_is_strict_json(run):
    code, out, _ = run("batch", "exp(a)", input='{"a": 1000}\n{"a": 1}\n')
    for line in out.splitlines():
        strict_json(line)
    assert code == 2


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["batch", "x +"], "syntax"),
        (["batch", "x", "--chunk", "0"], "input"),
        (["batch", "x", "--chunk", "z"], "input"),
        (["batch", "x", "--check", "--tol", "-1"], "input"),  # it passed every check before
        (["batch", "x", "--check", "--eps", "0"], "input"),
    ],
)
def test_a_wrong_program_or_option_is_one_json_error_line_without_json(run, args, kind):
    code, out, err = run(*args, input='{"x": 1}\n')
    assert code == 2 and err.startswith("error: ")
    assert [json.loads(line)["error"]["type"] for line in out.splitlines()] == [kind]


def test_a_program_without_inputs_answers_every_point(run):
    """Found by the fuzzer: `u = 0.0` at two points stopped with a StopIteration."""
    code, out, _ = run("batch", "u = 2.0; u * 3", input='{"x": 0.0}\n{}\n')
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"line": 1, "carried": {"x": 0.0}, "value": 6.0, "gradients": {}},
        {"line": 2, "value": 6.0, "gradients": {}},
    ]
