"""The parts an op's entry (op_cases.py) is written with: inputs for its `domain` (floats in a range,
arrays of given shapes broadcast against each other), intervals for its `bounds`, and the usual rules
of a family for `generate` (g: strategies.Grow) and `tensor` (t: test_differential_tensors' Generator)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def reals(low: float, high: float, avoid: float | None = None) -> st.SearchStrategy[float]:
    values = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return values if avoid is None else values.filter(lambda x: abs(x - avoid) > 1e-3)


WIDE = reals(-100.0, 100.0)

PAIRS = [((), ()), ((3,), ()), ((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 3), (2, 1))]
PAIRS.append(((4, 1, 3), (2, 1)))
"""Broadcast patterns for two operands (NumPy rules)."""

SHAPES = [(), (3,), (2, 3), (1,)]
"""Shapes for one operand."""


def value(array):
    """A drawn array as an engine value: a float for no dimensions."""
    return float(array) if np.ndim(array) == 0 else np.asarray(array, dtype=np.float64)


SMALL = reals(-3.0, 3.0)


def tensors(*shapes: tuple[int, ...], elements: st.SearchStrategy = SMALL) -> st.SearchStrategy:
    """An engine value of one of `shapes`, elements in [-3, 3] unless told."""
    return st.sampled_from(shapes).flatmap(
        lambda shape: arrays(np.float64, shape, elements=elements).map(value)
    )


@st.composite
def broadcast(draw, *elements: st.SearchStrategy, apart: bool = False) -> tuple:
    """Inputs of an elementwise op, one strategy per input for its elements, in shapes that broadcast;
    `apart`: the two differ by more than 1e-3 everywhere (away from a max/min tie)."""
    shapes = draw(st.sampled_from(PAIRS if len(elements) == 2 else [(s,) for s in SHAPES]))
    inputs = tuple(draw(tensors(shape, elements=element)) for shape, element in zip(shapes, elements))
    if apart and not np.all(np.abs(np.subtract(*np.broadcast_arrays(*inputs))) > 1e-3):
        reject()
    return inputs


@st.composite
def stackable(draw, shapes: list[tuple[int, ...]], most: int) -> tuple:
    """One to `most` values of one shape (the elements of a literal)."""
    shape, count = draw(st.sampled_from(shapes)), draw(st.integers(1, most))
    return tuple(draw(tensors(shape)) for _ in range(count))


@st.composite
def with_statics(draw, x: st.SearchStrategy, statics: st.SearchStrategy) -> tuple:
    """x and its static inputs (an axis, subscripts), which are floats holding whole numbers."""
    return (draw(x), *map(float, draw(statics)))


# ------------------------------------------------------------------------------------------------
# Bounds: interval arithmetic on arguments with .lo, .hi and .size
# ------------------------------------------------------------------------------------------------


def span(*values: float) -> tuple[float, float]:
    return min(values), max(values)


def corners(fn) -> Callable:
    """Bounds of fn(a, b) for fn monotone in each argument: the extremes are at the corners."""
    return lambda a, b: span(*(fn(p, q) for p in (a.lo, a.hi) for q in (b.lo, b.hi)))


def monotone(fn) -> Callable:
    return lambda a: span(fn(a.lo), fn(a.hi))


def absolute(a) -> tuple[float, float]:
    """Bounds of |a|."""
    if a.lo >= 0:
        return a.lo, a.hi
    if a.hi <= 0:
        return -a.hi, -a.lo
    return 0.0, max(-a.lo, a.hi)


def same(a, *static) -> tuple[float, float]:
    """The bounds of the first argument (a subscript or a transpose keeps them)."""
    return a.lo, a.hi


def keeps(a, *static) -> int:
    """The size of the first argument: a vector stays a vector."""
    return a.size


# ------------------------------------------------------------------------------------------------
# The families: an entry starts from its family's usual rules and says what differs
# ------------------------------------------------------------------------------------------------


def binary_node(g, case):
    return g.node(case.name, g.sub(), g.sub())


def unary_node(g, case):
    return g.node(case.name, g.sub())


def infix_term(t, case):
    return t.infix(case, *t.operands())


def call_term(t, case):
    return t.call(case, t.sub())


BINARY = dict(family="binary", domain=broadcast(WIDE, WIDE), generate=binary_node, tensor=infix_term)
FUNCTION = dict(family="unary", domain=broadcast(WIDE), generate=unary_node, tensor=call_term)
TENSOR = dict(bounds=same, generate=unary_node)  # and a family, a domain and a tensor rule of its own
