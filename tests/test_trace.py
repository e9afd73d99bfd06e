"""`backprop trace`: the forward and backward passes line by line, number for number against the
lecture, and its totals against the engine's gradients on random programs."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from strategies import dags

from backprop import evaluate, parse
from backprop.graph.trace import local_derivatives, trace


def backward(run_json, program: str, *values: str) -> list[str]:
    code, document = run_json("trace", program, *values)
    assert code == 0, document
    return [step["text"] for step in document["backward"]]


# -- trace: the lecture's examples, step by step ----------------------------------------------


def test_trace_lecture_dag_accumulates_two_contributions(run_json):
    """Slides, (a + b) * b³ at a=7, b=3: b receives 10·27 = 270 through d, then 27 through c: 297."""
    code, document = run_json("trace", "(a + b) * b**3", "--a", "7", "--b", "3")
    assert code == 0
    assert [step["text"] for step in document["forward"] if step["op"] != "const"] == [
        "a = 7",
        "b = 3",
        "c = a + b = 7 + 3 = 10",
        "d = b ** 3 = 3 ** 3 = 27",
        "e = c * d = 10 * 27 = 270",
    ]
    assert document["seed"] == {"name": "e", "grad": 1.0, "text": "∂e/∂e = 1"}
    assert [step["text"] for step in document["backward"]] == [
        "c.grad += e.grad · d = 1 · 27 = 27 → c.grad = 27",
        "d.grad += e.grad · c = 1 · 10 = 10 → d.grad = 10",
        "b.grad += d.grad · 3·b² = 10 · 27 = 270 → b.grad = 270",
        "a.grad += c.grad · 1 = 27 · 1 = 27 → a.grad = 27",
        "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297",
    ]
    numbers = [
        (
            s["parent"],
            s["child"],
            s["local"],
            s["local_value"],
            s["parent_grad"],
            s["contribution"],
            s["previous"],
            s["total"],
        )
        for s in document["backward"]
    ]
    assert numbers == [
        ("e", "c", "d", 27, 1, 27, None, 27),
        ("e", "d", "c", 10, 1, 10, None, 10),
        ("d", "b", "3·b²", 27, 10, 270, None, 270),
        ("c", "a", "1", 1, 27, 27, None, 27),
        ("c", "b", "1", 1, 27, 27, 270, 297),
    ]
    assert document["gradients"] == {"a": 27, "b": 297}


def test_trace_lecture_add_mul(run_json):
    """Slides, (a + b) * c at a=7, b=3, c=2: Add d = 10, Mul e = 20."""
    assert backward(run_json, "(a + b) * c", "--a", "7", "--b", "3", "--c", "2") == [
        "d.grad += e.grad · c = 1 · 2 = 2 → d.grad = 2",
        "c.grad += e.grad · d = 1 · 10 = 10 → c.grad = 10",
        "a.grad += d.grad · 1 = 2 · 1 = 2 → a.grad = 2",
        "b.grad += d.grad · 1 = 2 · 1 = 2 → b.grad = 2",
    ]


def test_trace_lecture_power_node(run_json):
    """Slides, (a + b³) * c: Pow3 d, Add e, Mul f; b.grad = 2·3·9 = 54."""
    assert backward(run_json, "(a + b**3) * c", "--a", "7", "--b", "3", "--c", "2") == [
        "e.grad += f.grad · c = 1 · 2 = 2 → e.grad = 2",
        "c.grad += f.grad · e = 1 · 34 = 34 → c.grad = 34",
        "a.grad += e.grad · 1 = 2 · 1 = 2 → a.grad = 2",
        "d.grad += e.grad · 1 = 2 · 1 = 2 → d.grad = 2",
        "b.grad += d.grad · 3·b² = 2 · 27 = 54 → b.grad = 54",
    ]


@pytest.mark.parametrize(
    ("b", "last"),
    [
        ("3", "b.grad += d.grad · [b > 0] = 2 · 1 = 2 → b.grad = 2"),
        ("-3", "b.grad += d.grad · [b > 0] = 2 · 0 = 0 → b.grad = 0"),
    ],
)
def test_trace_lecture_relu_passes_or_blocks(run_json, b, last):
    """Slides, (a + relu(b)) * c: the relu edge carries 1 for b = 3 and 0 for b = −3."""
    code, document = run_json("trace", "(a + relu(b)) * c", "--a", "7", "--b", b, "--c", "2")
    assert code == 0
    assert document["backward"][-1]["text"] == last
    assert [step["text"] for step in document["forward"]][2] == f"d = relu(b) = relu({b}) = {max(int(b), 0)}"


def test_trace_lecture_notes_sigmoid(run_json):
    """Notes §1.2: L = z·b with z = x + y, b = σ(x); x receives σ'(x)·3 through b, then σ(x) through z."""
    code, document = run_json("trace", "z = x + y; b = sigmoid(x); L = z * b", "--x", "1", "--y", "2")
    assert code == 0
    s = 1 / (1 + math.exp(-1.0))
    assert [step["text"] for step in document["forward"]] == [
        "x = 1",
        "y = 2",
        "z = x + y = 1 + 2 = 3",
        "b = sigmoid(x) = sigmoid(1) = 0.731059",
        "L = z * b = 3 * 0.731059 = 2.19318",
    ]
    steps = document["backward"]
    assert [(step["parent"], step["child"], step["local"]) for step in steps] == [
        ("L", "z", "b"),
        ("L", "b", "z"),
        ("b", "x", "b·(1 - b)"),
        ("z", "x", "1"),
        ("z", "y", "1"),
    ]
    assert steps[2]["text"] == "x.grad += b.grad · b·(1 - b) = 3 · 0.196612 = 0.589836 → x.grad = 0.589836"
    assert (
        steps[3]["text"]
        == "x.grad += z.grad · 1 = 0.731059 · 1 = 0.731059 → x.grad = 0.589836 + 0.731059 = 1.32089"
    )
    assert steps[2]["local_value"] == pytest.approx(s * (1 - s), rel=1e-15)
    assert steps[3]["total"] == pytest.approx(3 * s * (1 - s) + s, rel=1e-15)


