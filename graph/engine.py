"""Forward and backward passes over a program's tape. The engine knows no op by name.

Forward: walk the nodes in id order (a topological order) and compute each value from its inputs.
Backward: seed dL/dL = 1 at the output, walk the nodes in reverse id order, and hand every input
of a node its share g·∂node/∂input through the op's vjp, summed with `+` (the lecture's
`child.grad += parent.grad * ∂parent/∂child`). Both passes are loops, so depth costs no stack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import nullcontext
from typing import NamedTuple

from . import kernels
from .errors import BackpropError, DomainError, InputError, NameError_, ShapeError
from .limits import elements_error
from .ops import CONST, CONSTANTS, FUNCTIONS
from .program import MANY_INPUTS, Program
from .values import value_text


def check_inputs(program: Program, given: Mapping[str, object]) -> list[str]:
    """Raise if a needed input is missing or a given one clashes; return the given names never used."""
    for name in given:
        if name in FUNCTIONS or name in CONSTANTS:
            what = "a function" if name in FUNCTIONS else "a constant"
            raise NameError_(
                f"{name} is {what} of the language, not an input",
                hint=f"an input cannot be named {name}; rename it in the program and in its value",
            )
        if name in program.bindings:
            start = program.binding_starts[name]
            raise NameError_(
                f"{name} is given a value, but the program defines {name} itself",
                hint=f"drop the value for {name}, or rename {name} in the program",
            ).at(program.source, start, start + len(name))
    missing = [name for name in program.inputs if name not in given]
    if missing:
        first = program.inputs[missing[0]]
        options = " ".join(f"--{name} VALUE" for name in missing)
        named = missing[0] if len(missing) == 1 else "NAME"
        raise NameError_(
            f"no value for {', '.join(missing)}",
            hint=f"pass {options} (or --var {named}=VALUE)",
        ).at(program.source, program.starts[first], program.ends[first])
    for name in program.inputs:
        size = kernels.size(given[name])
        if size > program.max_elements:
            raise elements_error(f"the value of {name}", size, program.max_elements)
        if not kernels.is_finite(given[name]):
            raise InputError(
                f"the value of {name} is not a finite number: {given[name]!r}",
                hint="give a finite number; NaN and infinity are refused",
            )
    return [name for name in given if name not in program.inputs]


def forward(program: Program, inputs: Mapping[str, object], *, strict: bool = True) -> list:
    """The value of every node, given a value for every input variable.

    strict: raise a DomainError for the first value that is not finite (batches pass False and
    find their bad points themselves)."""
    values: list = [None] * len(program)
    for name, node_id in program.inputs.items():
        values[node_id] = inputs[name]
    for node_id, constant in program.constants.items():
        values[node_id] = constant
    tensors = _has_tensors(program, values)
    node_id = -1
    with _quiet_numpy(tensors):
        try:
            # Leaves (first < 0, not MANY_INPUTS) are filled in; unary ops have no second input.
            for node_id, op, first, second in zip(
                range(len(program)), program.ops, program.first, program.second
            ):
                if second >= 0:
                    values[node_id] = op.forward(values[first], values[second])
                elif first >= 0:
                    values[node_id] = op.forward(values[first])
                elif first == MANY_INPUTS:
                    values[node_id] = op.forward(*[values[i] for i in program.many[node_id]])
                else:
                    continue
                if (
                    tensors
                    and type(values[node_id]) is not float
                    and values[node_id].size > program.max_elements
                ):
                    raise elements_error(
                        program.expr(node_id, limit=40), values[node_id].size, program.max_elements
                    )
        except ShapeError as failure:
            raise _placed(program, node_id, failure) from None
        except MemoryError:
            raise _out_of_memory(program, node_id) from None
        except (ArithmeticError, ValueError) as failure:
            raise _undefined_value(program, node_id, values, failure) from None
    bad = _first_nonfinite(values, tensors) if strict else None
    if bad is not None:
        raise _undefined_value(program, bad, values, None)
    return values


def backward(program: Program, values: list, *, strict: bool = True) -> list:
    """dL/d(node) for every node that an input flows into (None for the others), L the output.

    For tensors, each gradient is summed back to the shape of its input (undoing broadcasting).
    strict: raise a DomainError for a gradient that is not finite, as in forward."""
    grads: list = [None] * len(program)
    output = program.output
    grads[output] = 1.0 + 0.0 * values[output]  # dL/dL = 1, in the output's shape
    ops, firsts, seconds, needs_grad = program.ops, program.first, program.second, program.needs_grad
    tensors = _has_tensors(program, values)
    node_id = -1
    with _quiet_numpy(tensors):
        try:
            for node_id in range(output, -1, -1):
                g = grads[node_id]
                first = firsts[node_id]
                if g is None or first < 0:
                    if g is not None and first == MANY_INPUTS:
                        _backward_many(program, node_id, g, values, grads)
                    continue  # no gradient reaches it, or a leaf
                second = seconds[node_id]
                # `old + new`, never `+=`: a vjp may hand one array to two inputs (add's g, g).
                # The first input is accumulated before the second, the order `trace` shows.
                if second >= 0:
                    grad_first, grad_second = ops[node_id].vjp(
                        g, values[node_id], values[first], values[second]
                    )
                else:
                    (grad_first,) = ops[node_id].vjp(g, values[node_id], values[first])
                if needs_grad[first] and grad_first is not None:
                    if tensors:
                        grad_first = fit_gradient(grad_first, values[first])
                    old = grads[first]
                    grads[first] = grad_first if old is None else old + grad_first
                if second >= 0 and needs_grad[second] and grad_second is not None:
                    if tensors:
                        grad_second = fit_gradient(grad_second, values[second])
                    old = grads[second]
                    grads[second] = grad_second if old is None else old + grad_second
        except ShapeError as failure:
            raise _placed(program, node_id, failure) from None
        except (ArithmeticError, ValueError) as failure:
            raise _undefined_derivative(program, node_id, values, failure) from None
    bad = _last_nonfinite(grads, tensors) if strict else None
    if bad is not None:
        raise _undefined_derivative(program, _blame(program, values, grads, bad), values, None)
    return grads


def _backward_many(program: Program, node_id: int, g, values: list, grads: list) -> None:
    """The backward step of a node with more than two inputs (always the tensor path)."""
    inputs = program.many[node_id]
    contributions = program.ops[node_id].vjp(g, values[node_id], *[values[i] for i in inputs])
    for i, contribution in zip(inputs, contributions):
        if program.needs_grad[i] and contribution is not None:
            contribution = fit_gradient(contribution, values[i])
            grads[i] = contribution if grads[i] is None else grads[i] + contribution


def fit_gradient(gradient, value):
    """A gradient summed back to its value's shape (undoing broadcasting); a float for a float."""
    if type(value) is float:
        return gradient if type(gradient) is float else float(kernels.numpy().sum(gradient))
    if kernels.shape(gradient) == value.shape:
        return gradient
    return kernels.sum_to(gradient, value.shape)


