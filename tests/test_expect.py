"""`backprop eval --expect`: a student's answers checked against the gradients, exit 0 or 1, with a
relative tolerance that has an absolute floor; scalars and tensors alike."""

from __future__ import annotations

import json

import pytest

LECTURE = ("eval", "(a + b) * b**3", "--a", "7", "--b", "3")


def test_expect_right_answers_exit_0(run):
    code, out, _ = run(
        *LECTURE, "--expect", "a=27", "--expect", "b=297", "--expect", "value=270", "--expect", "c=27"
    )
    assert code == 0
    assert out.count("✓") == 4 and "✗" not in out


def test_expect_a_wrong_answer_exits_1_with_both_numbers(run, run_json):
    code, out, _ = run(*LECTURE, "--expect", "a=27", "--expect", "b=290")
    assert code == 1
    assert "✗" in out and "290" in out and "297" in out
    code, document = run_json(*LECTURE, "--expect", "a=27", "--expect", "b=290")
    assert code == 1
    assert document["expect"] == {
        "passed": False,
        "tolerance": 1e-4,
        "rounded": False,
        "items": {
            "a": {
                "node": "a",
                "kind": "grad",
                "expected": 27.0,
                "got": 27.0,
                "abs_error": 0.0,
                "passed": True,
            },
            "b": {
                "node": "b",
                "kind": "grad",
                "expected": 290.0,
                "got": 297.0,
                "abs_error": 7.0,
                "passed": False,
            },
        },
        "first_mistake": "b.grad",
    }
    assert document["gradients"] == {"a": 27, "b": 297}  # the rest of the document is unchanged


@pytest.mark.parametrize(
    ("answer", "tol", "code"),
    [
        ("a=27.001", "1e-4", 0),  # |0.001| ≤ 1e-4 · 27.001
        ("a=27.01", "1e-4", 1),
        ("a=27.01", "1e-3", 0),
        ("d=10.002", "1e-4", 1),  # 0.002 > 1e-4 · 10.002
        ("d=10.0005", "1e-4", 0),
        ("value=270.02", "1e-4", 0),
    ],
)
def test_expect_tolerance_is_relative(run, answer, tol, code):
    assert run(*LECTURE, "--expect", answer, "--tol", tol)[0] == code


def test_expect_tolerance_has_an_absolute_floor(run):
    """Near 0 the tolerance is tol itself: relu blocks b at −3, and 5e-5 is close enough to 0."""
    args = ("eval", "(a + relu(b)) * c", "--a", "7", "--b", "-3", "--c", "2")
    assert run(*args, "--expect", "b=5e-5")[0] == 0
    assert run(*args, "--expect", "b=5e-4")[0] == 1


def test_expect_file(run_json, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text('{"a": 27, "b": 297, "value": 270}')
    code, document = run_json(*LECTURE, "--expect-file", str(answers))
    assert code == 0
    assert list(document["expect"]["items"]) == ["a", "b", "value"] and document["expect"]["passed"]


def test_expect_unknown_name_lists_the_names(run_json, run):
    code, document = run_json(*LECTURE, "--expect", "q=1")
    assert code == 2
    assert document["error"]["type"] == "input"
    assert document["error"]["hint"] == "the names are: value, a, b, c, d, e"
    assert run(*LECTURE, "--expect", "3=1")[0] == 2  # a constant has no gradient to expect


def test_expect_errors_in_the_option_itself(run, tmp_path):
    assert run(*LECTURE, "--expect", "a")[0] == 2
    assert run(*LECTURE, "--expect", "a=x")[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[27]")
    code, _, err = run(*LECTURE, "--expect-file", str(bad))
    assert code == 2 and "--expect-file" in err
    bad.write_text('{"a": 27}')
    code, _, err = run(*LECTURE, "--expect-file", str(bad), "--expect", "a=27")
    assert code == 2 and "given twice" in err


def test_expect_and_check_together(run_json):
    code, document = run_json(*LECTURE, "--check", "--expect", "b=297")
    assert code == 0 and document["check"]["passed"] and document["expect"]["passed"]


def test_expect_with_tensors_compares_element_by_element(run):
    code, out, _ = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=[2,4]", "--json")
    assert code == 0 and json.loads(out)["expect"]["items"]["x"] == {
        "node": "x",
        "kind": "grad",
        "expected": [2.0, 4.0],
        "got": [2.0, 4.0],
        "abs_error": 0.0,
        "passed": True,
    }
    code, out, _ = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=[2,4.5]", "--json")
    item = json.loads(out)["expect"]["items"]["x"]
    assert code == 1 and item["passed"] is False and item["abs_error"] == 0.5


def test_expect_of_the_wrong_shape_fails_with_a_note(run):
    code, out, err = run("eval", "sum(x*x)", "--x", "[1,2]", "--expect", "x=3", "--json")
    item = json.loads(out)["expect"]["items"]["x"]
    assert code == 1 and "Traceback" not in err
    assert item["passed"] is False and item["abs_error"] is None
