"""The lecture's two passes, step by step, as data: what `backprop trace` shows.

Forward: one step per node in topological order, its formula over its inputs' labels and values
(`c = a + b = 7 + 3 = 10`). Backward: from ∂L/∂L = 1, one step per edge in reverse topological
order, the lecture's `child.grad += parent.grad · ∂parent/∂child` with the child's running total,
so a node with two parents visibly receives two contributions.

No number here is computed twice by hand: the local derivative is the op's vjp at g = 1, the
contribution is its vjp at g = parent.grad (exactly what the engine adds, in the engine's order),
so the running totals end at the engine's gradients to the last bit.

Where a tensor is involved the local derivative is a Jacobian, no number: the step is then the
lectures' vector formula (notes §3.3), `h.grad += W2ᵀ · yhat.grad`, `a.grad ⊙ b` for an elementwise
op, and says where the engine summed a broadcast gradient back to its input's shape.

A local derivative can be too large for a float64 where the gradient is not (`0*log(x)` at
x = 5e-324: 1/x is 2^1074, times 0): it is then found as the vjp at a tiny g, a power of two, and
kept as a Scaled number (mantissa · 2^exponent, an exponent that cannot overflow), shown in words
and never as inf. Paths multiply such numbers, so Scaled lives here, below both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from . import kernels
from .engine import Evaluation, fit_gradient
from .notation import factor, operand
from .ops import CONST, Op
from .program import Program
from .values import scalar_digits, value_text


@dataclass(frozen=True)
class ForwardStep:
    """One node of the forward pass: `c = a + b = 7 + 3 = 10`."""

    id: int
    name: str
    op: str
    expr: str  # the source text the node stands for
    formula: str  # the op over its inputs' labels (`a + b`); a leaf's own label
    operands: str | None  # the op over its inputs' values (`7 + 3`); None for a leaf
    value: object


@dataclass(frozen=True)
class BackwardStep:
    """One edge of the backward pass: child.grad += parent.grad · ∂parent/∂child."""

    parent: int
    parent_name: str
    child: int
    child_name: str
    position: int  # which input of the parent the child is (0 for x, 1 for y)
    local: str  # ∂parent/∂child as text, bracketed unless a product (`3·b²`, `(1 - h2²)`)
    local_value: object  # the op's vjp at g = 1; None when a tensor makes it a Jacobian, or see local_note
    parent_grad: object
    contribution: object  # the op's vjp at g = parent.grad: what the child receives
    previous: object | None  # the child's gradient before this step; None before its first
    total: object  # the child's gradient after this step
    local_note: str | None = None  # in words, when the local derivative is no float64 (local_value None)
    formula: str | None = None  # where a tensor is involved: the right-hand side, `W2ᵀ · yhat.grad`


@dataclass(frozen=True)
class Trace:
    """Both passes of one evaluation."""

    evaluation: Evaluation
    labels: list[str]
    forward: list[ForwardStep]
    backward: list[BackwardStep]

    @property
    def output(self) -> str:
        return self.labels[self.evaluation.program.output]


def trace(evaluation: Evaluation) -> Trace:
    """The forward and backward steps of an evaluation."""
    labels = evaluation.program.labels()
    return Trace(evaluation, labels, forward_steps(evaluation, labels), backward_steps(evaluation, labels))


def forward_steps(evaluation: Evaluation, labels: list[str]) -> list[ForwardStep]:
    """Every node in topological order with its formula and value."""
    program, values = evaluation.program, evaluation.values
    steps = []
    for node in program.nodes:
        if node.inputs:
            formula = spell(node.op, [labels[i] for i in node.inputs])
            numbers = [value_text(values[i]) for i in node.inputs]
            if node.op.symbol is not None:  # 7 + (-3), not 7 + -3
                numbers = [f"({text})" if text.startswith("-") else text for text in numbers]
            operands = spell(node.op, numbers)
        else:
            formula, operands = labels[node.id], None
        steps.append(
            ForwardStep(
                node.id,
                labels[node.id],
                node.op.name,
                program.expr(node.id),
                formula,
                operands,
                values[node.id],
            )
        )
    return steps


def backward_steps(evaluation: Evaluation, labels: list[str]) -> list[BackwardStep]:
    """Every edge into a node that needs a gradient, parents in reverse topological order."""
    program, values, grads = evaluation.program, evaluation.values, evaluation.grads
    nodes = program.nodes
    totals: list = [None] * len(nodes)
    steps = []
    for node in reversed(nodes):
        g = grads[node.id]
        if g is None or node.op.vjp is None:
            continue  # a leaf, or a node that does not reach the output
        inputs = [values[i] for i in node.inputs]
        raw = node.op.vjp(g, values[node.id], *inputs)  # in the broadcast shape, before fit_gradient
        contributions = [None if c is None else fit_gradient(c, x) for c, x in zip(raw, inputs)]
        local_values = scaled_local_derivatives(program, values, node.id)
        texts = local_texts(program, labels, node.id)
        vector_texts = tensor_texts(program, labels, node.id) if None in local_values else texts
        for position, child in enumerate(node.inputs):
            contribution = contributions[position]
            if contribution is None or not nodes[child].needs_grad:
                continue  # no gradient flows into a constant
            previous = totals[child]
            totals[child] = contribution if previous is None else previous + contribution
            local = local_values[position]
            local_value = None if local is None else local.as_float()
            steps.append(
                BackwardStep(
                    parent=node.id,
                    parent_name=labels[node.id],
                    child=child,
                    child_name=labels[child],
                    position=position,
                    local=texts[position] if local is not None else vector_texts[position],
                    local_value=local_value,
                    parent_grad=g,
                    contribution=contribution,
                    previous=previous,
                    total=totals[child],
                    local_note=None if local is None or local_value is not None else local.words(),
                    formula=None
                    if local is not None
                    else vector_formula(
                        node.op, labels[node.id], vector_texts[position], raw[position], inputs[position]
                    ),
                )
            )
    return steps


def vector_formula(op: Op, parent: str, local: str, raw, value) -> str:
    """A tensor step's right-hand side: a tensor op's own vector formula (`W2ᵀ · yhat.grad`), an
    elementwise op's `parent.grad ⊙ local`; then where the gradient was summed to the input's shape."""
    formula = local if op.shape is not None else f"{parent}.grad ⊙ {local}"
    axes = summed_axes(kernels.shape(raw), kernels.shape(value))
    if not axes:
        return formula
    if len(axes) == 1:
        return f"{formula}, summed over axis {axes[0]}"
    return f"{formula}, summed over axes {', '.join(map(str, axes[:-1]))} and {axes[-1]}"


def summed_axes(broadcast: tuple[int, ...], own: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a gradient in the broadcast shape that kernels.sum_to sums to reach an input's own
    shape: the leading ones the input lacks, and those where it has length 1."""
    extra = len(broadcast) - len(own)
    kept = tuple(extra + i for i, size in enumerate(own) if size == 1 and broadcast[extra + i] != 1)
    return tuple(range(max(extra, 0))) + kept


