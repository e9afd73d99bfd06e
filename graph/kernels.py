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
log2 = _unary(math.log2, "log2")
log10 = _unary(math.log10, "log10")
log1p = _unary(math.log1p, "log1p")
sinh = _unary(math.sinh, "sinh")
cosh = _unary(math.cosh, "cosh")
asin = _unary(math.asin, "arcsin")
acos = _unary(math.acos, "arccos")
atan = _unary(math.atan, "arctan")


def where(condition, if_true, if_false):
    """if_true where condition holds, else if_false (both already computed)."""
    if type(condition) is bool:
        return if_true if condition else if_false
    return numpy().where(condition, if_true, if_false)


def log_of_base(x):
    """ln x as the exponent's derivative of x**y needs it: ln x for x > 0, 0 at 0 (x**y is flat in y
    there, for y > 0), NaN below (undefined: reported only if the exponent needs a gradient)."""
    if type(x) is float:
        return math.log(x) if x > 0.0 else (0.0 if x == 0.0 else math.nan)
    np = numpy()
    positive = x > 0.0
    return np.where(positive, np.log(np.where(positive, x, 1.0)), np.where(x == 0.0, 0.0, np.nan))


WHOLE_POWERS = 4
"""x**n with a constant whole n, 2 ≤ |n| ≤ WHOLE_POWERS, is computed on a plain array by
multiplications: 10–60× faster than np.power on 10⁶ points (which has a fast path for n = 2 only),
and within 3 ulp of math.pow, its slope within 4 (measured; each further factor adds about half an
ulp, so the bound stops here: graph/batch.py's FAST_ULPS)."""


def whole_exponent(y) -> int | None:
    """n when y is a float whole number with 2 ≤ |n| ≤ WHOLE_POWERS, else None."""
    if type(y) is float and y.is_integer() and 2.0 <= abs(y) <= WHOLE_POWERS:
        return int(y)
    return None


def _multiplied(x, n: int):
    """x**n for a whole n ≠ 0 by multiplications: x·x·…, and 1 / (x·x·…) for a negative n."""
    out = x
    for _ in range(abs(n) - 1):
        out = out * x
    return out if n > 0 else 1.0 / out


def _fast(x) -> bool:
    """A plain float64 array: NumPy's own kernels may run on it (a batch's exact LibmArray may not)."""
    return type(x) is not float and type(x) is numpy().ndarray


def power(x, y):
    """x**y; on a plain array with a small whole constant y, by multiplications (WHOLE_POWERS).
    Floats keep Python's `**` (micrograd's values, bit for bit)."""
    if type(y) is float and _fast(x):
        n = whole_exponent(y)
        if n is not None:
            return _multiplied(x, n)
    return x**y


def power_slope(x, y):
    """∂(x**y)/∂x = y·x^(y−1), and 0 wherever y = 0: x⁰ is flat, even at x = 0 where x^(−1) is not
    finite (chosen element by element, so `x ** [0, 1]` at 0 has the slope [0, 1])."""
    if type(y) is float:
        n = whole_exponent(y) if _fast(x) else None
        if n is not None:  # n·x^(n−1), multiplied out as power does
            return y * (x if n == 2 else _multiplied(x, n - 1))
        return y * x ** (y - 1.0) if y != 0.0 else 0.0 * x
    np = numpy()
    return np.where(y != 0.0, y * np.power(x, y - 1.0), 0.0)


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
    np = numpy()
    with np.errstate(all="ignore"):  # a NaN or an infinity anywhere makes the sum one: one pass, no
        if math.isfinite(np.add.reduce(x, axis=None)):  # array of bools (overflow: scanned below)
            return True
    return bool(np.isfinite(x).all())


# ------------------------------------------------------------------------------------------------
# Tensors. A value is a float (a scalar) or a float64 ndarray of one or more dimensions; these
# helpers keep that rule: a result with no dimensions left is returned as a float.
# ------------------------------------------------------------------------------------------------


def shape(x) -> tuple[int, ...]:
    return () if type(x) is float else x.shape


def size(x) -> int:
    """How many elements a value has (1 for a scalar)."""
    return 1 if type(x) is float else int(x.size)


def scalar_or_array(x):
    """A NumPy result as a value: a float when it has no dimensions."""
    np = numpy()
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64)


def like(gradient, value):
    """A gradient in the kind of its value: a float for a float."""
    return float(gradient) if type(value) is float else gradient


