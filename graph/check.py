"""The numerical gradient check: central differences against the backward pass, input by input.

For each input x the step is h = eps · max(1, |x|) and the numeric slope is
(L(x + h) − L(x − h)) / 2h, whose error is O(h²) from the Taylor series plus rounding of order
ε_machine·|L|/h. An input passes when |numeric − analytic| ≤ tol · max(1, |analytic|): a relative
test with an absolute floor, so gradients near 0 are not held to an impossible standard.
Defaults follow PyTorch's gradcheck for float64 (eps = 1e-6) with a tolerance of 1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import Evaluation, forward, kinks
from .errors import BackpropError
from .program import Program

DEFAULT_EPS = 1e-6
DEFAULT_TOL = 1e-4


@dataclass(frozen=True)
class InputCheck:
    """The check of one input: numeric vs analytic dL/dx."""

    name: str
    analytic: float
    numeric: float | None  # None when L could not be evaluated at x ± h
    abs_error: float | None
    rel_error: float | None
    passed: bool
    at_kink: bool  # a kink (relu at 0, a max/min tie) lies on a path from x to L
    note: str | None = None


@dataclass(frozen=True)
class CheckReport:
    eps: float
    tolerance: float
    inputs: list[InputCheck]
    kink_nodes: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True unless some input disagrees away from any kink (where the rules are conventions)."""
        return all(item.passed or item.at_kink or item.numeric is None for item in self.inputs)

    @property
    def max_abs_error(self) -> float:
        return max((item.abs_error for item in self.inputs if item.abs_error is not None), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((item.rel_error for item in self.inputs if item.rel_error is not None), default=0.0)


def gradient_check(evaluation: Evaluation, eps: float = DEFAULT_EPS, tol: float = DEFAULT_TOL) -> CheckReport:
    """Compare every input's analytic gradient with central differences at the same point."""
    program, point = evaluation.program, evaluation.inputs
    kink_nodes = kinks(program, evaluation.values)
    near_kink = _inputs_upstream_of(program, kink_nodes)
    results = []
    for name, analytic in evaluation.gradients.items():
        x = point[name]
        h = eps * max(1.0, abs(x))
        try:
            above = _output_at(program, point, name, x + h)
            below = _output_at(program, point, name, x - h)
        except BackpropError as failure:
            results.append(
                InputCheck(name, analytic, None, None, None, False, name in near_kink, f"not defined at {name} ± h: {failure.message}")
            )
            continue
        numeric = (above - below) / (2.0 * h)
        abs_error = abs(numeric - analytic)
        rel_error = abs_error / max(1.0, abs(analytic))
        results.append(InputCheck(name, analytic, numeric, abs_error, rel_error, rel_error <= tol, name in near_kink))
    return CheckReport(eps, tol, results, kink_nodes)


def _output_at(program: Program, point: dict, name: str, value: float) -> float:
    return forward(program, {**point, name: value})[program.output]


def _inputs_upstream_of(program: Program, node_ids: list[int]) -> set[str]:
    """Names of the input variables that flow into any of the given nodes."""
    marked = bytearray(len(program))
    for i in node_ids:
        marked[i] = True
    for node_id in range(len(program) - 1, -1, -1):
        if marked[node_id]:
            for i in program.inputs_of(node_id):
                marked[i] = True
    return {name for name, node_id in program.inputs.items() if marked[node_id]}
