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
        """True unless some element disagrees away from any kink (where the rules are conventions)."""
        return all(
            each.passed or item.at_kink or each.numeric is None
            for item in self.inputs
            for each in item.compared
        )

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
        numeric, abs_error, rel_error, passed, note = _compare(name, analytic, x, eps, tol, slope_at)
        results.append(
            InputCheck(name, analytic, numeric, abs_error, rel_error, passed, name in near_kink, note)
        )
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
        elements.append(ElementCheck(index, expected, *_compare(label, expected, value, eps, tol, slope_at)))
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


def _larger(a, b):
    """max(a, b) for floats and arrays alike: b only where b > a, as Python's max."""
    return where(b > a, b, a)


def _compare(label: str, analytic: float, x: float, eps: float, tol: float, slope_at) -> tuple:
    """(numeric, abs_error, rel_error, passed, note) for one input or element: `slope_at(h)`, at
    h = eps·max(1, |x|), against the analytic gradient.

    A disagreement is taken again at h/10, h/100, …, so that a step too large for L's curvature
    (sin(x) at x = 10⁷, where h = 10) finds the slope: a step that agrees passes. The ladder stops
    where rounding noise grows, or where x ± h/2 would round to x. It is a failure only when the
    last three steps agree with each other (the slope has settled) and, unless the ladder reached
    the rounding noise, on a slope that is not lost in the tolerance: far beyond L's scale every
    step averages L to about 0 (sin(x) at x = 10¹⁸, where floats are 128 apart). Otherwise, or
    where L is undefined at x ± h, numeric is None with a note: not checkable, and no failure."""
    first = h = eps * max(1.0, abs(x))
    if (x + h / 2) - (x - h / 2) == 0:
        note = f"h = {h:.3g} is below the float grid around {label} = {x:.6g}: use a larger --eps"
        return None, None, None, False, note
    allowed = tol * max(1.0, abs(analytic))
    slopes: list[Slope] = []
    while True:
        try:
            slopes.append(slope_at(h))
        except BackpropError as failure:
            return None, None, None, False, f"not defined at {label} ± h: {failure.message}"
        slope = slopes[-1]
        abs_error, rel_error = slope_errors(slope.value, analytic)
        if abs_error <= allowed + slope.noise:
            return slope.value, abs_error, rel_error, True, None
        at_noise_floor = slope.noise > allowed / 4
        if at_noise_floor or len(slopes) > LADDER or (x + h / 20) - (x - h / 20) == 0:
            break
        h /= 10
    last = [each.value for each in slopes[-3:]]
    settled = len(last) == 3 and max(last) - min(last) <= allowed + 2 * max(
        each.noise for each in slopes[-3:]
    )
    if settled and (at_noise_floor or max(map(abs, last)) > allowed):
        return slope.value, abs_error, rel_error, False, None
    advice = "try another --eps"
    if at_noise_floor:
        floor = "rounding noise allows no smaller step"
    elif len(slopes) > LADDER:
        floor = f"{LADDER} steps smaller"
    else:
        floor = f"the float grid around {label} = {x:.6g} allows no smaller step"
        advice = "no numeric slope can tell there"
    note = f"the numeric slope does not settle from h = {first:.3g} down to {h:.3g} ({floor}): {advice}"
    return None, None, None, False, note


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
