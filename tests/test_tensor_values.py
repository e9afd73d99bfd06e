"""Tensors in: values on the command line (`--W '[[2, 1], [1, 1]]'`), in .json, .csv and .npy files
and value files, and through the library; every wrong value is an input error that says where."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop import InputError, evaluate
from backprop import check as backprop_check
from backprop.cli.arguments import collect_values


def value_of(raw, how="--W"):
    return collect_values([("W", raw, how)])["W"]


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


def test_the_api_uses_a_float64_array_as_it_is_and_converts_the_others():
    """Issue 19: a float64 array is not copied (10⁷ elements cost 8 ms a copy), and nothing writes
    into it; an array of another dtype, or lists, become a float64 array of their own."""
    W = np.array([1.0, 2.0])
    W.flags.writeable = False  # evaluating, and its gradient check, never write into an input
    result = evaluate("sum(W**2)", W=W)
    assert np.shares_memory(result.inputs["W"], W) and result.inputs["W"].tolist() == [1.0, 2.0]
    assert backprop_check(result).passed
    ints = np.array([1, 2])
    converted = evaluate("sum(W)", W=ints).inputs["W"]
    assert converted.dtype == np.float64 and not np.shares_memory(converted, ints)


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
