"""Kinks: relu and abs at 0, a max/min tie. There the derivative is a convention (the lectures':
relu′(0) = 0, abs′(0) = 0, a tie split ½–½), and eval, trace and batch say so, without --check: a
warning on stderr naming the node, its one-sided derivatives and the convention taken, and a
"kinks" list in the JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from checks import strict_json

from backprop import evaluate, parse
from backprop.graph import batch as batch_module
from backprop.graph.batch import evaluate_batch
from backprop.graph.engine import kink_points
from backprop.graph.ops import OPS

RELU_WARNING = (
    "warning: relu(a) is at a kink (a = 0): relu′ is 0 from the left and 1 from the right; "
    "the lectures' convention takes relu′(0) = 0\n"
)
RELU_KINK = {
    "node": "b",
    "id": 1,
    "op": "relu",
    "expr": "relu(a)",
    "index": None,
    "count": 1,
    "at": [0.0],
    "left": [0.0],
    "right": [1.0],
    "taken": [0.0],
    "text": RELU_WARNING.removeprefix("warning: ").rstrip("\n"),
}

# -- The ops: their sides are the one-sided derivatives, and the convention lies between ----------

KINKS = [("relu", (0.0,)), ("abs", (0.0,)), ("max", (2.0, 2.0)), ("min", (-1.0, -1.0))]
KINKS.append(("leaky_relu", (0.0,)))  # with a slope of its own: tests/test_functions.py
JUMPS = [("sign", (0.0,))]
"""Ops whose value jumps at the kink: no one-sided slope is finite there, and `sides` gives the slopes
of the pieces beside it."""


def test_every_op_with_a_kink_states_its_sides():
    kinked = {name for name, op in OPS.items() if op.kink is not None}
    assert kinked == {name for name, _ in KINKS + JUMPS}
    assert all((op.kink is None) == (op.sides is None) for op in OPS.values())


@pytest.mark.parametrize(("name", "point"), JUMPS)
def test_a_jump_is_flat_on_both_sides_and_its_convention_is_between(name, point):
    op, h = OPS[name], 1e-3
    below, at, above = (op.forward(point[0] + step) for step in (-h, 0.0, h))
    assert below < at < above  # sign: -1, 0, 1
    assert op.forward(point[0] - 2 * h) == below and op.forward(point[0] + 2 * h) == above
    assert op.sides(*point) == ((0.0, 0.0),) and op.vjp(1.0, at, *point) == (0.0,)


@pytest.mark.parametrize(("name", "point"), KINKS)
def test_sides_are_the_one_sided_slopes_of_forward(name, point):
    """Moving one input alone by h below and above the kink, forward's slope is `sides`'s number."""
    op, h = OPS[name], 1e-3
    for position, (left, right) in enumerate(op.sides(*point)):

        def moved(step, position=position):
            return op.forward(*[x + step if i == position else x for i, x in enumerate(point)])

        at = op.forward(*point)
        assert math.isclose((at - moved(-h)) / h, left, abs_tol=1e-12)
        assert math.isclose((moved(h) - at) / h, right, abs_tol=1e-12)


@pytest.mark.parametrize(("name", "point"), KINKS)
def test_the_convention_taken_lies_between_the_sides(name, point):
    op = OPS[name]
    taken = op.vjp(1.0, op.forward(*point), *point)
    for (left, right), chosen in zip(op.sides(*point), taken, strict=True):
        assert min(left, right) <= chosen <= max(left, right)


# -- eval -----------------------------------------------------------------------------------------


def test_eval_warns_at_a_kink_without_check(run):
    code, out, err = run("eval", "relu(a) * 2", "--a", "0")
    assert code == 0 and err == RELU_WARNING


def test_eval_json_lists_the_kink(run):
    code, out, err = run("eval", "relu(a) * 2", "--a", "0", "--json")
    document = strict_json(out)
    assert code == 0 and err == RELU_WARNING
    assert document["kinks"] == [RELU_KINK]
    assert list(document)[:6] == ["expression", "output", "value", "gradients", "kinks", "nodes"]


def test_no_kink_no_warning_and_an_empty_list(run):
    code, out, err = run("eval", "relu(a) * 2", "--a", "1e-300", "--json")
    assert code == 0 and err == "" and strict_json(out)["kinks"] == []


@pytest.mark.parametrize(
    ("program", "values", "said"),
    [
        (
            "abs(a)",
            ["--a", "0"],
            "abs′ is -1 from the left and 1 from the right; the lectures' convention takes abs′(0) = 0",
        ),
        (
            "max(a, b)",
            ["--a", "2", "--b", "2"],
            "(a = b = 2): ∂max/∂a and ∂max/∂b are each 0 from the left and 1 from the right; "
            "the lectures' convention takes ∂max/∂a = 0.5 and ∂max/∂b = 0.5",
        ),
        (
            "min(a - b, 3)",
            ["--a", "5", "--b", "2"],
            "(a - b = 3): ∂min/∂(a - b) is 1 from the left and 0 from the right; "
            "the lectures' convention takes ∂min/∂(a - b) = 0.5",
        ),
    ],
)
def test_the_warning_says_the_sides_and_the_convention(run, program, values, said):
    code, _, err = run("eval", program, *values)
    assert code == 0 and err.count("warning:") == 1 and said in err


def test_eval_check_warns_once_per_node(run):
    """The check's own words about a kink are not said again for a node already told."""
    code, out, err = run("eval", "(a + relu(b)) * c", "--a", "7", "--b", "0", "--c", "2", "--check")
    assert code == 0 and "⚠ kink" in out
    assert err.count("warning:") == 1 and "relu(b) is at a kink (b = 0)" in err
    code, out, err = run("eval", "max(a, a)", "--a", "1", "--check")  # a tie, but smooth: nothing to say
    assert code == 0 and err == ""