def _has_tensors(program: Program, values: list) -> bool:
    """True if arrays may flow: a leaf holds one, or an op makes one (a literal, @, sum…)."""
    if not program.all_elementwise():
        return True
    for node_id in program.inputs.values():
        if type(values[node_id]) is not float:
            return True
    return any(type(value) is not float for value in program.constants.values())


def _quiet_numpy(tensors: bool):
    """NumPy's warnings off while arrays flow: results that are not finite are reported by the
    engine itself, naming the subexpression."""
    return kernels.numpy().errstate(all="ignore") if tensors else nullcontext()


class NodeResult(NamedTuple):
    """One row of the result: a node with its value and gradient."""

    id: int
    name: str | None
    op: str
    expr: str
    inputs: tuple[int, ...]
    value: object
    grad: object  # None where no input flows into the node


class Evaluation:
    """A program evaluated at one point: every node's value and gradient."""

    def __init__(self, program: Program, inputs: dict[str, object], values: list, grads: list) -> None:
        self.program, self.inputs, self.values, self.grads = program, inputs, values, grads

    @property
    def value(self):
        """The value of the output L."""
        return self.values[self.program.output]

    @property
    def gradients(self) -> dict[str, object]:
        """dL/dx for every input variable x, in order of first use."""
        return {name: self.grad_of(i) for name, i in self.program.inputs.items()}

    def grad_of(self, node_id: int):
        """dL/d(node); 0 for a node that does not reach the output; None for a constant."""
        grad = self.grads[node_id]
        if grad is None and self.program.needs_grad[node_id]:
            return 0.0 * self.values[node_id]
        return grad

    @property
    def nodes(self) -> list[NodeResult]:
        program = self.program
        labels = program.labels()
        return [
            NodeResult(
                id=node_id,
                name=labels[node_id],
                op=op.name,
                expr=program.expr(node_id),
                inputs=program.inputs_of(node_id),
                value=self.values[node_id],
                grad=self.grad_of(node_id),
            )
            for node_id, op in enumerate(program.ops)
        ]


