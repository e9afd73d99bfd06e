"""A program as a flat tape: nodes in build order, which is already a topological order.

An input node exists before any node that uses it, so walking the ids upwards is the forward pass
and walking them downwards is the backward pass: nothing is sorted and nothing recurses.

The tape is a struct of arrays: node i has op `ops[i]`, inputs `first[i]` and `second[i]` (-1
where absent: leaves have none, unary ops one) and source span `starts[i]:ends[i]`. The rare node
with more inputs has first = MANY_INPUTS and its inputs in the dict `many`. That costs
about 130 bytes a node and lets the engine loop without building anything per node. (Python
lists, not `array`s: appending to a list is 4x cheaper, and building the tape is a hot path.) Values and
gradients are not stored here but in lists indexed by id, so one program can be evaluated at many
points (the gradient check, batches). `nodes` gives readable Node views for renderers.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left
from typing import NamedTuple

from .errors import NameError_, line_and_column
from .limits import MAX_ELEMENTS, default_max_memory
from .ops import CONST, FUNCTIONS, INPUT, Op

EXPR_PREVIEW = 120
"""Subexpression texts longer than this are shortened in the middle when shown (deep chains would
otherwise cost quadratic space)."""

NO_INPUT = -1
MANY_INPUTS = -2
"""`first` of a node with more than two inputs (a list literal, W[i, j]): they are in `many`."""


class Node(NamedTuple):
    """A read-only view of one node of the tape."""

    id: int
    op: Op
    inputs: tuple[int, ...]
    start: int
    end: int
    name: str | None  # the user's name (input variable or `name = ...`), else None
    constant: float | None  # the value of a `const` leaf
    needs_grad: bool  # True if some input variable flows into this node


class Program:
    """A parsed program: its source text, its tape of nodes, its inputs and its output."""

    def __init__(
        self, source: str, *, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
    ) -> None:
        self.source = source
        # The largest tensor it may compute, and the memory a run may take (graph/limits.py)
        self.max_elements = max_elements
        self.max_memory = default_max_memory() if max_memory is None else max_memory
        # Infix nodes (ids increasing) and where their operator starts, for errors that point at it;
        # `array`s, not lists: 16 bytes an infix node instead of 44 (measured on 10^5 nodes).
        self._operator_nodes, self._operator_starts = array("q"), array("q")
        self.ops: list[Op] = []
        self.first: list[int] = []
        self.second: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.needs_grad = bytearray()
        self.many: dict[int, tuple[int, ...]] = {}  # node id -> inputs, for nodes with more than two
        self.names: dict[int, str] = {}  # node id -> the user's name for it
        self.constants: dict[int, float] = {}  # const leaf id -> its value
        self.inputs: dict[str, int] = {}  # input variable -> node id, in order of first use
        self.bindings: dict[str, int] = {}  # `name = ...` -> node id
        # `name = ...`: the names in order, and where each stands (binding_starts: a dict of them)
        self._bound_names: list[str] = []
        self._bound_starts: list[int] = []
        self.output = -1
        self._views: list[Node] | None = None
        self._elementwise, self._elementwise_checked = True, 0

    def __len__(self) -> int:
        return len(self.ops)

    def all_elementwise(self) -> bool:
        """True if every op is applied element by element (arrays appear only if given)."""
        if self._elementwise_checked != len(self.ops):
            self._elementwise = all(op.elementwise or op.forward is None for op in set(self.ops))
            self._elementwise_checked = len(self.ops)
        return self._elementwise

    # -- building -----------------------------------------------------------------------------

    def _append(self, op: Op, first: int, second: int, start: int, end: int, needs_grad: int) -> int:
        node_id = len(self.ops)
        self.ops.append(op)
        self.first.append(first)
        self.second.append(second)
        self.starts.append(start)
        self.ends.append(end)
        self.needs_grad.append(needs_grad)
        return node_id

    # add1/add2 are the builders' hot path, so they append directly rather than via _append: that
    # saves ~70 ns a node (240 vs 310 ns, measured on 2·10^5 nodes), over 1% of a parse.

    def add1(self, op: Op, first: int, start: int, end: int) -> int:
        """Append a unary op node over node `first` and return its id."""
        node_id = len(self.ops)
        self.ops.append(op)
        self.first.append(first)
        self.second.append(NO_INPUT)
        self.starts.append(start)
        self.ends.append(end)
        needs = self.needs_grad
        needs.append(needs[first])
        return node_id

    def add2(self, op: Op, first: int, second: int, start: int, end: int) -> int:
        """Append a binary op node over nodes `first` and `second` and return its id."""
        node_id = len(self.ops)
        self.ops.append(op)
        self.first.append(first)
        self.second.append(second)
        self.starts.append(start)
        self.ends.append(end)
        needs = self.needs_grad
        needs.append(needs[first] | needs[second])
        return node_id

    def add_infix(self, op: Op, first: int, second: int, start: int, end: int, operator: int) -> int:
        """add2 for an infix node whose operator starts at offset `operator`, recorded for
        operator_span (the node is the newest, so the ids recorded stay increasing)."""
        node_id = self.add2(op, first, second, start, end)
        self._operator_nodes.append(node_id)
        self._operator_starts.append(operator)
        return node_id

    def add(self, op: Op, inputs: tuple[int, ...], start: int, end: int) -> int:
        """Append an op node over existing nodes and return its id."""
        if len(inputs) == 2:
            return self.add2(op, inputs[0], inputs[1], start, end)
        if len(inputs) == 1:
            return self.add1(op, inputs[0], start, end)
        if not inputs:
            raise ValueError(f"op {op.name} needs at least one input")
        needs = any(self.needs_grad[i] for i in inputs)
        node_id = self._append(op, MANY_INPUTS, NO_INPUT, start, end, needs)
        self.many[node_id] = tuple(inputs)
        return node_id

    def fold_constant(self, ids: list[int], value, start: int, end: int) -> int | None:
        """Replace the constant leaves `ids`, if they are the last nodes of the tape, by one
        constant node of `value` (a literal of numbers becomes one array); None otherwise."""
        count = len(self.ops)
        fresh = ids == list(range(count - len(ids), count))
        if not fresh or any(self.ops[i] is not CONST or i in self.names for i in ids):
            return None
        for column in (self.ops, self.first, self.second, self.starts, self.ends):
            del column[count - len(ids) :]
        del self.needs_grad[count - len(ids) :]
        for i in ids:
            del self.constants[i]
        return self.add_constant(value, start, end)

    def negate_constant(self, node_id: int, start: int) -> bool:
        """Fold a minus sign into the constant leaf just made (`-1` is a number); False if not one."""
        if node_id != len(self.ops) - 1 or self.ops[node_id] is not CONST or node_id in self.names:
            return False
        self.constants[node_id] = -self.constants[node_id]
        self.starts[node_id] = start
        return True

    def add_constant(self, value: float, start: int, end: int) -> int:
        """Append a constant leaf and return its id (appending directly: a number is a hot path too)."""
        node_id = len(self.ops)
        self.ops.append(CONST)
        self.first.append(NO_INPUT)
        self.second.append(NO_INPUT)
        self.starts.append(start)
        self.ends.append(end)
        self.needs_grad.append(False)
        self.constants[node_id] = value
        return node_id

    def variable(self, name: str, start: int, end: int) -> int:
        """The node of a name: its binding if it has one, else an input variable (made on first use)."""
        node_id = self.bindings.get(name)
        if node_id is None:
            node_id = self.inputs.get(name)
        if node_id is None:
            node_id = self._append(INPUT, NO_INPUT, NO_INPUT, start, end, True)
            self.inputs[name] = node_id
            self.names[node_id] = name
        return node_id

    def bind(self, name: str, node_id: int, name_start: int) -> None:
        """Record `name = <node>`; a name is bound once, and never after it was used as an input."""
        if name in self.bindings:
            first = self.binding_starts[name]
            raise NameError_(
                f"{name} is already defined (at {_place(self.source, first)}); a name is bound once",
                hint="pick a new name for this value",
            ).at(self.source, name_start, name_start + len(name))
        if name in self.inputs:
            used = self.starts[self.inputs[name]]
            raise NameError_(
                f"{name} is used as an input (at {_place(self.source, used)}) before this assignment",
                hint=f"define {name} before its first use, or rename this binding",
            ).at(self.source, name_start, name_start + len(name))
        self.bind_new(name, node_id, name_start)

    def bind_new(self, name: str, node_id: int, name_start: int) -> None:
        """bind() for a name its caller knows to be neither bound nor an input (parser/lines.py)."""
        self.bindings[name] = node_id
        self._bound_names.append(name)
        self._bound_starts.append(name_start)
        self.names.setdefault(node_id, name)
        self._views = None

    @property
    def binding_starts(self) -> dict[str, int]:
        """`name = ...` -> the offset of the name. Made when asked (only errors ask): a second
        dictionary written at every binding cost a parse 0.5 µs a node at 10⁶ nodes."""
        return dict(zip(self._bound_names, self._bound_starts))

    def place(self, offset: int) -> str:
        """`line L, column C` of an offset into the source, for messages."""
        return _place(self.source, offset)

    # -- reading ------------------------------------------------------------------------------

    def inputs_of(self, node_id: int) -> tuple[int, ...]:
        first, second = self.first[node_id], self.second[node_id]
        if first < 0:
            return self.many[node_id] if first == MANY_INPUTS else ()
        return (first,) if second == NO_INPUT else (first, second)

    @property
    def nodes(self) -> list[Node]:
        """Every node as a read-only view, in topological (id) order."""
        if self._views is None or len(self._views) != len(self.ops):
            self._views = [self.node(i) for i in range(len(self.ops))]
        return self._views

    def node(self, node_id: int) -> Node:
        return Node(
            node_id,
            self.ops[node_id],
            self.inputs_of(node_id),
            self.starts[node_id],
            self.ends[node_id],
            self.names.get(node_id),
            self.constants.get(node_id),
            bool(self.needs_grad[node_id]),
        )

    def operator_span(self, node_id: int) -> tuple[int, int] | None:
        """Where the operator of infix node `node_id` stands in the source; None for other nodes."""
        nodes = self._operator_nodes
        i = bisect_left(nodes, node_id)
        if i == len(nodes) or nodes[i] != node_id:
            return None
        start = self._operator_starts[i]
        width = 2 if self.source.startswith("**", start) else 1  # `**` is the one two-character operator
        return start, start + width

    def expr(self, node_id: int, limit: int | None = EXPR_PREVIEW) -> str:
        """The source text a node stands for (whitespace folded; long texts shortened in the middle)."""
        return self.span_text(self.starts[node_id], self.ends[node_id], limit)

    def text(self, limit: int | None = EXPR_PREVIEW) -> str:
        """The whole program on one line, as expr writes a node's text."""
        return self.span_text(0, len(self.source), limit)

    def span_text(self, start: int, end: int, limit: int | None) -> str:
        """source[start:end] with whitespace folded, shortened in the middle past `limit`."""
        if limit is not None and end - start > 4 * limit:
            head = self.source[start : start + limit]
            tail = self.source[end - limit : end]
            text = f"{' '.join(head.split())} … {' '.join(tail.split())}"
        else:
            text = " ".join(self.source[start:end].split())
        if limit is not None and len(text) > limit:
            half = (limit - 3) // 2
            text = f"{text[:half]} … {text[-half:]}"
        return text

    def labels(self) -> list[str | None]:
        """A short name for every node: the user's own, else a lecture-style letter in topological
        order (a, b, c, …, skipping names the program uses); constants get their literal text."""
        taken = set(self.inputs) | set(self.bindings) | set(FUNCTIONS) | {"pi"}
        # A constant written by name (`e`, `-e`) keeps its letter out of the lecture's sequence.
        taken |= {self.source[self.starts[i] : self.ends[i]].lstrip("- ") for i in self.constants}
        letters = _letters(taken)
        labels: list[str | None] = []
        for node_id, op in enumerate(self.ops):
            name = self.names.get(node_id)
            if name is not None:
                labels.append(name)
            elif op is CONST:
                labels.append(self.source[self.starts[node_id] : self.ends[node_id]])
            else:
                labels.append(next(letters))
        return labels

    def users(self) -> list[list[int]]:
        """For every node, the ids of the nodes that take it as an input (its parents, in the lecture)."""
        users: list[list[int]] = [[] for _ in self.ops]
        for node_id in range(len(self.ops)):
            for i in dict.fromkeys(self.inputs_of(node_id)):
                users[i].append(node_id)
        return users


def _place(source: str, offset: int) -> str:
    line, column = line_and_column(source, offset)
    return f"line {line}, column {column}"


def _letters(taken: set[str]):
    """a, b, …, z, then aa, ab, …, az, ba, … (spreadsheet columns: alphabetical, so a reader finds
    a label's place), skipping the names in `taken` and every letter that begins a user's name
    followed by digits (no `b` beside inputs `b1`, `b2`; no `h` beside `h1` or `H_1`)."""
    import re

    skipped = set(taken)
    for name in (name for name in taken if name[-1:].isdigit()):
        numbered = re.fullmatch(r"([A-Za-z]+)_?[0-9]+", name)
        if numbered:
            skipped.add(numbered[1].lower())
    for size in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=size):
            label = "".join(letters)
            if label not in skipped:
                yield label
