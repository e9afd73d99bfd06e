"""Every op in the registry: its vjp against central differences of its forward, at random points
and shapes. A new op without a domain below fails `test_every_op_has_a_domain`, so it is tested
the day it lands.

The check is one number per draw (as HIPS autograd's check_vjp): for a random direction u in the
inputs and a random cotangent v of the output's shape, ⟨v, J·u⟩ by central difference must equal
⟨Jᵀv, u⟩ from the rule. Gradients are first summed back to each input's shape exactly as the
engine does, so broadcasting is checked too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop.graph import kernels
from backprop.graph.engine import fit_gradient as _fit
from backprop.graph.ops import FUNCTIONS, OPS


def reals(low: float, high: float, avoid: float | None = None):
    values = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if avoid is not None:
        values = values.filter(lambda x: abs(x - avoid) > 1e-3)
    return values


WIDE = reals(-100.0, 100.0)

# Where each elementwise op is smooth, one strategy per input for a single element; `apart` asks
# for the two inputs to differ by more than 1e-3 everywhere (away from a max/min tie).
ELEMENTWISE = {
    "add": (WIDE, WIDE),
    "sub": (WIDE, WIDE),
    "mul": (WIDE, WIDE),
    "div": (WIDE, st.one_of(reals(-100.0, -0.1), reals(0.1, 100.0))),
    "neg": (WIDE,),
    "pow": (reals(0.1, 5.0), reals(-3.0, 3.0)),
    "exp": (reals(-30.0, 30.0),),
    "log": (reals(0.5, 1e3),),  # one step h is shared by all elements: keep x ± h inside the domain
    "sqrt": (reals(0.5, 1e3),),
    "sin": (WIDE,),
    "cos": (WIDE,),
    "tan": (reals(-1.4, 1.4),),
    "tanh": (reals(-10.0, 10.0),),
    "sigmoid": (reals(-20.0, 20.0),),
    "relu": (reals(-100.0, 100.0, avoid=0.0),),
    "abs": (reals(-100.0, 100.0, avoid=0.0),),
    "max": (WIDE, WIDE),
    "min": (WIDE, WIDE),
}
APART = {"max", "min"}

# Broadcast patterns for two operands (NumPy rules), and shapes for one.
PAIRS = [
    ((), ()),
    ((3,), ()),
    ((), (3,)),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((2, 3), (2, 1)),
    ((4, 1, 3), (2, 1)),
]
SHAPES = [(), (3,), (2, 3), (1,)]


def value(array):
    """A drawn array as an engine value: a float for no dimensions."""
    return float(array) if np.ndim(array) == 0 else np.asarray(array, dtype=np.float64)


@st.composite
def elementwise_inputs(draw, name):
    elements = ELEMENTWISE[name]
    shapes = draw(st.sampled_from(PAIRS if len(elements) == 2 else [(s,) for s in SHAPES]))
    inputs = tuple(
        value(draw(arrays(np.float64, shape, elements=element))) for shape, element in zip(shapes, elements)
    )
    if name in APART:
        x, y = np.broadcast_arrays(*inputs)
        if not np.all(np.abs(x - y) > 1e-3):
            from hypothesis import reject

            reject()
    return inputs


@st.composite
def tensor_inputs(draw, name):
    """Inputs for the tensor ops; static inputs (an axis, a subscript) are floats holding integers."""
    element = reals(-3.0, 3.0)
    if name == "array":
        shape = draw(st.sampled_from([(), (2,), (2, 3)]))
        count = draw(st.integers(1, 4))
        return tuple(value(draw(arrays(np.float64, shape, elements=element))) for _ in range(count))
    if name == "index":
        x = draw(arrays(np.float64, (3, 4), elements=element))
        count = draw(st.integers(1, 2))
        subscripts = [float(draw(st.integers(-3, 2))), float(draw(st.integers(-4, 3)))][:count]
        return (x, *subscripts)
    if name == "matmul":
        left, right = draw(
            st.sampled_from(
                [
                    ((2, 3), (3, 4)),
                    ((2, 3), (3,)),
                    ((3,), (3, 4)),
                    ((3,), (3,)),
                    ((2, 2, 3), (3, 2)),
                    ((2, 3), (2, 3, 4)),
                ]
            )
        )
        return (
            draw(arrays(np.float64, left, elements=element)),
            draw(arrays(np.float64, right, elements=element)),
        )
    if name == "transpose":
        return (
            value(
                draw(
                    arrays(np.float64, draw(st.sampled_from([(), (3,), (2, 3), (2, 3, 4)])), elements=element)
                )
            ),
        )
    if name in ("sum", "mean"):
        x = value(draw(arrays(np.float64, draw(st.sampled_from([(3,), (2, 3)])), elements=element)))
        axis = draw(st.sampled_from([None, 0, -1]))
        return (x,) if axis is None else (x, float(axis))
    if name in ("logsumexp", "softmax", "log_softmax"):
        return (value(draw(arrays(np.float64, draw(st.sampled_from([(), (4,), (2, 3)])), elements=element))),)
    raise AssertionError(f"no inputs for {name}")


TENSOR_OPS = ["array", "index", "matmul", "transpose", "sum", "mean", "logsumexp", "softmax", "log_softmax"]
DIFFERENTIABLE = [name for name in OPS if OPS[name].forward is not None]


def test_every_op_has_a_domain():
    assert sorted(DIFFERENTIABLE) == sorted([*ELEMENTWISE, *TENSOR_OPS])


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
    h = 1e-6 * max(1.0, max(float(np.max(np.abs(x))) for x in inputs[:static]))

    def along(step):
        moved = [value(np.asarray(x) + step * np.asarray(u)) for x, u in zip(inputs[:static], directions)]
        return inner(v, op.forward(*moved, *inputs[static:]))

    numeric = (along(h) - along(-h)) / (2 * h)
    assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-6 * max(1.0, abs(analytic))), (
        inputs,
        analytic,
        numeric,
    )


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_vjp_with_broadcasting(name):
    @settings(max_examples=60, deadline=None)
    @given(elementwise_inputs(name), st.integers(0, 2**32 - 1))
    def check(inputs, seed):
        check_vjp(name, inputs, seed)

    check()


@pytest.mark.parametrize("name", TENSOR_OPS)
def test_tensor_op_vjp(name):
    @settings(max_examples=60, deadline=None)
    @given(tensor_inputs(name), st.integers(0, 2**32 - 1))
    def check(inputs, seed):
        check_vjp(name, inputs, seed)

    check()


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