def sum_to(gradient, target_shape: tuple[int, ...]):
    """Undo broadcasting: sum a gradient down to the shape of the input it belongs to."""
    np = numpy()
    gradient = np.asarray(gradient)
    extra = gradient.ndim - len(target_shape)
    if extra > 0:
        gradient = gradient.sum(axis=tuple(range(extra)))
    squeezed = tuple(i for i, size in enumerate(target_shape) if size == 1 and gradient.shape[i] != 1)
    if squeezed:
        gradient = gradient.sum(axis=squeezed, keepdims=True)
    return gradient.reshape(target_shape)


def stack(elements):
    """[x, y, …]: the elements, all of one shape, stacked along a new first axis."""
    stack_shape([shape(element) for element in elements])
    return numpy().array(elements, dtype=numpy().float64)


def take(x, subscripts):
    """x[i, j, …] with whole-number subscripts (negative ones count from the end)."""
    take_shape(shape(x), subscripts)
    return scalar_or_array(x[tuple(int(subscript) for subscript in subscripts)])


def untake(gradient, x, subscripts):
    """The gradient of x[i, j, …]: g at that place, zeros elsewhere."""
    np = numpy()
    result = np.zeros(x.shape)
    result[tuple(int(s) for s in subscripts)] = gradient
    return result


def matmul(x, y):
    """x @ y with NumPy's rules for vectors and matrices."""
    matmul_shape(shape(x), shape(y))
    return scalar_or_array(numpy().matmul(x, y))


def matmul_vjp(g, x, y, wants=(True, True)):
    """Gradients of x @ y: g @ yᵀ and xᵀ @ g, with vectors treated as a row (x) and a column (y);
    None for a side not in `wants` (a data matrix X: its g @ yᵀ is the step's largest product)."""
    np = numpy()
    if x.ndim == 2 and y.ndim == 1:  # matrix @ vector (X @ w): an outer product, and g @ X as a
        gx = np.multiply.outer(g, y) if wants[0] else None  # vector (1.6× faster than as matrices)
        return gx, (g @ x if wants[1] else None)
    x2 = x[np.newaxis, :] if x.ndim == 1 else x
    y2 = y[:, np.newaxis] if y.ndim == 1 else y
    g2 = np.asarray(g, dtype=np.float64)
    if y.ndim == 1:  # put back the column that y's vector removed, then the row that x's did
        g2 = g2[..., np.newaxis]
    if x.ndim == 1:
        g2 = g2[..., np.newaxis, :]
    gx = sum_to(g2 @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape) if wants[0] else None
    gy = sum_to(np.swapaxes(x2, -1, -2) @ g2, y2.shape).reshape(y.shape) if wants[1] else None
    return gx, gy


def transpose(x):
    return x if type(x) is float else x.T


def _axis(x, axis) -> int:
    return axis_of(shape(x), axis)


def total(x, axis=None):
    """Σ x over every element, or along one axis."""
    if axis is None:
        return x if type(x) is float else float(x.sum())
    a = _axis(x, axis)  # first: a scalar has no axis (and no .sum)
    return scalar_or_array(x.sum(axis=a))


def count(x, axis=None) -> int:
    """How many elements `total` adds up."""
    dims = shape(x)
    return math.prod(dims) if axis is None else dims[_axis(x, axis)]


def spread(g, x, axis=None):
    """The gradient of a sum: g copied back to every element that was added."""
    np = numpy()
    if type(x) is float:
        return float(g)
    if axis is None:
        return np.full(x.shape, float(g))
    return np.broadcast_to(np.expand_dims(g, _axis(x, axis)), x.shape)


def logsumexp(x, keepdims: bool = False):
    """log Σ e^x along the last axis, computed without overflow."""
    if type(x) is float:
        return x
    top = x.max(axis=-1, keepdims=True)
    result = top + _log_sum_shifted(x - top)
    return result if keepdims else scalar_or_array(result[..., 0])


def softmax(x):
    """e^x / Σ e^x along the last axis: e^(x − max − log Σ e^(x − max)), shifted first so that
    inputs near 1e9 keep every digit (x − logsumexp(x) would round at their scale)."""
    if type(x) is float:
        return 1.0
    return numpy().exp(log_softmax(x))


def log_softmax(x):
    """x − logsumexp(x) along the last axis, as (x − max) − log Σ e^(x − max)."""
    if type(x) is float:
        return 0.0
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - _log_sum_shifted(shifted)