def test_trace_skips_constants_and_nodes_computed_from_constants():
    result = trace(evaluate("k = 2 * 3; pi * k * a", a=-2))
    assert [(step.parent_name, step.child_name) for step in result.backward] == [("c", "a")]
    assert result.backward[0].local == "b" and result.backward[0].local_value == pytest.approx(6 * math.pi)


def test_trace_text_shows_both_passes(run):
    code, out, _ = run("trace", "(a + b) * b**3", "--a", "7", "--b", "3")
    assert code == 0
    assert "forward pass" in out and "backward pass" in out and "∂e/∂e = 1" in out
    assert "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297" in out
    assert "∂e/∂a = 27, ∂e/∂b = 297" in out


def test_trace_needs_values(run):
    code, out, err = run("trace", "(a + b) * c", "--a", "1", "--json")
    assert code == 2
    assert json.loads(out)["error"]["type"] == "name" and "no value for b, c" in err


# -- trace against the engine, on random programs ---------------------------------------------


@given(dags())
def test_trace_totals_are_the_engines_gradients(case):
    source, values = case
    program = parse(source)
    evaluation = evaluate(program, {name: values[name] for name in program.inputs})
    result = trace(evaluation)
    last_total = {}
    for step in result.backward:
        assert program.nodes[step.parent].inputs[step.position] == step.child
        assert step.local_value == local_derivatives(program, evaluation.values, step.parent)[step.position]
        assert step.contribution == pytest.approx(step.parent_grad * step.local_value, rel=1e-12, abs=1e-300)
        last_total[step.child] = step.total
    for node_id, total in last_total.items():
        # The same additions as the engine; only a node taking one input twice may add them in
        # the other order, which can move the last bit of a third or later contribution.
        assert total == pytest.approx(evaluation.grads[node_id], rel=1e-12, abs=1e-300)
    for name, node_id in program.inputs.items():
        assert last_total.get(node_id, 0.0) == pytest.approx(
            evaluation.gradients[name], rel=1e-12, abs=1e-300
        )
