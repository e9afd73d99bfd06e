"""Tensors out: JSON with shapes, tables with compact tensors and --full, trace and graph, and the
gradient check element by element."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop import evaluate
from backprop.cli.render.json import number
from backprop.graph import ops
from backprop.graph.check import gradient_check
from backprop.graph.values import COMPACT_ELEMENTS, value_text

TWO_LAYERS = "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2"
TWO_LAYER_VALUES = ["--W1", "[[2,1],[1,1]]", "--W2", "[1,-1]", "--x", "[1,2]", "--y", "3"]


@pytest.fixture
def wide(monkeypatch):
    """A wide terminal, so that table cells are not wrapped."""
    monkeypatch.setenv("COLUMNS", "200")


# -- JSON --------------------------------------------------------------------------------------


def test_json_of_the_two_layer_network(run_json):
    code, document = run_json("eval", TWO_LAYERS, *TWO_LAYER_VALUES)
    assert code == 0 and document["value"] == 4.0
    assert document["gradients"] == {
        "W1": [[-4.0, -8.0], [4.0, 8.0]],
        "x": [-4.0, 0.0],
        "W2": [-16.0, -12.0],
        "y": 4.0,
    }
    nodes = {node["name"]: node for node in document["nodes"]}
    assert list(nodes["h"]) == ["id", "name", "op", "expr", "inputs", "shape", "value", "grad"]
    assert (nodes["h"]["shape"], nodes["h"]["value"], nodes["h"]["grad"]) == ([2], [4.0, 3.0], [-4.0, 4.0])
    assert (nodes["W1"]["shape"], nodes["yhat"]["shape"], nodes["L"]["shape"]) == ([2, 2], [], [])
    assert nodes["yhat"]["value"] == 1.0


def test_json_keeps_a_vector_of_one_element(run_json):
    code, document = run_json("eval", "sum(x * 3)", "--x", "[2]")
    assert document["gradients"] == {"x": [3.0]}
    assert document["nodes"][0]["shape"] == [1] and document["nodes"][0]["value"] == [2.0]


def test_json_has_no_negative_zero_in_tensors(run):
    code, out, _ = run("eval", "sum(x * 0 * -1)", "--x", "[1, 2]", "--json")
    assert code == 0 and "-0.0" not in out
    assert number(np.array([-0.0, -1.5])) == [0.0, -1.5]
    assert str(number(np.array([[-0.0]]))) == "[[0.0]]"


CHECKED = ["numeric", "analytic", "abs_error", "rel_error", "status", "passed", "at_kink"]
"""The keys of an input's entry in the check, in order; a tensor's has three more."""


def test_a_scalar_programs_check_json_has_the_same_keys(run_json):
    code, document = run_json("eval", "(a + b)*b^3", "--a", "7", "--b", "3", "--check")
    check = document["check"]
    assert list(check) == [
        "passed",
        "not_checkable",
        "eps",
        "tolerance",
        "max_abs_error",
        "max_rel_error",
        "inputs",
    ]
    assert list(check["inputs"]["b"]) == CHECKED
    assert check["inputs"]["b"]["numeric"] == pytest.approx(297.0, rel=1e-9)


# -- tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.5, "2.5"),
        (np.array([1.0, 2.0]), "[1, 2]"),
        (np.array([[-4.0, -8.0], [4.0, 8.0]]), "[[-4, -8], [ 4,  8]]"),
        (np.array([1 / 3, 2.0]), "[0.3333,      2]"),  # 4 significant digits, aligned
        (np.array([-0.0, 12345.678]), "[        0, 1.235e+04]"),
        (np.array([[[1.0], [2.0]]]), "[[[1], [2]]]"),
        (np.arange(12.0), "[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11]"),
        (np.arange(13.0), "shape (13,) · min 0 · mean 6 · max 12"),
        (np.full((1000, 1000), -0.5), "shape (1000, 1000) · min -0.5 · mean -0.5 · max -0.5"),
    ],
)
def test_value_text(value, text):
    assert value_text(value) == text


def test_value_text_in_full():
    assert COMPACT_ELEMENTS == 12
    assert value_text(np.arange(13.0) / 3, full=True).startswith("[       0, 0.333333, 0.666667,        1,")
    assert value_text(np.array([[1.0, -2.0], [3.0, 4.5]]), full=True) == "[[  1,  -2],\n [  3, 4.5]]"
    assert value_text(np.ones((2, 1, 2)), full=True) == "[[[1, 1]],\n [[1, 1]]]"


def test_table_of_the_two_layer_network(run, wide):
    code, out, err = run("eval", TWO_LAYERS, *TWO_LAYER_VALUES)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "inputs: W1 (2, 2) · x (2,) · W2 (2,) · y scalar"
    rows = {
        line.split("│")[2].strip(): [cell.strip() for cell in line.split("│")]
        for line in out.splitlines()
        if line.count("│") >= 7
    }
    assert rows["W1"][5:7] == ["[[2, 1],", "[[-4, -8],"]  # a matrix one row per line (issue 18)
    assert "│  [1, 1]] │  [ 4,  8]] │" in out
    assert rows["h"][5:7] == ["[4, 3]", "[-4,  4]"]
    assert rows["yhat"][5:7] == ["1", "-4"]
    assert "gradients of L = 4" in out
    assert "tensors in full" not in out


def test_no_shape_header_for_scalar_programs(run):
    code, out, _ = run("eval", "(a + b)*b^3", "--a", "7", "--b", "3")
    assert code == 0 and "inputs:" not in out and out.startswith("backprop · ")


def test_table_of_a_large_tensor_and_full(run, wide, tmp_path):
    np.save(tmp_path / "W.npy", np.arange(20.0).reshape(4, 5))
    code, out, _ = run("eval", "sum(W * 2)", "--W", f"@{tmp_path / 'W.npy'}")
    assert code == 0 and out.splitlines()[0] == "inputs: W (4, 5)"
    assert (
        "shape (4, 5) · min 0 · mean 9.5 · max 19" in out and "shape (4, 5) · min 2 · mean 2 · max 2" in out
    )
    assert "tensors in full" not in out and "[ 0," not in out
    code, out, _ = run("eval", "sum(W * 2)", "--W", f"@{tmp_path / 'W.npy'}", "--full")
    full = out[out.index("tensors in full") :].splitlines()
    assert full[1:5] == [
        "W = [[ 0,  1,  2,  3,  4],",
        "     [ 5,  6,  7,  8,  9],",
        "     [10, 11, 12, 13, 14],",
        "     [15, 16, 17, 18, 19]]",
    ]
    assert full[5] == "∂b/∂W = [[2, 2, 2, 2, 2]," and "a = [[ 0,  2,  4,  6,  8]," in full


def test_trace_and_graph_show_tensors_compactly(run):
    code, out, _ = run("graph", "sum(x * W)", "--x", "[1, 2]", "--W", "[[1, 2], [3, 4]]", "--format", "tree")
    assert code == 0
    assert "Input W · shape (2, 2) · value=[[1, 2], [3, 4]] grad=[[1, 2], [1, 2]]" in out
    code, out, _ = run("trace", "sum(x * W)", "--x", "[1, 2]", "--W", "[[1, 2], [3, 4]]")
    assert code == 0
    assert "  x = [1, 2]" in out.splitlines() and "at x = [1, 2], W = [[1, 2], [3, 4]]" in out
    assert (
        "  x.grad += a.grad ⊙ W, summed over axis 0 = [4, 6] → x.grad = [4, 6]" in out.splitlines()
    )  # a Jacobian: no local number
    document = json.loads(run("trace", "sum(x * W)", "--x", "[1, 2]", "--W", "[[1, 2], [3, 4]]", "--json")[1])
    assert document["gradients"] == {"x": [4.0, 6.0], "W": [[1.0, 2.0], [1.0, 2.0]]}


# -- the gradient check, element by element ----------------------------------------------------


def check_of(run_json, *args):
    code, document = run_json("eval", *args, "--check")
    return code, document["check"]


def test_check_of_small_tensors_covers_every_element(run_json):
    code, check = check_of(run_json, TWO_LAYERS, *TWO_LAYER_VALUES)
    assert code == 0 and check["passed"]
    W1 = check["inputs"]["W1"]
    assert (W1["checked"], W1["size"]) == (4, 4)
    assert [element["index"] for element in W1["elements"]] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert [element["analytic"] for element in W1["elements"]] == [-4.0, -8.0, 4.0, 8.0]
    assert all(
        element["numeric"] == pytest.approx(element["analytic"], abs=1e-6) for element in W1["elements"]
    )
    assert list(W1) == [*CHECKED, "checked", "size", "elements"]
    assert list(W1["elements"][0]) == [
        "index",
        "numeric",
        "analytic",
        "abs_error",
        "rel_error",
        "status",
        "passed",
    ]
    assert "elements" not in check["inputs"]["y"]  # a scalar input is checked as before


def test_check_samples_a_seeded_subset(run_json):
    args = (
        "sum(W * W)",
        "--W",
        json.dumps(np.arange(100.0).reshape(10, 10).tolist()),
        "--check-samples",
        "7",
    )
    code, first = check_of(run_json, *args)
    _, again = check_of(run_json, *args)
    assert code == 0 and first == again  # seeded: a run repeats
    W = first["inputs"]["W"]
    indices = [tuple(element["index"]) for element in W["elements"]]
    assert (W["checked"], W["size"], len(set(indices))) == (7, 100, 7)
    assert indices == sorted(indices)
    assert all(
        element["analytic"] == 2 * (10 * i + j)
        for (i, j), element in zip(indices, W["elements"], strict=True)
    )


def test_check_finds_the_one_wrong_element(run_json, monkeypatch):
    def wrong_vjp(g, out, x):
        grad = g * out
        grad[1] *= 2.0  # a rule that is wrong for one element only
        return (grad,)

    exp = ops.FUNCTIONS["exp"]
    monkeypatch.setitem(
        ops.FUNCTIONS,
        "exp",
        ops.Op("exp", 1, exp.forward, wrong_vjp, elementwise=True, callable_by_name=True),
    )
    code, check = check_of(run_json, "sum(exp(x))", "--x", "[0, 0, 0]")
    assert code == 1 and not check["passed"]
    x = check["inputs"]["x"]
    assert [element["passed"] for element in x["elements"]] == [True, False, True]
    assert not x["passed"]
    assert (x["analytic"], x["numeric"]) == (2.0, pytest.approx(1.0))  # the entry is its worst element
    assert check["max_abs_error"] == pytest.approx(1.0) == x["elements"][1]["abs_error"]


def test_check_where_an_element_is_undefined_nearby():
    report = gradient_check(evaluate("sum(sqrt(x))", x=[1.0, 1e-12]))
    x = report.inputs[0]
    assert [element.numeric is None for element in x.elements] == [False, True]
    assert "not defined at x[1] ± h" in x.note and not x.passed
    assert report.passed  # as for a scalar: not checkable is not a failure
    assert x.numeric == pytest.approx(0.5)  # the worst element that could be compared


def test_check_at_a_kink_in_a_tensor():
    report = gradient_check(evaluate("sum(relu(x))", x=[0.0, 1.0]))
    x = report.inputs[0]
    assert x.at_kink and not x.elements[0].passed and x.elements[1].passed and report.passed


def test_check_leaves_the_inputs_unchanged():
    result = evaluate("sum(x * x)", x=[1.0, 2.0, 3.0])
    gradient_check(result, samples=2)
    assert result.inputs["x"].tolist() == [1.0, 2.0, 3.0]


def test_check_table_has_a_row_per_element(run, wide):
    code, out, _ = run("eval", TWO_LAYERS, *TWO_LAYER_VALUES, "--check")
    assert code == 0
    labels = [
        line.split("│")[1].strip()
        for line in out[out.index("gradient check") :].splitlines()
        if line.count("│") >= 6
    ]
    assert labels == ["W1[0, 0]", "W1[0, 1]", "W1[1, 0]", "W1[1, 1]", "x[0]", "x[1]", "W2[0]", "W2[1]", "y"]
    assert "W1: all 4 elements checked" in out
    code, out, _ = run(
        "eval",
        "sum(W)",
        "--W",
        json.dumps([[1.0] * 10] * 10),
        "--check",
        "--check-samples",
        "5",
        "--rows",
        "3",
    )
    assert "3 of 5 rows shown" in out and "W: 5 of 100 elements checked (a seeded sample" in out


def test_check_samples_must_be_positive(run):
    code, _, err = run("eval", "sum(x)", "--x", "[1]", "--check", "--check-samples", "0")
    assert code == 2 and "--check-samples must be a positive, finite number" in err
