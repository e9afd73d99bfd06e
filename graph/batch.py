"""One program at many points at once.

Every input is a NumPy vector with one entry per point (the batch is a hidden leading axis), so
the engine runs each node once per chunk of points instead of once per point: every op is
elementwise on scalars, so point k of every node depends only on point k of its inputs. Points
where anything is not finite are evaluated again one by one, which gives them the exact error
(the subexpression and the values that reached it) that `eval` would print.

The points' arrays compute exp, log, sin, cos, tan, tanh, powers and the other elementary functions
(log2, log10, log1p, sinh, cosh, asin, acos, atan) with the C library's functions,
one element at a time, as `eval` computes them on floats: NumPy's vectorised kernels differ from
those in the last bits (tanh by 2 ulp, and its gradient 1 − tanh² by 2.2e-16 where tanh rounds to
±1), and a batch answers exactly what `eval` answers at the same point. The cost, ~0.1 µs an
element a function (measured; NumPy's take 2 ns), is small beside reading and writing a point
(~2 µs, columnar) for a program of one or two such functions; one of many spends most of its
time in them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from . import kernels
from .check import CheckReport, InputCheck, gradient_check, richardson_slope, slope_errors, slope_points
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
) -> list[PointResult]:
    """Evaluate at every point given by `columns` (input name -> 1-D array of equal lengths).

    `size` is the number of points, needed only when there are no columns (a program without
    inputs, evaluated once per point all the same); it defaults to the columns' length, else 1.
    `nodes`: every result also holds every node's value and gradient (grad None for a constant).
    """
    batch = evaluate_columns(program, columns, check=check, eps=eps, tol=tol, size=size, nodes=nodes)
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
            value, gradients = np.full(self.size, np.nan), {name: np.full(self.size, np.nan) for name in names}
        else:
            value, gradients = self.value.copy(), {name: self.gradients[name].copy() for name in names}
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
) -> BatchColumns:
    """evaluate_batch's points as columns (BatchColumns), without an object per point."""
    np = kernels.numpy()
    check_inputs(program, {name: 0.0 for name in columns})
    if size is None:
        size = len(next(iter(columns.values()))) if columns else 1
    points = _libm_array()
    inputs = {name: np.asarray(columns[name], dtype=np.float64).view(points) for name in program.inputs}
    alone = lambda ks: {k: _one_point(program, inputs, k, check, eps, tol, nodes) for k in ks}  # noqa: E731
    if not _vectorisable(program):
        return BatchColumns(size, alone=alone(range(size)))
    try:
        with np.errstate(all="ignore"):
            values = forward(program, inputs, strict=False)
            grads = backward(program, values, strict=False)
    except (BackpropError, ArithmeticError, ValueError):
        return BatchColumns(size, alone=alone(range(size)))

    good = np.ones(size, dtype=bool)
    for array in (*values, *grads, *inputs.values()):
        if isinstance(array, np.ndarray):
            good &= np.isfinite(array)
    evaluation = Evaluation(program, inputs, values, grads)
    output = np.broadcast_to(evaluation.value, (size,)).view(np.ndarray)
    gradients = {
        name: np.broadcast_to(grad, (size,)).view(np.ndarray) for name, grad in evaluation.gradients.items()
    }
    reports = _vector_check(program, inputs, gradients, size, eps, tol) if check else None
    if reports is not None:
        good &= np.array([report is not None for report in reports], dtype=bool)
    redo = np.flatnonzero(~good).tolist()
    kinked = _kinks_by_point(program, values, grads, size)
    for k in redo:
        kinked.pop(k, None)
    by_node = _node_columns(evaluation, size) if nodes else None
    return BatchColumns(size, output, gradients, alone(redo), reports, kinked, by_node)


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
    program: Program, inputs: Mapping, k: int, check: bool, eps: float, tol: float, nodes: bool = False
) -> PointResult:
    """The scalar path for one point: exact errors, and the check with its kink handling."""
    point = {name: float(column[k]) for name, column in inputs.items()}
    try:
        evaluation, _unused = evaluate_given(program, point)
    except BackpropError as error:
        return PointResult(error=error)
    report = gradient_check(evaluation, eps=eps, tol=tol) if check else None
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
    np = kernels.numpy()
    numeric: dict = {}
    with np.errstate(all="ignore"):
        for name, x in inputs.items():
            h = eps * np.maximum(1.0, np.abs(x))
            outputs = [
                forward(program, {**inputs, name: moved}, strict=False)[program.output]
                for moved in slope_points(x, h)
            ]
            numeric[name] = np.broadcast_to(richardson_slope(x, h, outputs).value, (size,))
    reports: list = []
    for k in range(size):
        items = []
        for name in inputs:
            analytic, slope = float(gradients[name][k]), float(numeric[name][k])
            abs_error, rel_error = slope_errors(slope, analytic)
            items.append(InputCheck(name, analytic, slope, abs_error, rel_error, rel_error <= tol, False))
        clean = all(item.passed for item in items)
        reports.append(CheckReport(eps, tol, items) if clean else None)
    return reports


# -- the C library's functions on the points' arrays ---------------------------------------------


def _libm(function):
    """`function` on floats, NaN where it is undefined or overflows (NumPy gives NaN or inf there:
    either way the point is not finite, and is evaluated alone for its error)."""

    def one(*numbers: float) -> float:
        try:
            return function(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.nan

    return one


def _elementwise(function, arrays: list):
    """`function` at every element of the broadcast arrays, in a Python loop over floats."""
    np = kernels.numpy()
    arrays = np.broadcast_arrays(*arrays)
    flat = [array.ravel().tolist() for array in arrays]
    try:
        out = list(map(function, *flat))
    except (ValueError, OverflowError, ZeroDivisionError):  # rare: only then the slower safe loop
        out = list(map(_libm(function), *flat))
    return np.array(out, dtype=np.float64).reshape(arrays[0].shape)


@cache
def _libm_array():
    """An ndarray subclass whose elementary functions are the C library's (math.exp, not np.exp)."""
    np = kernels.numpy()
    libm = {np.exp: math.exp, np.log: math.log, np.sin: math.sin, np.cos: math.cos}
    libm |= {np.tan: math.tan, np.tanh: math.tanh, np.power: math.pow}
    libm |= {np.log2: math.log2, np.log10: math.log10, np.log1p: math.log1p, np.sinh: math.sinh}
    libm |= {np.cosh: math.cosh, np.arcsin: math.asin, np.arccos: math.acos, np.arctan: math.atan}

    def plain(x):
        return x.view(np.ndarray) if isinstance(x, LibmArray) else x

    def wrap(result):
        if isinstance(result, tuple):
            return tuple(wrap(part) for part in result)
        return result.view(LibmArray) if type(result) is np.ndarray else result

    class LibmArray(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            arrays = [plain(x) for x in inputs]
            if method == "__call__" and not kwargs and ufunc in libm:
                return wrap(_elementwise(libm[ufunc], [np.asarray(x, dtype=np.float64) for x in arrays]))
            if "out" in kwargs:
                kwargs["out"] = tuple(plain(x) for x in kwargs["out"])
            return wrap(getattr(ufunc, method)(*arrays, **kwargs))

        def __array_function__(self, func, types, args, kwargs):
            return wrap(super().__array_function__(func, (np.ndarray,), args, kwargs))

        # x ** 2 and x ** 0.5 would go to np.square and np.sqrt, not to the power function
        def __pow__(self, other):
            return np.power(self, other)

        def __rpow__(self, other):
            return np.power(other, self)

    return LibmArray
