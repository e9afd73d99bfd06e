"""The numerical gradient check: central differences against the backward pass, input by input.

For each input x the step is h = eps · max(1, |x|). The central difference
D(h) = (L(x + h) − L(x − h)) / 2h is off by c·h² + O(h⁴), so the numeric slope is Richardson's
(4·D(h/2) − D(h)) / 3, which cancels the h² term: a step scaled to a large |x| is then still
accurate on a sharply curved L (sin(x) at x = 33816, where h = 0.034). Rounding adds noise of
order ε_machine·|L|/h.

An input passes when |numeric − analytic| ≤ tol · max(1, |analytic|) + the rounding noise (see
ROUNDING): a relative test with an absolute floor, so gradients near 0 are not held to an
impossible standard, nor slopes of a huge L to more digits than L has. When it does not, the
estimate is taken again at h/10, h/100, … (see _compare): a smaller step that agrees passes; the
input fails only where the slope settles on another value, and where it never settles (sin(x) at
x = 10¹⁸, where floats are 128 apart) it is reported as not checkable, with a note, not failed.
Defaults follow PyTorch's gradcheck for float64 (eps = 1e-6) with a tolerance of 1e-4.

A tensor input is checked element by element, each element x_i moved alone with its own
h = eps · max(1, |x_i|). Each costs four forward passes, so a large input is checked on a sample of
its elements, drawn with a fixed seed so that a run repeats.
"""

from __future__ import annotations

import math
import random
import sys
from dataclasses import dataclass, field
from functools import partial

from .engine import Evaluation, forward, kinks
from .errors import BackpropError
from .kernels import numpy, where
from .limits import DEFAULT_EPS, DEFAULT_SAMPLES, DEFAULT_TOL
from .program import Program

LADDER = 16
"""At most this many smaller steps (h/10, h/100, …) a disagreement is taken again at; the ladder
also stops where rounding noise grows or x ± h/2 is x itself."""

ROUNDING = 32
"""L itself is only known to a few ε·|L| after many operations (a sum of a million terms more), so
the numeric slope carries ~ε·|L|/h of rounding noise; ROUNDING·ε·|L|/h of it is allowed. It is
~3e-9 for |L| ≈ 1 and h = 1e-6, and only matters when |L| is huge next to the gradient."""

SAMPLE_SEED = 0
"""The sample of elements is drawn with this seed, so a run repeats exactly."""


PASSED, FAILED, AT_KINK, NOT_CHECKABLE = "passed", "failed", "kink", "not checkable"


def status(each, at_kink: bool) -> str:
    """One comparison's outcome, the same in the table, the JSON and the exit status: passed;
    kink (a difference at a kink, where the derivative is a convention: not a failure); not
    checkable (no step gave a slope); or failed."""
    if each.passed:
        return PASSED
    if at_kink:
        return AT_KINK
    return NOT_CHECKABLE if each.numeric is None else FAILED


def input_status(item) -> str:
    """An input's outcome over its compared elements: failed if one failed, else kink if one
    differed at a kink, else passed if one passed, else not checkable."""
    marks = {status(each, item.at_kink) for each in item.compared}
    return next(mark for mark in (FAILED, AT_KINK, PASSED, NOT_CHECKABLE) if mark in marks)


@dataclass(frozen=True)
class ElementCheck:
    """The check of one element of a tensor input: numeric vs analytic dL/dx[index]."""

    index: tuple[int, ...]
    analytic: float
    numeric: float | None  # None when L could not be evaluated at x[index] ± h
    abs_error: float | None
    rel_error: float | None
    passed: bool
    note: str | None = None


@dataclass(frozen=True)
class InputCheck:
    """The check of one input: numeric vs analytic dL/dx. For a tensor input, the numbers are those
    of its worst checked element (largest relative error) and `elements` holds every checked one."""

    name: str
    analytic: float
    numeric: float | None  # None when L could not be evaluated at x ± h
    abs_error: float | None
    rel_error: float | None
    passed: bool  # for a tensor: every checked element passed
    at_kink: bool  # a kink (relu at 0, a max/min tie) lies on a path from x to L
    note: str | None = None
    elements: list[ElementCheck] | None = None  # None for a scalar input
    size: int = 1  # how many elements the input has

    @property
    def compared(self) -> list:
        """What was compared: the checked elements of a tensor, or the input itself."""
        return self.elements if self.elements is not None else [self]


