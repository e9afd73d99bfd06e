"""`eval` of a program whose output is a tensor: every node's value and no gradients (a tensor has
no dL/dx), in the tables, --json and the write-ups; what needs a gradient or a scalar (--check,
--expect, trace, paths, minimize, batch, hessian, the library) still refuses it. And the round trip
it makes possible: `eval` of `diff`'s printed derivative gives `eval`'s gradient, tensors included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from checks import strict_json

from backprop import ShapeError, evaluate

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, not an installed copy

MATVEC = ["W @ x", "--W", "[[1, 2], [3, 4]]", "--x", "[1, 2]"]
NOTE = (
    "no gradients: the output W @ x is a tensor of shape (2,); gradients need a scalar output"
    " — reduce it, e.g. sum(...)"
)


@pytest.fixture
def wide(monkeypatch):
    """A wide terminal, so that table cells are not wrapped."""
    monkeypatch.setenv("COLUMNS", "200")


# -- eval prints the values ----------------------------------------------------------------------


def test_the_table_shows_every_value_a_dash_for_every_gradient_and_why(run, wide):
    code, out, err = run("eval", *MATVEC)
    assert code == 0 and err == ""
    rows = [line for line in out.splitlines() if line.startswith("│ ") and line[2:4].strip().isdigit()]
    assert len(rows) == 3 and all(line.rstrip("│ ").endswith("—") for line in rows)
    assert "[ 5, 11]" in rows[2]
    assert out.splitlines()[-1] == NOTE
    assert "gradients of" not in out


def test_a_named_output_is_named_in_the_note(run, wide):
    code, out, _ = run("eval", "h = W @ x; y = 2*h", *MATVEC[1:])
    assert code == 0 and "the output y is a tensor of shape (2,)" in out


def test_full_prints_the_values_whole_and_no_gradient(run, wide):
    code, out, _ = run("eval", *MATVEC, "--full")
    assert code == 0 and "tensors in full" in out and "∂" not in out


def test_json_has_the_values_null_gradients_and_the_note(run):
    code, out, _ = run("eval", *MATVEC, "--json")
    document = strict_json(out)
    assert code == 0 and document["value"] == [5.0, 11.0]
    assert document["gradients"] is None and document["note"] == NOTE
    assert [node["grad"] for node in document["nodes"]] == [None, None, None]
    assert [node["value"] for node in document["nodes"]] == [
        [[1.0, 2.0], [3.0, 4.0]],
        [1.0, 2.0],
        [5.0, 11.0],
    ]
    assert list(document).index("note") < list(document).index("nodes")  # read before the long list


def test_a_scalar_output_has_no_note(run):
    code, out, _ = run("eval", "sum(W @ x)", *MATVEC[1:], "--json")
    document = strict_json(out)
    assert code == 0 and "note" not in document and document["gradients"]["x"] == [4.0, 6.0]


def test_markdown_dashes_the_gradients_and_says_why(run):
    code, out, _ = run("eval", *MATVEC, "--format", "markdown")
    assert code == 0 and "| 2 | a | matmul | `W @ x` | [ 5, 11] | — |" in out
    assert out.rstrip("\n").endswith(NOTE) and "**gradients**" not in out


def test_latex_leaves_the_gradients_empty_and_says_why_in_a_comment(run):
    code, out, _ = run("eval", *MATVEC, "--format", "latex")
    assert code == 0 and "\\begin{pmatrix} 5 & 11 \\end{pmatrix} &  \\\\" in out
    assert out.splitlines()[-1] == "% " + NOTE


def test_csv_leaves_the_gradients_empty(run):
    code, out, _ = run("eval", *MATVEC, "--format", "csv")
    assert code == 0
    assert out.splitlines() == [
        "id,name,op,expression,value,grad",
        '0,W,input,W,"[[1, 2], [3, 4]]",',
        '1,x,input,x,"[1, 2]",',
        '2,a,matmul,W @ x,"[ 5, 11]",',
    ]


def test_a_kinked_tensor_output_warns_of_no_kink(run):
    """No gradient reaches relu's kink at 0, so there is no convention to warn about."""
    code, out, err = run("eval", "relu(x)", "--x", "[0, 1]", "--json")
    assert code == 0 and err == "" and strict_json(out)["kinks"] == []


