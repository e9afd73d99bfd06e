"""What an input value may be: a float (a scalar) or a float64 NumPy array of one or more dimensions.

`as_value` turns what a user or a caller hands over (a number, nested lists, an array) into one,
and refuses anything else with an InputError that says where: ragged or empty lists, booleans,
strings, NaN and infinity. NumPy is imported only for a list or an array, so scalars cost nothing.
"""

from __future__ import annotations

import math

from .errors import InputError
from .kernels import is_finite, numpy, shape

MAX_DIMENSIONS = 32
"""Deeper nesting is refused (NumPy itself stops at 64 dimensions)."""

_NUMERIC_KINDS = "iuf"  # signed and unsigned integers, floats: the dtypes an array may have


def as_value(name: str, raw: object, how: str | None = None):
    """A number → float; nested lists or tuples of numbers, or an array → float64 ndarray (a float64
    array is used as it is, not copied: nothing here or in the engine writes into an input).

    `how` says where the value came from (`--W`, `@W.csv`) for the error messages."""
    if type(raw) is float and math.isfinite(raw):  # the common case, before any words are made
        return raw
    import numbers  # here, not at the top: scalar start-ups never need it

    subject = f"the value of {name}" + (f" ({how})" if how else "")
    if isinstance(raw, (list, tuple)):
        return _from_lists(name, raw, subject)
    if hasattr(raw, "__array__") and hasattr(raw, "dtype"):
        return _from_array(name, raw, subject)
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise InputError(
            f"{subject} must be a number, nested lists of numbers or an array, not {_describe(raw)}"
        )
    return _element(raw, subject, None)


NOT_A_NUMBER, NOT_FINITE = "is not a number", "is not finite"


def read_number(raw: str | float) -> float:
    """A number, or one written as text (`2.5`, ` 1e-3 `), as a finite float: what every typed
    or read scalar must be. Raises ValueError(NOT_A_NUMBER or NOT_FINITE), for the caller to word."""
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise ValueError(NOT_A_NUMBER) from None
    if not math.isfinite(value):
        raise ValueError(NOT_FINITE)
    return value


def _element(item: object, subject: str, where: str | None) -> float:
    """One number as a finite float; `where` names its place in a list (None for a scalar)."""
    import numbers

    place = f"{subject}: {where}" if where else subject
    if isinstance(item, bool) or not isinstance(item, numbers.Real):
        raise InputError(f"{place} is {_describe(item)}, not a number")
    try:
        value = float(item)
    except OverflowError:
        raise InputError(f"{place} is too large for a float64: {str(item)[:40]}") from None
    if not math.isfinite(value):
        raise InputError(
            f"{place} is not finite ({value})", hint="NaN and infinity are refused; give finite numbers"
        )
    return value


def _from_lists(name: str, data: list | tuple, subject: str):
    """Nested lists → an array, one nesting level at a time (no recursion, however deep)."""
    np = numpy()
    dims: list[int] = []
    level: list = [data]  # every item at the current depth, in row-major order
    while all(isinstance(item, (list, tuple)) for item in level):
        size = len(level[0])
        for position, item in enumerate(level):
            if len(item) != size:
                raise _ragged(name, subject, dims, position, len(item), size)
        if size == 0:
            where = "it is an empty list" if not dims else f"{_where(name, dims, 0)} is an empty list"
            raise InputError(
                f"{subject} has no elements: {where}", hint="give at least one number in every list"
            )
        dims.append(size)
        if len(dims) > MAX_DIMENSIONS:
            raise InputError(f"{subject} is nested more than {MAX_DIMENSIONS} lists deep")
        level = [element for item in level for element in item]
    if set(map(type, level)) <= {float, int}:  # the common case, at NumPy speed
        try:
            array = np.array(level, dtype=np.float64)
        except OverflowError:  # an integer too large for a float64: the loop below says which
            array = None
        if array is not None and np.isfinite(array).all():
            return array.reshape(dims)
    for position, item in enumerate(level):  # find the element at fault, or convert the unusual kinds
        if isinstance(item, (list, tuple)):
            number_at = next(i for i, other in enumerate(level) if not isinstance(other, (list, tuple)))
            raise InputError(
                f"{subject} mixes numbers and lists: {_where(name, dims, position)} is a list, "
                f"{_where(name, dims, number_at)} is a number",
                hint="every element of a list must have the same shape",
            )
        level[position] = _element(item, subject, _where(name, dims, position))
    return np.array(level, dtype=np.float64).reshape(dims)


def _ragged(name: str, subject: str, dims: list[int], position: int, count: int, expected: int) -> InputError:
    if len(dims) == 1:  # the rows of a matrix: counted from 1, as people count rows
        where = f"row {position + 1} of {name} has {count} element{'s' if count != 1 else ''}, row 1 has {expected}"
    else:
        first = _where(name, dims, 0)
        where = f"{_where(name, dims, position)} has {count} element{'s' if count != 1 else ''}, {first} has {expected}"
    return InputError(f"{subject} is ragged: {where}", hint="every row must have the same number of elements")


def _where(name: str, dims: list[int], position: int) -> str:
    """The place of the `position`-th item of a level whose outer sizes are `dims`: W[1, 0]."""
    index = []
    for size in reversed(dims):
        position, i = divmod(position, size)
        index.append(i)
    return f"{name}[{', '.join(str(i) for i in reversed(index))}]"


