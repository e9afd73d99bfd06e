"""Reading `batch`'s points: JSON Lines (stdin or a file), a CSV file with a header, a .npy or a
.parquet file (cli/parquet_points.py), grouped into chunks of columns for graph/batch.py.

Lines are read as they become available, so that output starts before input ends, and in pieces
of bounded size: a line longer than --max-line-bytes is an error in its place, never held whole. Every
input line gives exactly one row, a point or the error that says what is wrong with it, except
blank CSV lines, which are skipped as in a .csv value; the line numbers stay those of the input."""

from __future__ import annotations

import json
import math
import sys
from operator import itemgetter
from pathlib import Path

from ..graph.errors import BackpropError, InputError, LimitError, NameError_
from ..graph.kernels import numpy
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
from .quick_points import quick_chunk, quick_points, quick_text_chunk


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not a finite number")


JSON_POINTS = json.JSONDecoder(
    object_pairs_hook=unique_object, parse_int=json_integer, parse_constant=_refuse_constant
)
"""files.JSON for batch's lines, where NaN and Infinity are refused as they are parsed."""


class Chunk:
    """Up to --chunk input lines: the values of the good ones by column, and the bad ones' errors."""

    def __init__(self, columns: dict[str, list[float]], scalar: bool = False) -> None:
        self.lines: list[int] = []  # the line number of every row, in order
        self.columns = columns  # name -> values of the good rows (float64 arrays, or lists of floats)
        self.scalar = scalar  # a few points, as lists: evaluated one by one, without NumPy
        self.errors: dict[int, BackpropError] = {}  # row index -> what was wrong
        self.carried: dict[int, dict] = {}  # row index -> its names that are not inputs, as given

    def __len__(self) -> int:
        return len(self.lines)


def point_rows(points: Path | None, columns: str | None, max_line: int):
    """(line number, {name: value} or an error) for every input row, plus None whenever the input
    has no more data ready (so a chunk can be flushed while a pipe stays open)."""
    if columns is not None and (points is None or points.suffix.lower() != ".npy"):
        where = "standard input" if points is None else points.name
        hint = "drop --columns: JSON Lines, CSV and Parquet name their own columns"
        raise InputError(f"--columns names the columns of a plain 2-D .npy file, not of {where}", hint=hint)
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
    if suffix == ".parquet":  # a file, or a quoted pattern of them (cli/parquet_points.py)
        from .parquet_points import parquet_rows

        return parquet_rows(points)
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError(
            f"--points {points.name}: unknown kind of file", hint="use .jsonl, .csv, .npy or .parquet"
        )
    try:
        handle = open(points, "rb")  # noqa: SIM115 - the row generator closes it
    except OSError as failure:
        raise InputError(f"cannot read --points file {str(points)!r}: {failure.strerror}") from None
    return _csv_rows(handle, max_line) if suffix == ".csv" else _jsonl_rows(handle, max_line, close=True)


def _long_line_hint(limit: int) -> str:
    return f"raise the limit with --max-line-bytes (now {limit:,}), or split the line: one point a line"


def _jsonl_rows(stream, limit: int, close: bool):
    """Lists of (line number, its bytes or a LimitError): the lines each read ends, parsed a chunk
    at a time (chunks). None after a read only when more may be slow to come (not a file)."""
    number = 0
    try:
        flush = not _regular_file(stream)
        for block in bounded_lines(stream, limit, blocks=True):
            if block is None:
                if flush:
                    yield None
                continue
            rows = list(zip(range(number + 1, number + 1 + len(block)), block))
            number += len(block)
            if LONG_LINE in block:
                rows = [(n, _long_line(n, limit) if raw is LONG_LINE else raw) for n, raw in rows]
            yield rows
    except OSError as failure:  # a directory, a device that refuses reads
        raise InputError(
            f"cannot read the points after line {number}: {failure.strerror or failure}"
        ) from None
    finally:
        if close:
            stream.close()


def _long_line(number: int, limit: int) -> LimitError:
    message = f"line {number} is longer than the limit of {limit:,} bytes"
    return LimitError(message, hint=_long_line_hint(limit))


def _regular_file(stream) -> bool:
    """Whether the stream reads a file on disk (all there: no need to answer as lines come)."""
    import os
    import stat

    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.BytesIO has no fileno
        return False


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
        array = array.reshape(-1)
    else:
        if array.ndim != 2 or not columns:
            raise InputError(
                f"--points {path.name}: a plain .npy must be 2-D, with --columns naming its columns",
                hint="e.g. --columns a,b,c",
            )
        names = [name.strip() for name in columns.split(",")]
        if len(names) != array.shape[1]:
            raise InputError(f"--columns names {len(names)} columns; {path.name} has {array.shape[1]}")
    for start in range(0, len(array), NPY_BLOCK):
        part = array[start : start + NPY_BLOCK]
        columns = (
            [part[name] for name in names] if array.dtype.names else [part[:, i] for i in range(len(names))]
        )
        yield NpyBlock(start + 1, names, columns)


NPY_BLOCK = 1 << 16
"""Rows of a .npy file taken from its memory map at a time."""


