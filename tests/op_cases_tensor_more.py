"""op_cases.py's entries for the ops `backprop diff` writes tensor derivatives with (graph/tensor_ops.py:
spread, sum_to, scatter), written the same way: imported at the end of op_cases.py, which registers
them in CASES beside every other op. Each has a second input that only lends its shape (its gradient
is 0), and the tensor generator draws them as leaves of that shape."""

from __future__ import annotations

import numpy as np
import sympy
from hypothesis import strategies as st
from op_cases import TENSOR, case
from op_parts import same, span, tensors
from oracles import make


def _fits(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """True if `small` broadcasts to `shape` exactly."""
    try:
        return np.broadcast_shapes(small, shape) == shape
    except ValueError:
        return False


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _with(*shapes_and_statics):
    """Inputs of the listed shapes, then the listed static numbers (floats holding whole numbers)."""
    return st.sampled_from(shapes_and_statics).flatmap(
        lambda entry: st.tuples(*(tensors(s) for s in entry[0]), *(st.just(float(n)) for n in entry[1]))
    )


# -- spread(g, x) and spread(g, x, axis): g repeated to x's shape ---------------------------------


def _spread_oracle(a, x, axis=None):
    """Of scalars (the scalar suites): a, whatever x."""
    return a


def _any_leaf(t, where) -> bool:
    return any(where(symbols.shape) for symbols in t.oracle.symbols.values())


def _spread_tensor(t, case):
    a = t.sub()
    if not _any_leaf(t, lambda shape: _fits(a.shape, shape)):
        return a
    x = t.leaf(lambda shape: _fits(a.shape, shape))
    return make(f"spread({a.text}, {x.text})", np.broadcast_to(a.oracle, x.shape).copy())


case(
    "spread",
    TENSOR | dict(family="reduce"),
    domain=_with(
        (((), ()), ()),
        (((), (2, 3)), ()),
        (((3,), (2, 3)), ()),
        (((2, 1), (2, 3)), ()),
        (((2,), (2, 3)), (1,)),
        (((3,), (2, 3)), (0,)),
        (((2,), (2, 3)), (-1,)),
        (((), (4,)), (0,)),
    ),
    generate=lambda g, case: g.node("spread", g.sub(), g.sub()),
    bounds=same,
    size=lambda a, x, *axis: x.size,
    oracle=_spread_oracle,
    tensor=_spread_tensor,
)


# -- sum_to(g, x): g (broadcast with x) summed down to x's shape ----------------------------------


def _summed_to(oracle: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The object array broadcast with `shape`, then summed down to it (NumPy's rules, by hand)."""
    full = np.broadcast_to(oracle, np.broadcast_shapes(oracle.shape, shape))
    extra = full.ndim - len(shape)
    if extra:
        full = full.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(full)[i] != 1)
    return np.asarray(full.sum(axis=axes, keepdims=True) if axes else full, dtype=object)


def _sum_to_tensor(t, case):
    a = t.sub()
    x = t.leaf(lambda shape: _broadcastable(a.shape, shape))
    return make(f"sum_to({a.text}, {x.text})", _summed_to(a.oracle, x.shape))


case(
    "sum_to",
    TENSOR | dict(family="reduce"),
    domain=_with(
        (((), ()), ()),
        (((2, 3), ()), ()),
        (((2, 3), (3,)), ()),
        (((2, 3), (2, 1)), ()),
        (((1, 3), (2, 1)), ()),
        (((3,), (2, 3)), ()),
        (((4, 1, 3), (1, 3)), ()),
    ),
    generate=lambda g, case: g.node("sum_to", g.sub(), g.sub()),
    bounds=same,
    size=lambda a, x: x.size,
    oracle=lambda a, x: a,  # of scalars: a
    tensor=_sum_to_tensor,
)


# -- scatter(g, x, i, j…): zeros of x's shape, g at x[i, j, …] -----------------------------------


def _scatter(g, case):
    """scatter(a, vector, i)[j]: a where j is i, else 0."""
    from programs import const  # programs.py imports op_cases

    vector = g.vector()
    i = g.draw(st.integers(-vector.size, vector.size - 1))
    return g.index(g.node("scatter", g.sub(), vector, const(str(i))))


def _scatter_oracle(a, vector, i):
    out = [sympy.Integer(0)] * len(vector)
    out[int(i)] = a
    return out


def _scatter_tensor(t, case):
    a = t.sub()
    fits = lambda shape: len(shape) >= 1 and _fits(a.shape, shape[1:])  # noqa: E731
    if not _any_leaf(t, fits):
        return a
    x = t.leaf(fits)
    i = t.draw(st.integers(-x.shape[0], x.shape[0] - 1))
    out = np.full(x.shape, sympy.Integer(0), dtype=object)
    out[i, ...] = a.oracle  # `...`: a 0-d oracle fills one element with its expression
    return make(f"scatter({a.text}, {x.text}, {i})", out)


case(
    "scatter",
    TENSOR | dict(family="index"),
    domain=_with(
        (((4,), (3, 4)), (1,)),
        (((), (3, 4)), (-1,)),
        (((), (3, 4)), (2, -4)),
        (((), (3,)), (0,)),
        (((1,), (3, 4)), (0,)),
    ),
    generate=_scatter,
    bounds=lambda a, vector, *i: span(a.lo, a.hi, 0.0),
    size=lambda a, vector, *i: vector.size,
    oracle=_scatter_oracle,
    tensor=_scatter_tensor,
)
