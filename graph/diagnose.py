"""Say what went wrong: an answer that is off is tested against the usual mistakes of the lectures,
and the one that explains it within the tolerance is named; when none does, nothing more is said.

For a gradient ∂L/∂n the true answer is the sum over n's parents p of p.grad · ∂p/∂n (one term per
edge: "a node used twice gets gradient from both parents"), so the mistakes are read off those
terms: a sum over only some parents, a term's local derivative or parent gradient alone (the chain
stopped early), the sign, or n's forward value. An answer may also be no mistake of its own but a
consequence: it follows correctly from the student's own wrong answer for a parent (or, for a
forward value, an input), and then the first wrong step in the order the passes run is named.
Scalar nodes only: for tensors the rows say no more than the difference.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .engine import Evaluation
from .trace import local_derivatives

MAX_SUBSETS_EDGES = 12
"""Parents' sums are tried over every subset of at most this many edges (4,096 sums)."""


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # missing parents, local derivative alone, parent gradient alone, sign, value for gradient, gradient for value, consequence
    text: str
    nodes: tuple[str, ...]  # the nodes it points at (the missing parents, the first mistake, …)


@dataclass(frozen=True)
class Edge:
    """One term of n.grad: the parent, ∂parent/∂n, the parent's gradient, and their product."""

    parent: int
    local: float
    parent_grad: float
    contribution: float


def edges_into(evaluation: Evaluation, node_id: int, parents: list[int]) -> list[Edge] | None:
    """The terms of node_id's gradient, one per edge to each of its `parents` (program.users());
    None if a tensor is involved."""
    program, values = evaluation.program, evaluation.values
    edges = []
    for parent in parents:
        grad = evaluation.grad_of(parent)
        locals_ = local_derivatives(program, values, parent)
        for position, child in enumerate(program.inputs_of(parent)):
            if child != node_id:
                continue
            local = locals_[position]
            if local is None or type(grad) is not float:
                return None
            edges.append(Edge(parent, local, grad, grad * local))
    return edges


