"""An evaluation's errors in words: the input at fault, or the subexpression and the values that reached it."""

from __future__ import annotations

import math

from . import kernels
from .errors import BackpropError, DomainError, InputError, LimitError, NameError_, ShapeError
from .limits import elements_error
from .ops import CONST, FUNCTIONS
from .program import Program
from .values import exact_text


def name_taken(program: Program, name: str) -> NameError_:
    """A value given for a name of the language, or for one the program defines itself."""
    if name not in program.bindings:
        what = "a function" if name in FUNCTIONS else "a constant"
        return NameError_(
            f"{name} is {what} of the language, not an input",
            hint=f"an input cannot be named {name}; rename it in the program and in its value",
        )
    start = program.binding_starts[name]
    return NameError_(
        f"{name} is given a value, but the program defines {name} itself",
        hint=f"drop the value for {name}, or rename {name} in the program",
    ).at(program.source, start, start + len(name))


def no_value(program: Program, missing: list[str]) -> NameError_:
    """Inputs without a value, placed at the first one's first use."""
    first = program.inputs[missing[0]]
    options = " ".join(f"--{name} VALUE" for name in missing)
    named = missing[0] if len(missing) == 1 else "NAME"
    hint = f"pass {options} (or --var {named}=VALUE)"
    if "E" in missing:  # E^x: Euler's number is the lower-case constant
        hint = f"for Euler's number write e (e**x) or exp(x); else {hint}"
    error = NameError_(f"no value for {', '.join(missing)}", hint=hint).at(
        program.source, program.starts[first], program.ends[first]
    )
    keywords = ", ".join(f"{name}=…" for name in missing)
    error.library_hint = (
        f"give evaluate() {keywords}, or a mapping with {'it' if len(missing) == 1 else 'them'}"
    )
    return error


def input_too_large(program: Program, name: str, size: int) -> LimitError:
    return elements_error(f"the value of {name}", size, program.max_elements)


def not_finite_input(name: str, value) -> InputError:
    return InputError(
        f"the value of {name} is not a finite number: {value!r}",
        hint="give a finite number; NaN and infinity are refused",
    )


def nonfinite(values: list, tensors: bool = False, *, last: bool = False) -> int | None:
    """The id of the first (or the last) value that is not finite; None if all are."""
    if not tensors and _all_finite(values):
        return None
    ids = range(len(values) - 1, -1, -1) if last else range(len(values))
    return next((i for i in ids if values[i] is not None and not kernels.is_finite(values[i])), None)


def _all_finite(values: list) -> bool:
    """A fast test for scalar programs: the sum of all-float values is finite (a NaN or an infinity
    anywhere makes it non-finite; a false alarm from overflow only costs the scan)."""
    try:
        return math.isfinite(sum(filter(None, values)))  # filter(None) also skips zeros: harmless
    except (TypeError, ValueError):  # arrays (of other shapes): let the scan decide
        return False


def too_many_elements(program: Program, node_id: int, size: int) -> LimitError:
    return elements_error(program.expr(node_id, limit=40), size, program.max_elements)


def out_of_memory(program: Program, node_id: int) -> LimitError:
    return LimitError(
        f"{program.expr(node_id, limit=60)} needs more memory than this machine has",
        hint="use smaller tensors; a broadcast can make a result much larger than its operands",
    ).at(program.source, program.starts[node_id], program.ends[node_id])


def not_scalar(program: Program, output) -> ShapeError:
    """The output is a tensor, so there is no dL/dx to compute."""
    node = program.output
    return ShapeError(
        f"the output {program.expr(node, limit=40)} has {kernels.describe_shape(output.shape)}: "
        "gradients need a scalar output",
        hint="reduce it to a scalar, e.g. sum(...) or mean(...)",
    ).at(program.source, program.starts[node], program.ends[node])


def placed(program: Program, node_id: int, failure: ShapeError) -> ShapeError:
    """A shape error from an op, placed at its node and naming the operation."""
    failure.message = f"{program.expr(node_id, limit=60)}: {failure.message}"
    failure.args = (failure.message,)
    operator = program.operator_span(node_id)
    if operator is not None:  # point at the `+` or `@` itself
        return failure.at(program.source, *operator)
    return failure.at(program.source, program.starts[node_id], program.ends[node_id])


def blame(program: Program, values: list, grads: list, bad: int) -> int:
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
        if program.ops[i] is CONST or values[i] is None:
            parts.append(text)  # a literal says its own value; None: a value given back (engine.backward)
        else:
            parts.append(f"{text} = {exact_text(values[i])}")
    return ", ".join(parts)


def undefined_value(program: Program, node_id: int, values: list, failure: Exception | None) -> BackpropError:
    op = program.ops[node_id]
    mismatch = _broadcast_mismatch(program, node_id, values) if isinstance(failure, ValueError) else None
    if mismatch:
        return placed(
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


def undefined_derivative(program: Program, node_id: int, values: list) -> DomainError:
    expr = program.expr(node_id, limit=60)
    message = f"the derivative of {expr} is not finite here"
    if program.inputs_of(node_id):
        message += f" ({_describe_inputs(program, node_id, values)})"
    hint = "no finite slope exists at this point (sqrt at 0, asin or acos at ±1, or a power of a negative base with respect to its exponent); move the input off it"
    return DomainError(message, hint=hint).at(program.source, program.starts[node_id], program.ends[node_id])


def _broadcast_mismatch(program: Program, node_id: int, values: list) -> str | None:
    """Why an elementwise op's operands do not broadcast, or None if they do."""
    shapes = [kernels.shape(values[i]) for i in program.inputs_of(node_id)]
    if len(shapes) < 2 or all(not dims for dims in shapes):
        return None
    op = program.ops[node_id]
    try:
        kernels.broadcast_shape(shapes, op.symbol or op.name)
    except ShapeError as failure:
        return failure.message
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