def evaluate(program: Program, inputs: Mapping[str, object]) -> Evaluation:
    """Forward and backward at one point (inputs must already be checked)."""
    values = forward(program, inputs)
    output = values[program.output]
    if type(output) is not float:
        node = program.output
        raise ShapeError(
            f"the output {program.expr(node, limit=40)} has {kernels.describe_shape(output.shape)}: "
            "gradients need a scalar output",
            hint="reduce it to a scalar, e.g. sum(...) or mean(...)",
        ).at(program.source, program.starts[node], program.ends[node])
    return Evaluation(program, dict(inputs), values, backward(program, values))


def kinks(program: Program, values: list) -> list[int]:
    """Ids of nodes evaluated exactly at a kink (relu at 0, a max/min tie)."""
    return [
        node_id
        for node_id, op in enumerate(program.ops)
        if op.kink is not None and op.kink(*[values[i] for i in program.inputs_of(node_id)])
    ]


# -- errors that name the subexpression and the values that reached it -------------------------


def _first_nonfinite(values: list, tensors: bool = False) -> int | None:
    if not tensors and _all_finite(values):
        return None
    for i, value in enumerate(values):
        if value is not None and not kernels.is_finite(value):
            return i
    return None


def _last_nonfinite(values: list, tensors: bool = False) -> int | None:
    if not tensors and _all_finite(values):
        return None
    for i in range(len(values) - 1, -1, -1):
        if values[i] is not None and not kernels.is_finite(values[i]):
            return i
    return None


def _all_finite(values: list) -> bool:
    """A fast test for scalar programs (arrays are scanned, silently): the sum of all-float values is finite (a NaN or an
    infinity anywhere makes it non-finite; a false alarm from overflow only costs the slow scan)."""
    try:
        return math.isfinite(sum(filter(None, values)))  # filter(None) also skips zeros: harmless
    except (TypeError, ValueError):  # arrays (of other shapes): let the scan decide
        return False


def _out_of_memory(program: Program, node_id: int) -> BackpropError:
    from .errors import LimitError

    return LimitError(
        f"{program.expr(node_id, limit=60)} needs more memory than this machine has",
        hint="use smaller tensors; a broadcast can make a result much larger than its operands",
    ).at(program.source, program.starts[node_id], program.ends[node_id])


def _placed(program: Program, node_id: int, failure: ShapeError) -> ShapeError:
    """A shape error from an op, placed at its node and naming the operation."""
    failure.message = f"{program.expr(node_id, limit=60)}: {failure.message}"
    failure.args = (failure.message,)
    operator = program.operator_span(node_id) if program.operator_span is not None else None
    if operator is not None:  # point at the `+` or `@` itself
        return failure.at(program.source, *operator)
    return failure.at(program.source, program.starts[node_id], program.ends[node_id])