@dataclass(frozen=True)
class CheckReport:
    eps: float
    tolerance: float
    inputs: list[InputCheck]
    kink_nodes: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True if no element disagrees away from a kink (where the rules are conventions) and at
        least one was compared: a check that could check no input has not passed (a program with
        no inputs has no gradient to check, and passes)."""
        statuses = [status(each, item.at_kink) for item in self.inputs for each in item.compared]
        return FAILED not in statuses and (not statuses or any(mark != NOT_CHECKABLE for mark in statuses))

    @property
    def not_checkable(self) -> int:
        """How many elements no step could compare (notes say why)."""
        return sum(each.numeric is None for item in self.inputs for each in item.compared)

    @property
    def max_abs_error(self) -> float:
        return max(
            (each.abs_error for each in self._every_comparison() if each.abs_error is not None), default=0.0
        )

    @property
    def max_rel_error(self) -> float:
        return max(
            (each.rel_error for each in self._every_comparison() if each.rel_error is not None), default=0.0
        )

    def _every_comparison(self) -> list:
        return [each for item in self.inputs for each in item.compared]


def gradient_check(
    evaluation: Evaluation, eps: float = DEFAULT_EPS, tol: float = DEFAULT_TOL, samples: int = DEFAULT_SAMPLES
) -> CheckReport:
    """Compare every input's analytic gradient with central differences at the same point; a
    tensor input element by element, at most `samples` of them (a seeded sample)."""
    program, point = evaluation.program, evaluation.inputs
    kink_nodes = kinks(program, evaluation.values)
    near_kink = _inputs_upstream_of(program, kink_nodes)
    results = []
    for name, analytic in evaluation.gradients.items():
        x = point[name]
        if type(x) is not float:
            results.append(
                _check_tensor(program, point, name, analytic, eps, tol, samples, name in near_kink)
            )
            continue
        slope_at = partial(_slope, program, point, name, x)
        *outcome, h = _compare(name, analytic, x, eps, tol, slope_at)
        outcome, crossed = _second_look(program, point, name, outcome, x, h)
        results.append(InputCheck(name, analytic, *outcome[:4], name in near_kink or crossed, outcome[4]))
    return CheckReport(eps, tol, results, kink_nodes)


def _check_tensor(
    program: Program, point: dict, name: str, analytic, eps: float, tol: float, samples: int, at_kink: bool
) -> InputCheck:
    """Central differences for some elements of a tensor input: all of them, or a seeded sample."""
    np = numpy()
    x = point[name]
    size = int(x.size)
    chosen = (
        range(size) if size <= samples else sorted(random.Random(SAMPLE_SEED).sample(range(size), samples))
    )
    shifted = x.copy()  # one copy, changed and restored element by element
    elements = []
    for flat in chosen:
        index = tuple(int(i) for i in np.unravel_index(flat, x.shape))
        expected = float(analytic.flat[flat])
        label = f"{name}[{', '.join(map(str, index))}]"
        value = float(x.flat[flat])
        slope_at = partial(_slope, program, point, name, value, array=shifted, flat=flat)
        *outcome, h = _compare(label, expected, value, eps, tol, slope_at)
        outcome, crossed = _second_look(program, point, name, outcome, value, h, shifted, flat)
        elements.append(ElementCheck(index, expected, *outcome))
        at_kink = at_kink or crossed
    compared = [each for each in elements if each.numeric is not None]
    worst = max(compared, key=lambda each: each.rel_error) if compared else elements[0]
    note = next((each.note for each in elements if each.note), None)
    passed = all(each.passed for each in elements)
    return InputCheck(
        name,
        worst.analytic,
        worst.numeric,
        worst.abs_error,
        worst.rel_error,
        passed,
        at_kink,
        note,
        elements,
        size,
    )


@dataclass(frozen=True)
class Slope:
    """A numeric slope of L along one input at one step h (floats, or arrays of points in a batch)."""

    value: float  # Richardson's (4·D(h/2) − D(h)) / 3
    noise: float  # the rounding noise it carries: ROUNDING·ε·|L| / step, combined as the value is


def _slope(program: Program, point: dict, name: str, x: float, h: float, array=None, flat: int = 0) -> Slope:
    """The numeric slope at step h along x, the input `name` itself or element `flat` of `array`
    (a copy of the input, restored before returning)."""
    outputs = []
    try:
        for moved in slope_points(x, h):
            if array is not None:
                array.flat[flat] = moved
            outputs.append(
                forward(program, {**point, name: moved if array is None else array})[program.output]
            )
    finally:
        if array is not None:
            array.flat[flat] = x
    return richardson_slope(x, h, outputs)


def slope_points(x, h) -> tuple:
    """Where richardson_slope wants L, in its order: x + h, x − h, x + h/2, x − h/2."""
    return x + h, x - h, x + h / 2, x - h / 2


def richardson_slope(x, h, outputs) -> Slope:
    """The slope from L at slope_points(x, h): central differences D(h) and D(h/2), combined as
    (4·D(h/2) − D(h)) / 3. Floats, or NumPy arrays with one entry per point, alike."""
    above, below, half_above, half_below = outputs
    # The steps actually taken: x ± h rounds to a float, so divide by what the float moved.
    coarse = (above - below) / ((x + h) - (x - h))
    fine = (half_above - half_below) / ((x + h / 2) - (x - h / 2))
    rounding = ROUNDING * sys.float_info.epsilon / h
    noise_coarse = rounding * _larger(abs(above), abs(below))
    noise_fine = 2.0 * rounding * _larger(abs(half_above), abs(half_below))
    return Slope((4.0 * fine - coarse) / 3.0, (4.0 * noise_fine + noise_coarse) / 3.0)


def _second_look(
    program: Program, point: dict, name: str, outcome: list, x: float, h: float, array=None, flat=0
):
    """(outcome, at a kink) for a comparison: a failure at the last step h is not one when a kink
    lies between x − h and x + h (max(x, 0) at x = 1e-42: the slope straddles it), nor when the
    step is rounded away in a larger value downstream (cos(x + 1.7e10) at x = 0, where x ± 1e-6
    leaves x + 1.7e10 as it was): that is not checkable."""
    numeric, passed = outcome[0], outcome[3]
    if passed or numeric is None:
        return outcome, False
    ends = _ends(program, point, name, x, h, array, flat)
    if ends is None:
        return outcome, False
    if _kink_within(program, ends):
        return outcome, True
    lost = _lost_in_rounding(program, ends)
    if lost is not None:
        where = f"{program.expr(lost, limit=40)} = {ends[0][lost]:.6g}"
        note = f"{name} ± h (h down to {h:.3g}) is lost in the rounding of {where}: no numeric slope can tell here; try a larger --eps"
        return [None, None, None, False, note], False
    return outcome, False


def _ends(program: Program, point: dict, name: str, x: float, h: float, array=None, flat: int = 0):
    """Every node's value at x − h and at x + h (x the input, or element `flat` of `array`, a copy
    of it, restored after); None where the program is undefined at either."""
    ends = []
    try:
        for moved in (x - h, x + h):
            if array is not None:
                array.flat[flat] = moved
            ends.append(forward(program, {**point, name: moved if array is None else array.copy()}))
    except BackpropError:
        return None
    finally:
        if array is not None:
            array.flat[flat] = x
    return ends


def _kink_within(program: Program, ends: list) -> bool:
    """True if some op with a kink (relu, abs, max, min) has another local derivative at one end
    than at the other: theirs are piecewise constant, so a kink lies between."""
    for node_id, op in enumerate(program.ops):
        if op.kink is not None:
            inputs = program.inputs_of(node_id)
            below, above = (op.vjp(1.0, v[node_id], *[v[i] for i in inputs]) for v in ends)
            if any(not numpy().array_equal(one, other) for one, other in zip(below, above)):
                return True
    return False


def _lost_in_rounding(program: Program, ends: list) -> int | None:
    """A scalar node whose value is the same at both ends although an input of it moved by more than
    the value's float spacing can show times its local derivative (so not a flat op, where the
    local derivative is 0): the step was rounded away there. None if there is none."""
    below, above = ends
    for node_id, op in enumerate(program.ops):
        out, inputs = below[node_id], program.inputs_of(node_id)
        if not inputs or type(out) is not float or out != above[node_id]:
            continue
        try:
            local = op.vjp(1.0, out, *[below[i] for i in inputs])
        except (ArithmeticError, ValueError):
            continue
        for i, slope in zip(inputs, local):
            if type(below[i]) is float and type(slope) is float and below[i] != above[i]:
                expected = abs(slope * (above[i] - below[i]))
                if 0.0 < expected <= 4.0 * math.ulp(out):
                    return node_id
    return None


def _larger(a, b):
    """max(a, b) for floats and arrays alike: b only where b > a, as Python's max."""
    return where(b > a, b, a)