# -- what needs a gradient or a scalar output still refuses it -------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["eval", *MATVEC, "--check"],
        ["eval", *MATVEC, "--expect", "a=[5, 11]"],
        ["trace", *MATVEC],
        ["paths", *MATVEC, "--wrt", "x"],
        ["minimize", *MATVEC, "--wrt", "x"],
        ["hessian", *MATVEC],
    ],
)
def test_commands_that_need_gradients_still_refuse_a_tensor_output(run, args):
    code, out, _ = run(*args, "--json")
    error = strict_json(out)["error"]
    assert code == 2 and error["type"] == "shape"
    assert error["message"] == "the output W @ x has shape (2,): gradients need a scalar output"
    assert error["hint"] == "reduce it to a scalar, e.g. sum(...) or mean(...)"


def test_expect_file_with_a_tensor_output_is_refused(run, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text('{"a": [5, 11]}', encoding="utf-8")
    code, out, _ = run("eval", *MATVEC, "--expect-file", str(answers), "--json")
    assert code == 2 and "gradients need a scalar output" in strict_json(out)["error"]["message"]


def test_batch_still_refuses_a_tensor_output_on_its_line(run):
    code, out, _ = run("batch", "[a, b] * 2", input='{"a": 1, "b": 2}\n')
    error = strict_json(out)["error"]
    assert code == 2 and error["type"] == "shape" and "gradients need a scalar output" in error["message"]


def test_the_library_still_refuses_a_tensor_output():
    with pytest.raises(ShapeError, match="gradients need a scalar output"):
        evaluate("W @ x", W=[[1, 2], [3, 4]], x=[1, 2])


# -- the round trip: eval of diff's output is eval's gradient ----------------------------------------

NOTES_NETWORK = "h = W1 @ x; L = (W2 @ h - y)**2"
NOTES_VALUES = ["--W1", "[[2, 1], [1, 1]]", "--W2", "[1, -1]", "--x", "[1, 2]", "--y", "3"]


def backprop(*args: str) -> tuple[int, str]:
    """`python -m backprop ARGS` as a real process, as a shell runs `$(backprop diff …)`."""
    done = subprocess.run(
        [sys.executable, "-m", "backprop", *args], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


@pytest.mark.parametrize(
    ("program", "wrt", "values"),
    [
        (NOTES_NETWORK, "W1", NOTES_VALUES),
        (NOTES_NETWORK, "W2", NOTES_VALUES),
        ("sum(w**3)", "w", ["--w", "[1, 2]"]),
        ("sum(A * u)", "u", ["--A", "[[1, 2], [3, 4]]", "--u", "[[0.5, -1], [2, 3]]"]),
        ("x[1] * sum(x)", "x", ["--x", "[1, 2, 3]"]),
        ("(a + b**3) * c", "b", ["--a", "7", "--b", "3", "--c", "2"]),  # a scalar: the same trip
    ],
)
def test_eval_of_the_printed_derivative_is_the_gradient(program, wrt, values):
    code, derivative = backprop("diff", program, "--wrt", wrt, *values)
    assert code == 0 and derivative.strip()
    code, out = backprop("eval", derivative, *values, "--json")
    assert code == 0
    read_back = strict_json(out)["value"]
    code, out = backprop("eval", program, *values, "--json")
    assert code == 0
    gradient = strict_json(out)["gradients"][wrt]
    assert np.shape(read_back) == np.shape(gradient)
    assert np.allclose(read_back, gradient, rtol=1e-12, atol=0), (derivative, read_back, gradient)
