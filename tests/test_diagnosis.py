"""Say what went wrong (issue 14): a wrong answer is matched against the lectures' usual mistakes,
named only when one explains it within the tolerance. The numbers are the lecture's DAG
(notes §2, "trees vs DAGs"): c = a + b, d = b³, e = c·d at a = 7, b = 3, where b has two parents:
∂e/∂b = ∂e/∂c·1 + ∂e/∂d·3b² = 27 + 270 = 297."""

from __future__ import annotations

import pytest

LECTURE = ("eval", "c = a + b; d = b**3; e = c * d", "--a", "7", "--b", "3")
CHAIN = ("eval", "z = x + y; b = sigmoid(x); L = z * b", "--x", "1", "--y", "2")  # the notes' §1.2 example


def diagnosis_of(run_json, program, *answers):
    code, document = run_json(*program, *(f"--expect={each}" for each in answers))
    assert code == 1
    return document["expect"]


@pytest.mark.parametrize(
    ("program", "answer", "kind", "nodes", "text"),
    [
        (
            LECTURE,
            "b=270",
            "missing parents",
            ["c"],
            "b.grad: you have 270, the contribution through d only; the path through c adds 27",
        ),
        (
            LECTURE,
            "b=27",
            "missing parents",
            ["d"],
            "the contribution through c only; the path through d adds 270",
        ),
        (
            CHAIN,
            "x=0.196612",
            "local derivative alone",
            ["b"],
            "0.196612 is ∂b/∂x alone: the chain rule multiplies it by b.grad = 3",
        ),
        (
            CHAIN,
            "x=3",
            "parent gradient alone",
            ["b"],
            "3 is b.grad alone: the chain rule multiplies it by ∂b/∂x = 0.196612",
        ),
        (LECTURE, "b=-297", "sign", ["b"], "the sign of b's gradient is off: it is 297"),
        (
            LECTURE,
            "c=10",
            "value for gradient",
            ["c"],
            "that is c's value, where its gradient was asked: write c.value= to check the value",
        ),
        (
            LECTURE,
            "c.value=27",
            "gradient for value",
            ["c"],
            "that is c's gradient, where its value was asked: write c= to check the gradient",
        ),
    ],
)
def test_each_usual_mistake_is_named(run_json, program, answer, kind, nodes, text):
    report = diagnosis_of(run_json, program, answer)
    diagnosis = report["items"][answer.split("=")[0]]["diagnosis"]
    assert (diagnosis["kind"], diagnosis["nodes"]) == (kind, nodes)
    assert text in diagnosis["text"]


def test_a_consequence_points_at_the_first_mistake_of_the_backward_pass(run_json):
    report = diagnosis_of(run_json, LECTURE, "d=11", "b=324")  # 11·27 + 27: right from the wrong d.grad
    assert report["items"]["b"]["diagnosis"]["kind"] == "consequence"
    assert (
        report["items"]["b"]["diagnosis"]["text"]
        == "right from your d.grad = 11: the mistake is earlier; first mistake: d.grad"
    )
    assert report["first_mistake"] == "d.grad" and "diagnosis" not in report["items"]["d"]


def test_a_consequence_in_the_forward_pass_points_at_the_first_wrong_value(run_json):
    report = diagnosis_of(run_json, LECTURE, "c.value=11", "e.value=297")  # 11·27
    assert report["items"]["e.value"]["diagnosis"]["nodes"] == ["c"]
    assert report["first_mistake"] == "c.value"


def test_no_diagnosis_is_claimed_for_an_answer_no_mistake_explains(run_json, run):
    report = diagnosis_of(run_json, LECTURE, "a=54", "b=300")
    assert all("diagnosis" not in item for item in report["items"].values())
    code, out, _ = run(*LECTURE, "--expect", "a=54")
    assert code == 1 and "why:" not in out


def test_the_table_says_why_under_the_row(run):
    code, out, _ = run(*LECTURE, "--expect", "d=11", "--expect", "b=324", "--expect", "c=27")
    assert code == 1 and "why: right from your d.grad = 11" in out
    assert "answers: 2 of 3 off; first mistake: d.grad" in out


def test_right_answers_have_no_diagnosis_and_no_first_mistake(run_json):
    code, document = run_json(*LECTURE, "--expect", "b=297")
    assert code == 0 and document["expect"]["first_mistake"] is None


def test_a_deliberately_wrong_worksheet_reads_like_a_teaching_assistants_margin(run, tmp_path):
    """The lecture's DAG worked as a student would, in a spreadsheet: c's value written as its
    gradient, d.grad slipped (11 for 10), and b.grad then carried the slip."""
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text("name,value,grad\na,7,27\nb,3,324\nc,27,27\nd,27,11\ne,270,1\n")
    code, out, _ = run(*LECTURE, "--expect-file", str(sheet))
    out = " ".join(out.split())  # the why: lines fold at the terminal's width
    assert code == 1
    assert "value of c: why: that is c's gradient, where its value was asked" in out
    assert "∂e/∂b: why: right from your d.grad = 11: the mistake is earlier; first mistake: c.value" in out
    assert "answers: 3 of 10 off; first mistake: c.value" in out