def _blame(program: Program, values: list, grads: list, bad: int) -> int:
    """The node whose vjp handed a non-finite gradient to node `bad` (whose users are all finite)."""
    for user in program.users()[bad]:
        if grads[user] is None:
            continue
        inputs = program.inputs_of(user)
        contributions = program.ops[user].vjp(grads[user], values[user], *[values[i] for i in inputs])
        for i, contribution in zip(inputs, contributions):
            if i == bad and contribution is not None and not kernels.is_finite(contribution):
                return user
    return bad


def _describe_inputs(program: Program, node_id: int, values: list) -> str:
    parts = []
    for i in dict.fromkeys(program.inputs_of(node_id)):
        text = program.expr(i, limit=40)
        if program.ops[i] is CONST:
            parts.append(text)  # a literal says its own value
        else:
            parts.append(f"{text} = {value_text(values[i])}")
    return ", ".join(parts)


def _undefined_value(
    program: Program, node_id: int, values: list, failure: Exception | None
) -> BackpropError:
    op = program.ops[node_id]
    mismatch = _broadcast_mismatch(program, node_id, values) if isinstance(failure, ValueError) else None
    if mismatch:
        return _placed(
            program,
            node_id,
            ShapeError(mismatch, hint="make the shapes equal, or broadcastable (NumPy rules)"),
        )
    expr = program.expr(node_id, limit=60)
    if isinstance(failure, ZeroDivisionError):
        message = f"{expr} is a division by zero"
    elif isinstance(failure, OverflowError) or (
        failure is None and _is_infinite(values[node_id]) and not op.domain
    ):
        message = f"{expr} overflows: the result is too large for a float64"
    elif failure is None and _is_infinite(values[node_id]):
        message = f"{expr} is infinite{_where_not_finite(values[node_id])}: it overflows, or {op.domain}"
    else:
        reason = op.domain or "the result is not a number"
        message = (
            f"{expr} is undefined{_where_not_finite(values[node_id]) if failure is None else ''}: {reason}"
        )
    if program.inputs_of(node_id):
        message += f" (here {_describe_inputs(program, node_id, values)})"
    hint = "change the input values, or the program, so that this subexpression stays defined"
    return DomainError(message, hint=hint).at(program.source, program.starts[node_id], program.ends[node_id])


def _undefined_derivative(
    program: Program, node_id: int, values: list, failure: Exception | None
) -> DomainError:
    expr = program.expr(node_id, limit=60)
    message = f"the derivative of {expr} is not finite here"
    if program.inputs_of(node_id):
        message += f" ({_describe_inputs(program, node_id, values)})"
    hint = "no finite slope exists at this point (sqrt at 0, or a power of a negative base with respect to its exponent); move the input off it"
    return DomainError(message, hint=hint).at(program.source, program.starts[node_id], program.ends[node_id])


def _broadcast_mismatch(program: Program, node_id: int, values: list) -> str | None:
    """Why an elementwise op's operands do not broadcast, or None if they do."""
    shapes = [kernels.shape(values[i]) for i in program.inputs_of(node_id)]
    if len(shapes) < 2 or all(not dims for dims in shapes):
        return None
    try:
        kernels.numpy().broadcast_shapes(*shapes)
    except ValueError:
        described = " and ".join(kernels.describe_shape(dims) for dims in shapes)
        op = program.ops[node_id]
        return f"{described} do not broadcast for {op.symbol or op.name}"
    return None


def _is_infinite(value) -> bool:
    """Not finite because of an infinity (an overflow), not a NaN."""
    if value is None or kernels.is_finite(value):
        return False
    if type(value) is float:
        return value == value
    np = kernels.numpy()
    return bool(np.isinf(value).any() and not np.isnan(value).any())


def _where_not_finite(value) -> str:
    """` at [i, j]` for the first element of an array that is not finite; '' for a scalar."""
    if type(value) is float:
        return ""
    np = kernels.numpy()
    index = np.argwhere(~np.isfinite(value))[0]
    return f" at [{', '.join(str(int(i)) for i in index)}]"
