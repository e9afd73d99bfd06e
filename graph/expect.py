"""Checking answers worked by hand (`eval --expect`): gradients of inputs or of any node by its
label, and `value`, the output's value, each within a relative tolerance with an absolute floor:
an answer passes when |got − expected| ≤ tol · max(1, |expected|). A tensor answer must have the
gradient's shape and pass element by element; its error is the largest of its elements'."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from .engine import Evaluation
from .errors import InputError
from .kernels import describe_shape, numpy, shape
from .trace import gradient_nodes

VALUE = "value"
"""The name that stands for the output's value rather than a gradient."""


@dataclass(frozen=True)
class Expectation:
    """One answer: the expected number, the computed one, and whether they agree."""

    name: str
    expected: object
    got: object
    abs_error: float | None  # None when the shapes differ
    passed: bool
    note: str | None = None


@dataclass(frozen=True)
class ExpectReport:
    tolerance: float
    items: list[Expectation]

    @property
    def passed(self) -> bool:
        return all(item.passed for item in self.items)


def check_expectations(evaluation: Evaluation, expected: Mapping[str, float], tol: float) -> ExpectReport:
    """Compare each expected number with the evaluation; an unknown name is an InputError."""
    nodes = gradient_nodes(evaluation)
    if VALUE in expected and VALUE in nodes:
        raise InputError(
            f"{VALUE} is both the output's value and a node of the program",
            hint=f"rename the node {VALUE} in the program to check both",
        )
    items = []
    for name, number in expected.items():
        if name == VALUE:
            got = evaluation.value
        elif name in nodes:
            got = evaluation.grad_of(nodes[name])
        else:
            raise unknown_node(name, [VALUE, *nodes], what="an expectation")
        items.append(_compare(name, number, got, tol))
    return ExpectReport(tol, items)


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


def unknown_node(name: str, available: list[str], *, what: str) -> InputError:
    """The error for a name that is not a node with a gradient, listing the names that are."""
    return InputError(
        f"{what} names {name}, which is not a node with a gradient in this program",
        hint=f"the names are: {', '.join(available)}",
    )