def _from_array(name: str, raw: object, subject: str):
    np = numpy()
    array = np.asarray(raw)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise InputError(
            f"{subject} is an array of {array.dtype}, not of numbers",
            hint="give an array of integers or floats (booleans, complex numbers and objects are refused)",
        )
    if array.ndim == 0:
        return _element(array.item(), subject, None)
    if array.size == 0:
        raise InputError(f"{subject} has no elements: its shape is {tuple(array.shape)}")
    if array.ndim > MAX_DIMENSIONS:
        raise InputError(f"{subject} has more than {MAX_DIMENSIONS} dimensions")
    with np.errstate(over="ignore"):  # a uint64 or float128 too large for float64 becomes inf, refused below
        value = np.asarray(array, dtype=np.float64)
    if not is_finite(value):  # one pass; where the first bad element is, only when there is one
        finite = np.isfinite(value)
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = f"{name}[{', '.join(map(str, index))}]"
        raise InputError(
            f"{subject}: {where} is not finite ({value[index]})",
            hint="NaN and infinity are refused; give finite numbers",
        )
    return value


def _describe(item: object) -> str:
    if isinstance(item, bool):
        return "a boolean"
    if item is None:
        return "null (None)"
    if isinstance(item, (list, tuple)):
        return "a list"
    if isinstance(item, dict):
        return "an object"
    if isinstance(item, str):
        return f"the text {item[:40]!r}"
    return repr(item)[:40]


# -- how a value is written: the one formatter of every table, trace, drawing and message -------

MAX_DIGITS = 17  # a float64 reads back exactly from 17 significant digits: more only shows noise (--digits)
SCALAR_DIGITS = 6  # significant digits of a scalar, and of every element with `full` (--digits: set_digits)
COMPACT_ELEMENTS = 12
"""A tensor of at most this many elements is written on one line; a larger one as its shape and
min/mean/max (--full prints every tensor whole after the tables)."""
COMPACT_DIGITS = 4  # significant digits of a tensor's elements on one line


_digits = SCALAR_DIGITS  # what this run writes: the command line's --digits, else SCALAR_DIGITS


def set_digits(digits: int) -> int:
    """Write scalars (and tensors' elements with `full`) to `digits` significant digits from now
    on; a one-line tensor's elements to at most COMPACT_DIGITS. Returns the setting it replaces."""
    global _digits
    previous, _digits = _digits, digits
    return previous


def scalar_digits() -> int:
    """The significant digits a scalar is written to (6 unless --digits said otherwise)."""
    return _digits


def value_text(value, full: bool = False) -> str:
    """A value for people. A scalar: 6 significant digits (scalar_digits()). A tensor of at most
    COMPACT_ELEMENTS elements: on one line, elements to 4 significant digits and aligned,
    `[[-4, -8], [ 4,  8]]`; a larger one: `shape (1000, 1000) · min … · mean … · max …`. With
    `full`, every element of any tensor to 6 digits, one row per line."""
    if isinstance(value, float):  # a NumPy float64 too
        return f"{value + 0.0:.{_digits}g}"  # + 0.0: never -0
    if full:
        return _nested(value, _digits, one_line=False)
    compact = min(_digits, COMPACT_DIGITS)  # a summary stays narrow; fewer digits when asked
    if value.size <= COMPACT_ELEMENTS:
        return _nested(value, compact, one_line=True)
    low, mean, high = (f"{stat + 0.0:.{compact}g}" for stat in summary(value))
    return f"shape {shape_text(value)} · min {low} · mean {mean} · max {high}"


def summary(value) -> tuple[float, float, float]:
    """(min, mean, max) of a tensor, finite for finite elements."""
    low, high = float(value.min()), float(value.max())
    largest = max(abs(low), abs(high))
    with numpy().errstate(all="ignore"):  # the mean of finite values can overflow: scale it first
        mean = (
            float((value / largest).mean()) * largest if 0.0 < largest < float("inf") else float(value.mean())
        )
    return low, mean, high


def exact_text(value) -> str:
    """A value where the exact number matters (an error message): a scalar as the shortest text
    that reads back as the same float (2.9999999999999996, not 3); a tensor as value_text."""
    if isinstance(value, float):
        short = f"{value + 0.0:g}"  # never -0
        return short if float(short) == value else repr(value + 0.0)
    return value_text(value)


def shape_text(value) -> str:
    """`(2, 2)`, `(3,)`, or `scalar`."""
    dims = shape(value)
    if not dims:
        return "scalar"
    return f"({', '.join(map(str, dims))}{',' if len(dims) == 1 else ''})"


def _nested(array, digits: int, one_line: bool) -> str:
    """Brackets as NumPy nests them, elements right-aligned to one width."""
    texts = [f"{element + 0.0:.{digits}g}" for element in array.flat]
    width = max(map(len, texts))
    texts = [text.rjust(width) for text in texts]
    dims = array.shape

    def block(start: int, axis: int) -> str:
        """The sub-array that starts at flat position `start`, from `axis` inwards."""
        if axis == len(dims) - 1:
            return "[" + ", ".join(texts[start : start + dims[axis]]) + "]"
        stride = len(texts) // math.prod(dims[: axis + 1])
        separator = ", " if one_line else ",\n" + " " * (axis + 1)
        return "[" + separator.join(block(start + i * stride, axis + 1) for i in range(dims[axis])) + "]"

    return block(0, 0)
