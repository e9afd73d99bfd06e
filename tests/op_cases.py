"""What the tests know of each op, one entry per op, written without reading graph/ops.py: a new op
of the language is one entry there and one here (test_ops fails until it has both). An entry starts
from its family's usual rules (op_parts.py) and says what differs; an op's own rules stand above it."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy
from checks import tally
from hypothesis import strategies as st
from op_parts import (
    BINARY,
    FUNCTION,
    TENSOR,
    WIDE,
    absolute,
    broadcast,
    corners,
    keeps,
    monotone,
    reals,
    span,
    stackable,
    tensors,
    with_statics,
)
from oracles import along, make, wrap

SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(1, 7)
"""The grammar's precedence levels, loosest first: `a + b`, `a * b`, `-a`, `a**b`, `a[i]` and `a.T`, atoms."""


@dataclass(frozen=True)
class OpCase:
    """One op, as the tests see it. Its rules take `g` (strategies.Grow) or `t` (the Generator of
    test_differential_tensors), which draw subexpressions (`sub()`) and keep them in a domain."""

    name: str
    family: str  # the tensor generator draws a family (binary twice as often), then an op of it
    domain: st.SearchStrategy  # inputs where the op is smooth: test_ops checks its vjp there
    bounds: Callable  # (lo, hi) of its value from its arguments' .lo, .hi and .size (strategies)
    generate: Callable  # (g, case) -> Expr: a random node of this op, kept in its domain
    oracle: Callable  # the scalar oracle on SymPy expressions, a vector being a list (test_differential)
    tensor: Callable  # (t, case) -> Term: a random tensor term, its text beside its oracle
    kink: Callable | None = None  # the number whose sign picks the piece; `oracle` then takes the side
    infix: tuple[str, int] | None = None  # written between its operands: (symbol, precedence level)
    size: Callable = lambda *args: 0  # the size of its value (0: a scalar); a vector keeps it through few


CASES: dict[str, OpCase] = {}  # every op's entry by name


def case(name: str, usual: dict, **fields) -> None:
    """Register the op `name`: its family's usual rules (op_parts), and `fields` where it differs."""
    CASES[name] = OpCase(name, **(usual | fields))


# ------------------------------------------------------------------------------------------------
# Arithmetic (infix)
# ------------------------------------------------------------------------------------------------


def _mul_bounds(a, b) -> tuple[float, float]:
    if a is b:  # e*e: a square is never negative
        low, high = absolute(a)
        return low * low, high * high
    return corners(operator.mul)(a, b)


def _divide_tensors(t, case):
    a, b = t.operands()
    return t.infix(case, a, b if b.leaf else t.positive(b))  # every input is ≥ 0.5 away from 0


def _negate_tensor(t, case):
    a = t.sub()
    return t.elementwise(case, f"-{wrap(a)}", a)


def _pow_bounds(a, b) -> tuple[float, float]:
    if b.lo != b.hi:  # a real exponent: the base is ≥ 0.5, and x**y is monotone in each argument
        return corners(operator.pow)(a, b)
    n = b.lo  # a constant exponent; a negative whole one only meets a base outside (-0.5, 0.5)
    return span(a.lo**n, a.hi**n, *([0.0] if a.lo < 0 < a.hi and n > 0 else []))


def _power(g, case):
    """x**n for a whole literal n and any base (a negative n: the base stays away from 0),
    or b**y for a positive base b and any small exponent y."""
    if g.draw(st.booleans()):
        exponent = g.whole_exponent()
        base = g.small(g.sub(), 10.0)
        return g.node("pow", g.away_from_zero(base) if exponent.hi < 0 else base, exponent)
    return g.node("pow", g.positive(g.small(g.sub(), 10.0)), g.small(g.sub(), 2.0))


def _tensor_power(t, case):
    """Any base to 2 or 3, or a positive base (1.5 + tanh(a)) to a bounded exponent (tanh(b))."""
    a, b = t.operands()
    if t.draw(st.booleans()):
        n = t.draw(st.sampled_from([2, 3]))
        return t.elementwise(case, f"{wrap(a)}**{n}", a, make(str(n), sympy.Integer(n), leaf=True))
    base, exponent = t.positive(a), t.squash(b)
    return t.elementwise(case, f"{wrap(base)}**{wrap(exponent)}", base, exponent)


