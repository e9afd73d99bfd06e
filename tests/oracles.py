"""What the two SymPy oracles share (test_differential for scalars, test_differential_tensors for
tensors): exact values at a point, the tolerance, a time budget, and the tensor oracle's terms — a
program's text beside an object array of SymPy expressions, built from the same choices."""

from __future__ import annotations

from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import sympy
from checks import tally, time_limit
from hypothesis import reject

REL, ABS = 1e-9, 1e-12
"""Our values and gradients agree with the oracle's to 1e-9 relative, with an absolute floor of 1e-12."""

ORACLE_SECONDS = 20
"""SymPy's automatic simplification can crawl on a large argument (sin of a deep tanh asks the
assumption system whether it is a multiple of pi); past this, the example is skipped and counted."""


def exact(expression, at: dict) -> float:
    """The expression's value at exact rational inputs, to 30 digits, as a float (real, or fail)."""
    number = complex(sympy.sympify(expression).xreplace(at).evalf(30))
    assert number.imag == 0, f"the oracle left the real line: {expression}"
    return number.real


def assert_close(ours: float, expected: float, what: str, text: str) -> None:
    assert abs(ours - expected) <= REL * abs(expected) + ABS, (
        f"{what}: ours {ours!r}, sympy {expected!r}\n{text}"
    )


@contextmanager
def oracle_budget():
    """Give up (hypothesis.reject, counted) when SymPy takes longer than ORACLE_SECONDS."""
    try:
        with time_limit(ORACLE_SECONDS):
            yield
    except TimeoutError:
        tally(f"skipped: SymPy took over {ORACLE_SECONDS} s")
        reject()


# ------------------------------------------------------------------------------------------------
# Tensor terms: text and oracle side by side
# ------------------------------------------------------------------------------------------------


class Term(NamedTuple):
    """A generated subexpression: its text, and its oracle (an object array of SymPy expressions)."""

    text: str
    oracle: np.ndarray
    leaf: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.oracle.shape


def make(text: str, oracle, leaf: bool = False) -> Term:
    """A Term whose oracle is always an object array (NumPy gives a bare object for a 0-d result)."""
    return Term(text, np.asarray(oracle, dtype=object), leaf)


def wrap(term: Term) -> str:
    """The term's text as an operand: bracketed unless it is an input."""
    return term.text if term.leaf else f"({term.text})"


def each(function, *arrays: np.ndarray) -> np.ndarray:
    """function applied element by element to object arrays, broadcast against each other (0-d too)."""
    return np.asarray(np.frompyfunc(function, len(arrays), 1)(*arrays), dtype=object)


def along(function, array: np.ndarray, axis: int | None) -> np.ndarray:
    """function of every 1-D slice along `axis` (a list of expressions), or of all the elements for
    None; a function that returns a list (softmax) keeps the axis, one that returns an expression
    (sum) drops it."""
    if axis is None:
        return np.asarray(function(list(array.ravel())), dtype=object)
    rows = np.moveaxis(array, axis, -1)
    results = {index: function(list(rows[index])) for index in np.ndindex(rows.shape[:-1])}
    keeps_axis = any(isinstance(result, list) for result in results.values())
    out = np.empty(rows.shape if keeps_axis else rows.shape[:-1], dtype=object)
    for index, result in results.items():
        if keeps_axis:
            out[index] = np.array(result, dtype=object)
        else:
            out[index] = result
    return np.moveaxis(out, -1, axis) if keeps_axis else out
