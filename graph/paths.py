"""Backprop is weighted path counting (the lecture notes, §2.3), done both ways for one node.

count_paths is the notes' recurrence: paths(v) = Σ paths(u) over the parents u of v, with
paths(L) = 1, in reverse topological order: O(V + E) however many paths there are.
enumerate_paths walks every path from a node up to the output with an explicit stack (never
recursion), each with the product of the local derivatives along it; by the notes' Fact these
products sum to ∂L/∂node. The number of paths can be exponential in the size of the program
(`x2 = x1 + x1; x3 = x2 + x2; …` doubles it at every line), so callers take only the first few.

An input used twice by one node (`b * b`) is two edges, so two paths: each carries its own share.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from .engine import Evaluation
from .program import Program
from .trace import local_derivatives


@dataclass(frozen=True)
class Path:
    """One path from a node to the output: the nodes along it and the local derivative of each edge."""

    nodes: tuple[int, ...]  # from the start node to the output
    positions: tuple[int, ...]  # for each edge, which input of the next node the previous one is
    locals: tuple  # ∂next/∂previous for each edge (the op's vjp at g = 1)
    product: object


@dataclass(frozen=True)
class PathReport:
    """The paths from one node to the output, counted by DP and listed up to a cap."""

    start: int
    count: int  # by the recurrence
    paths: list[Path]  # the first ones, at most the cap
    gradient: object  # ∂L/∂start by backprop

    @property
    def complete(self) -> bool:
        return len(self.paths) == self.count

    @property
    def total(self):
        """The sum of the listed paths' products (∂L/∂start when the list is complete)."""
        return sum((path.product for path in self.paths), 0.0)


def parent_edges(program: Program) -> list[list[tuple[int, int]]]:
    """For every node, the edges to its parents: (parent id, which input of the parent it is)."""
    parents: list[list[tuple[int, int]]] = [[] for _ in program.nodes]
    for node in program.nodes:
        for position, child in enumerate(node.inputs):
            parents[child].append((node.id, position))
    return parents


def count_paths(program: Program, parents: list[list[tuple[int, int]]] | None = None) -> list[int]:
    """The number of paths from every node to the output (exact: Python integers do not overflow)."""
    parents = parent_edges(program) if parents is None else parents
    counts = [0] * len(program.nodes)
    for node in reversed(program.nodes):
        if node.id == program.output:
            counts[node.id] = 1
        else:
            counts[node.id] = sum(counts[parent] for parent, _ in parents[node.id])
    return counts


def enumerate_paths(evaluation: Evaluation, start: int) -> Iterator[Path]:
    """Every path from `start` to the output, depth first, parents in topological order."""
    program, values = evaluation.program, evaluation.values
    output = program.output
    parents = parent_edges(program)
    counts = count_paths(program, parents)  # to skip edges that lead nowhere near the output
    local_cache: dict[int, tuple] = {}
    if start == output:
        yield Path((start,), (), (), 1.0)
        return
    nodes, positions, locals_, products = [start], [], [], [1.0]
    stack = [iter(parents[start])]  # stack[k] holds the untried parents of nodes[k]
    while stack:
        edge = next(stack[-1], None)
        if edge is None:  # every parent of the top node is done: step back down
            stack.pop()
            nodes.pop()
            if positions:
                positions.pop()
                locals_.pop()
                products.pop()
            continue
        parent, position = edge
        if counts[parent] == 0:
            continue
        if parent not in local_cache:
            local_cache[parent] = local_derivatives(program, values, parent)
        local = local_cache[parent][position]
        if parent == output:
            yield Path((*nodes, parent), (*positions, position), (*locals_, local), products[-1] * local)
            continue
        nodes.append(parent)
        positions.append(position)
        locals_.append(local)
        products.append(products[-1] * local)
        stack.append(iter(parents[parent]))


def path_report(evaluation: Evaluation, start: int, limit: int) -> PathReport:
    """Count the paths from `start` to the output and list the first `limit` of them."""
    tensor = next((i for i, v in enumerate(evaluation.values) if type(v) is not float), None)
    if tensor is not None:
        from .errors import ShapeError
        from .kernels import describe_shape, shape

        program = evaluation.program
        raise ShapeError(
            f"paths multiplies local derivatives, which are numbers only in a scalar program; "
            f"{program.expr(tensor, limit=40)} has {describe_shape(shape(evaluation.values[tensor]))}",
            hint="use `backprop trace` to see the backward pass of a program with tensors",
        ).at(program.source, program.starts[tensor], program.ends[tensor])
    count = count_paths(evaluation.program)[start]
    paths = list(itertools.islice(enumerate_paths(evaluation, start), limit))
    return PathReport(start, count, paths, evaluation.grad_of(start))
