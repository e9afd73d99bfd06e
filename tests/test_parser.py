"""The language: precedence, statements, names, and syntax errors with their places."""

from __future__ import annotations

import pytest

from backprop import ArityError, DomainError, NameError_, ParseError, evaluate, parse
from backprop.parser.generate import GRAMMAR, TABLES, build_tables, render


def test_tables_are_in_sync_with_the_grammar():
    """tables.json is generated from grammar.lark; regenerate with `python -m backprop.parser.generate`."""
    assert TABLES.read_text(encoding="utf-8") == render(build_tables(GRAMMAR.read_text(encoding="utf-8")))


def ops_of(text: str) -> list[str]:
    return [op.name for op in parse(text).ops]


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("-x**2", {"x": 3}, -9.0),  # a power binds tighter than a unary minus on its left
        ("2**-1", {}, 0.5),  # a unary minus may stand in an exponent
        ("2^-1", {}, 0.5),
        ("2**3**2", {}, 512.0),  # right-associative
        ("2^3^2", {}, 512.0),
        ("a/b/c", {"a": 8, "b": 2, "c": 2}, 2.0),  # left-associative
        ("a-b-c", {"a": 8, "b": 2, "c": 2}, 4.0),
        ("1 + 2 * 3", {}, 7.0),
        ("(1 + 2) * 3", {}, 9.0),
        ("+x", {"x": 3}, 3.0),
        ("--x", {"x": 3}, 3.0),
        ("-(-2)**3", {}, 8.0),
        ("2 * -x", {"x": 3}, -6.0),
        ("pi", {}, 3.141592653589793),
    ],
)
def test_precedence(text, values, expected):
    assert evaluate(text, values).value == expected


@pytest.mark.parametrize(
    ("spelling", "value"),
    [
        ("3", 3.0),
        ("2.5", 2.5),
        (".5", 0.5),
        ("3.", 3.0),
        ("1e-3", 1e-3),
        ("1E3", 1e3),
        ("1e+3", 1e3),
        ("2.5e-3", 2.5e-3),
    ],
)
def test_number_spellings(spelling, value):
    assert evaluate(spelling).value == value


def test_unary_plus_makes_no_node():
    assert ops_of("+x") == ["input"]


@pytest.mark.parametrize(
    "text",
    [
        "u = a*b; v = u + a; u * v",
        "u = a*b\nv = u + a\nu * v",
        "u = a*b;\n\n  v = u + a  # a comment\n\tu * v;\n",
        "# header\nu = a*b; v = u + a\nu * v\n\n",
        "u = a*b; v = u +\n a\nu * v",  # a line ending in an operator goes on
        "u = (a\n * b); v = u + a; u * v",  # brackets span lines
    ],
)
def test_statement_layouts_are_the_same_program(text):
    result = evaluate(text, a=2, b=5)
    assert result.value == 10 * 12
    assert ops_of(text) == ["input", "input", "mul", "add", "mul"]


def test_a_name_used_again_is_the_same_node():
    program = parse("u = a*b; v = u + a; u * v")
    assert program.inputs == {"a": 0, "b": 1}
    assert program.bindings == {"u": 2, "v": 3}
    assert program.inputs_of(4) == (2, 3)


def test_statement_names_label_their_nodes():
    labels = parse("z = x + y; s = sigmoid(x); L = z * s").labels()
    assert labels == ["x", "y", "z", "s", "L"]


def test_unnamed_nodes_get_lecture_letters_skipping_taken_names():
    assert parse("(a + b) * b**3").labels() == ["a", "b", "c", "3", "d", "e"]
    assert parse("(a + b**3) * c").labels() == ["a", "b", "3", "d", "e", "c", "f"]


def test_a_span_includes_brackets_of_its_operands():
    program = parse("(a + b)**2")
    assert program.expr(program.output) == "(a + b)**2"
    assert program.expr(2) == "a + b"


def error_of(text: str, kind=ParseError, **values):
    with pytest.raises(kind) as caught:
        evaluate(text, values)
    return caught.value


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("(a + $b)", 1, 6, "unexpected character '$'"),
        ("2x + 1", 1, 2, "unexpected name 'x'"),
        ("(a + b", 1, 7, "ends too early"),
        ("a +", 1, 4, "expected an expression"),
        ("a = 1\nb = (a +\n", 2, 9, "ends too early"),  # just after the last character
        ("x = (1, 2)", 1, 7, "unexpected ','"),
        ("a b", 1, 3, "unexpected name 'b'"),
        ("x = 1 = 2", 1, 7, "unexpected '='"),
        ("sin()", 1, 5, "unexpected ')'"),
    ],
)
def test_syntax_errors_name_their_place(text, line, column, words):
    error = error_of(text, a=1, b=1)
    assert (error.line, error.column) == (line, column)
    assert words in error.message
    assert error.kind == "syntax"


def test_missing_operator_hint():
    assert "operator is missing" in error_of("2x").hint


def test_unclosed_bracket_hint():
    assert "not closed" in error_of("(a + b", a=1, b=1).hint


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "# only a comment\n"])
def test_an_empty_program_is_an_error(text):
    assert "empty" in error_of(text).message


def test_unknown_function_suggests_the_closest():
    error = error_of("sine(a)", NameError_, a=1)
    assert error.message == "unknown function sine"
    assert error.hint == "did you mean sin?"
    assert (error.line, error.column, error.width) == (1, 1, 4)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sin(a, b)", "sin takes 1 argument, but 2 were given"),
        ("max(a)", "max takes 2 arguments, but 1 was given"),
    ],
)
def test_wrong_arity_names_the_function(text, words):
    assert error_of(text, ArityError, a=1, b=2).message == words


@pytest.mark.parametrize(
    ("text", "words", "column"),
    [
        ("a = 1; a = 2", "a is already defined", 8),
        ("x = a; a = 2", "a is used as an input", 8),
        ("pi = 3", "pi is a constant", 1),
        ("exp = 3", "exp is a function", 1),
        ("exp + 1", "exp is a function, not a value", 1),
    ],
)
def test_binding_errors_point_at_the_second_binding(text, words, column):
    error = error_of(text, NameError_, a=1)
    assert words in error.message
    assert error.column == column


def test_only_the_last_statement_may_be_a_bare_expression():
    error = error_of("x = a; a + 1; x", a=1)
    assert "never used" in error.message and error.column == 8


def test_a_huge_literal_is_a_domain_error():
    error = error_of("1" * 400, DomainError)
    assert error.message == f"the number {'1' * 23}… is too large for a float64"


def test_deep_parentheses_parse_without_recursion():
    depth = 20_000
    assert evaluate("(" * depth + "x" + ")" * depth, x=2).gradients == {"x": 1.0}
