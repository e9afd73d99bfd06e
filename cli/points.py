"""Reading `batch`'s points: JSON Lines (stdin or a file), a CSV file with a header, or a .npy file,
grouped into chunks of columns for graph/batch.py.

Lines are read as they become available, so that output starts before input ends, and in pieces
of bounded size: a line longer than --max-line-bytes is an error in its place, never held whole. Every
input line gives exactly one row, a point or the error that says what is wrong with it, except
blank CSV lines, which are skipped as in a .csv value; the line numbers stay those of the input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..graph.errors import BackpropError, InputError, LimitError, NameError_
from ..graph.values import read_number
from .files import (
    LONG_LINE,
    JsonValueError,
    bounded_lines,
    csv_records,
    json_failure,
    json_integer,
    load_npy,
    read_number_text,
    unique_object,
)
from .render.text import warn


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not a finite number")


JSON_POINTS = json.JSONDecoder(
    object_pairs_hook=unique_object, parse_int=json_integer, parse_constant=_refuse_constant
)
"""files.JSON for batch's lines, where NaN and Infinity are refused as they are parsed."""


class Chunk:
    """Up to --chunk input lines: the values of the good ones by column, and the bad ones' errors."""

    def __init__(self, columns: dict[str, list[float]]) -> None:
        self.lines: list[int] = []  # the line number of every row, in order
        self.columns = columns  # name -> values of the good rows
        self.errors: dict[int, BackpropError] = {}  # row index -> what was wrong

    def __len__(self) -> int:
        return len(self.lines)


def point_rows(points: Path | None, columns: str | None, max_line: int):
    """(line number, {name: value} or an error) for every input row, plus None whenever the input
    has no more data ready (so a chunk can be flushed while a pipe stays open)."""
    if points is None:
        if sys.stdin is None:  # started with standard input closed (`<&-`)
            raise InputError(
                "standard input is closed: there are no points to read",
                hint="give the points with --points FILE, or pipe them in as JSON Lines",
            )
        return _jsonl_rows(sys.stdin.buffer, max_line, close=False)
    suffix = points.suffix.lower()
    if suffix == ".npy":
        return _npy_rows(points, columns)
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError(f"--points {points.name}: unknown kind of file", hint="use .jsonl, .csv or .npy")
    try:
        handle = open(points, "rb")  # noqa: SIM115 - the row generator closes it
    except OSError as failure:
        raise InputError(f"cannot read --points file {str(points)!r}: {failure.strerror}") from None
    return _csv_rows(handle, max_line) if suffix == ".csv" else _jsonl_rows(handle, max_line, close=True)


def _long_line_hint(limit: int) -> str:
    return f"raise the limit with --max-line-bytes (now {limit:,}), or split the line: one point a line"


def _jsonl_rows(stream, limit: int, close: bool):
    number = 0
    try:
        for raw in bounded_lines(stream, limit):
            if raw is None:
                yield None
                continue
            number += 1
            if raw is LONG_LINE:
                message = f"line {number} is longer than the limit of {limit:,} bytes"
                yield number, LimitError(message, hint=_long_line_hint(limit))
            else:
                yield number, _parse_json_point(raw, number)
    except OSError as failure:  # a directory, a device that refuses reads
        raise InputError(
            f"cannot read the points after line {number}: {failure.strerror or failure}"
        ) from None
    finally:
        if close:
            stream.close()


def _parse_json_point(raw: bytes, number: int):
    try:
        text = raw.decode("utf-8")
        point = JSON_POINTS.decode(text.removeprefix("\ufeff") if number == 1 else text)
    except UnicodeDecodeError:
        return InputError(f"line {number} is not valid UTF-8")
    except JsonValueError as failure:
        return InputError(f"line {number}: {failure}")
    except (ValueError, RecursionError) as failure:
        if not text.strip():
            return InputError(f"line {number} is empty")
        return InputError(f"line {number} is not JSON: {json_failure(failure)}")
    except MemoryError:
        return LimitError(
            f"line {number}: the machine ran out of memory reading it ({len(raw):,} bytes)",
            hint="lower --max-line-bytes, so that such a line is refused before it is parsed",
        )
    if not isinstance(point, dict):
        return InputError(f'line {number} is not a JSON object of input values, such as {{"a": 7}}')
    return point


def _csv_rows(handle, limit: int):
    with handle:
        try:
            yield from _csv_points(handle, limit)
        except OSError as failure:  # a disk that fails under the file
            raise InputError(f"cannot read the points: {failure.strerror or failure}") from None


