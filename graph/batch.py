"""One program at many points at once.

Every input is a NumPy vector with one entry per point (the batch is a hidden leading axis), so
the engine runs each node once per chunk of points instead of once per point: every op is
elementwise on scalars, so point k of every node depends only on point k of its inputs. Points
where anything is not finite are evaluated again one by one, which gives them the exact error
(the subexpression and the values that reached it) that `eval` would print.

By default the points' arrays are plain NumPy arrays and every function is NumPy's vectorised
kernel (~2 ns an element), and a whole power x**n (2 ≤ |n| ≤ 4) is multiplications: within
FAST_ULPS ulp of `eval`'s (sqrt, sin and cos agree everywhere; exp, log, tanh, log10, sinh, cosh,
asin… differ in the last bits at up to a third of the points). With `exact` the arrays compute exp,
log, sin, cos, tan, tanh, powers and the other elementary functions (log2, log10, log1p, sinh,
cosh, asin, acos, atan) with the C library's functions, one element at a time, as `eval` computes
them on floats, and a batch answers exactly what `eval` answers at the same point, bit for bit:
~0.1 µs an element a function, 50× NumPy's. Gradients are the same formulas on those values, so
where a formula cancels (tanh′ = 1 − tanh² where tanh is near ±1) they differ by a few ulp of the
terms, not of the result. Points evaluated alone are eval's, bit for bit, either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import kernels
from .engine import (
    Evaluation,
    Kink,
    backward,
    check_inputs,
    evaluate_given,
    forward,
    kink_at,
    kink_points,
    kinkable,
)
from .errors import BackpropError
from .limits import DEFAULT_EPS, DEFAULT_TOL
from .program import Program
from .wanted import check_wrt, wanted

if TYPE_CHECKING:
    from .check import CheckReport
# graph/check.py is imported where a check runs: a batch without --check never loads it (start-up)

FAST_ULPS = 4
"""The most the fast path differs from eval for one elementary function or whole power, in units
in the last place: of the value, and of the larger of |gradient| and |value| for the gradient
(tanh′ = 1 − tanh² cancels where tanh is near ±1, so its own ulp says nothing). Measured at 2·10⁶
wide random points each (NumPy 2.4): values reach 3 ulp (tanh, x**-4), gradients 4 (tanh, x**-3,
x**-4), the others 0–2; tests/test_fast_kernels.py holds every function to it."""


@dataclass
class PointResult:
    """The outcome at one point: a value and gradients, or an error (and optionally a check)."""

    value: float | None = None
    gradients: dict[str, float] | None = None
    error: BackpropError | None = None
    check: CheckReport | None = None
    kinks: list[Kink] | None = None  # the point's kinks (engine.kink_points), None when it has none
    nodes: list[tuple] | None = None  # with `nodes`: (value, grad or None) of every node, by id


def evaluate_batch(
    program: Program,
    columns: Mapping[str, object],
    *,
    check: bool = False,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    size: int | None = None,
    nodes: bool = False,
    exact: bool = False,
    wrt=None,
) -> list[PointResult]:
    """Evaluate at every point given by `columns` (input name -> 1-D array of equal lengths).

    `size` is the number of points, needed only when there are no columns (a program without
    inputs, evaluated once per point all the same); it defaults to the columns' length, else 1.
    `nodes`: every result also holds every node's value and gradient (grad None for a constant).
    `exact` and `wrt`: as evaluate_columns.
    """
    batch = evaluate_columns(
        program, columns, check=check, eps=eps, tol=tol, size=size, nodes=nodes, exact=exact, wrt=wrt
    )
    return [batch.result(k) for k in range(batch.size)]


@dataclass
class BatchColumns:
    """The outcome at every point of a chunk, as columns: the value and each gradient over the
    points, and the points evaluated one by one (`alone`: not finite somewhere, a check the
    vectorised slope cannot decide, or a program that cannot share a pass), whose results hold."""

    size: int
    value: object = None  # float64 array over the points (None when every point is alone)
    gradients: dict | None = None  # input name -> float64 array
    alone: dict[int, PointResult] = field(default_factory=dict)
    checks: list | None = None  # with `check`: each point's CheckReport (None for one alone)
    kinks: dict[int, list[Kink]] = field(default_factory=dict)  # the points at a kink, with their kinks
    nodes: list | None = None  # with `nodes`: every node's (values, grads or None) over the points

    def plain(self, k: int) -> bool:
        """Whether point k is its value and gradients alone (not evaluated alone, not at a kink)."""
        return k not in self.alone and k not in self.kinks

    def table(self, names: list[str]) -> tuple[object, dict, dict[int, BackpropError]]:
        """Every point's value and gradients (of `names`) as float64 columns, the points evaluated
        alone filled in, and the failed points' errors by index: their rows hold NaN, which no
        writer may print, so every columnar output leaves those rows out."""
        np = kernels.numpy()
        if self.value is None:
            value, gradients = (
                np.full(self.size, np.nan),
                {name: np.full(self.size, np.nan) for name in names},
            )
        else:
            value, gradients = self.value, {name: self.gradients[name] for name in names}
            if self.alone:  # filled in below: copies (else the columns themselves, read only)
                value, gradients = value.copy(), {name: column.copy() for name, column in gradients.items()}
        failed = {}
        for k, result in self.alone.items():
            if result.error is not None:
                failed[k] = result.error
                value[k] = math.nan
                for column in gradients.values():
                    column[k] = math.nan
                continue
            value[k] = result.value
            for name, column in gradients.items():
                column[k] = result.gradients[name]
        return value, gradients, failed

    def result(self, k: int) -> PointResult:
        """Point k's PointResult, as evaluate_batch gives it."""
        if k in self.alone:
            return self.alone[k]
        return PointResult(
            value=float(self.value[k]),
            gradients={name: float(grad[k]) for name, grad in self.gradients.items()},
            check=None if self.checks is None else self.checks[k],
            kinks=self.kinks.get(k),
            nodes=None
            if self.nodes is None
            else [(v[k], None if g is None else g[k]) for v, g in self.nodes],
        )


