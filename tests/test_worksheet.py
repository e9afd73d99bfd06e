"""Every number a worksheet asks for (issue 14): forward values and gradients of any node
(`c.value=`, `c.grad=`, `c=`), answers from a JSON file or a spreadsheet's CSV, exact values
written as constant expressions (`pi/2`, `1/3`, `sqrt(2)/2`, the constant `e`), and rounded
answers recognised by the digits written (`--rounded`). Numbers are the lecture's (notes §2):
c = a + b = 10, d = b³ = 27, e = c·d = 270 at a = 7, b = 3."""

from __future__ import annotations

import math

import pytest

from backprop import evaluate, parse
from backprop.graph.errors import NameError_

LECTURE = ("eval", "c = a + b; d = b**3; e = c * d", "--a", "7", "--b", "3")


def test_a_worksheet_checks_values_and_gradients_of_every_node(run, run_json):
    answers = ["c.value=10", "c.grad=27", "d.value=27", "d=10", "b=297", "a.value=7", "value=270"]
    code, document = run_json(*LECTURE, *(f"--expect={each}" for each in answers))
    items = document["expect"]["items"]
    assert code == 0 and document["expect"]["passed"]
    assert (items["c.value"]["kind"], items["c.value"]["node"], items["c.value"]["got"]) == (
        "value",
        "c",
        10.0,
    )
    assert (items["d"]["kind"], items["d"]["got"]) == ("grad", 10.0)
    assert (items["value"]["kind"], items["value"]["node"]) == ("value", "e")
    code, out, _ = run(*LECTURE, "--expect", "c.value=10", "--expect", "c=27", "--expect", "value=270")
    assert "value of c" in out and "∂e/∂c" in out and "value of e" in out


def test_answers_from_a_json_file_nest_value_and_grad(run_json, tmp_path):
    path = tmp_path / "answers.json"
    path.write_text('{"c": {"value": 10, "grad": 27}, "a": 27, "value": 270}')
    code, document = run_json(*LECTURE, "--expect-file", str(path))
    assert code == 0 and list(document["expect"]["items"]) == ["c.value", "c.grad", "a", "value"]


def test_a_spreadsheet_worksheet_skips_blank_cells_and_lines(run_json, tmp_path):
    path = tmp_path / "worksheet.csv"
    path.write_bytes("\ufeffName,Value,Grad\na,7,27\nb,3,\n\nc,10,27\nd,27,10\ne,270,1\n".encode())
    code, document = run_json(*LECTURE, "--expect-file", str(path))
    items = document["expect"]["items"]
    assert code == 0 and len(items) == 9 and "b.grad" not in items
    path.write_text("name,value,grad\nc,10,28\n")
    code, document = run_json(*LECTURE, "--expect-file", str(path))
    assert code == 1 and not document["expect"]["items"]["c.grad"]["passed"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("c.foo=1", "'c.foo' is not an answer's name"),
        ("z.value=1", "an expectation names z.value, which is not a node in this program"),
        ("z=1", "an expectation names z, which is not a node with a gradient in this program"),
    ],
)
def test_an_answer_that_names_nothing_is_an_input_error(run_json, answer, message):
    code, document = run_json(*LECTURE, "--expect", answer)
    assert code == 2 and message in document["error"]["message"]


def test_the_same_answer_twice_is_an_error(run_json):
    code, document = run_json(*LECTURE, "--expect", "c=27", "--expect", "c.grad=27")
    assert code == 2 and "given twice" in document["error"]["message"]


def test_a_worksheet_needs_a_header(run_json, tmp_path):
    path = tmp_path / "worksheet.csv"
    path.write_text("c,10,27\n")
    code, document = run_json(*LECTURE, "--expect-file", str(path))
    assert code == 2 and "name,value,grad" in document["error"]["message"]


# -- exact values -------------------------------------------------------------------------------


def test_values_and_answers_may_be_constant_expressions(run_json):
    code, document = run_json("eval", "sin(x) * y", "--x", "pi/2", "--y", "1/3", "--expect", "y=1")
    assert code == 0 and document["value"] == pytest.approx(1 / 3, abs=0)
    code, document = run_json("eval", "x * x / 2", "--x", "sqrt(2)/2", "--expect", "x=sqrt(2)/2")
    assert code == 0 and document["expect"]["items"]["x"]["expected"] == math.sqrt(2) / 2
    code, document = run_json("eval", "sum(x)", "--x", "[pi, e, 1/3]")
    assert code == 0 and document["value"] == math.pi + math.e + 1 / 3