def test_the_check_still_warns_of_a_kink_nobody_told():
    """minimize's check warns of the kinks itself (its command does not call warn_about_kinks)."""
    from backprop.cli.render.text import warn_about_check
    from backprop.graph.check import gradient_check

    report = gradient_check(evaluate("relu(b) * c", b=0, c=2))
    program = parse("relu(b) * c")
    with pytest.MonkeyPatch.context() as patch:
        said = []
        patch.setattr("backprop.cli.render.text.warn", said.append)
        warn_about_check(report, program)
        warn_about_check(report, program, kinks_told=True)
    assert len(said) == 1 and "relu(b) is evaluated exactly at a kink" in said[0]


def test_a_node_that_passes_no_gradient_is_not_a_kink(run):
    """Constants alone (relu(0)), a node off the output's paths, and max(a, a) (smooth: max(a, a) = a)."""
    for program in ("relu(0) * a", "u = relu(a); a * 2", "max(a, a)"):
        code, out, err = run("eval", program, "--a", "0", "--json")
        assert code == 0 and err == "" and strict_json(out)["kinks"] == [], program


# -- tensors: the node, the first kinked element and how many -------------------------------------


def test_a_tensor_names_the_first_element_and_the_count(run):
    code, out, err = run("eval", "sum(relu(x))", "--x", "[1, 0, 0]", "--json")
    (kink,) = strict_json(out)["kinks"]
    assert code == 0 and kink["index"] == [1] and kink["count"] == 2 and kink["expr"] == "relu(x)"
    assert "relu(x) is at a kink in 2 of 3 elements, the first at [1] (x = 0 there)" in err


def test_a_broadcast_tie_in_a_matrix():
    program = parse("sum(max(W, 0))")
    evaluation = evaluate(program, {"W": np.array([[1.0, 0.0], [0.0, -1.0]])})
    (kink,) = kink_points(program, evaluation.values, evaluation.grads)
    assert (kink.index, kink.count, kink.size, kink.taken) == ((0, 1), 2, 4, (0.5, 0.5))