case("add", BINARY, infix=("+", SUM), oracle=operator.add, bounds=corners(operator.add))
case("sub", BINARY, infix=("-", SUM), oracle=operator.sub, bounds=corners(operator.sub))
case("mul", BINARY, infix=("*", PRODUCT), oracle=operator.mul, bounds=_mul_bounds)
case(
    "div",
    BINARY,
    infix=("/", PRODUCT),
    domain=broadcast(WIDE, st.one_of(reals(-100.0, -0.1), reals(0.1, 100.0))),
    oracle=operator.truediv,
    bounds=corners(operator.truediv),
    generate=lambda g, case: g.node("div", g.sub(), g.away_from_zero(g.sub())),
    tensor=_divide_tensors,
)
case("neg", FUNCTION, oracle=operator.neg, bounds=monotone(operator.neg), tensor=_negate_tensor)
case(
    "pow",
    BINARY,
    domain=broadcast(reals(0.1, 5.0), reals(-3.0, 3.0)),
    oracle=sympy.Pow,
    bounds=_pow_bounds,
    generate=_power,
    tensor=_tensor_power,
)

# ------------------------------------------------------------------------------------------------
# Elementary functions (called by name)
# ------------------------------------------------------------------------------------------------


def _small_argument(limit: float) -> Callable:
    return lambda g, case: g.node(case.name, g.small(g.sub(), limit))


def _exp_of_tensor(t, case):
    a = t.sub()
    return t.call(case, a if a.leaf else t.squash(a))  # exp(exp(exp(A))) overflows


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


# log and sqrt see an argument ≥ 0.5; in test_ops one step h is shared by all elements, so x ± h
# stays inside too. In the tensor oracle their argument is 1.5 + tanh(a), in (0.5, 2.5).
POSITIVE = FUNCTION | dict(
    domain=broadcast(reals(0.5, 1e3)),
    generate=lambda g, case: g.node(case.name, g.positive(g.sub())),
    tensor=lambda t, case: t.call(case, t.positive(t.sub())),
)

case(
    "exp",
    FUNCTION,
    domain=broadcast(reals(-30.0, 30.0)),
    oracle=sympy.exp,
    bounds=monotone(math.exp),
    generate=_small_argument(5.0),
    tensor=_exp_of_tensor,
)
case("log", POSITIVE, oracle=sympy.log, bounds=monotone(math.log))  # natural
case("sqrt", POSITIVE, oracle=sympy.sqrt, bounds=monotone(math.sqrt))
case("sin", FUNCTION, oracle=sympy.sin, bounds=lambda a: (-1.0, 1.0))
case("cos", FUNCTION, oracle=sympy.cos, bounds=lambda a: (-1.0, 1.0))
case(
    "tan",
    FUNCTION,
    domain=broadcast(reals(-1.4, 1.4)),
    oracle=sympy.tan,
    bounds=monotone(math.tan),
    generate=_small_argument(1.2),
    tensor=lambda t, case: t.call(case, t.squash(t.sub())),  # tanh(a) is in (-1, 1)
)
case("tanh", FUNCTION, domain=broadcast(reals(-10.0, 10.0)), oracle=sympy.tanh, bounds=monotone(math.tanh))
case(
    "sigmoid",
    FUNCTION,
    domain=broadcast(reals(-20.0, 20.0)),
    oracle=lambda a: 1 / (1 + sympy.exp(-a)),
    bounds=monotone(_sigmoid),
)

# ------------------------------------------------------------------------------------------------
# Piecewise functions: the oracles resolve the piece at the point (at exactly 0 or a tie, the
# README's convention), which is what differentiating a Piecewise would give, without its cost
# ------------------------------------------------------------------------------------------------


def _max_min_of_tensors(t, case):
    a, b = t.operands()
    return t.elementwise(case, f"{case.name}({a.text}, {b.text})", a, b)