def _csv_points(handle, limit: int):
    """A header of input names (its first non-blank line), then one point per record; a record of
    another length is an error, a blank one is skipped."""
    header: list[str] | None = None
    for number, row in csv_records(handle, limit, _long_line_hint(limit)):
        if isinstance(row, BackpropError):
            if header is None:
                row.message = f"cannot read the CSV header: {row.message}"
                raise row
            yield number, row
        elif not row or (not row[0].strip() and not any(field.strip() for field in row)):
            continue  # a blank line
        elif header is None:
            header = _csv_header(row)
        elif len(row) != len(header):
            message = f"line {number} has {len(row)} value{'s' * (len(row) != 1)}, "
            message += f"but the header names {len(header)} columns"
            yield number, InputError(message, hint="give every line one value per column of the header")
        else:
            yield number, dict(zip(header, row))


def _csv_header(fields: list[str]) -> list[str]:
    """The input names of a CSV header; a name given twice is an error (not the last one winning)."""
    header = [name.strip() for name in fields]
    seen: dict[str, int] = {}
    for column, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(
                f"the CSV header names {name!r} twice (columns {seen[name]} and {column})",
                hint="name each input once",
            )
        seen[name] = column
    return header


def _npy_rows(path: Path, columns: str | None):
    try:
        array = load_npy(path, f"--points {path.name}", None, mmap=True, fields=True)
    except (OSError, ValueError) as failure:
        raise InputError(
            f"cannot read --points {path.name} as .npy: {failure}",
            hint="give a 2-D array of numbers with --columns, or a structured array of one number a field "
            "(object arrays are refused: allow_pickle=False)",
        ) from None
    if array.dtype.names:
        names = list(array.dtype.names)
        get = lambda row, i: row[names[i]]  # noqa: E731
        rows = array.reshape(-1)
    else:
        if array.ndim != 2 or not columns:
            raise InputError(
                f"--points {path.name}: a plain .npy must be 2-D, with --columns naming its columns",
                hint="e.g. --columns a,b,c",
            )
        names = [name.strip() for name in columns.split(",")]
        if len(names) != array.shape[1]:
            raise InputError(f"--columns names {len(names)} columns; {path.name} has {array.shape[1]}")
        get = lambda row, i: row[i]  # noqa: E731
        rows = array
    for number, row in enumerate(rows, start=1):
        yield number, {name: float(get(row, i)) for i, name in enumerate(names)}


def chunks(rows, size: int, needed: set[str]):
    """Group rows into Chunks of at most `size`, flushing early when the input has no more ready;
    at the end, one warning for every name given that is not an input."""
    piece = Chunk(columns={name: [] for name in needed})
    unknown = _UnknownNames()
    for row in rows:
        if row is None:
            if len(piece):
                yield piece
                piece = Chunk(columns={name: [] for name in needed})
            continue
        number, point = row
        problem = point if isinstance(point, BackpropError) else _point_problem(point, needed, number)
        index = len(piece.lines)
        piece.lines.append(number)
        if problem is not None:
            piece.errors[index] = problem
        else:
            if len(point) > len(needed):  # every input is there, so some key is not one
                unknown.add(point, needed)
            for name in needed:
                piece.columns[name].append(float(point[name]))
        if len(piece) >= size:
            yield piece
            piece = Chunk(columns={name: [] for name in needed})
    if len(piece):
        yield piece
    unknown.warn()


class _UnknownNames:
    """The names given that are not inputs of the program, in the order first seen, for one warning
    (a warning a name printed 65 MB for a line of 10⁶ keys). At most CAP are remembered."""

    SHOWN, CAP = 5, 100_000

    def __init__(self) -> None:
        self.names: dict[str, None] = {}
        self.more = False  # more distinct names than CAP

    def add(self, point: dict, needed: set[str]) -> None:
        for name in point:
            if name not in needed and name not in self.names:
                if len(self.names) >= self.CAP:
                    self.more = True
                    return
                self.names[name] = None

    def warn(self) -> None:
        count = len(self.names)
        if count == 1:
            warn(f"ignoring {next(iter(self.names))}: the program has no input of that name")
        elif count:
            shown = ", ".join(list(self.names)[: self.SHOWN]) + (", …" if count > self.SHOWN else "")
            many = f"more than {count:,}" if self.more else f"{count:,}"
            warn(f"ignoring {many} names that are not inputs of the program: {shown}")


def _point_problem(point: dict, needed: set[str], number: int) -> BackpropError | None:
    missing = sorted(needed - point.keys())
    if missing:
        return NameError_(
            f"line {number}: no value for {', '.join(missing)}",
            hint="every line needs a value for every input",
        )
    for name in needed:
        value = point[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return InputError(
                f"line {number}: the value of {name} must be a number, not {json.dumps(value)[:40]}"
            )
        try:
            read_number_text(value) if isinstance(value, str) else read_number(value)
        except ValueError as failure:
            return InputError(f"line {number}: the value of {name} {failure}: {str(value)[:40]!r}")
    return None