# -- trace ----------------------------------------------------------------------------------------


def test_trace_warns_and_lists_the_kink(run):
    code, out, err = run("trace", "relu(a) * 2", "--a", "0", "--json")
    document = strict_json(out)
    assert code == 0 and err == RELU_WARNING and document["kinks"] == [RELU_KINK]
    assert list(document)[:5] == ["expression", "output", "value", "gradients", "kinks"]
    code, out, err = run("trace", "relu(a) * 2", "--a", "0")
    assert code == 0 and err == RELU_WARNING and "b.grad" in out


# -- batch ----------------------------------------------------------------------------------------


def test_batch_lists_kinks_only_on_their_lines_and_warns_once_per_node(run):
    points = "".join(json.dumps({"a": a}) + "\n" for a in (1.0, 0.0, 0.0, -1.0))
    code, out, err = run("batch", "relu(a) * 2", input=points)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [list(line) for line in lines] == [
        ["line", "value", "gradients"],
        ["line", "value", "gradients", "kinks"],
        ["line", "value", "gradients", "kinks"],
        ["line", "value", "gradients"],
    ]
    assert lines[1]["kinks"] == [RELU_KINK]
    assert err == f"warning: line 2: {RELU_KINK['text']}\n" + (
        'warning: 2 of 4 points were at a kink: their lines list them under "kinks"\n'
    )


def test_batch_without_kinks_is_as_before(run):
    code, out, err = run("batch", "relu(a) * 2 + max(a, b)", input='{"a": 1, "b": 2}\n{"a": -1, "b": 3}\n')
    assert code == 0 and err == ""
    assert out == (
        '{"line": 1, "value": 4.0, "gradients": {"a": 2.0, "b": 1.0}}\n'
        '{"line": 2, "value": 3.0, "gradients": {"a": 0.0, "b": 1.0}}\n'
    )


@pytest.mark.parametrize("program", ["relu(a) * b + max(a, b)", "sum(relu([a, b]))"])
def test_batch_finds_the_kinks_eval_finds(program):
    """The vectorised path (scalars) and the point-by-point one (a literal) agree with eval."""
    parsed = parse(program)
    a, b = np.array([0.0, 1.0, 2.0, 0.0]), np.array([3.0, 1.0, -2.0, 0.0])
    for k, result in enumerate(evaluate_batch(parsed, {"a": a, "b": b})):
        evaluation = evaluate(parsed, {"a": a[k], "b": b[k]})
        assert (result.kinks or []) == kink_points(parsed, evaluation.values, evaluation.grads)


def test_a_batch_chunk_without_a_kink_does_no_work_per_point(monkeypatch):
    """One vectorised comparison per node with a kink: kink_at runs only at points it finds."""
    called = []
    monkeypatch.setattr(batch_module, "kink_at", lambda *args: called.append(args))
    results = evaluate_batch(
        parse("relu(a) * b + abs(a - b)"), {"a": np.arange(1.0, 500.0), "b": np.zeros(499)}
    )
    assert not called and all(result.kinks is None for result in results)


# -- the conventions of the peers (README table) --------------------------------------------------


def test_torch_takes_the_same_conventions():
    """PyTorch's relu′(0), abs′(0) and max/min ties (torch.maximum, torch.minimum) are ours."""
    torch = pytest.importorskip("torch", reason="torch not installed: the peer comparison is skipped")

    def torch_gradient(function, *point):
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
        function(*leaves).backward()
        return tuple(leaf.grad.item() for leaf in leaves)

    peers = {"relu": torch.relu, "abs": torch.abs, "max": torch.maximum, "min": torch.minimum}
    peers["leaky_relu"] = torch.nn.functional.leaky_relu  # slope 0.01, and leaky_relu′(0) = 0.01
    for name, point in KINKS:
        ours = evaluate(f"{name}({', '.join('xy'[: len(point)])})", dict(zip("xy", point)))
        assert tuple(ours.gradients.values()) == torch_gradient(peers[name], *point), name