def evaluate_columns(
    program: Program,
    columns: Mapping[str, object],
    *,
    check: bool = False,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    size: int | None = None,
    nodes: bool = False,
    exact: bool = False,
    wrt=None,
    checked: bool = False,
) -> BatchColumns:
    """evaluate_batch's points as columns (BatchColumns), without an object per point.

    exact: the C library's functions a point at a time, values bit for bit eval's (else NumPy's
    vectorised ones, within FAST_ULPS of them); wrt: the gradients of those inputs only;
    checked: the columns are float64 and finite already (cli/points.py), not scanned again."""
    np = kernels.numpy()
    check_inputs(program, {name: 0.0 for name in columns})
    wrt = check_wrt(program, wrt)
    if size is None:
        size = len(next(iter(columns.values()))) if columns else 1
    inputs = {name: np.asarray(columns[name], dtype=np.float64) for name in program.inputs}
    if exact:
        from .libm import libm_array

        inputs = {name: column.view(libm_array()) for name, column in inputs.items()}
    alone = lambda ks: {k: _one_point(program, inputs, k, check, eps, tol, nodes, wrt) for k in ks}  # noqa: E731
    if not _vectorisable(program):
        return BatchColumns(size, alone=alone(range(size)))
    try:
        with np.errstate(all="ignore"):
            values = forward(program, inputs, strict=False)
            grads = backward(program, values, strict=False, needs=wanted(program, wrt))
    except (BackpropError, ArithmeticError, ValueError):
        return BatchColumns(size, alone=alone(range(size)))

    good = _finite_points(program, values, grads, size, checked)
    evaluation = Evaluation(program, inputs, values, grads, wrt)
    output = np.broadcast_to(evaluation.value, (size,)).view(np.ndarray)
    gradients = {
        name: np.broadcast_to(grad, (size,)).view(np.ndarray) for name, grad in evaluation.gradients.items()
    }
    reports = _vector_check(program, inputs, gradients, size, eps, tol) if check else None
    if reports is not None:
        good &= np.array([report is not None for report in reports], dtype=bool)
    kinked = _kinks_by_point(program, values, grads, size)
    if check:  # the check at a kink is eval's, which says which inputs are at one
        good[list(kinked)] = False
    redo = np.flatnonzero(~good).tolist()
    for k in redo:
        kinked.pop(k, None)
    by_node = _node_columns(evaluation, size) if nodes else None
    return BatchColumns(size, output, gradients, alone(redo), reports, kinked, by_node)


def evaluate_points(
    program: Program,
    columns: Mapping[str, list],
    size: int,
    *,
    check: bool = False,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    nodes: bool = False,
    wrt=None,
) -> BatchColumns:
    """evaluate_columns' outcome for a few points (lists of floats), each on eval's scalar path,
    without NumPy: for a batch of one line, or of lines typed one at a time (its values are
    eval's, bit for bit, as with exact)."""
    wrt = check_wrt(program, wrt)
    return BatchColumns(
        size, alone={k: _one_point(program, columns, k, check, eps, tol, nodes, wrt) for k in range(size)}
    )


def _finite_points(program: Program, values: list, grads: list, size: int, checked: bool):
    """Which points are finite in every node's value and gradient (a bool array). One sum per
    array, added up: a NaN or an infinity anywhere makes the total one, and only then is each
    array scanned point by point (~2 µs an array of a chunk, against ~9 for the scans); the
    inputs, when `checked`, are not looked at again."""
    np = kernels.numpy()
    leaves = set(program.inputs.values()) if checked else set()
    arrays = [value for node_id, value in enumerate(values) if node_id not in leaves]
    arrays = [array for array in (*arrays, *grads) if isinstance(array, np.ndarray)]
    good = np.ones(size, dtype=bool)
    with np.errstate(all="ignore"):
        if math.isfinite(sum(np.add.reduce(array, axis=None) for array in arrays)):
            return good
    for array in arrays:
        if not kernels.is_finite(array):
            good &= np.isfinite(array)
    return good