def local_derivatives(program: Program, values: list, node_id: int) -> tuple:
    """∂node/∂input for every input of a node, at the evaluated values: its op's vjp at g = 1 (inf
    where it overflows, nan where a step of the rule fails). None for each input where a tensor is
    involved: the local derivative is then a Jacobian, not a number, and only the vector-Jacobian
    product (the contribution) is shown."""
    inputs = [values[i] for i in program.inputs_of(node_id)]
    if any(type(v) is not float for v in (values[node_id], *inputs)):
        return tuple(None for _ in inputs)
    return _vjp_or_nan(program.ops[node_id], 1.0, values[node_id], inputs)


RESCUE_SHIFTS = (64, 512, 1022)
"""A local derivative too large for a float64 is tried again at g = 2^-k, for each k in turn: a vjp
is linear in g, so vjp(2^-k) · 2^k is the derivative, exact unless a step of the rule underflows."""


def scaled_local_derivatives(program: Program, values: list, node_id: int) -> tuple:
    """local_derivatives as Scaled numbers, past float64's range where the rule allows (None for a
    tensor's): one that overflows at g = 1 is tried again at a tiny g; one still not finite stays so."""
    scaled = []
    for position, local in enumerate(local_derivatives(program, values, node_id)):
        if local is not None and not math.isfinite(local):
            inputs = [values[i] for i in program.inputs_of(node_id)]
            for shift in RESCUE_SHIFTS:
                seed = math.ldexp(1.0, -shift)
                retried = _vjp_or_nan(program.ops[node_id], seed, values[node_id], inputs)[position]
                if retried is not None and math.isfinite(retried):
                    local = Scaled.of(retried, shift)
                    break
        scaled.append(local if local is None or isinstance(local, Scaled) else Scaled.of(local))
    return tuple(scaled)


def _vjp_or_nan(op: Op, g: float, out: float, inputs: list) -> tuple:
    """A scalar op's vjp at g; nan for every input when a step of the rule fails (1/0, an overflow)."""
    try:
        return tuple(op.vjp(g, out, *inputs))
    except (ArithmeticError, ValueError):
        return tuple(math.nan for _ in inputs)


