"""Tensor programs against an independent oracle, element by element.

The oracle is NumPy's own broadcasting, indexing and matmul applied to object arrays of SymPy
expressions: every element of every input is a symbol of its own, so the program's output is one
SymPy expression and each element of each gradient is its exact symbolic derivative. Nothing of
our engine is used — above all not its summing of a broadcast operand's gradient back to that
operand's shape, which is what this file is about. Values and gradients must agree to 1e-9
relative (absolute floor 1e-12), as in test_differential.

Inputs come in the shapes of every broadcast pattern against each other: a scalar, (1,), (2,),
(3,), (2, 1), (1, 3), (2, 3), (3, 2) and (2, 1, 3); every elementwise operation sees whatever pair
the generator draws, and an operand that would not broadcast is reduced to a scalar first. Each op's
term comes from its entry in op_cases (`tensor`), with the helpers of the Generator below.

Part of `pytest -q`; the long run (profiles.py) tries thousands of deeper programs.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy
from checks import tally
from hypothesis import given, reject
from hypothesis import strategies as st
from op_cases import CASES, OpCase
from oracles import Term, along, assert_close, each, exact, make, oracle_budget, wrap
from profiles import examples, sized

from backprop import evaluate

SHAPES = {
    "s": (),
    "v": (1,),
    "w": (2,),
    "u": (3,),
    "c": (2, 1),
    "r": (1, 3),
    "A": (2, 3),
    "B": (3, 2),
    "T": (2, 1, 3),
}

KINK_MARGIN = 1e-6
"""relu, abs, max and min: an element within this of its kink is not checked (rounding may pick the
other piece there); the kink conventions themselves are tested in test_differential and test_ops."""

FAMILIES = ("unary", "binary", "binary", "reduce", "normalise", "matmul", "transpose", "index", "array")
"""How often each family of ops is drawn (op_cases' `family`); an op of the family is drawn next."""


class Oracle:
    """The symbols of one program's inputs and their exact values at one point."""

    def __init__(self, point: dict[str, np.ndarray]):
        self.symbols: dict[str, np.ndarray] = {}
        self.at: dict[sympy.Symbol, sympy.Rational] = {}
        for name, value in point.items():
            symbols = np.empty(np.shape(value), dtype=object)
            for index in np.ndindex(symbols.shape):
                symbol = sympy.Symbol(f"{name}_{'_'.join(map(str, index))}", real=True)
                symbols[index] = symbol
                self.at[symbol] = sympy.Rational(float(np.asarray(value)[index]))
            self.symbols[name] = symbols

    def exact(self, expression) -> float:
        return exact(expression, self.at)


def broadcastable(*shapes: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------------------
# The generator: text and oracle built side by side from the same choices
# ------------------------------------------------------------------------------------------------


class Generator:
    """Draws a term `depth` ops deep at most; an op's `tensor` rule (op_cases) builds with the rest."""

    def __init__(self, draw, oracle: Oracle, depth: int):
        self.draw, self.oracle, self.depth = draw, oracle, depth

    def expression(self) -> Term:
        if self.depth == 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf()
        family = self.draw(st.sampled_from(FAMILIES))
        case = CASES[self.draw(st.sampled_from(sorted(n for n, c in CASES.items() if c.family == family)))]
        return case.tensor(self, case)

    def sub(self) -> Term:
        """A random subexpression, one level down."""
        return Generator(self.draw, self.oracle, self.depth - 1).expression()

    def leaf(self, where=lambda shape: True) -> Term:
        """An input, of a shape `where` accepts."""
        name = self.draw(st.sampled_from(sorted(n for n, shape in SHAPES.items() if where(shape))))
        tally(f"input of shape {SHAPES[name]}")
        return make(name, self.oracle.symbols[name], leaf=True)

    def operands(self) -> tuple[Term, Term]:
        """Two subexpressions that broadcast: the second is summed to a scalar if they would not."""
        a, b = self.sub(), self.sub()
        if not broadcastable(a.shape, b.shape):
            b = make(f"sum({b.text})", along(CASES["sum"].oracle, b.oracle, None))
        tally(f"broadcast {a.shape} with {b.shape}")
        return a, b

    def positive(self, a: Term) -> Term:
        """1.5 + tanh(a): in (0.5, 2.5), as every input is at least 0.5 away from 0."""
        return make(f"1.5 + tanh({a.text})", each(lambda e: sympy.Rational(3, 2) + sympy.tanh(e), a.oracle))

    def squash(self, a: Term) -> Term:
        """tanh(a): in (-1, 1)."""
        return make(f"tanh({a.text})", each(sympy.tanh, a.oracle))

    def call(self, case: OpCase, a: Term) -> Term:
        """name(a), element by element."""
        return self.elementwise(case, f"{case.name}({a.text})", a)

    def infix(self, case: OpCase, a: Term, b: Term) -> Term:
        """a + b, broadcast."""
        return self.elementwise(case, f"{wrap(a)} {case.infix[0]} {wrap(b)}", a, b)

    def elementwise(self, case: OpCase, text: str, *terms: Term) -> Term:
        """The op's scalar oracle element by element, broadcast; a kink is resolved at the point."""
        if case.kink is None:
            return make(text, each(case.oracle, *(term.oracle for term in terms)))
        return make(
            text, each(lambda *e: case.oracle(*e, self.side(case.kink(*e))), *(t.oracle for t in terms))
        )

    def side(self, difference) -> int:
        """The side of a kink an element is on, -1 or 1; an element at the kink is not checked."""
        value = self.oracle.exact(difference)
        if abs(value) < KINK_MARGIN:
            tally("skipped: an element at a kink")
            reject()
        return 1 if value > 0 else -1


@st.composite
def tensor_cases(draw, depth: int):
    """A random tensor program, its point (every input, magnitudes in [0.5, 2]), and its oracle."""
    magnitudes = st.floats(0.5, 2.0) | st.floats(-2.0, -0.5)
    point = {}
    for name, shape in SHAPES.items():
        size = math.prod(shape)
        elements = draw(st.lists(magnitudes, min_size=size, max_size=size))
        point[name] = elements[0] if shape == () else np.array(elements).reshape(shape)
    oracle = Oracle(point)
    body = Generator(draw, oracle, depth).expression()
    statements = []
    if draw(st.booleans()):  # name the body and use it twice: a shared node
        statements.append(f"h = {body.text}")
        body = make("h * tanh(h)", each(lambda e: e * sympy.tanh(e), body.oracle))
    reduction = draw(st.sampled_from(["sum", "mean"]))
    output = along(CASES[reduction].oracle, body.oracle, None)[()]
    statements.append(f"{reduction}({body.text})")
    text = "; ".join(statements)
    return text, inputs_of(text, point), oracle, output


NAME = re.compile(r"(?<![.\w])[A-Za-z_]\w*")


def inputs_of(text: str, point: dict) -> dict:
    """The values of the inputs the text names (`.T` is not the input T); an input whose symbols
    cancel out of the output still needs a value, and its gradient is 0."""
    return {name: point[name] for name in sorted(set(NAME.findall(text)) & set(point))}


def check_against_oracle(case) -> None:
    text, point, oracle, output = case
    result = evaluate(text, point)  # outside the oracle's budget: a hang of ours must not be skipped
    assert sorted(result.gradients) == sorted(point)
    with oracle_budget():
        value = oracle.exact(output)
        expected = {
            name: each(lambda symbol: oracle.exact(sympy.diff(output, symbol)), oracle.symbols[name])
            for name in point
        }
    assert_close(result.value, value, "value", text)
    for name, grads in expected.items():
        ours = np.asarray(result.gradients[name])
        assert ours.shape == grads.shape, (
            f"dL/d{name} has shape {ours.shape}, {name} has {grads.shape}\n{text}"
        )
        for index in np.ndindex(grads.shape):
            assert_close(float(ours[index]), grads[index], f"dL/d{name}{list(index)}", text)
    tally("tensor programs checked against sympy")


def test_every_family_of_ops_is_drawn():
    assert {case.family for case in CASES.values()} == set(FAMILIES)


@examples(100)  # SymPy's time per example has a long tail (8–67 s for 150): the long profile runs more
@given(tensor_cases(depth=sized(3, 4)))
def test_random_tensor_programs_match_sympy(case):
    check_against_oracle(case)


BROADCASTS = [
    ("A + u", "every row of A gets u"),
    ("A * c", "every column of A is scaled by c"),
    ("c - r", "a column against a row: both broadcast"),
    ("T / c", "rank 3 against rank 2"),
    ("s * A", "a scalar against a matrix"),
    ("v * u", "a vector of one element against a vector"),
    ("max(A, r)", "max with a broadcast row"),
    ("min(c, s)", "min with a scalar"),
    ("A**2 - B.T", "a transposed operand"),
    ("(T - u) / w[0]", "a subscript as a scalar"),
]


@pytest.mark.parametrize(("body", "pattern"), BROADCASTS, ids=[pattern for _, pattern in BROADCASTS])
def test_each_broadcast_pattern_matches_sympy(body, pattern):
    """The named patterns, at one fixed point, so a failure reads plainly."""
    rng = np.random.default_rng(7)
    point = {
        name: (float(rng.uniform(0.5, 2.0)) if shape == () else rng.uniform(0.5, 2.0, shape))
        for name, shape in SHAPES.items()
    }
    oracle = Oracle(point)
    symbols = oracle.symbols
    pieces = {
        "A + u": symbols["A"] + symbols["u"],
        "A * c": symbols["A"] * symbols["c"],
        "c - r": symbols["c"] - symbols["r"],
        "T / c": symbols["T"] / symbols["c"],
        "s * A": symbols["s"] * symbols["A"],
        "v * u": symbols["v"] * symbols["u"],
        "max(A, r)": np.frompyfunc(sympy.Max, 2, 1)(symbols["A"], symbols["r"]),
        "min(c, s)": np.frompyfunc(sympy.Min, 2, 1)(symbols["c"], symbols["s"]),
        "A**2 - B.T": symbols["A"] ** 2 - symbols["B"].T,
        "(T - u) / w[0]": (symbols["T"] - symbols["u"]) / symbols["w"][0],
    }
    body_oracle = np.asarray(pieces[body], dtype=object)
    output = np.sum(each(sympy.sin, body_oracle))
    text = f"sum(sin({body}))"
    check_against_oracle((text, inputs_of(text, point), oracle, output))
