"""Backprop is weighted path counting (the lecture notes, §2.3), done both ways for one node.

count_paths is the notes' recurrence: paths(v) = Σ paths(u) over the parents u of v, with
paths(L) = 1, in reverse topological order: O(V + E) however many paths there are. (Each node
pushes its count into its inputs, so no list of parents is built.) enumerate_paths walks every
path from the output down to a node with an explicit stack (never recursion), each with the
product of the local derivatives along it; by the notes' Fact these products sum to ∂L/∂node.
The number of paths can be exponential in the size of the program (`x2 = x1 + x1; x3 = x2 + x2;
…` doubles it at every line), so callers take only the first few.

An input used twice by one node (`b * b`) is two edges, so two paths: each carries its own share.

Bounded by design. Counts are exact up to EXACT_COUNTS and saturate there (exact counts of a
200,000-line chain took 8.1 GB, their digits growing with depth); past it the count is estimated
in Scaled numbers. Products are Scaled, so a path through local derivatives 1e300 and 1e10 still
has a product, and a sum that a float64 would make inf is right. The list is held to LISTING_BYTES.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from .engine import Evaluation
from .errors import LimitError
from .program import Program
from .trace import Scaled, scaled_local_derivatives, scaled_sum

EXACT_COUNT_DIGITS = 40
EXACT_COUNTS = 10**EXACT_COUNT_DIGITS
"""Counts up to this are exact Python integers (at most 44 bytes each); a larger one is stored as
MORE_THAN_EXACT, one shared object, so counting takes memory linear in the program."""
MORE_THAN_EXACT = EXACT_COUNTS + 1

LISTING_BYTES = 500_000_000
"""What the listed paths may take, printed as a table (JSON takes about a third of it). Measured at
the full budget, about 800,000 edges: 414–428 MB and 32–42 s as a table, 153–161 MB and 2 s as JSON
(paths of 36 to 120 edges; Rich folds rows of 400,000 edges slower, 6,500 edges a second)."""
BYTES_PER_PATH = 2_000  # measured (tracemalloc, 300 to 4,096 paths): a table row, its Path, its texts
BYTES_PER_EDGE = 600  # measured: 450 bytes an edge traced, 510 to 760 in peak RSS
MAX_PATHS = LISTING_BYTES // (BYTES_PER_PATH + BYTES_PER_EDGE)
"""The largest --max-paths: that many paths of one edge each would fill LISTING_BYTES."""


@dataclass(frozen=True)
class Path:
    """One path from a node to the output: the nodes along it and the local derivative of each edge."""

    nodes: tuple[int, ...]  # from the start node to the output
    positions: tuple[int, ...]  # for each edge, which input of the next node the previous one is
    factors: tuple[Scaled, ...]  # ∂next/∂previous for each edge (the op's vjp at g = 1)
    weight: Scaled  # their product: this path's share of the gradient

    @property
    def locals(self) -> tuple[float | None, ...]:
        """The local derivatives as float64 (None for one too large for a float64, or not finite)."""
        return tuple(factor.as_float() for factor in self.factors)

    @property
    def product(self) -> float | None:
        """The product as a float64 (None when too large for one, or not finite)."""
        return self.weight.as_float()


@dataclass(frozen=True)
class PathReport:
    """The paths from one node to the output, counted by DP and listed up to a cap."""

    start: int
    count: int | None  # by the recurrence; None when more than EXACT_COUNTS
    estimate: Scaled  # the count to 9 significant digits (exact up to 2^53)
    paths: list[Path]  # the first ones, at most the cap
    gradient: object  # ∂L/∂start by backprop

    @property
    def complete(self) -> bool:
        return len(self.paths) == self.count

    @cached_property
    def weight(self) -> Scaled:
        """The sum of the listed paths' products (∂L/∂start when the list is complete)."""
        return scaled_sum(path.weight for path in self.paths)

    @property
    def total(self) -> float | None:
        """That sum as a float64 (None when too large for one, or not finite)."""
        return self.weight.as_float()

    @property
    def count_log10(self) -> float | None:
        """log10 of the number of paths (None for none: a node that does not reach the output)."""
        if self.count == 0:
            return None
        if self.count is not None:
            return math.log10(self.count)
        return math.log10(self.estimate.mantissa) + self.estimate.exponent * math.log10(2.0)


def parent_edges(program: Program) -> list[list[tuple[int, int]]]:
    """For every node, the edges to its parents: (parent id, which input of the parent it is).
    The lecture's picture, for tests and callers; counting and listing here need none of it
    (it costs about 190 bytes a node)."""
    parents: list[list[tuple[int, int]]] = [[] for _ in range(len(program))]
    for node_id in range(len(program)):
        for position, child in enumerate(program.inputs_of(node_id)):
            parents[child].append((node_id, position))
    return parents


def count_paths(program: Program) -> list[int]:
    """The number of paths from every node to the output: exact up to EXACT_COUNTS, MORE_THAN_EXACT past it.
    A node's count is complete when the walk reaches it: its parents come after it."""
    counts = [0] * len(program)
    counts[program.output] = 1
    for node_id in range(program.output, -1, -1):
        count = counts[node_id]
        if count:
            for child in program.inputs_of(node_id):
                total = counts[child] + count
                counts[child] = total if total <= EXACT_COUNTS else MORE_THAN_EXACT
    return counts


