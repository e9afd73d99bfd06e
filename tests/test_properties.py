"""Properties of the whole pipeline, text → parse → forward → backward, on programs generated from
the grammar's own vocabulary (tests/strategies.py): every gradient agrees with central differences
of the value, every value is finite; the precedence table, the number spellings and the layout
rules of the README hold; and depth costs no stack.
"""

from __future__ import annotations

import math
import time

import pytest
from checks import assert_finite_evaluation, central_difference, tally
from hypothesis import assume, given
from strategies import cases, kink_arguments

from backprop import BackpropError, evaluate, parse

# ------------------------------------------------------------------------------------------------
# Random programs: gradients against central differences of the value
# ------------------------------------------------------------------------------------------------


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _pieces(evaluation) -> tuple[int, ...]:
    """Which side of every kink (relu, abs, max, min) the evaluation is on."""
    return tuple(_sign(value) for value in kink_arguments(evaluation))


class Along:
    """The program's value as a function of one input, the others held; keeps every evaluation."""

    def __init__(self, program, point: dict[str, float], name: str):
        self.program, self.point, self.name = program, point, name
        self.evaluations: list = []

    def value(self, x: float) -> float:
        self.evaluations.append(evaluate(self.program, {**self.point, self.name: x}))
        return self.evaluations[-1].value


def check_gradients_numerically(text: str, point: dict[str, float], used: list[str]) -> None:
    program = parse(text)
    result = evaluate(program, point)
    assert_finite_evaluation(result)
    assert list(result.gradients) == used  # exactly the inputs the text uses, in order of first use
    for name, analytic in result.gradients.items():
        along = Along(program, point, name)
        numeric, spread = central_difference(along.value, point[name])
        # Every point the difference used must lie on one smooth piece, or it measures a kink.
        assume(all(_pieces(other) == _pieces(result) for other in along.evaluations))
        scale = max(1.0, abs(analytic), abs(result.value))
        assume(spread <= 1e-2 * scale)  # too curved at this step for any numeric slope to mean much
        assert abs(numeric - analytic) <= 1e-5 * scale, (name, numeric, analytic, text)
    tally("programs checked against central differences")


@given(cases())
def test_random_programs_match_central_differences(case):
    """Bigger programs, thousands of them, in the long run (profiles.py)."""
    program, point = case
    check_gradients_numerically(program.text(), point, program.used_inputs())


@given(cases())
def test_parsed_once_evaluated_twice(case):
    """A Program re-evaluates at new points: the same numbers as parsing the text again."""
    program, point = case
    text = program.text()
    parsed = parse(text)
    shifted = {name: value / 2 for name, value in point.items()}
    first, second, fresh = evaluate(parsed, point), evaluate(parsed, shifted), evaluate(text, shifted)
    assert (second.value, second.gradients) == (fresh.value, fresh.gradients)
    assert first.value == evaluate(text, point).value


# ------------------------------------------------------------------------------------------------
# The precedence table of the README, with gradients derived by hand
# ------------------------------------------------------------------------------------------------

LN2, LN3 = math.log(2), math.log(3)

