"""Differential testing against an independent oracle: SymPy differentiates the same random programs
symbolically, and our values and gradients must agree to 1e-9 relative (absolute floor 1e-12).

The oracle never reads our text: a program is generated as a structure (tests/strategies.py) and
converted here, node by node, into a SymPy expression with each op's own `oracle` (tests/op_cases.py).
The kink conventions of the README are written into the oracle (relu'(0) = 0, abs'(0) = 0, a max/min
tie splits evenly), and random points within 1e-6 of a kink are skipped, where float rounding may
pick the other piece.

Part of `pytest -q`; the long run (profiles.py) tries thousands of bigger programs.
"""

from __future__ import annotations

import math

import pytest
import sympy
from checks import tally
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_cases import CASES
from oracles import assert_close, exact, oracle_budget
from programs import PI, GeneratedProgram, Statement, const, expanded_size, inputs, ref, render, tree
from strategies import cases, grow, kink_arguments, points

from backprop import evaluate

# ------------------------------------------------------------------------------------------------
# The oracle: our structure → SymPy, each op by its entry in op_cases
# ------------------------------------------------------------------------------------------------


def _side(difference: sympy.Expr, at: dict) -> int:
    """The sign of an exact value: -1, 0 or 1."""
    value = difference.xreplace(at)
    if value == 0:
        return 0
    number = exact(value, {})
    return (number > 0) - (number < 0)


class Converter:
    """Expr → SymPy at a point: the inputs are real symbols, valued by `at` (exact rationals); a
    reference in `held` stays a symbol of its own (for dL/d(named node))."""

    def __init__(self, point: dict[str, float], held: dict[str, sympy.Symbol] | None = None):
        self.symbols = {name: sympy.Symbol(name, real=True) for name in point}
        self.at = {self.symbols[name]: sympy.Rational(value) for name, value in point.items()}
        self.held = held or {}
        self.memo: dict[int, sympy.Expr] = {}

    def hold(self, name: str, value: sympy.Expr) -> sympy.Symbol:
        """Make references to `name` a symbol of their own, valued `value` (for choosing pieces)."""
        symbol = sympy.Symbol(f"held_{name}", real=True)
        self.held[name] = symbol
        self.at[symbol] = value
        self.memo.clear()
        return symbol

    def __call__(self, e) -> sympy.Expr:
        key = id(e)
        if key not in self.memo:
            self.memo[key] = self._convert(e)
        return self.memo[key]

    def value(self, expression: sympy.Expr) -> float:
        return exact(expression, self.at)

    def _convert(self, e) -> sympy.Expr:
        if e.op == "input":
            return self.symbols[e.text]
        if e.op == "const":
            if e.text in ("pi", "e"):
                return sympy.pi if e.text == "pi" else sympy.E
            return sympy.Rational(e.value)  # the double, exactly
        if e.op == "ref":
            return self.held[e.text] if e.text in self.held else self(e.args[0])
        case = CASES[e.op]
        args = [self(arg) for arg in e.args]
        if case.kink is not None:
            return case.oracle(*args, _side(case.kink(*args), self.at))
        return case.oracle(*args)


INLINED_NODES = 250
"""The oracle inlines every reference, so a DAG can grow exponentially; past this many nodes SymPy's
derivatives outgrow memory (a 2,000-node one took 24 GB), and the example is skipped."""


def checkable(program: GeneratedProgram, point: dict[str, float]) -> bool:
    """Small enough for SymPy, and away from kinks: within 1e-6 of one, rounding may put our float
    on another piece than the exact value."""
    if expanded_size(program.output) > INLINED_NODES:
        return False
    return all(abs(v) > 1e-6 for v in kink_arguments(evaluate(program.text(), point)))


def check_against_sympy(program: GeneratedProgram, point: dict[str, float]) -> None:
    text = program.text()
    result = evaluate(text, point)  # outside the oracle's budget: a hang of ours must not be skipped
    assert list(result.gradients) == program.used_inputs()
    with oracle_budget():
        convert = Converter(point)
        output = convert(program.output)
        value = convert.value(output)
        grads = {name: convert.value(sympy.diff(output, convert.symbols[name])) for name in result.gradients}
        named = expected_named_nodes(program, point)
    assert_close(result.value, value, "value", text)
    for name, grad in result.gradients.items():
        assert_close(grad, grads[name], f"dL/d{name}", text)
    check_named_nodes(result, named, text)
    tally("programs checked against sympy")


def expected_named_nodes(program: GeneratedProgram, point: dict[str, float]) -> dict:
    """For every `name = expr` node: (its value, dL/d(node) with the inputs held fixed, or None
    when only constants flow into it)."""
    expected = {}
    for statement in program.statements:
        if statement.name is None or statement.expr.op in ("input", "ref"):
            continue  # `u = x` names x's node; there is no node called u
        convert = Converter(point)
        value = convert(statement.expr)
        grad = None
        if statement.expr.uses_inputs:
            held = convert.hold(statement.name, value.xreplace(convert.at))
            grad = convert.value(sympy.diff(convert(program.output), held))
        expected[statement.name] = (convert.value(value), grad)
    return expected