def local_texts(program: Program, labels: list[str], node_id: int) -> tuple[str, ...]:
    """∂node/∂input for every input as text, from the op's `local` (`∂c/∂a` for an op without one),
    each ready to be multiplied: bracketed unless a product of atoms (`(1 - h2²)`, `3·b²`). A tensor
    op's is named (`∂u/∂x`): its `local` is a vector formula, for tensor_texts."""
    op, names = program.ops[node_id], [labels[i] for i in program.inputs_of(node_id)]
    if op.local is None or op.shape is not None:
        return tuple(f"∂{labels[node_id]}/∂{name}" for name in names)
    return tuple(factor(text) for text in op.local(labels[node_id], *map(operand, names)))


def tensor_texts(program: Program, labels: list[str], node_id: int) -> tuple[str, ...]:
    """Each input's term of a step where a tensor is involved: a tensor op's whole vector formula
    (`W2ᵀ · yhat.grad`), else local_texts' factor, for `parent.grad ⊙ factor`."""
    op = program.ops[node_id]
    if op.local is None or op.shape is None:
        return local_texts(program, labels, node_id)
    return tuple(op.local(labels[node_id], *(operand(labels[i]) for i in program.inputs_of(node_id))))


def spell(op: Op, operands: list[str]) -> str:
    """An op over operand texts as the language writes it: `a + b`, `-b`, `sigmoid(x)`."""
    if op.symbol is None:
        return f"{op.name}({', '.join(operands)})"
    if len(operands) == 1:
        return f"{op.symbol}{operands[0]}"
    return f" {op.symbol} ".join(operands)


def gradient_nodes(evaluation: Evaluation) -> dict[str, int]:
    """The nodes that have a gradient, by label: inputs, intermediate nodes and the output."""
    program = evaluation.program
    return {
        label: node_id
        for node_id, label in enumerate(program.labels())
        if program.ops[node_id] is not CONST and evaluation.grad_of(node_id) is not None
    }


# -- numbers past float64's range ---------------------------------------------------------------


class Scaled(NamedTuple):
    """mantissa · 2^exponent, with 0.5 ≤ |mantissa| < 1 (or a mantissa of 0, inf or nan): a float
    whose exponent is a Python int, so products of local derivatives and counts of paths cannot
    overflow; each product rounds once, as a float64 product does."""

    mantissa: float
    exponent: int

    @classmethod
    def of(cls, value: float, exponent: int = 0) -> Scaled:
        """value · 2^exponent."""
        mantissa, shift = math.frexp(value)  # frexp(inf) is (inf, 0), frexp(0.0) is (0.0, 0)
        return cls(mantissa, exponent + shift)

    def times(self, other: Scaled) -> Scaled:
        return Scaled.of(self.mantissa * other.mantissa, self.exponent + other.exponent)

    @property
    def finite(self) -> bool:
        return math.isfinite(self.mantissa)

    def as_float(self) -> float | None:
        """The float64 it is (underflow rounds to 0.0, as IEEE does); None if too large for one or not finite."""
        if not self.finite:
            return None
        try:
            return math.ldexp(self.mantissa, self.exponent)
        except OverflowError:
            return None

    def text(self, digits: int | None = None) -> str:
        """To `digits` significant digits (else --digits' setting), as value_text writes a float; `not finite` for inf or nan."""
        digits = scalar_digits() if digits is None else digits
        value = self.as_float()
        if value is not None:
            return f"{value + 0.0:.{digits}g}"
        if not self.finite:
            return "not finite"
        from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext

        with localcontext() as context:  # 2^exponent in decimal to 20 digits, then rounded
            context.prec, context.Emax, context.Emin = 20, MAX_EMAX, MIN_EMIN
            exact = Decimal(self.mantissa) * Decimal(2) ** self.exponent
            context.prec = digits
            return f"{(+exact).normalize():e}"

    def words(self) -> str:
        """What a value that is no float64 is: `2.02402e+323, too large for a float64`, or `not finite`."""
        return f"{self.text()}, too large for a float64" if self.finite else "not finite"


def scaled_sum(terms) -> Scaled:
    """Σ terms, correctly rounded (math.fsum) after scaling the largest below 2^960: a float64 then
    holds every term down to 2^-2034 of the largest, and 2^63 terms cannot overflow it."""
    terms = list(terms)
    if not all(term.finite for term in terms):
        return Scaled(math.nan, 0)
    top = max((term.exponent for term in terms if term.mantissa), default=0)
    return Scaled.of(math.fsum(math.ldexp(t.mantissa, t.exponent - top + 960) for t in terms), top - 960)
