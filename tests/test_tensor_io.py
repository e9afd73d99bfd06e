"""Tensors in and out: values on the command line and in files, JSON with shapes, tables with
compact tensors, --full, and the gradient check element by element."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from backprop import InputError, evaluate
from backprop.cli.arguments import collect_values
from backprop.cli.render import COMPACT_ELEMENTS, number, value_text
from backprop.graph import ops
from backprop.graph.check import gradient_check

TWO_LAYERS = "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2"
TWO_LAYER_VALUES = ["--W1", "[[2,1],[1,1]]", "--W2", "[1,-1]", "--x", "[1,2]", "--y", "3"]


def value_of(raw, how="--W"):
    return collect_values([("W", raw, how)])["W"]


@pytest.fixture
def wide(monkeypatch):
    """A wide terminal, so that table cells are not wrapped."""
    monkeypatch.setenv("COLUMNS", "200")


# -- values on the command line ----------------------------------------------------------------


@pytest.fixture
def files(tmp_path, monkeypatch):
    """W = [[2, 1], [1, 1]] in every file format, in the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "W.json").write_text("[[2, 1], [1, 1]]")
    (tmp_path / "W.csv").write_text("2,1\n1,1\n")
    np.save(tmp_path / "W.npy", np.array([[2, 1], [1, 1]]))  # integers: read as float64
    (tmp_path / "vars.json").write_text(json.dumps({"W": [[2, 1], [1, 1]]}))
    (tmp_path / "at.json").write_text(json.dumps({"W": "@W.csv"}))
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["--W", "[[2,1],[1,1]]"],
        ["--W=[[2, 1], [1, 1]]"],
        ["--var", "W=[[2,1],[1,1]]"],
        ["--W", " [ [2., 1], [1e0, 1.0] ] "],  # numbers as a scalar is written: 2., 1e0
        ["--W", "@W.json"],
        ["--W", "@W.csv"],
        ["--W", "@W.npy"],
        ["--var", "W=@W.npy"],
        ["--vars", "vars.json"],
        ["--vars", "at.json"],
    ],
)
def test_a_matrix_in_every_form(run_json, files, args):
    code, document = run_json("eval", "sum(W * W)", *args)
    assert code == 0
    assert document["value"] == 7.0
    assert document["gradients"] == {"W": [[4.0, 2.0], [2.0, 2.0]]}
    assert document["nodes"][0]["shape"] == [2, 2]


def test_scalars_stay_floats_and_lists_become_float64_arrays():
    assert type(value_of("2.5")) is float
    assert type(value_of(3, "--vars f")) is float
    vector = value_of("[1, 2]")
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float64 and vector.shape == (2,)
    assert value_of("[5]").shape == (1,)  # a vector of one element is not squeezed
    assert value_of("[[5]]").shape == (1, 1)
    assert value_of([[[1], [2]]], "--vars f").shape == (1, 2, 1)


@pytest.mark.parametrize(
    ("text", "shape", "values"),
    [
        ("1,2,3\n4,5,6\n", (2, 3), [[1, 2, 3], [4, 5, 6]]),  # rows × columns
        ("1\n2\n3\n", (3,), [1, 2, 3]),  # one value per line: a vector
        ("1,2,3\n", (1, 3), [[1, 2, 3]]),  # one row of several values: still rows × columns
        ("7\n", (1,), [7]),  # one value: a vector of one element, not a scalar
        ("x1,x2\n1,2\n\n3,4\n\n", (2, 2), [[1, 2], [3, 4]]),  # a header and blank lines are skipped
        (" 1.5 , -2e3\n.5,3.\n", (2, 2), [[1.5, -2000], [0.5, 3]]),
    ],
)
def test_csv_shapes(tmp_path, text, shape, values):
    path = tmp_path / "v.csv"
    path.write_text(text)
    value = value_of(f"@{path}")
    assert value.shape == shape and value.tolist() == values


def test_json_and_npy_files_keep_their_shape(tmp_path):
    (tmp_path / "n.json").write_text("2.5")
    assert value_of(f"@{tmp_path / 'n.json'}") == 2.5 and type(value_of(f"@{tmp_path / 'n.json'}")) is float
    np.save(tmp_path / "s.npy", np.float64(4.0))
    assert type(value_of(f"@{tmp_path / 's.npy'}")) is float  # a 0-d array is a scalar
    np.save(tmp_path / "c.npy", np.ones((1, 3, 1), dtype=np.float32))
    loaded = value_of(f"@{tmp_path / 'c.npy'}")
    assert loaded.shape == (1, 3, 1) and loaded.dtype == np.float64