KINKED = FUNCTION | dict(domain=broadcast(reals(-100.0, 100.0, avoid=0.0)), kink=lambda x: x)
TIED = BINARY | dict(domain=broadcast(WIDE, WIDE, apart=True), kink=operator.sub, tensor=_max_min_of_tensors)
case(
    "relu",
    KINKED,
    oracle=lambda a, side: a if side > 0 else sympy.Integer(0),  # relu'(0) = 0
    bounds=monotone(lambda x: max(x, 0.0)),
)
case(
    "abs",
    KINKED,
    oracle=lambda a, side: a if side > 0 else -a if side < 0 else sympy.Integer(0),  # abs'(0) = 0
    bounds=absolute,
)
case(
    "sign",
    KINKED,
    oracle=lambda a, side: sympy.Integer(1 if side > 0 else -1 if side < 0 else 0),  # a jump at 0
    bounds=monotone(lambda x: float((x > 0) - (x < 0))),
)
case(
    "max",
    TIED,
    oracle=lambda a, b, side: a if side > 0 else b if side < 0 else (a + b) / 2,  # a tie splits evenly
    bounds=corners(max),
)
case(
    "min",
    TIED,
    oracle=lambda a, b, side: b if side > 0 else a if side < 0 else (a + b) / 2,
    bounds=corners(min),
)

# ------------------------------------------------------------------------------------------------
# Tensors: literals, subscripts, linear algebra and reductions. The scalar oracle sees a vector as a
# list of SymPy expressions (and a scalar as itself), the tensor oracle an object array.
# ------------------------------------------------------------------------------------------------


def _elements(a) -> list:
    return a if isinstance(a, list) else [a]


def _stack_tensors(t, case):
    """[a, b] of one shape."""
    a, b = t.sub(), t.sub()
    b = b if b.shape == a.shape else t.squash(a)
    tally(f"array literal of {a.shape}")
    return make(f"[{a.text}, {b.text}]", np.stack([a.oracle, b.oracle]))


def _index_tensor(t, case):
    a = t.sub()
    if a.oracle.ndim == 0:
        return a
    count = t.draw(st.integers(1, min(2, a.oracle.ndim)))
    subscripts = tuple(t.draw(st.integers(-n, n - 1)) for n in a.shape[:count])
    return make(f"{wrap(a)}[{', '.join(map(str, subscripts))}]", a.oracle[subscripts])


def _dot(g, case):
    """[a, b] @ [c, d]: a vector·vector product is a scalar."""
    size = g.draw(st.integers(1, 3))
    return g.node("matmul", g.small_array(size), g.small_array(size))


def _transpose_tensor(t, case):
    a = t.sub()
    return make(f"{wrap(a)}.T" if t.draw(st.booleans()) else f"transpose({a.text})", a.oracle.T)


def _multiply_tensors(t, case):
    a = t.sub()
    if a.oracle.ndim not in (1, 2):
        return a
    inner = a.shape[-1]
    b = t.sub()
    if not (1 <= b.oracle.ndim <= 2 and b.shape[0] == inner):
        if b.oracle.ndim == 2 and b.shape[1] == inner:
            b = make(f"{wrap(b)}.T", b.oracle.T)
        else:
            b = t.leaf(lambda shape: 1 <= len(shape) <= 2 and shape[0] == inner)
    tally(f"matmul {a.shape} @ {b.shape}")
    return make(f"{wrap(a)} @ {wrap(b)}", np.matmul(a.oracle, b.oracle))


MATMUL_SHAPES = [((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 4)), ((3,), (3,)), ((2, 2, 3), (3, 2))]
MATMUL_SHAPES.append(((2, 3), (2, 3, 4)))
SUBSCRIPTS = st.one_of(st.tuples(st.integers(-3, 2)), st.tuples(st.integers(-3, 2), st.integers(-4, 3)))
"""x[i] or x[i, j] of a 3×4 matrix."""

