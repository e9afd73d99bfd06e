"""Every op in the registry: its vjp against central differences of its forward, at random points.

A new op without a domain below fails `test_every_op_has_a_domain`, so it is tested the day it lands.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop.graph.ops import FUNCTIONS, OPS


def reals(low: float, high: float, avoid: float | None = None):
    values = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if avoid is not None:
        values = values.filter(lambda x: abs(x - avoid) > 1e-3)
    return values


def apart(low: float, high: float):
    """Two reals at least 1e-3 apart (away from a max/min tie)."""
    return st.tuples(reals(low, high), reals(low, high)).filter(lambda xy: abs(xy[0] - xy[1]) > 1e-3)


# Where each op is smooth: inputs drawn here must be away from kinks, poles and domain edges.
DOMAINS = {
    "add": st.tuples(reals(-1e3, 1e3), reals(-1e3, 1e3)),
    "sub": st.tuples(reals(-1e3, 1e3), reals(-1e3, 1e3)),
    "mul": st.tuples(reals(-1e3, 1e3), reals(-1e3, 1e3)),
    "div": st.tuples(reals(-1e3, 1e3), st.one_of(reals(-1e3, -0.1), reals(0.1, 1e3))),
    "neg": st.tuples(reals(-1e3, 1e3)),
    "pow": st.one_of(
        st.tuples(reals(0.1, 5.0), reals(-3.0, 3.0)),
        st.tuples(reals(-5.0, -0.1), st.integers(-3, 4).map(float)),  # negative base, whole exponent
    ),
    "exp": st.tuples(reals(-50.0, 50.0)),
    "log": st.tuples(reals(1e-3, 1e6)),
    "sqrt": st.tuples(reals(1e-2, 1e6)),
    "sin": st.tuples(reals(-100.0, 100.0)),
    "cos": st.tuples(reals(-100.0, 100.0)),
    "tan": st.tuples(reals(-1.4, 1.4)),
    "tanh": st.tuples(reals(-20.0, 20.0)),
    "sigmoid": st.tuples(reals(-30.0, 30.0)),
    "relu": st.tuples(reals(-1e3, 1e3, avoid=0.0)),
    "abs": st.tuples(reals(-1e3, 1e3, avoid=0.0)),
    "max": apart(-1e3, 1e3),
    "min": apart(-1e3, 1e3),
}

DIFFERENTIABLE = [name for name in OPS if OPS[name].forward is not None]


def test_every_op_has_a_domain():
    assert sorted(DIFFERENTIABLE) == sorted(DOMAINS)


def central_difference(forward, point: tuple[float, ...], i: int) -> float:
    x = point[i]
    h = 1e-6 * max(1.0, abs(x))
    above = forward(*point[:i], x + h, *point[i + 1 :])
    below = forward(*point[:i], x - h, *point[i + 1 :])
    return (above - below) / (2 * h)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_vjp_matches_central_differences(name):
    op = OPS[name]

    @given(DOMAINS[name], st.floats(-3.0, 3.0, allow_nan=False))
    def check(point, g):
        out = op.forward(*point)
        grads = op.vjp(g, out, *point)
        assert len(grads) == op.arity == len(point)
        for i, grad in enumerate(grads):
            if name == "pow" and i == 1 and point[0] < 0:
                continue  # d(x^y)/dy does not exist for x < 0
            numeric = g * central_difference(op.forward, point, i)
            assert math.isclose(grad, numeric, rel_tol=1e-5, abs_tol=1e-6 * max(1.0, abs(out))), (point, i)

    check()


@pytest.mark.parametrize(
    ("name", "point", "expected", "at_kink"),
    [
        ("relu", (0.0,), (0.0,), True),  # relu'(0) = 0, as in the lecture
        ("abs", (0.0,), (0.0,), True),  # abs'(0) = 0
        ("max", (2.0, 2.0), (0.5, 0.5), True),  # a tie splits the gradient equally
        ("min", (-1.0, -1.0), (0.5, 0.5), True),
        ("relu", (-3.0,), (0.0,), False),
        ("relu", (3.0,), (1.0,), False),
        ("max", (1.0, 2.0), (0.0, 1.0), False),
    ],
)
def test_conventions_at_kinks(name, point, expected, at_kink):
    op = OPS[name]
    assert op.vjp(1.0, op.forward(*point), *point) == expected
    assert op.kink(*point) is at_kink


def test_functions_are_the_languages_list():
    assert set(FUNCTIONS) == {"exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "max", "min"}


def test_sigmoid_does_not_overflow_far_from_zero():
    assert OPS["sigmoid"].forward(-1000.0) == 0.0
    assert OPS["sigmoid"].forward(1000.0) == 1.0


def test_negative_base_with_whole_exponent():
    """(-2)**3 = -8 with d/dx = 3·(-2)² = 12."""
    op = OPS["pow"]
    assert op.forward(-2.0, 3.0) == -8.0
    assert op.vjp(1.0, -8.0, -2.0, 3.0)[0] == 12.0


def test_negative_base_with_fractional_exponent_is_refused():
    with pytest.raises(ValueError):
        OPS["pow"].forward(-8.0, 1 / 3)