def _write_bad_files(tmp_path):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    (tmp_path / "word.csv").write_text("1,2\n3,abc\n")
    (tmp_path / "nan.csv").write_text("1,nan\n")
    (tmp_path / "empty.csv").write_text("\n\n")
    (tmp_path / "text.json").write_text('"[1, 2]"')
    (tmp_path / "broken.json").write_text("[1, 2")
    (tmp_path / "nan.json").write_text("[1, NaN]")
    (tmp_path / "notes.txt").write_text("1")
    (tmp_path / "fake.npy").write_text("1, 2")
    np.save(tmp_path / "objects.npy", np.array([1, None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "bools.npy", np.array([True, False]))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[[1,2],[1,2,3]]", "is ragged: row 2 of W has 3 elements, row 1 has 2"),
        ("[[[1,2],[3,4]],[[1,2],[3]]]", "W[1, 1] has 1 element, W[0, 0] has 2"),
        ("[[1, 2], 3]", "mixes numbers and lists: W[0] is a list, W[1] is a number"),
        ("[1, x]", "'x' is not a number at column 5"),
        ("[1, nan]", "W[1] is not finite"),
        ("[[1, inf]]", "W[0, 1] is not finite"),
        ("[]", "has no elements: it is an empty list"),
        ("[[], []]", "has no elements: W[0] is an empty list"),
        ("[1 2]", "a comma is missing at column 4"),
        ("[1,,2]", "a number is missing before , at column 4"),
        ("[1, 2", "a [ is not closed"),
        ("[1]]", "']' comes after the end of the list"),
        ("seven", "is not a number: 'seven'"),
        ("@", "no file name after @"),
        ("@missing.csv", "cannot read the file"),
        ("@notes.txt", "cannot read a .txt file"),
        ("@ragged.csv", "is ragged: line 3 has 1 value, line 2 has 2"),
        ("@word.csv", "line 2, column 2 is not a finite number: 'abc'"),
        ("@nan.csv", "line 1, column 2 is not a finite number: 'nan'"),
        ("@empty.csv", "has no numbers in it"),
        ("@text.json", "the file must hold a number or nested lists of numbers"),
        ("@broken.json", "is not valid JSON"),
        ("@nan.json", "W[1] is not finite"),
        ("@fake.npy", "is not a .npy file"),
        ("@objects.npy", "cannot be loaded"),
        ("@bools.npy", "is an array of bool, not of numbers"),
        ("@nan.npy", "W[0, 1] is not finite"),
        ("@empty.npy", "has no elements: its shape is (0, 3)"),
    ],
)
def test_bad_values_are_input_errors(run, tmp_path, monkeypatch, raw, message):
    monkeypatch.chdir(tmp_path)
    _write_bad_files(tmp_path)
    code, out, err = run("eval", "sum(W)", "--W", raw, "--json")
    assert code == 2 and "Traceback" not in err
    error = json.loads(out)["error"]
    assert error["type"] == "input" and message in error["message"], error["message"]
    assert message in err


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"W": [1, True]}, "W[1] is a boolean, not a number"),
        ({"W": [1, None]}, "W[1] is null (None), not a number"),
        ({"W": [1, "2"]}, "W[1] is the text '2', not a number"),
        ({"W": {"a": 1}}, "must be a number, nested lists of numbers or an array, not an object"),
        ({"W": True}, "must be a number, nested lists of numbers or an array, not a boolean"),
    ],
)
def test_bad_values_in_a_vars_file(run, tmp_path, values, message):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(values))
    code, out, err = run("eval", "sum(W)", "--vars", str(path))
    assert code == 2 and message in err and "Traceback" not in err


def test_the_api_takes_lists_tuples_and_arrays():
    from_lists = evaluate("sum(W * x)", W=[[1, 2], [3, 4]], x=(1, -1))
    from_arrays = evaluate("sum(W * x)", {"W": np.array([[1, 2], [3, 4]]), "x": np.array([1.0, -1.0])})
    for result in (from_lists, from_arrays):
        assert result.value == -2.0
        assert result.gradients["W"].tolist() == [[1.0, -1.0], [1.0, -1.0]]
        assert result.gradients["x"].dtype == np.float64
    assert type(evaluate("a * 2", a=np.float64(3)).value) is float


def test_the_api_copies_an_array_it_is_given():
    W = np.array([1.0, 2.0])
    result = evaluate("sum(W)", W=W)
    W[0] = 100.0
    assert result.inputs["W"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1, 2], [3]], "row 2 of W has 1 element, row 1 has 2"),
        ([1, False], "W[1] is a boolean"),
        ("1", "not the text '1'"),
        (np.array([1, None], dtype=object), "is an array of object"),
        (np.array([1 + 2j]), "is an array of complex128"),
        (np.array([]), "has no elements"),
        ([float("inf")], "W[0] is not finite"),
    ],
)
def test_the_api_refuses_bad_values(value, message):
    with pytest.raises(InputError, match=None) as caught:
        evaluate("sum(W)", W=value)
    assert message in caught.value.message


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


