"""One program at many points at once.

Every input is a NumPy vector with one entry per point (the batch is a hidden leading axis), so
the engine runs each node once per chunk of points instead of once per point: every op is
elementwise on scalars, so point k of every node depends only on point k of its inputs. Points
where anything is not finite are evaluated again one by one, which gives them the exact error
(the subexpression and the values that reached it) that `eval` would print.

The points' arrays compute exp, log, sin, cos, tan, tanh and powers with the C library's functions,
one element at a time, as `eval` computes them on floats: NumPy's vectorised kernels differ from
those in the last bits (tanh by 2 ulp, and its gradient 1 − tanh² by 2.2e-16 where tanh rounds to
±1), and a batch answers exactly what `eval` answers at the same point. The cost, ~0.1 µs an
element a function (measured; NumPy's take 2 ns), is small beside reading and writing a point (~20 µs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
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


def evaluate_batch(
    program: Program,
    columns: Mapping[str, object],
    *,
    check: bool = False,
    eps: float = DEFAULT_EPS,
    tol: float = DEFAULT_TOL,
    size: int | None = None,
) -> list[PointResult]:
    """Evaluate at every point given by `columns` (input name -> 1-D array of equal lengths).

    `size` is the number of points, needed only when there are no columns (a program without
    inputs, evaluated once per point all the same); it defaults to the columns' length, else 1.
    """
    np = kernels.numpy()
    check_inputs(program, {name: 0.0 for name in columns})
    if size is None:
        size = len(next(iter(columns.values()))) if columns else 1
    points = _libm_array()
    inputs = {name: np.asarray(columns[name], dtype=np.float64).view(points) for name in program.inputs}
    if not _vectorisable(program):
        return [_one_point(program, inputs, k, check, eps, tol) for k in range(size)]
    try:
        with np.errstate(all="ignore"):
            values = forward(program, inputs, strict=False)
            grads = backward(program, values, strict=False)
    except (BackpropError, ArithmeticError, ValueError):
        return [_one_point(program, inputs, k, check, eps, tol) for k in range(size)]

    good = np.ones(size, dtype=bool)
    for array in (*values, *grads, *inputs.values()):
        if isinstance(array, np.ndarray):
            good &= np.isfinite(array)
    evaluation = Evaluation(program, inputs, values, grads)
    output = np.broadcast_to(evaluation.value, (size,))
    gradients = {name: np.broadcast_to(grad, (size,)) for name, grad in evaluation.gradients.items()}
    reports = _vector_check(program, inputs, gradients, size, eps, tol) if check else None
    kinked = _kinks_by_point(program, values, grads, size)

    results = []
    for k in range(size):
        if not good[k] or (reports is not None and reports[k] is None):
            results.append(_one_point(program, inputs, k, check, eps, tol))
            continue
        results.append(
            PointResult(
                value=float(output[k]),
                gradients={name: float(grad[k]) for name, grad in gradients.items()},
                check=None if reports is None else reports[k],
                kinks=kinked.get(k),
            )
        )
    return results


def _vectorisable(program: Program) -> bool:
    """Points can share one pass when every op is elementwise and every constant a scalar: then
    the points' axis never meets another axis (a literal [1, 2] would broadcast against it)."""
    return program.all_elementwise() and all(type(c) is float for c in program.constants.values())


def _one_point(program: Program, inputs: Mapping, k: int, check: bool, eps: float, tol: float) -> PointResult:
    """The scalar path for one point: exact errors, and the check with its kink handling."""
    point = {name: float(column[k]) for name, column in inputs.items()}
    try:
        evaluation, _unused = evaluate_given(program, point)
    except BackpropError as error:
        return PointResult(error=error)
    report = gradient_check(evaluation, eps=eps, tol=tol) if check else None
    kinks = kink_points(program, evaluation.values, evaluation.grads) or None
    value, gradients = float(evaluation.value), dict(evaluation.gradients)
    return PointResult(value=value, gradients=gradients, check=report, kinks=kinks)


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