PRECEDENCE = [
    # text, inputs, value, gradients
    ("-x**2", {"x": 3}, -9, {"x": -6}),  # a power binds tighter than a unary minus on its left
    ("-(x**2)", {"x": 3}, -9, {"x": -6}),
    ("(-x)**2", {"x": 3}, 9, {"x": 6}),
    ("-x^2", {"x": 3}, -9, {"x": -6}),
    ("-2**2", {}, -4, {}),
    ("(-2)**2", {}, 4, {}),
    ("2*x^2", {"x": 3}, 18, {"x": 12}),
    ("x^2*2", {"x": 3}, 18, {"x": 12}),
    ("2**-1", {}, 0.5, {}),  # a unary minus may stand in an exponent
    ("2^-1", {}, 0.5, {}),
    ("2**-2**2", {}, 1 / 16, {}),  # 2**(-(2**2))
    ("x**-1", {"x": 4}, 0.25, {"x": -1 / 16}),
    ("-x**-2", {"x": 2}, -0.25, {"x": 0.25}),
    ("x**3", {"x": -2}, -8, {"x": 12}),  # a whole exponent works for a negative base
    ("2**3**2", {}, 512, {}),  # right-associative
    ("2^3^2", {}, 512, {}),
    ("2^3", {}, 8, {}),  # ^ is **
    ("a**b**c", {"a": 2, "b": 3, "c": 2}, 512, {"a": 2304, "b": 3072 * LN2, "c": 512 * 9 * LN2 * LN3}),
    ("(a**b)**c", {"a": 2, "b": 3, "c": 2}, 64, {"a": 192, "b": 128 * LN2, "c": 192 * LN2}),
    ("a/b/c", {"a": 8, "b": 4, "c": 2}, 1, {"a": 1 / 8, "b": -0.25, "c": -0.5}),  # left-associative
    ("a/(b/c)", {"a": 8, "b": 4, "c": 2}, 4, {"a": 0.5, "b": -1, "c": 2}),
    ("a/b*c", {"a": 8, "b": 4, "c": 2}, 4, {"a": 0.5, "b": -1, "c": 2}),
    ("a-b-c", {"a": 10, "b": 3, "c": 2}, 5, {"a": 1, "b": -1, "c": -1}),
    ("a-(b-c)", {"a": 10, "b": 3, "c": 2}, 9, {"a": 1, "b": -1, "c": 1}),
    ("a-b+c", {"a": 10, "b": 3, "c": 2}, 9, {"a": 1, "b": -1, "c": 1}),
    ("a+b*c", {"a": 2, "b": 3, "c": 4}, 14, {"a": 1, "b": 4, "c": 3}),
    ("(a+b)*c", {"a": 2, "b": 3, "c": 4}, 20, {"a": 4, "b": 4, "c": 5}),
    ("a*b**c", {"a": 2, "b": 3, "c": 2}, 18, {"a": 9, "b": 12, "c": 18 * LN3}),
    ("a*-b", {"a": 2, "b": 3}, -6, {"a": -3, "b": -2}),
    ("a - -b", {"a": 2, "b": 3}, 5, {"a": 1, "b": 1}),
    ("-a*b", {"a": 2, "b": 3}, -6, {"a": -3, "b": -2}),
    ("+x", {"x": 3}, 3, {"x": 1}),  # unary plus is the identity
    ("-+-x", {"x": 3}, 3, {"x": 1}),
    ("--x", {"x": 3}, 3, {"x": 1}),
    ("+-x", {"x": 3}, -3, {"x": -1}),
    ("+x**2", {"x": 3}, 9, {"x": 6}),
    ("1 - -1", {}, 2, {}),
    ("-sin(x)**2", {"x": 0.5}, -(math.sin(0.5) ** 2), {"x": -2 * math.sin(0.5) * math.cos(0.5)}),
]


@pytest.mark.parametrize(
    ("text", "values", "value", "gradients"), PRECEDENCE, ids=[case[0] for case in PRECEDENCE]
)
def test_precedence(text, values, value, gradients):
    result = evaluate(text, values)
    assert math.isclose(result.value, value, rel_tol=1e-12)
    assert result.gradients.keys() == gradients.keys()
    for name, expected in gradients.items():
        assert math.isclose(result.gradients[name], expected, rel_tol=1e-12), name


# ------------------------------------------------------------------------------------------------
# Number spellings and layout
# ------------------------------------------------------------------------------------------------

SPELLINGS = [
    ("3", 3.0),
    ("2.5", 2.5),
    ("3.", 3.0),
    (".5", 0.5),
    ("1e-3", 0.001),
    ("1E3", 1000.0),
    ("1e+3", 1000.0),
    ("2.5e-3", 0.0025),
    ("1.e2", 100.0),
    ("0.5E-1", 0.05),
    ("007", 7.0),
    ("1e0", 1.0),
    ("0", 0.0),
    ("4.9e-324", 5e-324),  # the smallest subnormal is a number, not an error
    ("1.7976931348623157e308", 1.7976931348623157e308),
]


@pytest.mark.parametrize(("spelling", "number"), SPELLINGS, ids=[case[0] for case in SPELLINGS])
def test_number_spellings(spelling, number):
    assert evaluate(spelling).value == number
    result = evaluate(f"x * {spelling}", x=1.0)
    assert (result.value, result.gradients) == (number, {"x": number})