def check_named_nodes(result, expected: dict, text: str) -> None:
    rows = {row.name: row for row in result.nodes}
    for name, (value, grad) in expected.items():
        row = rows[name]
        assert_close(row.value, value, f"value of {name}", text)
        if row.id == result.program.output:
            continue  # the output's grad is the seed, 1 (test_hostile_input checks the constant case)
        if grad is None:
            assert row.grad is None, f"{name} is computed from constants only: no gradient"
        else:
            assert_close(row.grad, grad, f"dL/d{name}", text)


# ------------------------------------------------------------------------------------------------
# Random programs
# ------------------------------------------------------------------------------------------------


@given(cases())
def test_random_programs_match_sympy(case):
    assume(checkable(*case))
    check_against_sympy(*case)


@st.composite
def programs_around(draw, op: str):
    """A random program whose output is `op` applied to random subexpressions of x and y."""
    output = grow(draw, op, (inputs("x"), inputs("y")), 2)
    program = GeneratedProgram((Statement(None, output),), ("", ""), ("x", "y"))
    return program, draw(points(program.inputs))


@pytest.mark.parametrize("op", sorted(CASES))
@settings(max_examples=20)
@given(data=st.data())
def test_every_op_matches_sympy(op, data):
    case = data.draw(programs_around(op))
    assume(checkable(*case))
    check_against_sympy(*case)


# ------------------------------------------------------------------------------------------------
# The traps, written as structures: the text they render to is part of the test
# ------------------------------------------------------------------------------------------------

x, y, z = inputs("x"), inputs("y"), inputs("z")
TWO, THREE = const("2"), const("3")

TRAPS = [
    (tree("neg", tree("pow", x, TWO)), "-x**2", {"x": 3.0}),
    (tree("pow", tree("neg", x), TWO), "(-x)**2", {"x": 3.0}),
    (tree("pow", TWO, tree("neg", const("1"))), "2**-1", {}),
    (tree("pow", x, tree("neg", THREE)), "x**-3", {"x": -1.5}),
    (tree("pow", x, tree("pow", y, z)), "x**y**z", {"x": 1.5, "y": 0.5, "z": 2.0}),
    (tree("pow", tree("pow", x, y), z), "(x**y)**z", {"x": 1.5, "y": 0.5, "z": 2.0}),
    (tree("div", tree("div", x, y), z), "x / y / z", {"x": 1.0, "y": 2.0, "z": 4.0}),
    (tree("div", x, tree("div", y, z)), "x / (y / z)", {"x": 1.0, "y": 2.0, "z": 4.0}),
    (tree("sub", tree("sub", x, y), z), "x - y - z", {"x": 1.0, "y": 2.0, "z": 4.0}),
    (tree("sub", x, tree("sub", y, z)), "x - (y - z)", {"x": 1.0, "y": 2.0, "z": 4.0}),
    (tree("mul", x, tree("neg", y)), "x * -y", {"x": 1.0, "y": 2.0}),
    (tree("sub", x, tree("neg", y)), "x - -y", {"x": 1.0, "y": 2.0}),
    (tree("neg", tree("add", x, y)), "-(x + y)", {"x": 1.0, "y": 2.0}),
    (tree("mul", PI, tree("sin", x)), "pi * sin(x)", {"x": 0.25}),
    # kinks, at the kink: the README's conventions are written into the oracle
    (tree("relu", x), "relu(x)", {"x": 0.0}),
    (tree("abs", x), "abs(x)", {"x": 0.0}),
    (tree("max", x, y), "max(x, y)", {"x": 2.0, "y": 2.0}),
    (tree("min", x, y), "min(x, y)", {"x": -1.0, "y": -1.0}),
    (tree("max", x, x), "max(x, x)", {"x": 0.5}),
]


@pytest.mark.parametrize(("structure", "text", "point"), TRAPS, ids=[case[1] for case in TRAPS])
def test_traps_match_sympy(structure, text, point):
    assert render(structure) == text
    result = evaluate(text, point)
    convert = Converter(point)
    output = convert(structure)
    assert_close(result.value, convert.value(output), "value", text)
    for name, grad in result.gradients.items():
        assert_close(grad, convert.value(sympy.diff(output, convert.symbols[name])), f"dL/d{name}", text)


def test_shared_names_accumulate_like_sympy():
    """u = x*y; v = u + x; u * v — u and x each have two parents."""
    u_expr = tree("mul", x, y)
    u = ref("u", u_expr)
    v_expr = tree("add", u, x)
    program = GeneratedProgram(
        (Statement("u", u_expr), Statement("v", v_expr), Statement(None, tree("mul", u, ref("v", v_expr)))),
        ("", "; ", "; ", ""),
        ("x", "y"),
    )
    assert program.text() == "u = x * y; v = u + x; u * v"
    check_against_sympy(program, {"x": 1.5, "y": -0.5})


def test_sympy_oracle_is_exact_on_the_lecture():
    """The oracle itself, on numbers everyone knows: (a + b)*b^3 at 7, 3 → 270, 27, 297."""
    a, b = inputs("a"), inputs("b")
    convert = Converter({"a": 7.0, "b": 3.0})
    output = convert(tree("mul", tree("add", a, b), tree("pow", b, THREE)))
    assert convert.value(output) == 270
    assert [convert.value(sympy.diff(output, convert.symbols[n])) for n in "ab"] == [27, 297]
    assert math.isclose(convert.value(convert(PI)), math.pi)