@pytest.mark.parametrize(("value", "message"), [("1/0", "is undefined"), ("y/2", "is not a number")])
def test_a_value_that_is_not_a_constant_expression_is_refused(run_json, value, message):
    code, document = run_json("eval", "x", "--x", value)
    assert code == 2 and message in document["error"]["message"]


def test_the_constant_e_and_a_program_that_names_its_output_e():
    assert evaluate("e ** x", x=1.0).value == math.e
    lecture = evaluate("c = a + b; d = b**3; e = c * d", a=7, b=3)
    assert (lecture.value, lecture.gradients) == (270.0, {"a": 27.0, "b": 297.0})
    with pytest.raises(NameError_, match="used as the constant e"):
        parse("y = e * 2; e = y")
    with pytest.raises(NameError_, match="pi is a constant and cannot be assigned to"):
        parse("pi = 3")


def test_an_input_cannot_be_named_e(run_json):
    code, document = run_json("eval", "e * a", "--a", "1", "--e", "3")
    assert code == 2 and document["error"]["message"] == "e is a constant of the language, not an input"


# -- rounded answers ----------------------------------------------------------------------------


def test_a_rounded_answer_is_recognised_and_graded_by_its_digits_with_rounded(run_json):
    code, document = run_json("eval", "sin(a)", "--a", "1", "--expect", "a=0.54")  # cos(1) = 0.5403…
    item = document["expect"]["items"]["a"]
    assert code == 1 and "the true value to the 2 significant digits written" in item["note"]
    code, document = run_json("eval", "sin(a)", "--a", "1", "--expect", "a=0.54", "--rounded")
    assert code == 0 and document["expect"]["rounded"]
    code, document = run_json("eval", "sin(a)", "--a", "1", "--expect", "a=0.55", "--rounded")
    assert code == 1
    code, document = run_json("eval", "sin(a)", "--a", "1", "--expect", "a=0.5403", "--rounded")
    assert code == 0


@pytest.mark.parametrize(
    ("text", "digits"), [("1.32", 3), ("0.0045", 2), ("1.320", 4), ("2.50e2", 3), ("270", 3), ("-7", 1)]
)
def test_significant_digits_are_counted_as_written(text, digits):
    from backprop.cli.answers import written_digits

    assert written_digits(text) == digits
    assert written_digits("1/3") is None and written_digits("[1, 2]") is None


# -- trace marks every step a student answered ---------------------------------------------------

TRACE = ("trace", "c = a + b; d = b**3; e = c * d", "--a", "7", "--b", "3")


def test_trace_marks_each_answered_step(run):
    code, out, _ = run(
        *TRACE, "--expect", "c.value=10", "--expect", "b=270", "--expect", "d=10", "--expect", "e.value=271"
    )
    lines = out.splitlines()
    assert code == 1
    assert any(line.startswith("  c = a + b = 7 + 3 = 10") and line.endswith("✓ 10") for line in lines)
    assert any(line.startswith("  e = c * d") and line.endswith("✗ you wrote 271") for line in lines)
    completing = [line for line in lines if "→ b.grad = 270 + 27 = 297" in line]
    assert completing and completing[0].endswith("✗ you wrote 270")  # the step that completes b.grad
    assert any(line.endswith("→ b.grad = 270") for line in lines)  # the first of b's two steps: unmarked
    assert "why: b.grad: you have 270, the contribution through d only" in out
    assert "answers: 2 of 4 off; first mistake: e.value" in out


def test_trace_json_carries_the_answers(run_json):
    code, document = run_json(*TRACE, "--expect", "b=297", "--expect", "c.value=10")
    assert code == 0 and document["expect"]["passed"] and set(document["expect"]["items"]) == {"b", "c.value"}


def test_the_command_line_spells_the_kinds_as_the_library_does():
    """cli/answers.py keeps its own two words so that a plain `eval` never loads graph/expect.py."""
    from backprop.cli import answers
    from backprop.graph import expect

    assert (answers.VALUE, answers.GRAD) == (expect.VALUE, expect.GRAD)
