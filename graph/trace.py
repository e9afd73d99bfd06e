"""The lecture's two passes, step by step, as data: what `backprop trace` shows.

Forward: one step per node in topological order, its formula over its inputs' labels and values
(`c = a + b = 7 + 3 = 10`). Backward: from ∂L/∂L = 1, one step per edge in reverse topological
order, the lecture's `child.grad += parent.grad · ∂parent/∂child` with the child's running total,
so a node with two parents visibly receives two contributions.

No number here is computed twice by hand: the local derivative is the op's vjp at g = 1, the
contribution is its vjp at g = parent.grad (exactly what the engine adds, in the engine's order),
so the running totals end at the engine's gradients to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Evaluation, fit_gradient
from .ops import CONST, Op
from .program import Program
from .values import value_text


@dataclass(frozen=True)
class ForwardStep:
    """One node of the forward pass: `c = a + b = 7 + 3 = 10`."""

    id: int
    name: str
    op: str
    expr: str  # the source text the node stands for
    formula: str  # the op over its inputs' labels (`a + b`); a leaf's own label
    operands: str | None  # the op over its inputs' values (`7 + 3`); None for a leaf
    value: object


@dataclass(frozen=True)
class BackwardStep:
    """One edge of the backward pass: child.grad += parent.grad · ∂parent/∂child."""

    parent: int
    parent_name: str
    child: int
    child_name: str
    position: int  # which input of the parent the child is (0 for x, 1 for y)
    local: str  # ∂parent/∂child as text (`3·b²`)
    local_value: object  # the op's vjp at g = 1; None when a tensor makes it a Jacobian
    parent_grad: object
    contribution: object  # the op's vjp at g = parent.grad: what the child receives
    previous: object | None  # the child's gradient before this step; None before its first
    total: object  # the child's gradient after this step


@dataclass(frozen=True)
class Trace:
    """Both passes of one evaluation."""

    evaluation: Evaluation
    labels: list[str]
    forward: list[ForwardStep]
    backward: list[BackwardStep]

    @property
    def output(self) -> str:
        return self.labels[self.evaluation.program.output]


def trace(evaluation: Evaluation) -> Trace:
    """The forward and backward steps of an evaluation."""
    labels = evaluation.program.labels()
    return Trace(evaluation, labels, forward_steps(evaluation, labels), backward_steps(evaluation, labels))


def forward_steps(evaluation: Evaluation, labels: list[str]) -> list[ForwardStep]:
    """Every node in topological order with its formula and value."""
    program, values = evaluation.program, evaluation.values
    steps = []
    for node in program.nodes:
        if node.inputs:
            formula = spell(node.op, [labels[i] for i in node.inputs])
            numbers = [value_text(values[i]) for i in node.inputs]
            if node.op.symbol is not None:  # 7 + (-3), not 7 + -3
                numbers = [f"({text})" if text.startswith("-") else text for text in numbers]
            operands = spell(node.op, numbers)
        else:
            formula, operands = labels[node.id], None
        steps.append(
            ForwardStep(
                node.id,
                labels[node.id],
                node.op.name,
                program.expr(node.id),
                formula,
                operands,
                values[node.id],
            )
        )
    return steps


def backward_steps(evaluation: Evaluation, labels: list[str]) -> list[BackwardStep]:
    """Every edge into a node that needs a gradient, parents in reverse topological order."""
    program, values, grads = evaluation.program, evaluation.values, evaluation.grads
    nodes = program.nodes
    totals: list = [None] * len(nodes)
    steps = []
    for node in reversed(nodes):
        g = grads[node.id]
        if g is None or node.op.vjp is None:
            continue  # a leaf, or a node that does not reach the output
        inputs = [values[i] for i in node.inputs]
        contributions = [
            None if c is None else fit_gradient(c, x)
            for c, x in zip(node.op.vjp(g, values[node.id], *inputs), inputs)
        ]
        local_values = local_derivatives(program, values, node.id)
        texts = local_texts(program, labels, node.id)
        for position, child in enumerate(node.inputs):
            contribution = contributions[position]
            if contribution is None or not nodes[child].needs_grad:
                continue  # no gradient flows into a constant
            previous = totals[child]
            totals[child] = contribution if previous is None else previous + contribution
            steps.append(
                BackwardStep(
                    parent=node.id,
                    parent_name=labels[node.id],
                    child=child,
                    child_name=labels[child],
                    position=position,
                    local=texts[position],
                    local_value=local_values[position],
                    parent_grad=g,
                    contribution=contribution,
                    previous=previous,
                    total=totals[child],
                )
            )
    return steps


def local_derivatives(program: Program, values: list, node_id: int) -> tuple:
    """∂node/∂input for every input of a node, at the evaluated values: its op's vjp at g = 1.
    None for each input where a tensor is involved: the local derivative is then a Jacobian, not
    a number, and only the vector-Jacobian product (the contribution) is shown."""
    node = program.nodes[node_id]
    inputs = [values[i] for i in node.inputs]
    if any(type(v) is not float for v in (values[node_id], *inputs)):
        return tuple(None for _ in inputs)
    return node.op.vjp(1.0, values[node_id], *inputs)


def local_texts(program: Program, labels: list[str], node_id: int) -> tuple[str, ...]:
    """∂node/∂input for every input as text, from the op's `local` (`∂c/∂a` for an op without one)."""
    node = program.nodes[node_id]
    names = [labels[i] for i in node.inputs]
    if node.op.local is None:
        return tuple(f"∂{labels[node_id]}/∂{name}" for name in names)
    return tuple(node.op.local(labels[node_id], *names))


def spell(op: Op, operands: list[str]) -> str:
    """An op over operand texts as the language writes it: `a + b`, `-b`, `sigmoid(x)`."""
    if op.symbol is None:
        return f"{op.name}({', '.join(operands)})"
    if len(operands) == 1:
        return f"{op.symbol}{operands[0]}"
    return f" {op.symbol} ".join(operands)


def gradient_nodes(evaluation: Evaluation) -> dict[str, int]:
    """The nodes that have a gradient, by label: inputs, intermediate nodes and the output."""
    program = evaluation.program
    return {
        label: node.id
        for node, label in zip(program.nodes, program.labels(), strict=True)
        if node.op is not CONST and evaluation.grad_of(node.id) is not None
    }