def estimate_count(program: Program, start: int) -> Scaled:
    """The number of paths from `start` by the same recurrence in Scaled numbers, in two flat arrays
    (16 bytes a node). Each edge's addition rounds once, so the count is within E·2^-53 of exact
    for E edges: 9 significant digits even at 5,000,000 nodes."""
    mantissas, exponents = array("d", bytes(8 * len(program))), array("q", bytes(8 * len(program)))
    mantissas[program.output], exponents[program.output] = 0.5, 1  # one path: 0.5 · 2^1
    for node_id in range(program.output, start, -1):
        mantissa, exponent = mantissas[node_id], exponents[node_id]
        if not mantissa:
            continue  # no path from here: not above the output
        for child in program.inputs_of(node_id):
            so_far, shift = mantissas[child], exponents[child]
            if not so_far:
                mantissas[child], exponents[child] = mantissa, exponent
                continue
            top = max(exponent, shift)
            total = math.ldexp(mantissa, exponent - top) + math.ldexp(so_far, shift - top)
            mantissas[child], exponents[child] = Scaled.of(total, top)
    return Scaled(mantissas[start], exponents[start])


def depends_on(program: Program, start: int) -> bytearray:
    """1 for `start` and every node that takes it as an input, directly or not (a forward sweep)."""
    depends = bytearray(len(program))
    depends[start] = 1
    for node_id in range(start + 1, program.output + 1):
        if any(depends[child] for child in program.inputs_of(node_id)):
            depends[node_id] = 1
    return depends


def enumerate_paths(evaluation: Evaluation, start: int, budget: int | None = None) -> Iterator[Path]:
    """Every path from `start` to the output, depth first from the output, inputs in order.

    budget: the bytes the paths yielded, and the walk to the next one, may take (BYTES_PER_PATH
    and BYTES_PER_EDGE); past it, a LimitError that says how many paths fit."""
    program, values, output = evaluation.program, evaluation.values, evaluation.program.output
    remaining = math.inf if budget is None else budget
    depends = depends_on(program, start)
    local_cache: dict[int, tuple] = {}
    # The path so far, from the output down: nodes[k] is reached from nodes[k - 1] through input
    # positions[k - 1]; products[k] is the product of the local derivatives above nodes[k].
    nodes, positions, factors, products = [output], [], [], [Scaled.of(1.0)]
    stack = [enumerate(program.inputs_of(output))]  # stack[k] holds the untried inputs of nodes[k]
    yielded = 0
    while True:
        if nodes[-1] == start:  # a whole path: yield it, then step back up
            remaining -= BYTES_PER_PATH + BYTES_PER_EDGE * len(factors)
            yield Path(
                tuple(reversed(nodes)), tuple(reversed(positions)), tuple(reversed(factors)), products[-1]
            )
            yielded += 1
            edge = None
        else:
            edge = next(stack[-1], None)
        if edge is None:  # every input of the top node is done: step back up
            if len(nodes) == 1:
                return
            for walked in (nodes, stack, positions, factors, products):
                walked.pop()
            continue
        position, child = edge
        if not depends[child]:
            continue  # no path down to start
        if BYTES_PER_PATH + BYTES_PER_EDGE * len(nodes) > remaining:  # a step deeper would not fit
            raise listing_too_large(program.labels()[start], yielded)
        parent = nodes[-1]
        if parent not in local_cache:
            local_cache[parent] = scaled_local_derivatives(program, values, parent)
        local = local_cache[parent][position]
        nodes.append(child)
        positions.append(position)
        factors.append(local)
        products.append(products[-1].times(local))
        stack.append(enumerate(program.inputs_of(child)))


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
    if limit > MAX_PATHS:
        raise too_many_paths(limit)
    try:
        return _report(evaluation, start, limit)
    except MemoryError:
        raise LimitError(
            "counting and listing the paths needs more memory than this machine has",
            hint="list fewer paths with --max-paths (0 lists none), or split the program",
        ) from None


def _report(evaluation: Evaluation, start: int, limit: int) -> PathReport:
    program = evaluation.program
    count = count_paths(program)[start]
    if count > EXACT_COUNTS:
        count, estimate = None, estimate_count(program, start)
    else:
        estimate = Scaled.of(float(count))
    paths = list(itertools.islice(enumerate_paths(evaluation, start, LISTING_BYTES), limit))
    return PathReport(start, count, estimate, paths, evaluation.grad_of(start))


def too_many_paths(limit: int) -> LimitError:
    return LimitError(
        f"--max-paths {limit:,} is more than can be listed: at most {MAX_PATHS:,}",
        hint=f"listing takes memory (about {BYTES_PER_PATH + BYTES_PER_EDGE:,} bytes for a path of one edge, "
        f"{BYTES_PER_EDGE} more for each further edge); the count and the gradient need no list",
    )


def listing_too_large(start: str, fit: int) -> LimitError:
    budget = f"{LISTING_BYTES // 10**6:,} MB"
    if fit == 0:
        return LimitError(
            f"the first path from {start} is too long to list in {budget}",
            hint="--max-paths 0 still shows the count of the paths and the gradient",
        )
    return LimitError(
        f"the paths from {start} are too long to list more than {fit:,} of them in {budget}",
        hint=f"ask for at most --max-paths {fit:,} here; the count and the gradient need no list",
    )
