"""Reading a chunk of `batch`'s points at once, in C, where they allow it: a JSON line or CSV record
of exactly the inputs needed, each a finite number, as almost all are. Every test here is one
that the one-by-one reading in cli/points.py would pass (a key twice, a string, `true`, a number
not finite: any of them sends the rows back to it, which gives each bad line its exact error).
"""

from __future__ import annotations

import json
from functools import cache
from itertools import chain
from operator import itemgetter

from ..graph.kernels import numpy


def quick_chunk(rows: list, names: list[str]) -> list | None:
    """The rows' values as float64 columns, one a name, when every row is a JSON line of exactly
    the needed names, each a finite number; else None. As quick_points, a row at a time in C: the
    chunk's quotes are counted at once (each row holds all the names, so a count of two a name
    means no other key, no key twice and no string), and so are its `true`s and `false`s."""
    np = numpy()
    if not names:
        return None
    try:
        raws = [raw for _number, raw in rows]
        joined = b"".join(raws)  # TypeError if a row is an error already
        if joined.count(b'"') != 2 * len(names) * len(rows) or b"true" in joined or b"false" in joined:
            return None
        points = list(map(_fast_loads(), raws))
        # float() of each value: a list or an object among them raises, null is NaN
        columns = [np.fromiter(map(itemgetter(name), points), np.float64, len(points)) for name in names]
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError, MemoryError):
        return None  # a line that is not JSON, not an object of them, or holds a list or object
    return columns if all(np.isfinite(column).all() for column in columns) else None


def quick_text_chunk(rows: list, names: list[str], needed: set[str]):
    """The rows' values as float64 columns when every row is a CSV record of exactly the needed
    names, each a finite number as read_number_text reads it (float() on ASCII text without an
    underscore); else None, and the rows are read one by one."""
    np = numpy()
    try:
        points = [point for _number, point in rows]
        if not names or set(map(len, points)) != {len(names)} or points[0].keys() != needed:
            return None
        texts = list(
            chain.from_iterable(map(itemgetter(*names), points))
            if len(names) > 1
            else map(itemgetter(names[0]), points)
        )
        joined = "".join(texts)  # TypeError unless every value is text
        if "_" in joined or not joined.isascii():
            return None
        table = np.array(list(map(float, texts)), dtype=np.float64)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not np.isfinite(table).all():
        return None
    table = table.reshape(len(rows), len(names))
    return [table[:, i] for i in range(len(names))]


def quick_points(rows: list, names: list[str], needed: set[str]) -> list:
    """For each row, its values in `names` order when it is a JSON line of exactly the needed
    names, each a finite number, read with one fast decoder; None for every other row, which is
    read one by one with its exact error. A key given twice, a string or `true` anywhere sends
    the row the slow way; so does every row of a chunk whose numbers are not all finite floats."""
    np = numpy()
    if not names:
        return [None] * len(rows)
    loads, count = _fast_loads(), 2 * len(names)
    take = itemgetter(*names) if len(names) > 1 else (lambda point: (point[names[0]],))
    quick: list = []
    for _number, raw in rows:
        point = None
        if type(raw) is bytes and raw.count(b'"') == count and b"true" not in raw and b"false" not in raw:
            try:
                point = loads(raw)
            except (ValueError, RecursionError, MemoryError):
                pass
        # only the needed names' quotes: no key twice, no string, no other name
        quick.append(take(point) if type(point) is dict and point.keys() == needed else None)
    numbers = [row for row in quick if row is not None]
    if numbers:
        try:
            table = np.array(numbers, dtype=np.float64)
            finite = table.shape == (len(numbers), len(names)) and bool(np.isfinite(table).all())
        except (ValueError, TypeError, OverflowError):  # a list or object among the values
            finite = False
        if finite:
            return quick
    return [None] * len(rows)


@cache
def _fast_loads():
    """orjson.loads (a dependency: 4× json's, on bytes), or the standard library's where it is
    missing; NaN, Infinity and a key twice get through the latter, and are caught after it."""
    try:
        import orjson

        return orjson.loads
    except ImportError:
        decode = json.JSONDecoder().decode
        return lambda raw: decode(raw.decode("utf-8"))
