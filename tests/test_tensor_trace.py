"""Tensor traces (issue 14): every number in the tool's own format, and every tensor step the
lectures' vector formula (notes §3.3), saying where a broadcast gradient was summed back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from backprop import evaluate
from backprop.cli.render.lecture import backward_line
from backprop.graph.ops import OPS
from backprop.graph.trace import summed_axes, trace

TWO_LAYER = "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2"
LECTURE = ("--W1", "[[2, 1], [1, 1]]", "--x", "[1, 2]", "--W2", "[1, -1]", "--y", "3")


def backward_texts(source: str, values: dict) -> list[str]:
    evaluation = evaluate(
        source,
        {name: np.array(v, dtype=float) if type(v) is list else float(v) for name, v in values.items()},
    )
    return [backward_line(step) for step in trace(evaluation).backward]


def test_the_lectures_two_layer_network_step_by_step(run):
    code, out, _ = run("trace", TWO_LAYER, *LECTURE)
    assert code == 0
    lines = out.splitlines()
    assert "  h = W1 @ x = [[2, 1], [1, 1]] @ [1, 2] = [4, 3]" in lines
    assert "  W2.grad += yhat.grad · hᵀ = [-16, -12] → W2.grad = [-16, -12]" in lines
    assert "  h.grad += W2ᵀ · yhat.grad = [-4,  4] → h.grad = [-4,  4]" in lines  # notes §3.3, step 2
    assert "  W1.grad += h.grad · xᵀ = [[-4, -8], [ 4,  8]] → W1.grad = [[-4, -8], [ 4,  8]]" in lines
    assert "  x.grad += W1ᵀ · h.grad = [-4,  0] → x.grad = [-4,  0]" in lines  # step 3: -4 and 0
    assert "  a.grad += L.grad · 2·a = 1 · (-4) = -4 → a.grad = -4" in lines  # scalar steps as before


def test_forward_operands_are_the_tools_numbers_never_numpys(run):
    code, out, _ = run(
        "trace", "sum(W * b) + c", "--W", "[[2, 1], [1, 1]]", "--b", "[0.123456, 5]", "--c", "0.123456"
    )
    assert code == 0
    assert "  a = W * b = [[2, 1], [1, 1]] * [0.1235,      5] = [[0.2469,      5], [0.1235,      5]]" in out
    assert not re.search(r"\d\.[,\] ]|e[-+]0\d", out), out  # no `2.,` nor `1.234560e-01`


@pytest.mark.parametrize(
    ("b", "line"),
    [
        ("[[1], [2]]", "b.grad += c.grad ⊙ 1, summed over axis 1 = [[2], [2]] → b.grad = [[2], [2]]"),
        ("[[1, 2]]", "b.grad += c.grad ⊙ 1 = [[1, 1]] → b.grad = [[1, 1]]"),
        ("5", "b.grad += c.grad ⊙ 1, summed over axis 0 = 2 → b.grad = 2"),
    ],
)
def test_a_broadcast_gradient_says_it_was_summed(b, line):
    values = {"W": [[1, 2], [3, 4]], "x": [1, 1], "b": json.loads(b)}
    lines = backward_texts("sum(W @ x + b)", values)
    assert line in lines
    if b == "[[1], [2]]":  # W @ x is (2,) against (2, 1): its gradient is summed over the new axis
        assert "a.grad += c.grad ⊙ 1, summed over axis 0 = [2, 2] → a.grad = [2, 2]" in lines


def test_summed_axes_are_sum_to_s():
    assert summed_axes((2, 2), (2,)) == (0,)
    assert summed_axes((2, 2), (2, 1)) == (1,)
    assert summed_axes((3, 2, 2), (1, 2)) == (0, 1)
    assert summed_axes((2, 2), ()) == (0, 1)
    assert summed_axes((2,), (2,)) == ()


def test_every_tensor_op_says_its_vector_formula():
    source = "y = x[1] * W[0, 1] + sum(W, 0)[1] + mean(W.T) + logsumexp(x); z = sum(softmax(x) * [y, 2*y]) + sum(log_softmax(x)) + mean(W*s, 1)[0]"
    source += "; z + sum(spread(y, W) * sum_to(W, x)) + sum(scatter(s, x, 1) * x)"  # the ops diff writes
    values = {"W": [[2, 1], [1, 1]], "x": [0.5, 2], "s": 2.0}
    evaluation = evaluate(
        source, {n: v if type(v) is float else np.array(v, dtype=float) for n, v in values.items()}
    )
    steps = trace(evaluation).backward
    formulas = {step.formula.split(" = ")[0] for step in steps if step.formula is not None}
    assert {
        "v.grad at u[0], 0 elsewhere",
        "u.grad / n, spread along axis 1 of t (n: its length)",
        "t.grad ⊙ s",
        "t.grad ⊙ W, summed over axes 0 and 1",
        "q.grad · 1, spread over p's shape",
        "p.grad - softmax(x) ⊙ Σ p.grad",
        "n.grad ⊙ m",
        "m.grad[0]",
        "m.grad[1]",
        "k ⊙ (k.grad - Σ k.grad ⊙ k)",
        "j.grad ⊙ softmax(x)",
        "h.grad / n, spread over g's shape (n: g's elements)",
        "g.gradᵀ",
        "d.grad · 1, spread along axis 0 of W",
        "b.grad at W[0, 1], 0 elsewhere",
    } <= formulas
    tensor_ops = {name for name, op in OPS.items() if op.shape is not None and op.local is not None}
    used = {evaluation.program.ops[step.parent].name for step in steps if step.formula is not None}
    assert tensor_ops - {"matmul"} <= used
    assert all(step.formula is None for step in steps if type(step.local_value) is float)


def test_json_has_the_formula_and_the_line(run_json):
    code, document = run_json("trace", TWO_LAYER, *LECTURE)
    assert code == 0
    step = next(s for s in document["backward"] if s["child"] == "h")
    assert step["formula"] == step["local"] == "W2ᵀ · yhat.grad" and step["local_value"] is None
    assert step["text"] == "h.grad += W2ᵀ · yhat.grad = [-4,  4] → h.grad = [-4,  4]"
    assert step["contribution"] == [-4.0, 4.0]
    scalar = next(s for s in document["backward"] if s["child"] == "a")
    assert "formula" not in scalar  # a scalar step's JSON is as before


def test_a_tensor_op_over_scalars_stays_a_scalar_step():
    """transpose(x) of a number: its local derivative is a number, named as before."""
    (step,) = trace(evaluate("transpose(x)", {"x": 2.0})).backward
    assert step.formula is None and step.local == "∂a/∂x" and step.local_value == 1.0
