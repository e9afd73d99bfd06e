"""Tensors in the language: the lecture's vector examples, literals, @, reductions, subscripts,
broadcasting and shape errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backprop import ArityError, DomainError, ParseError, ShapeError, evaluate, parse
from backprop.graph.engine import check_inputs
from backprop.graph.engine import evaluate as engine_evaluate


def ev(text: str, **values):
    """Evaluate with lists as float64 arrays and numbers as floats."""
    program = parse(text)
    given = {
        name: np.array(v, dtype=np.float64) if isinstance(v, (list, np.ndarray)) else float(v)
        for name, v in values.items()
    }
    check_inputs(program, given)
    return engine_evaluate(program, given)


def as_list(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


def test_lecture_two_layer_linear_network():
    """Notes §3: h = W1 x = (4, 3), ŷ = W2 h = 1, L = (ŷ − 3)² = 4; dL/dŷ = −4, dL/dh = (−4, 4),
    dL/dx = (−4, 0); by hand dL/dW1 = dL/dh xᵀ, dL/dW2 = dL/dŷ hᵀ."""
    result = ev(
        "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2", W1=[[2, 1], [1, 1]], W2=[1, -1], x=[1, 2], y=3
    )
    assert result.value == 4.0
    gradients = {name: as_list(grad) for name, grad in result.gradients.items()}
    assert gradients == {"W1": [[-4.0, -8.0], [4.0, 8.0]], "x": [-4.0, 0.0], "W2": [-16.0, -12.0], "y": 4.0}
    by_name = {node.name: node for node in result.nodes}
    assert as_list(by_name["h"].value) == [4.0, 3.0] and as_list(by_name["h"].grad) == [-4.0, 4.0]
    assert by_name["yhat"].value == 1.0 and by_name["yhat"].grad == -4.0


def test_lecture_linear_regression():
    """Slides: mean((Xw − y)²), gradient 2/n Xᵀ(Xw − y)."""
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    w = np.array([0.5, -1.0])
    y = np.array([1.0, 0.0, 2.0])
    result = ev("mean((X @ w - y)**2)", X=X, w=w, y=y)
    residual = X @ w - y
    assert result.value == pytest.approx(np.mean(residual**2), rel=1e-15)
    assert result.gradients["w"] == pytest.approx(2 / 3 * X.T @ residual, rel=1e-14)
    assert result.gradients["y"] == pytest.approx(-2 / 3 * residual, rel=1e-14)


def test_literals_of_expressions_carry_gradients():
    result = ev("sum([-1, 2*a, sin(b)] * [1, 2, 3])", a=2, b=0.5)
    assert result.value == pytest.approx(-1 + 8 + 3 * np.sin(0.5))
    assert result.gradients == {"a": pytest.approx(4.0), "b": pytest.approx(3 * np.cos(0.5))}


def test_a_literal_of_numbers_is_one_constant():
    program = parse("W = [[2, 1], [1, -1]]; sum(W @ x)")
    assert [op.name for op in program.ops] == ["const", "input", "matmul", "sum"]
    assert program.constants[0].tolist() == [[2.0, 1.0], [1.0, -1.0]]


def test_a_vector_of_one_element_stays_a_vector():
    result = ev("sum(x * 2)", x=[3])
    assert result.gradients["x"].shape == (1,)
    assert ev("[a]@[a]", a=3).value == 9.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A @ B", [[19.0, 22.0], [43.0, 50.0]]),
        ("A @ v", [17.0, 39.0]),
        ("v @ A", [23.0, 34.0]),
        ("v @ v", 61.0),
        ("A.T", [[1.0, 3.0], [2.0, 4.0]]),
        ("transpose(A)", [[1.0, 3.0], [2.0, 4.0]]),
        ("sum(A)", 10.0),
        ("sum(A, 0)", [4.0, 6.0]),
        ("sum(A, 1)", [3.0, 7.0]),
        ("mean(A, -1)", [1.5, 3.5]),
        ("A[1]", [3.0, 4.0]),
        ("A[1, 0]", 3.0),
        ("A[-1, -1]", 4.0),
        ("v[0]**2", 25.0),
        ("A + v", [[6.0, 8.0], [8.0, 10.0]]),
        ("A * [[1], [2]]", [[1.0, 2.0], [6.0, 8.0]]),
        ("max(A, 2.5)", [[2.5, 2.5], [3.0, 4.0]]),
    ],
)
def test_tensor_values(text, expected):
    program = parse(text)
    values = {
        "A": np.array([[1.0, 2.0], [3.0, 4.0]]),
        "B": np.array([[5.0, 6.0], [7.0, 8.0]]),
        "v": np.array([5.0, 6.0]),
    }
    from backprop.graph.engine import forward

    value = forward(program, {name: values[name] for name in program.inputs})[program.output]
    assert as_list(value) == expected


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([((2, 3), (3,)), ((2, 3), (2, 1)), ((3,), ()), ((2, 1, 3), (4, 1)), ((1,), (3,))]),
    st.sampled_from(["+", "-", "*", "/"]),
    st.data(),
)
def test_broadcast_gradients_are_summed_back_to_each_shape(shapes, operator, data):
    """The classic bug: the gradient of a broadcast operand must have that operand's shape and
    equal the sum over the broadcast axes."""
    element = st.floats(0.5, 2.0)
    x = data.draw(arrays(np.float64, shapes[0], elements=element))
    y = data.draw(arrays(np.float64, shapes[1], elements=element))
    values = {name: (float(v) if v.ndim == 0 else v) for name, v in (("x", x), ("y", y))}
    result = ev(f"sum((x {operator} y)**2)", **values)
    for name, value in values.items():
        grad = result.gradients[name]
        assert np.shape(grad) == np.shape(value)
        h = 1e-6
        direction = np.random.default_rng(0).standard_normal(np.shape(value))
        moved = {k: v for k, v in values.items()}
        moved[name] = value + h * direction
        above = ev(
            f"sum((x {operator} y)**2)", **{k: (float(v) if np.ndim(v) == 0 else v) for k, v in moved.items()}
        ).value
        moved[name] = value - h * direction
        below = ev(
            f"sum((x {operator} y)**2)", **{k: (float(v) if np.ndim(v) == 0 else v) for k, v in moved.items()}
        ).value
        assert np.sum(np.asarray(grad) * direction) == pytest.approx(
            (above - below) / (2 * h), rel=1e-5, abs=1e-6
        )


def test_softmax_cross_entropy():
    z = np.array([2.0, 1.0, 0.1])
    result = ev("-log_softmax(z)[0]", z=z)
    p = np.exp(z) / np.exp(z).sum()
    assert result.value == pytest.approx(-np.log(p[0]))
    assert result.gradients["z"] == pytest.approx(p - np.array([1.0, 0.0, 0.0]))


def error(text: str, kind=ShapeError, **values):
    with pytest.raises(kind) as caught:
        ev(text, **values)
    return caught.value


def test_a_shape_mismatch_names_the_operator_and_both_shapes():
    failure = error("sum([1,2] + [1,2,3])")
    assert failure.message == "[1,2] + [1,2,3]: shape (2,) and shape (3,) do not broadcast for +"
    assert (failure.line, failure.column, failure.width) == (1, 11, 1)  # the caret under the +


def test_matmul_with_wrong_inner_sizes():
    failure = error("sum(W @ x)", W=[[1, 2], [3, 4]], x=[1, 2, 3])
    assert "inner sizes of shape (2, 2) @ shape (3,) differ" in failure.message
    assert (failure.column, failure.width) == (7, 1)


def test_a_ragged_literal_points_at_the_row_that_differs():
    failure = error("y = [[1, 2], [3]]\nsum(y)")
    assert "item 2 has shape (1,), item 1 has shape (2,)" in failure.message
    assert (failure.line, failure.column, failure.width) == (1, 14, 3)


def test_a_non_scalar_output_suggests_a_reduction():
    """The engine (and so the library, --check, trace...) refuses a tensor output; only `eval`
    asks for its values without gradients (tests/test_tensor_output_values.py)."""
    failure = error("x * 2", x=[1, 2])
    assert "has shape (2,): gradients need a scalar output" in failure.message
    assert "sum(...) or mean(...)" in failure.hint
    values_only = engine_evaluate(parse("x * 2"), {"x": np.array([1.0, 2.0])}, tensor_output=True)
    assert not values_only.has_gradients and values_only.value.tolist() == [2.0, 4.0]
    assert values_only.grad_of("x") is None  # not 0·x: there is no gradient, not a zero one


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("sum(x, a)", ArityError, "the axis of sum must be a whole number written in the program"),
        ("sum(x, 2)", ShapeError, "axis 2 is out of range"),
        ("x[5]", ShapeError, "index 5 is out of range for axis 0 of size 2"),
        ("x[1.5]", ParseError, "a subscript must be a whole number"),
        ("a @ a", ShapeError, "not a scalar (use * to scale)"),
        ("sum(x, 0, 1)", ArityError, "sum takes 1 or 2 arguments, but 3 were given"),
        ("sum(log(x))", DomainError, "log(x) is undefined at [1]"),
    ],
)
def test_tensor_errors(text, kind, words):
    values = {"x": [1, -2], "a": 0}
    used = {name: value for name, value in values.items() if re.search(rf"\b{name}\b", text)}
    failure = error(text, kind, **used)
    assert words in failure.message


def test_a_scalar_program_makes_no_arrays():
    result = ev("(a + b**3) * c", a=7, b=3, c=2)
    assert all(type(v) is float for v in result.values)
    assert all(type(g) is float for g in result.grads if g is not None)


@pytest.mark.parametrize(
    "program", ["sum(softmax(x) * w)", "sum(log_softmax(x) * w)", "logsumexp(x) * 0 + sum(softmax(x) * w)"]
)
@pytest.mark.parametrize("shift", [1e9, 1e12, -1e12])
def test_the_softmax_family_keeps_every_digit_of_its_gradient_for_large_inputs(program, shift):
    """softmax(x + c) = softmax(x): computed from x − max, the gradient at 1e12 is the one at 0
    (x − logsumexp(x) lost 2e-6 of it at 1e9 and 1e-3 at 1e12)."""
    near_zero = np.array([0.0, 1.0, 2.0])
    weights = np.array([1.0, -2.0, 3.0])
    expected = evaluate(program, x=near_zero, w=weights).gradients["x"]
    got = evaluate(program, x=near_zero + shift, w=weights).gradients["x"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
