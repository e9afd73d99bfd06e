"""The Python API as a notebook uses it (issue 14): a readable repr and an HTML table, gradients by
node name, the check, the trace and DOT as functions, a warning for a value nobody uses, errors
whose fix is said in Python's words, and type information shipped."""

from __future__ import annotations

from importlib.resources import files

import pytest

import backprop
from backprop import NameError_, NamingError, UnusedInputWarning, evaluate, parse

LECTURE = "c = a + b; d = b**3; e = c * d"


def test_an_evaluation_reads_well_in_a_notebook():
    evaluation = evaluate(LECTURE, a=7, b=3)
    assert (
        repr(evaluation)
        == "<Evaluation of 'c = a + b; d = b**3; e = c * d': value 270, gradients {a: 27, b: 297}>"
    )
    html = evaluation._repr_html_()
    assert html.startswith("<table><caption>c = a + b; d = b**3; e = c * d</caption>")
    assert html.count("<tr>") == 1 + 6  # the header, and a, b, c, 3, d, e
    assert "<td>c</td><td>add</td><td>a + b</td><td>10</td><td>27</td>" in html


def test_the_html_table_escapes_and_stays_short():
    assert "&lt;b&gt;" in evaluate("a * 2 # <b>", a=1)._repr_html_()
    long = evaluate(" + ".join(f"a*{i}" for i in range(300)), a=1)
    assert long._repr_html_().count("<tr>") == 201 and "more nodes" in long._repr_html_()


def test_a_gradient_by_the_node_name():
    evaluation = evaluate(LECTURE, a=7, b=3)
    assert (evaluation.grad_of("c"), evaluation.grad_of("b"), evaluation.grad_of(2)) == (27.0, 297.0, 27.0)
    with pytest.raises(NamingError, match="no node is named q") as error:
        evaluation.grad_of("q")
    assert error.value.hint == "the names are: a, b, c, 3, d, e"


def test_the_name_error_has_a_name_without_an_underscore():
    assert NameError_ is NamingError
    with pytest.raises(NamingError):
        parse("pi = 3")


def test_check_trace_and_dot_are_functions():
    evaluation = evaluate(LECTURE, a=7, b=3)
    assert backprop.check(evaluation).passed
    steps = backprop.trace(evaluation)
    assert [step.total for step in steps.backward if step.child_name == "b"] == [270.0, 297.0]
    assert backprop.to_dot(evaluation).startswith("digraph backprop {")
    assert "value=270" in backprop.to_dot(evaluation) and "value" not in backprop.to_dot(parse("a*b"))


def test_a_value_nobody_uses_is_a_warning():
    with pytest.warns(UnusedInputWarning, match="c is given a value but the program never uses it"):
        evaluate("a * b", a=1, b=2, c=3)


def test_library_errors_say_the_fix_in_python(run):
    with pytest.raises(NamingError) as missing:
        evaluate("a * b", a=1)
    assert missing.value.hint == "give evaluate() b=…, or a mapping with it"
    with pytest.raises(backprop.LimitError) as nodes:
        parse("a + a + a", max_nodes=2)
    assert nodes.value.hint == "raise the limit with parse(text, max_nodes=…) (now 2)"
    code, _, err = run("eval", "a * b", "--a", "1")
    assert code == 2 and "hint: pass --b VALUE (or --var b=VALUE)" in err  # the command keeps its options


def test_type_information_ships():
    assert files("backprop").joinpath("py.typed").is_file()