class Diagnoser:
    """The diagnoses of a set of answers: `answers` maps (node label, kind) → the number written."""

    def __init__(self, evaluation: Evaluation, answers: dict[tuple[str, str], float], tol: float) -> None:
        self.evaluation, self.answers, self.tol = evaluation, answers, tol
        self.labels = evaluation.program.labels()
        self.ids = {label: i for i, label in enumerate(self.labels)}
        self.parents = evaluation.program.users()

    def close(self, written: float, true: float) -> bool:
        return abs(written - true) <= self.tol * max(1.0, abs(true))

    def gradient(self, node: str, written: float) -> Diagnosis | None:
        """Why `written` is not ∂L/∂node."""
        evaluation, node_id = self.evaluation, self.ids[node]
        true, value = evaluation.grad_of(node_id), evaluation.values[node_id]
        if type(true) is not float:
            return None
        edges = edges_into(evaluation, node_id, self.parents[node_id]) or []
        return (
            self._consequence(node, written, edges)
            or self._some_parents(node, written, edges)
            or self._chain_stopped(node, written, edges)
            or self._sign(node, written, true, "gradient")
            or (
                self._kind_mixed(node, "value", "gradient")
                if type(value) is float and self.close(written, value)
                else None
            )
        )

    def value(self, node: str, written: float) -> Diagnosis | None:
        """Why `written` is not node's forward value."""
        evaluation, node_id = self.evaluation, self.ids[node]
        true, grad = evaluation.values[node_id], evaluation.grad_of(node_id)
        if type(true) is not float:
            return None
        return (
            self._value_consequence(node, written)
            or self._sign(node, written, true, "value")
            or (
                self._kind_mixed(node, "gradient", "value")
                if type(grad) is float and self.close(written, grad)
                else None
            )
        )

    def first_mistake(self, wrong: list[tuple[str, str]]) -> tuple[str, str] | None:
        """Of the wrong answers (node label, kind), the first in the order the passes run: forward
        values by node order, then gradients from the output down."""
        ids = self.ids
        values = sorted((ids[node], node) for node, kind in wrong if kind == "value" and node in ids)
        if values:
            return values[0][1], "value"
        grads = sorted(
            ((ids[node], node) for node, kind in wrong if kind == "grad" and node in ids), reverse=True
        )
        return (grads[0][1], "grad") if grads else None

    # -- the mistakes ---------------------------------------------------------------------------

    def _some_parents(self, node: str, written: float, edges: list[Edge]) -> Diagnosis | None:
        if not 2 <= len(edges) <= MAX_SUBSETS_EDGES:
            return None
        for size in range(1, len(edges)):
            for kept in itertools.combinations(range(len(edges)), size):
                if self.close(written, sum(edges[i].contribution for i in kept)):
                    missing = [edge for i, edge in enumerate(edges) if i not in kept]
                    return self._missing(node, written, [edges[i] for i in kept], missing)
        return None

    def _missing(self, node: str, written: float, kept: list[Edge], missing: list[Edge]) -> Diagnosis:
        through = " and ".join(self.labels[edge.parent] for edge in kept)
        lost = " and ".join(self.labels[edge.parent] for edge in missing)
        adds = _number(sum(edge.contribution for edge in missing))
        text = (
            f"{node}.grad: you have {_number(written)}, the contribution through {through} only; "
            f"the path through {lost} adds {adds} (a node used twice gets gradient from every parent)"
        )
        return Diagnosis("missing parents", text, tuple(self.labels[edge.parent] for edge in missing))

    def _chain_stopped(self, node: str, written: float, edges: list[Edge]) -> Diagnosis | None:
        for edge in edges:
            parent = self.labels[edge.parent]
            if self.close(written, edge.local) and not self.close(written, edge.contribution):
                text = (
                    f"{_number(written)} is ∂{parent}/∂{node} alone: the chain rule multiplies it by "
                    f"{parent}.grad = {_number(edge.parent_grad)}"
                )
                return Diagnosis("local derivative alone", text, (parent,))
            if self.close(written, edge.parent_grad) and not self.close(written, edge.contribution):
                text = (
                    f"{_number(written)} is {parent}.grad alone: the chain rule multiplies it by "
                    f"∂{parent}/∂{node} = {_number(edge.local)}"
                )
                return Diagnosis("parent gradient alone", text, (parent,))
        return None

    def _sign(self, node: str, written: float, true: float, what: str) -> Diagnosis | None:
        if true != 0.0 and self.close(written, -true):
            return Diagnosis("sign", f"the sign of {node}'s {what} is off: it is {_number(true)}", (node,))
        return None

    def _kind_mixed(self, node: str, given: str, asked: str) -> Diagnosis:
        spelled = f"{node}.value=" if given == "value" else f"{node}="
        text = f"that is {node}'s {given}, where its {asked} was asked: write {spelled} to check the {given}"
        return Diagnosis(f"{given} for {asked}", text, (node,))

    def _consequence(self, node: str, written: float, edges: list[Edge]) -> Diagnosis | None:
        """The answer is right given the student's own wrong gradients of some parents."""
        own = {edge.parent: self.answers.get((self.labels[edge.parent], "grad")) for edge in edges}
        wrong = [
            p
            for p, given in own.items()
            if given is not None and not self.close(given, self.evaluation.grad_of(p))
        ]
        if not wrong:
            return None
        theirs = sum((own[e.parent] if own[e.parent] is not None else e.parent_grad) * e.local for e in edges)
        if not self.close(written, theirs):
            return None
        parents = ", ".join(f"{self.labels[p]}.grad = {_number(own[p])}" for p in wrong)
        return Diagnosis(
            "consequence",
            f"right from your {parents}: the mistake is earlier",
            tuple(self.labels[p] for p in wrong),
        )

    def _value_consequence(self, node: str, written: float) -> Diagnosis | None:
        """The value is right given the student's own wrong values of some inputs of the node."""
        program, values = self.evaluation.program, self.evaluation.values
        node_id = self.ids[node]
        inputs = program.inputs_of(node_id)
        own = {i: self.answers.get((self.labels[i], "value")) for i in inputs}
        wrong = [i for i, given in own.items() if given is not None and not self.close(given, values[i])]
        if not wrong or any(type(values[i]) is not float for i in inputs):
            return None
        try:
            theirs = program.ops[node_id].forward(
                *[own[i] if own[i] is not None else values[i] for i in inputs]
            )
        except (ArithmeticError, ValueError):
            return None
        if type(theirs) is not float or not self.close(written, theirs):
            return None
        named = ", ".join(f"{self.labels[i]}.value = {_number(own[i])}" for i in dict.fromkeys(wrong))
        return Diagnosis(
            "consequence",
            f"right from your {named}: the mistake is earlier",
            tuple(self.labels[i] for i in wrong),
        )


def _number(x: float) -> str:
    from .values import value_text

    return value_text(x)
