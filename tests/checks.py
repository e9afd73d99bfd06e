"""What the tests assert of any outcome (strict JSON, a clean error, finite numbers), the numeric slope,
and how a run counts what it tried and bounds its time."""

from __future__ import annotations

import json
import math
import signal
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager

from backprop import BackpropError

KINDS = ("syntax", "name", "arity", "domain", "shape", "limit", "input")
"""The error kinds of the README's table (plus shape and limit, which the CLI may also report)."""


# ------------------------------------------------------------------------------------------------
# The numeric slope
# ------------------------------------------------------------------------------------------------


def central_difference(f: Callable[[float], float], x: float, step: float = 1e-6) -> tuple[float, float]:
    """The slope of f at x from central differences, and how far the step was from converged.

    D(h) = (f(x + h) − f(x − h)) / 2h, h = step·max(1, |x|), is off by c·h² + O(h⁴); Richardson's
    (4·D(h/2) − D(h)) / 3 cancels the h² term, so a sharply curved f (sin of a large argument) is
    still measured well. Returns (that estimate, |D(h) − D(h/2)|).
    """
    h = step * max(1.0, abs(x))
    coarse = (f(x + h) - f(x - h)) / (2 * h)
    fine = (f(x + h / 2) - f(x - h / 2)) / h
    return (4 * fine - coarse) / 3, abs(coarse - fine)


# ------------------------------------------------------------------------------------------------
# Outcomes: strict JSON, clean errors, finite numbers
# ------------------------------------------------------------------------------------------------


def _reject_constant(token: str):
    raise ValueError(f"not strict JSON: {token}")


def strict_json(text: str):
    """Parse stdout as one strict JSON document: NaN, Infinity and -Infinity are refused."""
    return json.loads(text, parse_constant=_reject_constant)


def assert_clean_error(error: BackpropError, source: str | None = None) -> None:
    """A BackpropError that the CLI can print: a known kind, a message, a place inside the text."""
    assert error.kind in KINDS, error.kind
    assert isinstance(error.message, str) and error.message.strip()
    assert error.hint is None or isinstance(error.hint, str)
    assert (error.line is None) == (error.column is None)
    if error.line is not None and source is not None:
        assert 1 <= error.line <= source.count("\n") + 1, (error.line, source)
        assert error.column >= 1


def finite(value) -> bool:
    """A float, or every element of an array, is neither NaN nor infinite."""
    numbers = value.ravel().tolist() if hasattr(value, "ravel") else [value]
    return all(math.isfinite(number) for number in numbers)


def assert_finite_evaluation(evaluation) -> None:
    """Never lie: every value and every gradient that comes out is finite."""
    assert finite(evaluation.value)
    for name, grad in evaluation.gradients.items():
        assert finite(grad), (name, grad)
    for row in evaluation.nodes:
        assert finite(row.value), row
        assert row.grad is None or finite(row.grad), row


# ------------------------------------------------------------------------------------------------
# Counting what a run tried (conftest prints it after each module, with -s), and a time limit
# ------------------------------------------------------------------------------------------------

TALLY: Counter = Counter()


def tally(kind: str) -> None:
    TALLY[kind] += 1


@contextmanager
def time_limit(seconds: float):
    """Fail (rather than hang) if the block runs longer than `seconds` (Unix: SIGALRM; elsewhere a no-op)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
