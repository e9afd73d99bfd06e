"""Reading `batch`'s points: JSON Lines (stdin or a file), a CSV file with a header, or a .npy file,
grouped into chunks of columns for graph/batch.py.

Lines are read as they become available, so output starts before input ends; every input line
gives exactly one row, a point or the error that says what is wrong with it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..graph.errors import BackpropError, InputError, NameError_
from ..graph.values import read_number
from .files import json_failure
from .render.text import warn

READ_SIZE = 1 << 16


class Chunk:
    """Up to --chunk input lines: the values of the good ones by column, and the bad ones' errors."""

    def __init__(self, columns: dict[str, list[float]]) -> None:
        self.lines: list[int] = []  # the line number of every row, in order
        self.columns = columns  # name -> values of the good rows
        self.errors: dict[int, BackpropError] = {}  # row index -> what was wrong

    def __len__(self) -> int:
        return len(self.lines)


def point_rows(points: Path | None, columns: str | None):
    """(line number, {name: value} or an error) for every input row, plus None whenever the input
    has no more data ready (so a chunk can be flushed while a pipe stays open)."""
    if points is None:
        return _jsonl_rows(sys.stdin.buffer)
    suffix = points.suffix.lower()
    if suffix == ".npy":
        return _npy_rows(points, columns)
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError(f"--points {points.name}: unknown kind of file", hint="use .jsonl, .csv or .npy")
    try:
        handle = open(points, "rb")  # noqa: SIM115 - the row generator closes it
    except OSError as failure:
        raise InputError(f"cannot read --points file {str(points)!r}: {failure.strerror}") from None
    return _csv_rows(handle) if suffix == ".csv" else _jsonl_rows(handle)


def _raw_lines(stream):
    """Complete lines (bytes) as they arrive on a binary stream; None after each read.
    read1 returns whatever is available (blocking only while nothing is), so a pipe that stays
    open is answered line by line."""
    pending = b""
    while True:
        data = stream.read1(READ_SIZE)
        if not data:
            break
        *complete, pending = (pending + data).split(b"\n")
        yield from complete
        yield None
    if pending.strip():
        yield pending


def _jsonl_rows(stream):
    number = 0
    try:
        for raw in _raw_lines(stream):
            if raw is None:
                yield None
                continue
            number += 1
            yield number, _parse_json_point(raw, number)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not a finite number")


def _parse_json_point(raw: bytes, number: int):
    try:
        point = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        return InputError(f"line {number} is not valid UTF-8")
    except (ValueError, RecursionError) as failure:
        text = raw.decode("utf-8", "replace").strip()
        return InputError(
            f"line {number} is not JSON: {json_failure(failure)}" if text else f"line {number} is empty"
        )
    if not isinstance(point, dict):
        return InputError(f'line {number} is not a JSON object of input values, such as {{"a": 7}}')
    return point


def _csv_rows(handle):
    """A header of input names, then one point per record (a record of another length is an error)."""
    from .files import csv_records

    with handle:
        records = csv_records(handle)
        first = next(records, None)
        if first is None:
            return
        if isinstance(first[1], InputError):
            raise InputError(f"cannot read the CSV header: {first[1].message}")
        header = [name.strip() for name in first[1]]
        for number, row in records:
            if isinstance(row, InputError):
                yield number, row
            elif len(row) != len(header):
                message = f"line {number} has {len(row)} value{'s' * (len(row) != 1)}, "
                message += f"but the header names {len(header)} columns"
                yield number, InputError(message, hint="give every line one value per column of the header")
            else:
                yield number, dict(zip(header, row))


def _npy_rows(path: Path, columns: str | None):
    from .files import load_npy

    try:
        array = load_npy(path, mmap=True)
    except (OSError, ValueError) as failure:
        raise InputError(
            f"cannot read --points {path.name} as .npy: {failure}",
            hint="object arrays are refused (allow_pickle=False)",
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
    """Group rows into Chunks of at most `size`, flushing early when the input has no more ready."""
    piece = Chunk(columns={name: [] for name in needed})
    warned: set[str] = set()
    for row in rows:
        if row is None:
            if len(piece):
                yield piece
                piece = Chunk(columns={name: [] for name in needed})
            continue
        number, point = row
        problem = point if isinstance(point, BackpropError) else _point_problem(point, needed, number)
        if problem is None:
            for name in point.keys() - needed - warned:
                warn(f"ignoring {name}: the program has no input of that name")
                warned.add(name)
        index = len(piece.lines)
        piece.lines.append(number)
        if problem is not None:
            piece.errors[index] = problem
        else:
            for name in needed:
                piece.columns[name].append(float(point[name]))
        if len(piece) >= size:
            yield piece
            piece = Chunk(columns={name: [] for name in needed})
    if len(piece):
        yield piece


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
            read_number(value)
        except ValueError as failure:
            return InputError(f"line {number}: the value of {name} {failure}: {str(value)[:40]!r}")
    return None
