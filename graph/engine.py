"""Forward and backward passes over a program's tape. The engine knows no op by name.

Forward: walk the nodes in id order (a topological order) and compute each value from its inputs.
Backward: seed dL/dL = 1 at the output, walk the nodes in reverse id order, and hand every input
of a node its share g·∂node/∂input through the op's vjp, summed with `+` (the lecture's
`child.grad += parent.grad * ∂parent/∂child`). Both passes are loops, so depth costs no stack.
What goes wrong is put into words by failures.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import nullcontext
from typing import NamedTuple

from . import failures, kernels
from .errors import ShapeError
from .kinks import Kink, kink_at, kink_points, kinkable, kinks  # noqa: F401 (their old home)
from .ops import CONSTANTS, FUNCTIONS
from .program import MANY_INPUTS, NO_INPUT, Program
from .wanted import check_wrt, needs_grad_of, wanted  # noqa: F401 (needs_grad_of: its old home)


def check_inputs(
    program: Program, given: Mapping[str, object], *, check: bool = False, checked: bool = False
) -> list[str]:
    """Raise if a needed input is missing or a given one clashes, or if the run would break a limit
    (judged from shapes alone, before a value is computed; `check`: the gradient check will run
    too); return the given names never used. `checked`: the values come from values.as_value,
    which found them finite, so they are not scanned again."""
    inputs, unused = program.inputs, []
    for name in given:  # no input is named as a function, a constant or a binding: others may be
        if name not in inputs:
            if name in FUNCTIONS or name in CONSTANTS or name in program.bindings:
                raise failures.name_taken(program, name)
            unused.append(name)
    if len(given) - len(unused) < len(inputs):
        raise failures.no_value(program, [name for name in inputs if name not in given])
    values = [given[name] for name in inputs]  # one pass over a large dict each: 0.5 µs an entry here
    scalars_fit = program.max_elements >= 1
    for name, value in zip(inputs, values):
        if type(value) is float and scalars_fit and (checked or math.isfinite(value)):
            continue  # the common case in a few steps: one element, finite
        size = kernels.size(value)
        if size > program.max_elements:
            raise failures.input_too_large(program, name, size)
        if not checked and not kernels.is_finite(value):
            raise failures.not_finite_input(name, value)
    if _leaves_have_tensors(program, values):
        from .shapes import judge

        judge(program, {name: kernels.shape(value) for name, value in zip(inputs, values)}, check=check)
    return unused


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
                    raise failures.too_many_elements(program, node_id, values[node_id].size)
        except ShapeError as failure:
            raise failures.placed(program, node_id, failure) from None
        except MemoryError:
            raise failures.out_of_memory(program, node_id) from None
        except (ArithmeticError, ValueError) as failure:
            raise failures.undefined_value(program, node_id, values, failure) from None
    bad = _first_not_finite(program, values, tensors) if strict else None
    if bad is not None:
        raise failures.undefined_value(program, bad, values, None)
    return values


def backward(
    program: Program,
    values: list,
    *,
    strict: bool = True,
    needs: bytearray | None = None,
    give_back: bool = False,
) -> list:
    """dL/d(node) for every node that an input flows into (None for the others), L the output.

    Tensor gradients are summed back to their input's shape (undoing broadcasting).
    strict: raise a DomainError for a gradient that is not finite, as in forward.
    needs: the nodes that want a gradient (default: every node an input flows into; needs_grad_of).
    give_back: drop each op node's value and gradient once its step is done, keeping the leaves'
    and the output's (minimize reads only the inputs' gradients, and so holds less at once)."""
    grads: list = [None] * len(program)
    output = program.output
    grads[output] = 1.0 + 0.0 * values[output]  # dL/dL = 1, in the output's shape
    ops, firsts, seconds = program.ops, program.first, program.second
    needs_grad = program.needs_grad if needs is None else needs
    tensors, node_id = _has_tensors(program, values), -1
    with _quiet_numpy(tensors):
        try:
            for node_id in range(output, -1, -1):
                if give_back and node_id < output and firsts[node_id + 1] != NO_INPUT:
                    values[node_id + 1] = grads[node_id + 1] = None  # its step is done
                g, first = grads[node_id], firsts[node_id]
                if g is None or first < 0 or not needs_grad[node_id]:
                    if g is not None and first == MANY_INPUTS and needs_grad[node_id]:
                        _backward_many(program, node_id, g, values, grads, needs_grad)
                    continue  # no gradient reaches it, a leaf, or no input flows into it (sqrt(0))
                second = seconds[node_id]
                # `old + new`, never `+=`: a vjp may hand one array to two inputs (add's g, g).
                # The first input is accumulated before the second, the order `trace` shows.
                if second >= 0:
                    op, wants = ops[node_id], (needs_grad[first], needs_grad[second])
                    x, y = values[first], values[second]
                    if op.wants and not all(wants):  # one side needs none: the rule may skip it
                        grad_first, grad_second = op.vjp(g, values[node_id], x, y, wants)
                    else:
                        grad_first, grad_second = op.vjp(g, values[node_id], x, y)
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
            raise failures.placed(program, node_id, failure) from None
        except (ArithmeticError, ValueError):
            raise failures.undefined_derivative(program, node_id, values) from None
    if strict:
        _refuse_not_finite(program, values, grads, tensors, give_back)
    return grads


def _first_not_finite(program: Program, values: list, tensors: bool) -> int | None:
    """The first node whose value is not finite, None if none is. With arrays the inputs are not
    scanned again (check_inputs did; an input of 10⁷ elements costs milliseconds a scan)."""
    if not tensors:
        return failures.nonfinite(values)
    firsts = program.first
    for node_id, value in enumerate(values):
        if (firsts[node_id] >= 0 or firsts[node_id] == MANY_INPUTS) and not kernels.is_finite(value):
            return node_id
    return None


def _refuse_not_finite(program: Program, values: list, grads: list, tensors: bool, give_back: bool) -> None:
    """Raise for the last gradient that is not finite, naming the step that made it."""
    bad = failures.nonfinite(grads, tensors, last=True)
    if bad is not None:
        with _quiet_numpy(tensors):  # blame runs vjps again, on values give_back has not dropped
            culprit = bad if give_back else failures.blame(program, values, grads, bad)
        raise failures.undefined_derivative(program, culprit, values)


def _backward_many(program: Program, node_id: int, g, values: list, grads: list, needs_grad) -> None:
    """The backward step of a node with more than two inputs (always the tensor path)."""
    inputs = program.many[node_id]
    contributions = program.ops[node_id].vjp(g, values[node_id], *[values[i] for i in inputs])
    for i, contribution in zip(inputs, contributions):
        if needs_grad[i] and contribution is not None:
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
    return _leaves_have_tensors(program, [values[node_id] for node_id in program.inputs.values()])


def _leaves_have_tensors(program: Program, input_values) -> bool:
    if not program.all_elementwise():
        return True
    if any(type(value) is not float for value in input_values):
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
    """A program evaluated at one point: every node's value and gradient (none if grads is None);
    with `wrt`, the gradients of those inputs only (nodes none of them flows into have none)."""

    def __init__(
        self,
        program: Program,
        inputs: dict[str, object],
        values: list,
        grads: list | None = None,
        wrt: tuple[str, ...] | None = None,
    ) -> None:
        self.has_gradients = grads is not None
        self.program, self.inputs, self.values = program, inputs, values
        self.grads = grads if grads is not None else [None] * len(values)
        self.wrt = wrt  # the inputs whose gradients were computed, in order of first use (None: all)
        self.needs = wanted(program, wrt)  # 1 for the nodes a wanted input flows into

    @property
    def value(self):
        """The value of the output L."""
        return self.values[self.program.output]

    @property
    def gradients(self) -> dict[str, object]:
        """dL/dx for every input variable x (those of `wrt` only, if given), in order of first use."""
        inputs = self.program.inputs
        if self.wrt is not None:
            return {name: self.grad_of(inputs[name]) for name in self.wrt}
        return {name: self.grad_of(i) for name, i in inputs.items()}

    def __repr__(self) -> str:
        from .values import value_text

        gradients = ", ".join(f"{name}: {value_text(grad)}" for name, grad in self.gradients.items())
        text = self.program.text(limit=60)
        return f"<Evaluation of {text!r}: value {value_text(self.value)}, gradients {{{gradients}}}>"

    def _repr_html_(self) -> str:
        """The node table, for a notebook (Jupyter calls this)."""
        from .html import evaluation_html

        return evaluation_html(self)

    def grad_of(self, node: int | str):
        """dL/d(node), the node by id or by its name in the table (`"c"`, an input's own name);
        0 for a node that does not reach the output; None for a constant (or a node no input of
        `wrt` flows into), or for every node when the output is a tensor (has_gradients false)."""
        node_id = node if isinstance(node, int) else self.node_id(node)
        grad = self.grads[node_id]
        if grad is None and self.has_gradients and self.needs[node_id]:
            return 0.0 * self.values[node_id]
        return grad

    @property
    def no_gradients_note(self) -> str | None:
        """Why there are no gradients (the output is a tensor), or None when there are."""
        if self.has_gradients:
            return None
        program = self.program
        output = program.names.get(program.output) or program.expr(program.output, limit=40)
        return (
            f"no gradients: the output {output} is a tensor of {kernels.describe_shape(self.value.shape)}; "
            "gradients need a scalar output — reduce it, e.g. sum(...)"
        )

    def node_id(self, name: str) -> int:
        """The id of the node with this name in the table; a NamingError lists the names."""
        labels = self.program.labels()
        if name in labels:
            return labels.index(name)
        from .errors import NamingError

        raise NamingError(f"no node is named {name}", hint=f"the names are: {', '.join(labels)}")

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


def evaluate(
    program: Program,
    inputs: Mapping[str, object],
    *,
    tensor_output: bool = False,
    wrt: tuple[str, ...] | None = None,
) -> Evaluation:
    """Forward and backward at one point (inputs must already be checked; `wrt` too, check_wrt):
    the gradients of `wrt` only, or of every input. A tensor output raises, unless
    `tensor_output`: then only the values are computed (has_gradients false)."""
    values = forward(program, inputs)
    output = values[program.output]
    if type(output) is not float:
        if not tensor_output:
            raise failures.not_scalar(program, output)
        return Evaluation(program, dict(inputs), values, wrt=wrt)
    grads = backward(program, values, needs=wanted(program, wrt))
    return Evaluation(program, dict(inputs), values, grads, wrt)


def evaluate_given(
    program: Program,
    given: Mapping[str, object],
    *,
    check: bool = False,
    tensor_output: bool = False,
    wrt=None,
    checked: bool = False,
) -> tuple[Evaluation, list[str]]:
    """Check the given values (a missing, clashing or non-finite one raises; `checked`: they come
    from values.as_value, already found finite), the names of `wrt` (inputs whose gradients alone
    are wanted; None for all) and the limits (with `check`, for a gradient check too), then
    evaluate at them (a tensor output: see evaluate); returns the evaluation and the given names
    the program never uses."""
    wrt = check_wrt(program, wrt)
    unused = check_inputs(program, given, check=check, checked=checked)
    inputs = {name: given[name] for name in program.inputs}
    return evaluate(program, inputs, tensor_output=tensor_output, wrt=wrt), unused