LAYOUTS = [
    "x*2",
    "x * 2",
    "\tx\t*\t2\t",
    "\fx*2",
    "x *\n2",  # a new line after an operator does not end the statement
    "x *\n\n2",
    "x\t*\n\t2",
    "(x\n*\n2)",  # nor one inside brackets
    "(x\n*2)",
    "x * # a comment after an operator\n 2",
    "x*2;",
    "x*2;;",
    "x*2\n",
    "x*2;\n",
    "x*2\r\n",
    "\n\nx*2\n\n",
    "  ;x*2",
    "# a comment\nx*2",
    "x*2 # a comment",
    "x*2# c; d = (",
    "u = x\nu*2",
    "u = x;u*2;",
    "u = x;;u*2",
    "u = x\r\nu*2\r\n",
    "u = x\n\n# a comment\n\nu * 2\n",
    "u =\n x\nu *\n 2",
    "u = x\nv = u\nv + u",
]


@pytest.mark.parametrize("text", LAYOUTS, ids=[repr(text) for text in LAYOUTS])
def test_layout(text):
    result = evaluate(text, x=1.5)
    assert (result.value, result.gradients) == (3.0, {"x": 2.0})


# ------------------------------------------------------------------------------------------------
# Depth costs no stack: each result against a direct Python loop
# ------------------------------------------------------------------------------------------------


def nested_tanh(depth: int, x: float) -> tuple[str, float, float]:
    """tanh(tanh(…x…)): the text, its value, and its derivative by the chain rule."""
    value, slope = x, 1.0
    for _ in range(depth):
        value = math.tanh(value)
        slope *= 1.0 - value * value
    return "tanh(" * depth + "x" + ")" * depth, value, slope


def nested_parentheses(depth: int, x: float) -> tuple[str, float, float]:
    """(x - (x - (… - (x - 1)…))): x used `depth` times, so its gradient sums over every use."""
    value, slope = 1.0, 0.0
    for _ in range(depth):
        value, slope = x - value, 1.0 - slope
    return "(x - " * depth + "1" + ")" * depth, value, slope


def plain_parentheses(depth: int, x: float) -> tuple[str, float, float]:
    return "(" * depth + "x" + ")" * depth, x, 1.0


def statement_chain(depth: int, x: float) -> tuple[str, float, float]:
    """v1 = tanh(v0) + 0.001*x; …: every statement uses the one before and x itself."""
    lines = ["v0 = x"]
    value, slope = x, 1.0
    for i in range(1, depth):
        lines.append(f"v{i} = tanh(v{i - 1}) + 0.001*x")
        value, slope = math.tanh(value) + 0.001 * x, (1.0 - math.tanh(value) ** 2) * slope + 0.001
    return "\n".join(lines), value, slope


def unary_minus(depth: int, x: float) -> tuple[str, float, float]:
    sign = -1.0 if depth % 2 else 1.0
    return "-" * depth + "x", sign * x, sign


def power_tower(depth: int, x: float) -> tuple[str, float, float]:
    """x**x**…**1, right-associative: value v ← x^v, slope v' ← x^v·(v/x + ln x·v')."""
    value, slope = 1.0, 0.0
    for _ in range(depth):
        value, slope = x**value, x**value * (value / x + math.log(x) * slope)
    return "x**" * depth + "1", value, slope


DEEP = {
    "tanh": nested_tanh,
    "parentheses": nested_parentheses,
    "plain parentheses": plain_parentheses,
    "statements": statement_chain,
    "unary minus": unary_minus,
    "power tower": power_tower,
}


def assert_matches_loop(build, depth: int, x: float = 0.5) -> None:
    text, value, slope = build(depth, x)
    result = evaluate(text, x=x)
    assert math.isclose(result.value, value, rel_tol=1e-9, abs_tol=1e-300)
    assert math.isclose(result.gradients["x"], slope, rel_tol=1e-9, abs_tol=1e-300)


@pytest.mark.parametrize("kind", ["tanh", "parentheses", "plain parentheses", "statements"])
def test_twenty_thousand_deep(kind):
    assert_matches_loop(DEEP[kind], 20_000)


SLOW = pytest.mark.slow  # a hundred thousand of these takes longer: in the long run only


@pytest.mark.parametrize(
    ("kind", "seconds"),
    [
        ("tanh", 30),
        ("plain parentheses", 30),
        ("unary minus", 30),
        ("power tower", 30),
        pytest.param("parentheses", 60, marks=SLOW),
        pytest.param("statements", 60, marks=SLOW),
    ],
)
def test_hundred_thousand_deep_works_or_is_a_clean_error(kind, seconds):
    started = time.perf_counter()
    try:
        assert_matches_loop(DEEP[kind], 100_000)
    except BackpropError as error:  # a limit is allowed; a RecursionError or a crash is not
        assert error.kind in ("limit", "syntax"), error
    assert time.perf_counter() - started < seconds
