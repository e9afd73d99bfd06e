"""Every op in the registry: its vjp against central differences of its forward, at random points
and shapes of its domain (tests/op_cases.py). A new op without an entry there fails
`test_every_op_has_a_test_case`, so it is tested the day it lands.

The check is one number per draw (as HIPS autograd's check_vjp): for a random direction u in the
inputs and a random cotangent v of the output's shape, ⟨v, J·u⟩ by central difference must equal
⟨Jᵀv, u⟩ from the rule. Gradients are first summed back to each input's shape exactly as the
engine does, so broadcasting is checked too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from checks import central_difference
from hypothesis import given, settings
from hypothesis import strategies as st
from op_cases import CASES
from op_parts import reals, value

from backprop.graph import kernels
from backprop.graph.engine import fit_gradient as _fit
from backprop.graph.ops import FUNCTIONS, OPS

DIFFERENTIABLE = sorted(name for name in OPS if OPS[name].forward is not None)


def test_every_op_has_a_test_case():
    """A new op gets its entry in op_cases (domain, bounds, generator rule, oracles) the day it lands."""
    assert sorted(CASES) == DIFFERENTIABLE


def inner(a, b) -> float:
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def check_vjp(name, inputs, seed):
    """⟨v, J·u⟩ by central difference equals ⟨Jᵀv, u⟩ from the rule, u over the differentiable inputs."""
    op = OPS[name]
    rng = np.random.default_rng(seed)
    static = op.static_from if op.static_from is not None else len(inputs)
    out = op.forward(*inputs)
    v = value(rng.standard_normal(kernels.shape(out)))
    grads = op.vjp(v, out, *inputs)
    assert len(grads) == len(inputs)
    assert all(grad is None for grad in grads[static:])  # static inputs get no gradient
    directions = [value(rng.standard_normal(kernels.shape(x))) for x in inputs[:static]]
    analytic = sum(inner(_fit(grad, x), u) for grad, x, u in zip(grads, inputs, directions))
    for grad, x in zip(grads[:static], inputs[:static]):
        assert kernels.shape(_fit(grad, x)) == kernels.shape(x)  # the engine's shape rule holds
        assert type(_fit(grad, x)) is type(x) or isinstance(_fit(grad, x), np.ndarray)

    def along(step):
        moved = [value(np.asarray(x) + step * np.asarray(u)) for x, u in zip(inputs[:static], directions)]
        return inner(v, op.forward(*moved, *inputs[static:]))

    # One step for all elements, h = 1e-6·max|x|; Richardson's estimate (checks.central_difference)
    # cancels the h² error, which for sqrt at 0.5 beside an element of 500 is as large as the tolerance.
    numeric, _ = central_difference(
        along, 0.0, step=1e-6 * max(1.0, *(float(np.max(np.abs(x))) for x in inputs[:static]))
    )
    assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-6 * max(1.0, abs(analytic))), (
        inputs,
        analytic,
        numeric,
    )


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=60)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_vjp_matches_central_differences(name, data, seed):
    """At inputs in the op's domain (op_cases), elementwise ones in every broadcast pattern."""
    check_vjp(name, data.draw(CASES[name].domain, label="inputs"), seed)


@given(reals(-5.0, -0.1), st.integers(-3, 4).map(float))
def test_negative_base_with_whole_exponent(x, y):
    """(-2)**3 = -8 with d/dx = 3·(-2)²; d/dy does not exist for a negative base."""
    op = OPS["pow"]
    out = op.forward(x, y)
    dx, dy = op.vjp(1.0, out, x, y)
    h = 1e-6 * max(1.0, abs(x))
    assert math.isclose(
        dx, (op.forward(x + h, y) - op.forward(x - h, y)) / (2 * h), rel_tol=1e-5, abs_tol=1e-6
    )
    assert math.isnan(dy)


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


def test_kinks_in_arrays_follow_the_same_conventions():
    x = np.array([-1.0, 0.0, 2.0])
    assert OPS["relu"].vjp(np.ones(3), OPS["relu"].forward(x), x)[0].tolist() == [0.0, 0.0, 1.0]
    grads = OPS["max"].vjp(np.ones(3), None, x, np.array([0.0, 0.0, 0.0]))
    assert [g.tolist() for g in grads] == [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]


def test_functions_are_the_languages_list():
    assert set(FUNCTIONS) == {
        "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "max", "min",
        "transpose", "sum", "mean", "logsumexp", "softmax", "log_softmax",
        "ln", "pow", "log2", "log10", "sinh", "cosh", "asin", "acos", "atan", "softplus", "leaky_relu", "sign",
        "spread", "sum_to", "scatter",
    }  # fmt: skip


def test_sigmoid_does_not_overflow_far_from_zero():
    assert OPS["sigmoid"].forward(-1000.0) == 0.0
    assert OPS["sigmoid"].forward(1000.0) == 1.0


def test_softmax_family_is_stable_for_large_inputs():
    x = np.array([1000.0, 1000.0])
    assert OPS["softmax"].forward(x).tolist() == pytest.approx([0.5, 0.5], rel=1e-12)
    assert OPS["logsumexp"].forward(x) == pytest.approx(1000.0 + math.log(2.0))


def test_negative_base_with_fractional_exponent_is_refused():
    with pytest.raises(ValueError):
        OPS["pow"].forward(-8.0, 1 / 3)


def test_reductions_of_everything_are_floats():
    assert type(OPS["sum"].forward(np.ones((2, 3)))) is float
    assert type(OPS["mean"].forward(np.ones(3), 0.0)) is float
    assert type(OPS["matmul"].forward(np.ones(3), np.ones(3))) is float
    assert type(OPS["index"].forward(np.ones((2, 2)), 1.0, 0.0)) is float
