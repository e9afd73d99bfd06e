"""Kinks: where the backward pass took a derivative that is a convention (relu at 0, a max/min tie)
rather than a limit, found from an evaluation's values (eval and batch warn of them, check excuses them)."""

from __future__ import annotations

from typing import NamedTuple

from . import kernels
from .program import Program


def kinks(program: Program, values: list) -> list[int]:
    """Ids of nodes evaluated exactly at a kink (relu at 0, a max/min tie), in some element."""
    return [
        node_id
        for node_id, op in enumerate(program.ops)
        if op.kink is not None and kernels.any_true(op.kink(*[values[i] for i in program.inputs_of(node_id)]))
    ]


class Kink(NamedTuple):
    """A node whose derivative the backward pass took at a kink, where it is a convention."""

    node: int
    index: tuple[int, ...] | None  # the first element at the kink (None for a scalar node)
    count: int  # how many elements are at the kink (1 for a scalar)
    size: int  # elements of the node
    inputs: tuple[float, ...]  # the inputs' values at that element
    left: tuple[float, ...]  # ∂node/∂input from the left, one per input (the op's `sides`)
    right: tuple[float, ...]  # … and from the right
    taken: tuple[float, ...]  # what the op's vjp at g = 1 takes there: the convention


def kink_points(program: Program, values: list, grads: list) -> list[Kink]:
    """The kinks whose convention reaches the gradients, in id order (see kinkable)."""
    found = []
    for node_id in kinkable(program, grads):
        kink = kink_at(program, values, node_id)
        if kink is not None:
            found.append(kink)
    return found


def kinkable(program: Program, grads: list) -> list[int]:
    """The nodes of an op with a kink whose derivative reaches a gradient: an input flows into
    them, a gradient comes back, and their inputs are distinct (max(a, a) = a is smooth)."""
    found = []
    for node_id, op in enumerate(program.ops):
        if op.kink is not None and grads[node_id] is not None and program.needs_grad[node_id]:
            inputs = program.inputs_of(node_id)
            if len(set(inputs)) == len(inputs):
                found.append(node_id)
    return found


def kink_at(program: Program, values, node_id: int) -> Kink | None:
    """The node's first element at a kink (values: indexed by node id), or None if it has none:
    where, how many, the one-sided derivatives, and the convention taken."""
    op, inputs = program.ops[node_id], [values[i] for i in program.inputs_of(node_id)]
    at, out = op.kink(*inputs), values[node_id]
    if not kernels.any_true(at):
        return None
    index, count, size = None, 1, 1
    if type(at) is not bool:  # arrays (or a NumPy scalar): the first element at the kink
        np = kernels.numpy()
        at = np.asarray(at)
        flat = np.flatnonzero(at)
        count, size = int(flat.size), int(at.size)
        if at.ndim:
            index = tuple(int(i) for i in np.unravel_index(int(flat[0]), at.shape))
            inputs = [np.broadcast_to(x, at.shape)[index] for x in inputs]
            out = np.broadcast_to(out, at.shape)[index]
    inputs = [float(x) for x in inputs]
    sides = op.sides(*inputs)
    taken = op.vjp(1.0, float(out), *inputs)
    return Kink(
        node_id,
        index,
        count,
        size,
        tuple(inputs),
        tuple(left for left, _ in sides),
        tuple(right for _, right in sides),
        tuple(float(t) for t in taken),
    )
