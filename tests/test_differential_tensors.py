"""Tensor programs against an independent oracle, element by element.

The oracle is NumPy's own broadcasting, indexing and matmul applied to object arrays of SymPy
expressions: every element of every input is a symbol of its own, so the program's output is one
SymPy expression and each element of each gradient is its exact symbolic derivative. Nothing of
our engine is used — above all not its summing of a broadcast operand's gradient back to that
operand's shape, which is what this file is about. Values and gradients must agree to 1e-9
relative (absolute floor 1e-12), as in test_differential.

Inputs come in the shapes of every broadcast pattern against each other: a scalar, (1,), (2,),
(3,), (2, 1), (1, 3), (2, 3), (3, 2) and (2, 1, 3); every elementwise operation sees whatever pair
the generator draws, and an operand that would not broadcast is reduced to a scalar first.

Fast slice: part of `pytest -q`. Long run: HYPOTHESIS_PROFILE=long python -m pytest -m slow -s tests/test_differential_tensors.py
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import pytest
import sympy
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from strategies import report_tally, tally, time_limit  # noqa: F401 (report_tally: an autouse fixture)

from backprop import evaluate

REL, ABS = 1e-9, 1e-12

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

ORACLE_SECONDS = 20


class Term(NamedTuple):
    """A generated subexpression: its text, and its oracle (an object array of SymPy expressions)."""

    text: str
    oracle: np.ndarray
    leaf: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.oracle.shape


def make(text: str, oracle, leaf: bool = False) -> Term:
    """A Term whose oracle is always an object array (NumPy gives a bare object for a 0-d result)."""
    return Term(text, np.asarray(oracle, dtype=object), leaf)


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
        number = complex(sympy.sympify(expression).xreplace(self.at).evalf(30))
        assert number.imag == 0, f"the oracle left the real line: {expression}"
        return number.real


def each(function, array: np.ndarray) -> np.ndarray:
    """function applied to every element of an object array (of any rank, 0-d included)."""
    out = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        out[index] = function(array[index])
    return out


def along_last(function, array: np.ndarray, keeps_axis: bool) -> np.ndarray:
    """function applied to each last-axis row (a list of expressions) of an object array."""
    rows = array.shape[:-1]
    out = np.empty(array.shape if keeps_axis else rows, dtype=object)
    for index in np.ndindex(rows):
        result = function(list(array[index]))
        if keeps_axis:
            out[index] = np.array(result, dtype=object)
        else:
            out[index] = result
    return out


def _softmax(row: list) -> list:
    total = sympy.Add(*(sympy.exp(e) for e in row))
    return [sympy.exp(e) / total for e in row]


def _logsumexp(row: list):
    return sympy.log(sympy.Add(*(sympy.exp(e) for e in row)))


def _log_softmax(row: list) -> list:
    return [e - _logsumexp(row) for e in row]


def reduced(array: np.ndarray, axis: int | None, mean: bool) -> np.ndarray:
    total = np.asarray(np.sum(array, axis=axis), dtype=object)
    if not mean:
        return total
    count = array.size if axis is None else array.shape[axis]
    return each(lambda e: e / count, total)


SMOOTH = {
    "exp": sympy.exp,
    "tanh": sympy.tanh,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "sigmoid": lambda e: 1 / (1 + sympy.exp(-e)),
}
POSITIVE_ONLY = {"log": sympy.log, "sqrt": sympy.sqrt}
KINKED = ("relu", "abs")


# ------------------------------------------------------------------------------------------------
# The generator: text and oracle built side by side from the same choices
# ------------------------------------------------------------------------------------------------


class Generator:
    def __init__(self, draw, oracle: Oracle, depth: int):
        self.draw, self.oracle, self.depth = draw, oracle, depth

    def leaf(self) -> Term:
        name = self.draw(st.sampled_from(sorted(SHAPES)))
        tally(f"input of shape {SHAPES[name]}")
        return make(name, self.oracle.symbols[name], leaf=True)

    def expression(self, depth: int) -> Term:
        if depth == 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf()
        kind = self.draw(st.sampled_from(KINDS_OF_TERM))
        return getattr(self, kind)(depth - 1)

    # -- elementwise -------------------------------------------------------------------------

    def unary(self, depth: int) -> Term:
        a = self.expression(depth)
        name = self.draw(st.sampled_from([*SMOOTH, *POSITIVE_ONLY, *KINKED, "neg"]))
        if name == "neg":
            return make(f"-{wrap(a)}", -a.oracle)
        if name in POSITIVE_ONLY:  # 1.5 + tanh(a) is in (0.5, 2.5)
            inner = each(lambda e: sympy.Rational(3, 2) + sympy.tanh(e), a.oracle)
            return make(f"{name}(1.5 + tanh({a.text}))", each(POSITIVE_ONLY[name], inner))
        if name in KINKED:
            return make(f"{name}({a.text})", each(lambda e: self.kinked(name, e, 0), a.oracle))
        if name == "exp" and not a.leaf:  # exp(exp(exp(A))) overflows: squash a computed argument
            a = make(f"tanh({a.text})", each(sympy.tanh, a.oracle))
        return make(f"{name}({a.text})", each(SMOOTH[name], a.oracle))

    def binary(self, depth: int) -> Term:
        a, b = self.expression(depth), self.expression(depth)
        if not broadcastable(a.shape, b.shape):
            b = make(f"sum({b.text})", reduced(b.oracle, None, mean=False))
        operator = self.draw(st.sampled_from(["+", "-", "*", "/", "**", "max", "min"]))
        tally(f"broadcast {a.shape} with {b.shape}")
        if operator in ("max", "min"):
            pieces = np.frompyfunc(lambda p, q: self.kinked(operator, p, q), 2, 1)(a.oracle, b.oracle)
            return make(f"{operator}({a.text}, {b.text})", np.asarray(pieces, dtype=object))
        if operator == "/" and not b.leaf:  # every input is at least 0.5 away from 0; keep a divisor so
            b = make(
                f"(1.5 + tanh({b.text}))", each(lambda e: sympy.Rational(3, 2) + sympy.tanh(e), b.oracle)
            )
        if operator == "**":
            return self.power(a, b)
        combine = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[operator]
        return make(f"{wrap(a)} {operator} {wrap(b)}", np.asarray(combine(a.oracle, b.oracle), dtype=object))

    def power(self, a: Term, b: Term) -> Term:
        """A positive base (1.5 + tanh(a)) to a bounded exponent (tanh(b)), or any base to 2 or 3."""
        if self.draw(st.booleans()):
            n = self.draw(st.sampled_from([2, 3]))
            return make(f"{wrap(a)}**{n}", each(lambda e: e**n, a.oracle))
        base = each(lambda e: sympy.Rational(3, 2) + sympy.tanh(e), a.oracle)
        exponent = each(sympy.tanh, b.oracle)
        return make(
            f"(1.5 + tanh({a.text}))**tanh({b.text})", np.asarray(np.power(base, exponent), dtype=object)
        )

    def kinked(self, name: str, p, q) -> sympy.Expr:
        """relu/abs/max/min of elements, resolved at the point (like test_differential's oracle)."""
        difference = p - q
        value = self.oracle.exact(difference)
        if abs(value) < KINK_MARGIN:
            tally("skipped: an element at a kink")
            reject()
        above = value > 0
        if name == "relu":
            return p if above else sympy.Integer(0)
        if name == "abs":
            return p if above else -p
        if name == "max":
            return p if above else q
        return q if above else p

    # -- tensor operations -------------------------------------------------------------------

    def reduce(self, depth: int) -> Term:
        a = self.expression(depth)
        function = self.draw(st.sampled_from(["sum", "mean"]))
        if a.oracle.ndim == 0 or self.draw(st.booleans()):
            return make(f"{function}({a.text})", reduced(a.oracle, None, function == "mean"))
        axis = self.draw(st.integers(-a.oracle.ndim, a.oracle.ndim - 1))
        tally(f"{function} along an axis")
        return make(f"{function}({a.text}, {axis})", reduced(a.oracle, axis, function == "mean"))

    def normalise(self, depth: int) -> Term:
        a = self.expression(depth)
        if a.oracle.ndim == 0:
            return a
        name = self.draw(st.sampled_from(["softmax", "log_softmax", "logsumexp"]))
        rule = {"softmax": _softmax, "log_softmax": _log_softmax, "logsumexp": _logsumexp}[name]
        tally(f"{name} of rank {a.oracle.ndim}")
        return make(f"{name}({a.text})", along_last(rule, a.oracle, keeps_axis=name != "logsumexp"))

    def matmul(self, depth: int) -> Term:
        a = self.expression(depth)
        if a.oracle.ndim not in (1, 2):
            return a
        inner = a.shape[-1]
        partners = [n for n, s in SHAPES.items() if 1 <= len(s) <= 2 and s[0] == inner]
        b = self.expression(depth)
        if not (1 <= b.oracle.ndim <= 2 and b.shape[0] == inner):
            if b.oracle.ndim == 2 and b.shape[1] == inner:
                b = make(f"{wrap(b)}.T", b.oracle.T)
            else:
                name = self.draw(st.sampled_from(partners))
                b = make(name, self.oracle.symbols[name], leaf=True)
        tally(f"matmul {a.shape} @ {b.shape}")
        product = np.asarray(np.matmul(a.oracle, b.oracle), dtype=object)
        return make(f"{wrap(a)} @ {wrap(b)}", product)

    def transpose(self, depth: int) -> Term:
        a = self.expression(depth)
        if self.draw(st.booleans()):
            return make(f"{wrap(a)}.T", a.oracle.T)
        return make(f"transpose({a.text})", a.oracle.T)

    def index(self, depth: int) -> Term:
        a = self.expression(depth)
        if a.oracle.ndim == 0:
            return a
        count = self.draw(st.integers(1, min(2, a.oracle.ndim)))
        subscripts = tuple(self.draw(st.integers(-n, n - 1)) for n in a.shape[:count])
        text = ", ".join(map(str, subscripts))
        return make(f"{wrap(a)}[{text}]", np.asarray(a.oracle[subscripts], dtype=object))

    def array(self, depth: int) -> Term:
        a, b = self.expression(depth), self.expression(depth)
        if b.shape != a.shape:
            b = make(f"tanh({a.text})", each(sympy.tanh, a.oracle))
        tally(f"array literal of {a.shape}")
        return make(f"[{a.text}, {b.text}]", np.stack([a.oracle, b.oracle]))


KINDS_OF_TERM = ("unary", "binary", "binary", "reduce", "normalise", "matmul", "transpose", "index", "array")


def wrap(term: Term) -> str:
    return term.text if term.leaf else f"({term.text})"


def broadcastable(*shapes: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


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
    generator = Generator(draw, oracle, depth)
    body = generator.expression(depth)
    statements = []
    if draw(st.booleans()):  # name the body and use it twice: a shared node
        statements.append(f"h = {body.text}")
        body = make("h * tanh(h)", each(lambda e: e * sympy.tanh(e), body.oracle))
    reduction = draw(st.sampled_from(["sum", "mean"]))
    output = reduced(body.oracle, None, reduction == "mean")[()]
    statements.append(f"{reduction}({body.text})")
    text = "; ".join(statements)
    return text, inputs_of(text, point), oracle, output


NAME = re.compile(r"(?<![.\w])[A-Za-z_]\w*")


def inputs_of(text: str, point: dict) -> dict:
    """The values of the inputs the text names (`.T` is not the input T); an input whose symbols
    cancel out of the output still needs a value, and its gradient is 0."""
    return {name: point[name] for name in sorted(set(NAME.findall(text)) & set(point))}


def assert_close(ours, expected, what: str, text: str) -> None:
    assert abs(ours - expected) <= REL * abs(expected) + ABS, (
        f"{what}: ours {ours!r}, sympy {expected!r}\n{text}"
    )


@contextmanager
def oracle_budget():
    try:
        with time_limit(ORACLE_SECONDS):
            yield
    except TimeoutError:
        tally(f"skipped: SymPy took over {ORACLE_SECONDS} s")
        reject()


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


@settings(max_examples=150)
@given(tensor_cases(depth=3))
def test_random_tensor_programs_match_sympy(case):
    check_against_oracle(case)


@pytest.mark.slow
@given(tensor_cases(depth=4))
def test_random_tensor_programs_match_sympy_long(case):
    """Deeper programs; HYPOTHESIS_PROFILE=long runs thousands."""
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
