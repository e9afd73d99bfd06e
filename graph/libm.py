"""The exact path of a batch (`batch --exact`, evaluate_columns(exact=True)): arrays whose elementary
functions are the C library's, one element at a time, as `eval` computes them on floats, so that a
point's value and gradients are eval's bit for bit (~0.1 µs an element a function; NumPy's own
kernels, the fast path, take ~2 ns and differ in the last bits: graph/batch.py's FAST_ULPS)."""

from __future__ import annotations

import math
from functools import cache

from . import kernels


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
def libm_array():
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
