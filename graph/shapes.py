"""The shape pass: every node's shape from the inputs' shapes alone, before any value is computed.

It lets a run be judged before it starts. A shape error is raised at its operator as the forward
pass would raise it; a tensor past --max-elements is refused; and the memory the run will take is
estimated and held against --max-memory:

    values of every node (the engine keeps them all: the tables show them)
  + gradients of every node an input flows into (kept too)
  + 3 × the largest node (a vjp's temporaries: g·y, the sum `old + new`, a broadcast gradient)
  + the values once more when the gradient check runs (its forward passes at x ± h)
  + BYTES_PER_NODE for every node (the tape, and each scalar's value and gradient)

A tensor costs 8 bytes an element (float64). The estimate is checked against measured runs in
tests/test_resources.py: it is an upper bound, measured at 1.6–2.7 times what a run takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod

from . import failures
from .errors import ShapeError
from .kernels import broadcast_shape
from .limits import BYTES_PER_NODE, memory_error, size_text
from .program import Program

FLOAT_BYTES = 8
TEMPORARIES = 3  # how many arrays the size of the largest node a backward step may hold at once
NAMED_LARGEST = 3  # how many of the largest nodes the memory error names


def node_shapes(program: Program, input_shapes: Mapping[str, tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The shape of every node (() for a scalar), raising the forward pass's ShapeError at its node
    and a LimitError for a node of more elements than the program's max_elements."""
    shapes: list[tuple[int, ...]] = [()] * len(program)
    for name, node_id in program.inputs.items():
        shapes[node_id] = input_shapes[name]
    for node_id, constant in program.constants.items():
        shapes[node_id] = () if type(constant) is float else constant.shape
    for node_id, op in enumerate(program.ops):
        inputs = program.inputs_of(node_id)
        if not inputs:
            continue  # a leaf, filled in above
        try:
            if op.shape is None:  # elementwise: the inputs' shapes broadcast
                dims = broadcast_shape([shapes[i] for i in inputs], op.symbol or op.name)
            else:  # static inputs (an axis, a subscript) are passed as their values
                static = len(inputs) if op.static_from is None else op.static_from
                dims = op.shape(
                    *[shapes[i] for i in inputs[:static]], *[program.constants[i] for i in inputs[static:]]
                )
        except ShapeError as failure:
            raise failures.placed(program, node_id, failure) from None
        size = prod(dims)
        if size > program.max_elements:
            raise failures.too_many_elements(program, node_id, size)
        shapes[node_id] = dims
    return shapes


def memory_needed(program: Program, shapes: list[tuple[int, ...]], *, check: bool = False) -> int:
    """The run's memory, estimated as the module docstring says, in bytes."""
    sizes = [prod(dims) * FLOAT_BYTES if dims else 0 for dims in shapes]
    values = sum(sizes)
    grads = sum(size for size, needs in zip(sizes, program.needs_grad) if needs)
    return (
        values * (2 if check else 1)
        + grads
        + TEMPORARIES * max(sizes, default=0)
        + BYTES_PER_NODE * len(program)
    )


def judge(program: Program, input_shapes: Mapping[str, tuple[int, ...]], *, check: bool = False) -> None:
    """Raise before the run if a shape is wrong, a tensor too large, or the memory too much."""
    shapes = node_shapes(program, input_shapes)
    needed = memory_needed(program, shapes, check=check)
    if needed > program.max_memory:
        raise memory_error(needed, program.max_memory, _largest(program, shapes))


def _largest(program: Program, shapes: list[tuple[int, ...]]) -> list[str]:
    """The nodes that need the most memory, as `x*x.T (7000, 7000) 392 MB`."""
    ranked = sorted(range(len(shapes)), key=lambda i: prod(shapes[i]) if shapes[i] else 0, reverse=True)
    return [
        f"{program.expr(i, limit=40)} {shapes[i]} {size_text(prod(shapes[i]) * FLOAT_BYTES)}"
        for i in ranked[:NAMED_LARGEST]
        if shapes[i]
    ]


def fitting_chunk(program: Program, chunk: int) -> int:
    """The largest number of points, at most `chunk`, that one vectorised step of `batch` may
    evaluate within the program's max_memory: each point holds a value and a gradient of every
    node, and the step's temporaries (BYTES_PER_NODE per node of the program besides). A chunk
    changes no output, so it is fitted rather than refused; only a program that cannot hold
    even one point is a limit error."""
    per_point = FLOAT_BYTES * (len(program) + sum(program.needs_grad) + TEMPORARIES)
    room = program.max_memory - BYTES_PER_NODE * len(program)
    if room < per_point:
        raise memory_error(BYTES_PER_NODE * len(program) + per_point, program.max_memory, [])
    return min(chunk, room // per_point)