class NpyBlock:
    """Rows of a .npy file from `first` on, as its columns (slices of the memory map)."""

    def __init__(self, first: int, names: list[str], columns: list) -> None:
        self.first, self.names, self.columns = first, names, columns

    def rows(self, start: int, stop: int) -> list:
        """(line number, {name: value}) for rows start to stop, to be read one by one."""
        lists = [column[start:stop].tolist() for column in self.columns]
        return [
            (self.first + start + k, {name: float(values[i]) for i, name in enumerate(self.names)})
            for k, values in enumerate(zip(*lists, strict=True))
        ]

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def columns_at(self, start: int, stop: int, needed: set[str]) -> dict | None:
        """Rows start to stop as float64 columns when the block's names are the inputs needed."""
        if set(self.names) != needed:
            return None
        np = numpy()
        return {
            name: np.asarray(column[start:stop], dtype=np.float64)
            for name, column in zip(self.names, self.columns, strict=True)
        }


def _block_chunks(block, size: int, needed: set[str], fixed: frozenset[str]):
    """Chunks of a block of a file's rows (a NpyBlock, or cli/parquet_points.py's ParquetBlock):
    sliced straight into columns when they are the inputs needed and all finite, else read one by
    one, as a JSON line is."""
    np = numpy()
    for start in range(0, len(block), size):
        stop = min(start + size, len(block))
        columns = block.columns_at(start, stop, needed)
        if columns is not None and all(np.isfinite(column).all() for column in columns.values()):
            piece = Chunk(columns=columns)
            piece.lines = list(range(block.first + start, block.first + stop))
            yield piece
        else:
            yield _chunk(block.rows(start, stop), needed, fixed)


def chunks(rows, size: int, needed: set[str], fixed: frozenset[str] = frozenset()):
    """Group rows into Chunks of at most `size`, flushing early when the input has no more ready.
    `fixed` are the inputs given on the command line, which a point may not give again; a point's
    other names that are not inputs (`student`, `id`) are carried into its output line. A row's
    point may be a JSON line's bytes, parsed here a chunk at a time (cli/quick_points.py)."""
    held: list = []
    columnar = False  # once a chunk went as columns (NumPy is loaded), every later one does too
    for row in rows:
        if row is None:
            if held:
                yield _chunk(held, needed, fixed, scalar=not columnar and len(held) < SCALAR_POINTS)
                columnar = columnar or len(held) >= SCALAR_POINTS
                held = []
            continue
        if hasattr(row, "columns_at"):  # a block of a .npy or .parquet file: its chunks stand alone
            yield from _block_chunks(row, size, needed, fixed)
            continue
        if type(row) is list:  # the rows of one read
            held += row
        else:
            held.append(row)
        while len(held) >= size:
            yield _chunk(held[:size], needed, fixed)
            held, columnar = held[size:], True
    if held:
        yield _chunk(held, needed, fixed, scalar=not columnar and len(held) < SCALAR_POINTS)


SCALAR_POINTS = 64
"""Fewer points before any chunk went as columns (a 1-line batch, lines typed one at a time) are read
and evaluated point by point on eval's scalar path, without NumPy (most of a short run's time)."""


def _chunk(rows: list, needed: set[str], fixed: frozenset[str], scalar: bool = False) -> Chunk:
    """The Chunk of these rows: the quickly read points' values in one array, the others one by one;
    with `scalar`, every row one by one, into lists of floats."""
    names = list(needed)
    quick = None if scalar else quick_chunk(rows, names)
    if quick is None and not scalar:
        quick = quick_text_chunk(rows, names, needed)
    if quick is not None:  # every row a point of plain numbers: no row looked at alone
        piece = Chunk(columns=dict(zip(names, quick, strict=True)))
        piece.lines = list(map(itemgetter(0), rows))
        return piece
    quick = [None] * len(rows) if scalar else quick_points(rows, names, needed)
    piece = Chunk(columns={}, scalar=scalar)
    values: list = []
    for index, ((number, point), numbers) in enumerate(zip(rows, quick, strict=True)):
        piece.lines.append(number)
        if numbers is not None:
            values.append(numbers)
            continue
        if type(point) is bytes:
            point = _parse_json_point(point, number)
        if isinstance(point, BackpropError):
            piece.errors[index] = point
            continue
        problem = _point_problem(point, needed, number, fixed)
        carried = {
            name: value
            for name, value in point.items()
            if name not in needed and name not in fixed and _finite_json(value)
        }
        if carried:
            piece.carried[index] = carried
        if problem is not None:
            piece.errors[index] = problem
        else:
            values.append(tuple(float(point[name]) for name in names))
    if scalar:
        piece.columns = {name: [point[i] for point in values] for i, name in enumerate(names)}
        return piece
    np = numpy()
    table = np.array(values, dtype=np.float64).reshape(len(values), len(names))
    piece.columns = {name: table[:, i] for i, name in enumerate(names)}
    return piece


def _point_problem(point: dict, needed: set[str], number: int, fixed: frozenset[str]) -> BackpropError | None:
    clash = [name for name in point if name in fixed]
    if clash:
        return InputError(
            f"line {number}: {', '.join(clash)} {'is' if len(clash) == 1 else 'are'} fixed on the command line "
            "for every point, and given here too",
            hint="drop the column from the points, or the fixed value from the command line",
        )
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
    for name, value in point.items():
        if name not in needed and not _finite_json(value):
            return InputError(
                f"line {number}: the value of {name} holds a number too large for a float64",
                hint="strict JSON output cannot carry it: write it as a string",
            )
    return None


def _finite_json(value) -> bool:
    """True if no float in a JSON value (nested lists and objects, walked with a stack) is inf."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return True