case(
    "array",
    TENSOR | dict(family="array", domain=stackable([(), (2,), (2, 3)], most=4)),
    bounds=lambda *elements: span(*(e.lo for e in elements), *(e.hi for e in elements)),
    size=lambda *elements: len(elements),
    generate=lambda g, case: g.index(g.node("array", g.sub(), g.sub())),
    oracle=lambda *elements: list(elements),
    tensor=_stack_tensors,
)
case(
    "index",
    TENSOR | dict(family="index", domain=with_statics(tensors((3, 4)), SUBSCRIPTS)),
    generate=lambda g, case: g.index(g.vector()),
    oracle=lambda vector, i: vector[int(i)],
    tensor=_index_tensor,
)
case(
    "matmul",
    TENSOR | dict(family="matmul", infix=("@", PRODUCT)),
    domain=st.sampled_from(MATMUL_SHAPES).flatmap(lambda pair: st.tuples(*(tensors(s) for s in pair))),
    bounds=lambda a, b: tuple(a.size * end for end in corners(operator.mul)(a, b)),
    generate=_dot,
    oracle=lambda a, b: sympy.Add(*(p * q for p, q in zip(a, b, strict=True))),
    tensor=_multiply_tensors,
)
case(
    "transpose",
    TENSOR | dict(family="transpose", domain=st.tuples(tensors((), (3,), (2, 3), (2, 3, 4)))),
    size=keeps,
    oracle=lambda a: a,  # of a scalar or a vector: itself
    tensor=_transpose_tensor,
)


def _reduce_tensor(t, case):
    """sum(a) of every element, or sum(a, axis) along one."""
    a = t.sub()
    if a.oracle.ndim == 0 or t.draw(st.booleans()):
        return make(f"{case.name}({a.text})", along(case.oracle, a.oracle, None))
    axis = t.draw(st.integers(-a.oracle.ndim, a.oracle.ndim - 1))
    tally(f"{case.name} along an axis")
    return make(f"{case.name}({a.text}, {axis})", along(case.oracle, a.oracle, axis))


def _sum(a):
    return sympy.Add(*_elements(a))


REDUCTION = TENSOR | dict(
    family="reduce",
    domain=with_statics(tensors((3,), (2, 3)), st.sampled_from([(), (0,), (-1,)])),  # all, or an axis
    generate=lambda g, case: g.node(case.name, g.scalar_or_vector()),  # sum(x) of a scalar is x
    tensor=_reduce_tensor,
)
case("sum", REDUCTION, oracle=_sum, bounds=lambda a: (max(a.size, 1) * a.lo, max(a.size, 1) * a.hi))
case("mean", REDUCTION, oracle=lambda a: _sum(a) / len(_elements(a)))


def _normalise(g, case):
    """Of a scalar (softmax: 1, log_softmax: 0), or one element of a vector's."""
    if g.draw(st.booleans()):
        return g.node(case.name, g.small(g.sub(), 5.0))
    return g.index(g.node(case.name, g.small_array()))


def _along_last_axis(t, case):
    a = t.sub()
    if a.oracle.ndim == 0:
        return a
    tally(f"{case.name} of rank {a.oracle.ndim}")
    return make(f"{case.name}({a.text})", along(case.oracle, a.oracle, -1))


def _logsumexp(a):
    return sympy.log(sympy.Add(*(sympy.exp(e) for e in _elements(a))))


def _softmax(a):
    total = sympy.Add(*(sympy.exp(e) for e in _elements(a)))
    out = [sympy.exp(e) / total for e in _elements(a)]
    return out if isinstance(a, list) else out[0]


def _log_softmax_bounds(a) -> tuple[float, float]:
    return (a.lo - a.hi - math.log(a.size), 0.0) if a.size else (0.0, 0.0)


def _log_softmax(a):
    out = [e - _logsumexp(a) for e in _elements(a)]
    return out if isinstance(a, list) else out[0]


LAST_AXIS = TENSOR | dict(
    family="normalise", tensor=_along_last_axis, domain=st.tuples(tensors((), (4,), (2, 3)))
)
NORMALISED = LAST_AXIS | dict(generate=_normalise, size=keeps)  # a vector stays a vector
case(
    "logsumexp",
    LAST_AXIS,
    generate=REDUCTION["generate"],
    oracle=_logsumexp,
    bounds=lambda a: (a.lo, a.hi + math.log(max(a.size, 1))),  # max ≤ logsumexp ≤ max + log n
)
case("softmax", NORMALISED, oracle=_softmax, bounds=lambda a: (0.0, 1.0) if a.size else (1.0, 1.0))
case("log_softmax", NORMALISED, oracle=_log_softmax, bounds=_log_softmax_bounds)
import op_cases_elementary, op_cases_tensor_more  # noqa: E401, E402, F401, I001 - more ops, registered on import
