"""Checking answers worked by hand (`eval --expect`): every number of a worksheet, the forward
value of any node by its label (`c.value`) and its gradient (`c.grad`, or just `c`), and `value`,
the output's value, each within a relative tolerance with an absolute floor: an answer passes when
|got − expected| ≤ tol · max(1, |expected|). A tensor answer must have the shape and pass element
by element; its error is the largest of its elements'. An answer written as a decimal that is the
true number rounded to its digits is recognised as such (and passes by those digits with --rounded)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from .diagnose import Diagnoser, Diagnosis
from .engine import Evaluation
from .errors import InputError
from .kernels import describe_shape, numpy, shape
from .ops import CONST
from .trace import gradient_nodes

VALUE = "value"
"""An answer for a node's forward value (`c.value=10`); alone, `value=…` is the output's value."""

GRAD = "grad"
"""An answer for a node's gradient ∂L/∂node (`c.grad=27`, or just `c=27`)."""


@dataclass(frozen=True)
class Answer:
    """One number a student worked out: which node, which kind, and what they wrote."""

    key: str  # as written: `c`, `c.value`, `c.grad`, `value`
    node: str  # the node's label; `value` alone for the output
    kind: str  # VALUE or GRAD
    expected: object  # a float, or an array for a tensor
    digits: int | None = None  # significant digits written, for a plain decimal; None if exact


@dataclass(frozen=True)
class Expectation:
    """One answer checked: the expected number, the computed one, and whether they agree."""

    name: str  # the answer's key, as written
    expected: object
    got: object
    abs_error: float | None  # None when the shapes differ, or past the largest float
    passed: bool
    note: str | None = None
    kind: str = GRAD
    node: str = ""
    diagnosis: Diagnosis | None = None  # what went wrong, when a usual mistake explains it


@dataclass(frozen=True)
class ExpectReport:
    tolerance: float
    items: list[Expectation]
    rounded: bool = False  # graded by the digits written (--rounded) rather than by the tolerance
    first_mistake: str | None = None  # `d.grad`: the first wrong answer in the order the passes run

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.items)


def check_expectations(
    evaluation: Evaluation, answers: list[Answer], tol: float, *, rounded: bool = False
) -> ExpectReport:
    """Compare each answer with the evaluation; an unknown name is an InputError. With `rounded`,
    an answer written as a decimal passes when it is the true number to the digits written."""
    grads = gradient_nodes(evaluation)
    program = evaluation.program
    every_label = program.labels()
    labels = {label: i for i, label in enumerate(every_label) if program.ops[i] is not CONST}
    items = []
    for answer in answers:
        if answer.node == VALUE and answer.kind == VALUE:
            if VALUE in labels:
                raise InputError(
                    f"{VALUE} is both the output's value and a node of the program",
                    hint=f"rename the node {VALUE} in the program to check both",
                )
            node, got = every_label[program.output], evaluation.value
        elif answer.kind == VALUE and answer.node in labels:
            node, got = answer.node, evaluation.values[labels[answer.node]]
        elif answer.kind == GRAD and answer.node in grads:
            node, got = answer.node, evaluation.grad_of(grads[answer.node])
        else:
            names = list(labels) if answer.kind == VALUE else [VALUE, *grads]
            what = "a node" if answer.kind == VALUE else "a node with a gradient"
            if answer.kind == GRAD and evaluation.wrt is not None and answer.node in labels:
                raise InputError(  # its gradient is there, only not computed in this run
                    f"an expectation names {answer.key}, a gradient that --wrt {','.join(evaluation.wrt)} leaves out",
                    hint="add the inputs that flow into it to --wrt, or drop --wrt",
                )
            raise unknown_node(answer.key, names, what="an expectation", kind=what)
        item = _compare(answer.key, answer.expected, got, tol)
        item = _judged(item, answer, rounded)
        items.append(replace(item, kind=answer.kind, node=node))
    return _diagnosed(evaluation, ExpectReport(tol, items, rounded))


def _diagnosed(evaluation: Evaluation, report: ExpectReport) -> ExpectReport:
    """Each wrong scalar answer with the usual mistake that explains it, and the first mistake."""
    written = {(item.node, item.kind): item.expected for item in report.items if type(item.expected) is float}
    wrong = [(item.node, item.kind) for item in report.items if not item.passed]
    diagnoser = Diagnoser(evaluation, written, report.tolerance)
    first = diagnoser.first_mistake(wrong)
    spelled = None if first is None else f"{first[0]}.{first[1]}"
    items = []
    for item in report.items:
        if not item.passed and type(item.expected) is float:
            ask = diagnoser.value if item.kind == VALUE else diagnoser.gradient
            found = ask(item.node, item.expected)
            if found is not None and found.kind == "consequence":
                found = replace(found, text=f"{found.text}; first mistake: {spelled}")
            item = replace(item, diagnosis=found)
        items.append(item)
    return replace(report, items=items, first_mistake=spelled)


def _judged(item: Expectation, answer: Answer, rounded: bool) -> Expectation:
    """The row's verdict with what the digits written say: a rounded answer."""
    if (
        answer.digits is not None
        and type(item.got) is float
        and to_digits(item.got, answer.digits) == answer.expected
    ):
        if item.passed:
            return item  # right within --tol too: nothing to add
        note = f"the true value to the {answer.digits} significant digit{'s' if answer.digits > 1 else ''} written"
        if rounded:
            return replace(item, passed=True, note=note)
        return replace(item, note=f"{note}; --rounded grades by the digits written")
    if rounded and answer.digits is not None and type(item.got) is float:
        return replace(item, passed=False)
    return item


def _compare(name: str, expected, got, tol: float) -> Expectation:
    if shape(expected) != shape(got):
        note = f"expected {describe_shape(shape(expected))}, the gradient has {describe_shape(shape(got))}"
        return Expectation(name, expected, got, None, False, note)
    # Halved on both sides: |got − expected| of two finite floats of opposite signs can pass the
    # largest float, half of it cannot.
    if type(got) is float:
        half_error = abs(got / 2 - expected / 2)
        passed = half_error <= tol / 2 * max(1.0, abs(expected))
    else:
        np = numpy()
        half_errors = np.abs(got / 2 - expected / 2)
        passed = bool(np.all(half_errors <= tol / 2 * np.maximum(1.0, np.abs(expected))))
        half_error = float(half_errors.max())
    if half_error > sys.float_info.max / 2:
        return Expectation(
            name, expected, got, None, passed, "the difference is past the largest float, 1.8e308"
        )
    return Expectation(name, expected, got, half_error * 2, passed)


def unknown_node(
    name: str, available: list[str], *, what: str, kind: str = "a node with a gradient"
) -> InputError:
    """The error for a name that is not a node (of that kind), listing the names that are."""
    return InputError(
        f"{what} names {name}, which is not {kind} in this program",
        hint=f"the names are: {', '.join(available)}",
    )


def to_digits(number: float, digits: int) -> float:
    """`number` rounded to `digits` significant digits, as a student writes it."""
    return float(f"{number:.{digits - 1}e}")
