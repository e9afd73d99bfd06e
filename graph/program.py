"""A program as a flat tape: nodes in build order, which is already a topological order.

An input node exists before any node that uses it, so walking `nodes` forwards is the forward pass
and walking it backwards is the backward pass: nothing is sorted and nothing recurses. Values and
gradients are not stored on the nodes but in lists indexed by node id, so one program can be
evaluated at many points (the gradient check, batches).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NameError_, line_and_column
import itertools
from string import ascii_lowercase

from .ops import CONST, FUNCTIONS, INPUT, Op

EXPR_PREVIEW = 120
"""Subexpression texts longer than this are shortened in the middle when shown (deep chains would
otherwise cost quadratic space)."""


@dataclass(slots=True, eq=False)
class Node:
    """One operation (or leaf) of the program; `start:end` is the span of source text it stands for."""

    id: int
    op: Op
    inputs: tuple[int, ...]
    start: int
    end: int
    name: str | None = None  # the user's name (input variable or `name = ...`); None otherwise
    constant: float | None = None  # the value of a `const` leaf
    needs_grad: bool = False  # True if some input variable flows into this node


@dataclass(eq=False)
class Program:
    """A parsed program: its source text, its nodes in topological order, its inputs and output."""

    source: str
    nodes: list[Node] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)  # variable name -> node id, first use order
    bindings: dict[str, int] = field(default_factory=dict)  # `name = ...` -> node id
    binding_starts: dict[str, int] = field(default_factory=dict)  # `name = ...` -> offset of the name
    output: int = -1

    # -- building -----------------------------------------------------------------------------

    def add(self, op: Op, inputs: tuple[int, ...], start: int, end: int) -> int:
        """Append an op node over existing nodes and return its id."""
        nodes = self.nodes
        needs_grad = False
        for i in inputs:
            if nodes[i].needs_grad:
                needs_grad = True
                break
        node_id = len(nodes)
        nodes.append(Node(node_id, op, inputs, start, end, needs_grad=needs_grad))
        return node_id

    def add_constant(self, value: float, start: int, end: int) -> int:
        node_id = len(self.nodes)
        self.nodes.append(Node(node_id, CONST, (), start, end, constant=value))
        return node_id

    def variable(self, name: str, start: int, end: int) -> int:
        """The node of a name: its binding if it has one, else an input variable (made on first use)."""
        if name in self.bindings:
            return self.bindings[name]
        if name not in self.inputs:
            node_id = len(self.nodes)
            self.nodes.append(Node(node_id, INPUT, (), start, end, name=name, needs_grad=True))
            self.inputs[name] = node_id
        return self.inputs[name]

    def bind(self, name: str, node_id: int, name_start: int) -> None:
        """Record `name = <node>`; a name is bound once, and never after it was used as an input."""
        if name in self.bindings:
            first = self.binding_starts[name]
            raise NameError_(
                f"{name} is already defined (at {_place(self.source, first)}); a name is bound once",
                hint="pick a new name for this value",
            ).at(self.source, name_start, name_start + len(name))
        if name in self.inputs:
            used = self.nodes[self.inputs[name]].start
            raise NameError_(
                f"{name} is used as an input (at {_place(self.source, used)}) before this assignment",
                hint=f"define {name} before its first use, or rename this binding",
            ).at(self.source, name_start, name_start + len(name))
        self.bindings[name] = node_id
        self.binding_starts[name] = name_start
        node = self.nodes[node_id]
        if node.name is None:
            node.name = name

    # -- reading ------------------------------------------------------------------------------

    def expr(self, node_id: int, limit: int | None = EXPR_PREVIEW) -> str:
        """The source text a node stands for (whitespace folded; long texts shortened in the middle)."""
        node = self.nodes[node_id]
        if limit is not None and node.end - node.start > 4 * limit:
            head = self.source[node.start : node.start + limit]
            tail = self.source[node.end - limit : node.end]
            text = f"{' '.join(head.split())} … {' '.join(tail.split())}"
        else:
            text = " ".join(self.source[node.start : node.end].split())
        if limit is not None and len(text) > limit:
            half = (limit - 3) // 2
            text = f"{text[:half]} … {text[-half:]}"
        return text

    def labels(self) -> list[str | None]:
        """A short name for every node: the user's own, else a lecture-style letter in topological
        order (a, b, c, …, skipping names the program uses); constants get their literal text."""
        taken = set(self.inputs) | set(self.bindings) | set(FUNCTIONS) | {"pi"}
        letters = _letters(taken)
        labels: list[str | None] = []
        for node in self.nodes:
            if node.name is not None:
                labels.append(node.name)
            elif node.op is CONST:
                labels.append(self.source[node.start : node.end])
            else:
                labels.append(next(letters))
        return labels

    def users(self) -> list[list[int]]:
        """For every node, the ids of the nodes that take it as an input (its parents, in the lecture)."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for i in node.inputs:
                users[i].append(node.id)
        return users


def _place(source: str, offset: int) -> str:
    line, column = line_and_column(source, offset)
    return f"line {line}, column {column}"


def _letters(taken: set[str]):
    """a, b, …, z, aa, ab, … (spreadsheet style), skipping the names in `taken`."""
    for size in itertools.count(1):
        for letters in itertools.product(ascii_lowercase, repeat=size):
            label = "".join(letters)
            if label not in taken:
                yield label
