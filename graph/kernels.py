"""Elementwise math that works on a Python float or a NumPy array.

Scalar programs run on plain floats and the `math` module, so NumPy is imported only when an
array actually reaches one of these functions.
"""

from __future__ import annotations

import math
from typing import Any


def numpy() -> Any:
    """The numpy module, imported on first use."""
    import numpy as np

    return np


def _unary(scalar_fn, array_name: str):
    def apply(x):
        if type(x) is float:
            return scalar_fn(x)
        return getattr(numpy(), array_name)(x)

    apply.__name__ = array_name
    return apply


exp = _unary(math.exp, "exp")
log = _unary(math.log, "log")
sqrt = _unary(math.sqrt, "sqrt")
sin = _unary(math.sin, "sin")
cos = _unary(math.cos, "cos")
tan = _unary(math.tan, "tan")
tanh = _unary(math.tanh, "tanh")


def where(condition, if_true, if_false):
    """if_true where condition holds, else if_false (both already computed)."""
    if type(condition) is bool:
        return if_true if condition else if_false
    return numpy().where(condition, if_true, if_false)


def sign(x):
    """-1, 0 or 1; sign(0) = 0."""
    if type(x) is float:
        return (x > 0.0) - (x < 0.0) + 0.0
    return numpy().sign(x)


def any_true(condition) -> bool:
    """True if the condition holds anywhere (a bool, or any element of a bool array)."""
    if type(condition) is bool:
        return condition
    return bool(condition.any())


def is_integer(x) -> bool:
    """True if x (every element of x) is a whole number."""
    if type(x) is float:
        return x.is_integer()
    np = numpy()
    return bool(np.all(np.mod(x, 1.0) == 0.0))


def is_finite(x) -> bool:
    """True if x (every element of x) is neither infinite nor NaN."""
    if type(x) is float:
        return math.isfinite(x)
    return bool(numpy().isfinite(x).all())