def _node_columns(evaluation: Evaluation, size: int) -> list[tuple[list, list | None]]:
    """Every node's values and gradients over the chunk's points, as lists of floats."""
    np = kernels.numpy()
    columns = []
    for node_id, value in enumerate(evaluation.values):
        grad = evaluation.grad_of(node_id)
        columns.append(
            (
                np.broadcast_to(value, (size,)).tolist(),
                None if grad is None else np.broadcast_to(grad, (size,)).tolist(),
            )
        )
    return columns


def _vectorisable(program: Program) -> bool:
    """Points can share one pass when every op is elementwise and every constant a scalar: then
    the points' axis never meets another axis (a literal [1, 2] would broadcast against it)."""
    return program.all_elementwise() and all(type(c) is float for c in program.constants.values())


def _one_point(
    program: Program,
    inputs: Mapping,
    k: int,
    check: bool,
    eps: float,
    tol: float,
    nodes: bool = False,
    wrt: tuple[str, ...] | None = None,
) -> PointResult:
    """The scalar path for one point: exact errors, and the check with its kink handling."""
    point = {name: float(column[k]) for name, column in inputs.items()}
    try:
        evaluation, _unused = evaluate_given(program, point, wrt=wrt)
    except BackpropError as error:
        return PointResult(error=error)
    report = None
    if check:
        from .check import gradient_check

        report = gradient_check(evaluation, eps=eps, tol=tol)
    kinks = kink_points(program, evaluation.values, evaluation.grads) or None
    value, gradients = float(evaluation.value), dict(evaluation.gradients)
    each = None
    if nodes:
        each = [(value, evaluation.grad_of(i)) for i, value in enumerate(evaluation.values)]
    return PointResult(value=value, gradients=gradients, check=report, kinks=kinks, nodes=each)


def _kinks_by_point(program: Program, values: list, grads: list, size: int) -> dict[int, list[Kink]]:
    """The points of a chunk where a derivative was taken at a kink, with their kinks: one
    vectorised test per node of an op with a kink (relu(x): x == 0 over the chunk), then
    engine.kink_at only at the points and nodes it finds (measured: 30 µs a chunk of 4,096 points
    for four such nodes, 1 µs for a program without one)."""
    np = kernels.numpy()
    masks = {}
    for node_id in kinkable(program, grads):
        at = _kink_test(program, values, node_id)
        if at.any():
            masks[node_id] = np.broadcast_to(at, (size,))
    kinked: dict[int, list[Kink]] = {}
    for node_id, at in masks.items():  # in id order, as kink_points finds them
        needed = (node_id, *program.inputs_of(node_id))
        for k in np.flatnonzero(at).tolist():
            point = {i: values[i] if type(values[i]) is float else float(values[i][k]) for i in needed}
            kinked.setdefault(k, []).append(kink_at(program, point, node_id))
    return kinked


def _kink_test(program: Program, values: list, node_id: int):
    """The node's op's kink test over every point of the chunk (a bool array)."""
    op = program.ops[node_id]
    return kernels.numpy().asarray(op.kink(*[values[i] for i in program.inputs_of(node_id)]))


def _vector_check(program: Program, inputs: dict, gradients: dict, size: int, eps: float, tol: float):
    """The check's numeric slope (graph/check.py's richardson_slope) for every point at once. A point
    whose check does not pass cleanly gets None, so that the scalar check (which knows about kinks
    and unsettled slopes) decides it."""
    from .check import CheckReport, InputCheck, richardson_slope, slope_errors, slope_points

    np = kernels.numpy()
    numeric: dict = {}
    with np.errstate(all="ignore"):
        for name in gradients:  # the inputs whose gradients were asked for (wrt)
            x = inputs[name]
            h = eps * np.maximum(1.0, np.abs(x))
            outputs = [
                forward(program, {**inputs, name: moved}, strict=False)[program.output]
                for moved in slope_points(x, h)
            ]
            numeric[name] = np.broadcast_to(richardson_slope(x, h, outputs).value, (size,))
    reports: list = []
    for k in range(size):
        items = []
        for name in gradients:
            analytic, slope = float(gradients[name][k]), float(numeric[name][k])
            abs_error, rel_error = slope_errors(slope, analytic)
            items.append(InputCheck(name, analytic, slope, abs_error, rel_error, rel_error <= tol, False))
        clean = all(item.passed for item in items)
        reports.append(CheckReport(eps, tol, items) if clean else None)
    return reports