def _log_sum_shifted(shifted):
    """log Σ e^shifted along the last axis (kept), for `shifted` whose largest element is 0."""
    np = numpy()
    return np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sum_last(x):
    """Σ along the last axis, keeping it (for broadcasting back)."""
    return x if type(x) is float else x.sum(axis=-1, keepdims=True)


def expand_last(g, x):
    """A gradient of a last-axis reduction, with that axis put back for broadcasting."""
    np = numpy()
    return g if type(x) is float else np.expand_dims(g, -1)


# -- Shapes: each tensor kernel's checks, on shapes alone, for the shape pass (graph/shapes.py) ------

MAX_DIMENSIONS = 32
"""The most axes a tensor may have: NumPy's reductions and ufuncs take no more."""


def broadcast_shape(shapes, operation: str) -> tuple[int, ...]:
    """The shape elementwise `operation` gives inputs of these shapes (NumPy's broadcasting)."""
    from .errors import ShapeError

    rank = max(len(dims) for dims in shapes)
    result = []
    for axis in range(-rank, 0):
        sizes = {dims[axis] for dims in shapes if len(dims) >= -axis} - {1}
        if len(sizes) > 1:
            described = " and ".join(describe_shape(dims) for dims in shapes)
            raise ShapeError(
                f"{described} do not broadcast for {operation}",
                hint="make the shapes equal, or broadcastable (NumPy rules)",
            )
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def stack_shape(shapes) -> tuple[int, ...]:
    """The shape of [x, y, …] from its items' shapes, which must be equal."""
    from .errors import ShapeError

    first = shapes[0]
    for position, dims in enumerate(shapes[1:], start=2):
        if dims != first:
            failure = ShapeError(
                f"the items of a list must all have one shape: item {position} {_has(dims)}, item 1 {_has(first)}",
                hint="every row of a matrix needs the same number of elements",
            )
            failure.position = position  # which item, so the parser can point at it
            raise failure
    if len(first) >= MAX_DIMENSIONS:
        raise ShapeError(
            f"a list nested {len(first) + 1} deep would have {len(first) + 1} axes; a tensor has at most {MAX_DIMENSIONS}",
            hint="nest lists at most 32 deep",
        )
    return (len(shapes), *first)


def take_shape(dims: tuple[int, ...], subscripts) -> tuple[int, ...]:
    """The shape of x[i, j, …], checking each subscript against its axis."""
    from .errors import ShapeError

    if len(subscripts) > len(dims):
        raise ShapeError(f"{len(subscripts)} subscripts for a value that {_has(dims)}")
    for axis, subscript in enumerate(subscripts):
        i = int(subscript)
        if not -dims[axis] <= i < dims[axis]:
            raise ShapeError(f"index {i} is out of range for axis {axis} of size {dims[axis]}")
    return dims[len(subscripts) :]


def matmul_shape(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of x @ y (NumPy's matmul: a vector on the left is a row, on the right a column)."""
    from .errors import ShapeError

    if not x or not y:
        raise ShapeError("@ needs a vector or matrix on each side, not a scalar (use * to scale)")
    if x[-1] != y[-2 if len(y) > 1 else 0]:
        raise ShapeError(f"the inner sizes of {describe_shape(x)} @ {describe_shape(y)} differ")
    stacks = broadcast_shape([x[:-2], y[:-2]], "@") if len(x) > 2 or len(y) > 2 else ()
    return (*stacks, *x[-2:-1], *y[-1:][: len(y) - 1])


def axis_of(dims: tuple[int, ...], axis) -> int:
    """A reduction's axis, checked against the shape."""
    from .errors import ShapeError

    a = int(axis)
    if not -len(dims) <= a < len(dims):
        raise ShapeError(f"axis {a} is out of range for a value that {_has(dims)}")
    return a


def reduced_shape(dims: tuple[int, ...], axis=None) -> tuple[int, ...]:
    """The shape of sum(x) (a scalar) or sum(x, axis) (that axis gone)."""
    if axis is None:
        return ()
    a = axis_of(dims, axis) % len(dims)
    return dims[:a] + dims[a + 1 :]


def _has(dims: tuple[int, ...]) -> str:
    return "is a scalar" if not dims else f"has {describe_shape(dims)}"


def describe_shape(dims: tuple[int, ...]) -> str:
    return "a scalar" if not dims else f"shape ({', '.join(map(str, dims))}{',' if len(dims) == 1 else ''})"