SCALAR_DOCUMENT = {
    "expression": "(a + b)*b^3",
    "output": "e",
    "value": 270.0,
    "gradients": {"a": 27.0, "b": 297.0},
    "nodes": [
        {
            "id": 0,
            "name": "a",
            "op": "input",
            "expr": "a",
            "inputs": [],
            "shape": [],
            "value": 7.0,
            "grad": 27.0,
        },
        {
            "id": 1,
            "name": "b",
            "op": "input",
            "expr": "b",
            "inputs": [],
            "shape": [],
            "value": 3.0,
            "grad": 297.0,
        },
        {
            "id": 2,
            "name": "c",
            "op": "add",
            "expr": "a + b",
            "inputs": [0, 1],
            "shape": [],
            "value": 10.0,
            "grad": 27.0,
        },
        {
            "id": 3,
            "name": "3",
            "op": "const",
            "expr": "3",
            "inputs": [],
            "shape": [],
            "value": 3.0,
            "grad": None,
        },
        {
            "id": 4,
            "name": "d",
            "op": "pow",
            "expr": "b^3",
            "inputs": [1, 3],
            "shape": [],
            "value": 27.0,
            "grad": 10.0,
        },
        {
            "id": 5,
            "name": "e",
            "op": "mul",
            "expr": "(a + b)*b^3",
            "inputs": [2, 4],
            "shape": [],
            "value": 270.0,
            "grad": 1.0,
        },
    ],
}


def test_a_scalar_programs_json_is_unchanged_but_for_shape(run):
    code, out, err = run("eval", "(a + b)*b^3", "--a", "7", "--b", "3", "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == SCALAR_DOCUMENT
    assert [list(node) for node in json.loads(out)["nodes"]] == [
        list(node) for node in SCALAR_DOCUMENT["nodes"]
    ]


def test_a_scalar_programs_check_json_has_the_same_keys(run_json):
    code, document = run_json("eval", "(a + b)*b^3", "--a", "7", "--b", "3", "--check")
    check = document["check"]
    assert list(check) == ["passed", "eps", "tolerance", "max_abs_error", "max_rel_error", "inputs"]
    assert list(check["inputs"]["b"]) == [
        "numeric",
        "analytic",
        "abs_error",
        "rel_error",
        "passed",
        "at_kink",
    ]
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
    assert rows["W1"][5:7] == ["[[2, 1], [1, 1]]", "[[-4, -8], [ 4,  8]]"]
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
    assert "Input W · value=[[1, 2], [3, 4]] grad=[[1, 2], [1, 2]]" in out
    code, out, _ = run("trace", "sum(x * W)", "--x", "[1, 2]", "--W", "[[1, 2], [3, 4]]")
    assert code == 0
    assert "  x = [1, 2]" in out.splitlines() and "at x = [1, 2], W = [[1, 2], [3, 4]]" in out
    assert (
        "  x.grad += a.grad · W = [4, 6] → x.grad = [4, 6]" in out.splitlines()
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
    assert list(W1) == [
        "numeric",
        "analytic",
        "abs_error",
        "rel_error",
        "passed",
        "at_kink",
        "checked",
        "size",
        "elements",
    ]
    assert list(W1["elements"][0]) == ["index", "numeric", "analytic", "abs_error", "rel_error", "passed"]
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


# -- start-up: scalars never load NumPy -----------------------------------------------------------


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


def test_expect_with_tensors_compares_element_by_element(run):
    import json as _json

    code, out, _ = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=[2,4]", "--json")
    assert code == 0 and _json.loads(out)["expect"]["items"]["x"] == {
        "expected": [2.0, 4.0],
        "got": [2.0, 4.0],
        "abs_error": 0.0,
        "passed": True,
    }
    code, out, _ = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=[2,4.5]", "--json")
    item = _json.loads(out)["expect"]["items"]["x"]
    assert code == 1 and item["passed"] is False and item["abs_error"] == 0.5


def test_expect_of_the_wrong_shape_fails_with_a_note(run):
    import json as _json

    code, out, err = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=3", "--json")
    item = _json.loads(out)["expect"]["items"]["x"]
    assert code == 1 and "Traceback" not in err
    assert item["passed"] is False and item["abs_error"] is None
    assert item["note"] == "expected a scalar, the gradient has shape (2,)"
