"""Every worked example of the lecture notes in ../shared/seeds/, number for number."""

from __future__ import annotations

import math

import pytest

from backprop import evaluate

SLIDES = [
    # the slides' nodes at a=7, b=3, c=2: the value, the gradients, (op, value, grad) of each named node
    pytest.param(
        "(a + b) * c",  # Add d = 10, Mul e = 20
        20,
        {"a": 2, "b": 2, "c": 10},
        {"d": ("add", 10, 2), "e": ("mul", 20, 1)},
        id="add_mul_gradients",
    ),
    pytest.param(
        "(a + b**3) * c",  # Pow3 d = 27, Add e = 34, Mul f = 68; b.grad = 2·3·9 = 54
        68,
        {"a": 2, "b": 54, "c": 34},
        {"d": ("pow", 27, 2), "e": ("add", 34, 2), "f": ("mul", 68, 1)},
        id="power_node",
    ),
]


@pytest.mark.parametrize(("text", "value", "gradients", "nodes"), SLIDES)
def test_lecture_slides(text, value, gradients, nodes):
    result = evaluate(text, a=7, b=3, c=2)
    assert result.value == value
    assert result.gradients == gradients
    assert {
        node.name: (node.op, node.value, node.grad) for node in result.nodes if node.name in nodes
    } == nodes


@pytest.mark.parametrize(("b", "value", "grad_b"), [(3, 20, 2), (-3, 14, 0)])
def test_lecture_relu_node(b, value, grad_b):
    """Slides: (a + relu(b)) * c; relu passes the gradient for b = 3 and blocks it for b = −3."""
    result = evaluate("(a + relu(b)) * c", a=7, b=b, c=2)
    assert result.value == value
    assert result.gradients == {"a": 2, "b": grad_b, "c": 7 + max(b, 0)}


def test_lecture_dag_accumulates_both_paths():
    """Slides: (a + b) * b³ — Add c = 10 (grad 27), Pow3 d = 27 (grad 10), Mul e = 270;
    b receives 10·3·9 = 270 through d and 27 through c: 297."""
    result = evaluate("(a + b) * b**3", a=7, b=3)
    assert result.value == 270
    assert result.gradients == {"a": 27, "b": 297}
    by_name = {node.name: node for node in result.nodes}
    assert (by_name["c"].value, by_name["c"].grad) == (10, 27)
    assert (by_name["d"].value, by_name["d"].grad) == (27, 10)
    assert (by_name["e"].value, by_name["e"].grad) == (270, 1)


def test_lecture_caret_power_is_the_same_program():
    assert evaluate("(a + b)*b^3", a=7, b=3).gradients == {"a": 27, "b": 297}


def test_lecture_notes_sigmoid_example():
    """Notes §1.2: L = (x + y)·σ(x) with z = x + y, b = σ(x); x has two parents."""
    x, y = 1.0, 2.0
    s = 1 / (1 + math.exp(-x))
    result = evaluate("z = x + y; b = sigmoid(x); L = z * b", x=x, y=y)
    assert result.value == pytest.approx((x + y) * s, rel=1e-15)
    assert result.gradients["x"] == pytest.approx(s + (x + y) * s * (1 - s), rel=1e-15)
    assert result.gradients["y"] == pytest.approx(s, rel=1e-15)
    assert [node.name for node in result.nodes] == ["x", "y", "z", "b", "L"]  # the notes' order


def test_lecture_shared_names_make_a_dag():
    """The issue's DAG: u = a*b; v = u + a; u * v — u and a each receive gradient from two parents."""
    a, b = 2.0, 5.0
    result = evaluate("u = a*b; v = u + a; u * v", a=a, b=b)
    u, v = a * b, a * b + a
    assert result.value == u * v
    # dL/du = v + u (u is used twice), dL/da = dL/du·b + u, dL/db = dL/du·a
    assert result.gradients == {"a": (v + u) * b + u, "b": (v + u) * a}