def _compare(label: str, analytic: float, x: float, eps: float, tol: float, slope_at) -> tuple:
    """(numeric, abs_error, rel_error, passed, note, last h) for one input or element: `slope_at(h)`, at
    h = eps·max(1, |x|), against the analytic gradient.

    A disagreement is taken again at h/10, h/100, …, so that a step too large for L's curvature
    (sin(x) at x = 10⁷, where h = 10) finds the slope: a step that agrees passes. The ladder stops
    where rounding noise grows, or where x ± h/2 would round to x. It is a failure only when the
    last three steps agree with each other (the slope has settled) and, unless the ladder reached
    the rounding noise, on a slope that is not lost in the tolerance: far beyond L's scale every
    step averages L to about 0 (sin(x) at x = 10¹⁸, where floats are 128 apart). Otherwise, or
    where L is undefined at x ± h, numeric is None with a note: not checkable, and no failure.
    A slope of exactly 0 at every step (L does not move at all) settles too: a flat function with a
    gradient that is not 0 fails. Every failure is looked at once more by the caller (_second_look):
    a kink between x ± h, or a step rounded away downstream, is not one."""
    first = h = eps * max(1.0, abs(x))
    if (x + h / 2) - (x - h / 2) == 0:
        note = f"h = {h:.3g} is below the float grid around {label} = {x:.6g}: use a larger --eps"
        return None, None, None, False, note, h
    allowed = tol * max(1.0, abs(analytic))
    slopes: list[Slope] = []
    at_noise_floor = False
    while True:
        try:
            slopes.append(slope_at(h))
        except BackpropError as failure:
            return None, None, None, False, f"not defined at {label} ± h: {failure.message}", h
        slope = slopes[-1]
        abs_error, rel_error = slope_errors(slope.value, analytic)
        if abs_error <= allowed + slope.noise:
            return slope.value, abs_error, rel_error, True, None, h
        at_noise_floor = slope.noise > allowed / 4
        if at_noise_floor or len(slopes) > LADDER or (x + h / 20) - (x - h / 20) == 0:
            break
        h /= 10
    last = [each.value for each in slopes[-3:]]
    settled = len(last) == 3 and max(last) - min(last) <= allowed + 2 * max(
        each.noise for each in slopes[-3:]
    )
    flat = not any(last)  # L did not move at all: a flat function, or a step rounded away (_second_look)
    if settled and (at_noise_floor or flat or max(map(abs, last)) > allowed):
        return slope.value, abs_error, rel_error, False, None, h
    advice = "try another --eps"
    if at_noise_floor:
        floor = "rounding noise allows no smaller step"
    elif len(slopes) > LADDER:
        floor = f"{LADDER} steps smaller"
    else:
        floor = f"the float grid around {label} = {x:.6g} allows no smaller step"
        advice = "no numeric slope can tell there"
    note = f"the numeric slope does not settle from h = {first:.3g} down to {h:.3g} ({floor}): {advice}"
    return None, None, None, False, note, h


def slope_errors(numeric: float, analytic: float) -> tuple[float, float]:
    """|numeric − analytic|, and the same relative to max(1, |analytic|)."""
    abs_error = abs(numeric - analytic)
    return abs_error, abs_error / max(1.0, abs(analytic))


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
