"""Value files and point files: the reading that `--NAME @FILE`, `--vars` and `batch --points` share.

A value file is measured before it is parsed: a .npy by its header's shape and dtype, a .json by a
count of its commas and brackets, a .csv by its running element count as it streams. Lines are
read in bounded pieces, in linear time, so a line past the limit is one error in its place and is
never held whole; one line that cannot be read is one error. Never unpickles (allow_pickle=False).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

from ..graph.errors import BackpropError, InputError, LimitError
from ..graph.kernels import numpy
from ..graph.limits import MAX_ELEMENTS, elements_error
from ..graph.values import NOT_A_NUMBER, as_value, read_number

VALUE_FILE_TYPES = (".json", ".csv", ".npy")
NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"
READ_SIZE = 1 << 16
MAX_LINE_BYTES = 16 * 2**20
"""The longest line read: a point of `batch` (--max-line-bytes raises it) or a row of a .csv value.
Parsing one this long peaks at 480 MB (5.6 million CSV numbers) or 440 MB (1.7 million JSON keys)."""
FLOAT_BYTES = 8
READ_BYTES = 256
"""What reading a value file may take a permitted element when --max-memory is not given: the
estimate below for json.dumps of a column vector, [[0.5], [0.5], …], is 218 bytes a number; of a
matrix 78; a .csv or .npy takes 8 (one float64 array)."""
MAX_INTEGER_DIGITS = 309  # 10**309 > 1.8e308, the largest float64: a longer integer is never one

# What json.loads builds, in bytes: a list slot and a float per item, a list per bracket, a str
# per quote. Measured on CPython 3.11, files of 10⁶ items: the estimate is 1.1-1.5× the peak for
# lists of floats, and above it for every shape tried (nested, empty lists, strings, objects).
JSON_PER_ITEM, JSON_PER_OPEN, JSON_PER_QUOTE = 48, 150, 110


class FileLimits:
    """What reading a value file may take: `max_elements` numbers, and `max_memory` bytes
    (--max-memory; when it is not given, READ_BYTES a permitted element)."""

    def __init__(self, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None) -> None:
        self.max_elements, self.max_memory = max_elements, max_memory
        self.budget = max_memory if max_memory is not None else max_elements * READ_BYTES

    def count(self, subject: str, elements: int) -> None:
        """Refuse a value of more elements than the limit, or of more float64s than the budget."""
        if elements > self.max_elements:
            raise elements_error(subject, elements, self.max_elements)
        self.memory(subject, elements * FLOAT_BYTES)

    def memory(self, subject: str, needed: int) -> None:
        """Refuse reading that would take more than the budget."""
        if needed > self.budget:
            option = f"--max-elements ({READ_BYTES} bytes to read an element)"
            option = "--max-memory" if self.max_memory else option
            raise LimitError(
                f"{subject} would take about {_size(needed)} to read, more than the limit of {_size(self.budget)}",
                hint=f"raise the limit with {option}, or save the value with numpy.save and give the .npy file",
            )


def _size(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 10**7 else f"{count:,} bytes"


# -- numbers and JSON as read from text --------------------------------------------------------


def read_number_text(text: str, finite: bool = True) -> float:
    """A number written as text (` 2.5 `, `1e-3`) as a float, finite unless `finite` is False, as
    graph/values.read_number reads it; but `1_000` and digits of other scripts (`١٢`), which
    Python's float() also reads, are not numbers here, as they are not in JSON. ValueError if not."""
    if "_" in text or not text.isascii():
        raise ValueError(NOT_A_NUMBER)
    return read_number(text) if finite else float(text)


class JsonValueError(ValueError):
    """A key given twice (json.loads keeps the last), or an integer too long to be a float64
    (json.loads's own message speaks of sys.set_int_max_str_digits)."""


def unique_object(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonValueError(f"{key[:40]!r} is given twice")
            seen.add(key)
    return found


def json_integer(digits: str) -> int:
    if len(digits) > MAX_INTEGER_DIGITS and len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonValueError(f"an integer of {len(digits.lstrip('-')):,} digits is too large for a float64")
    return int(digits)


JSON = json.JSONDecoder(object_pairs_hook=unique_object, parse_int=json_integer)
"""json.loads for values, built once (json.loads with hooks builds a decoder a call: 1.3 µs)."""


def json_failure(failure: ValueError | RecursionError) -> str:
    """Why a JSON text was refused, in words (the C reader gives up past ~1,000 nested levels)."""
    if isinstance(failure, RecursionError):
        return f"it nests deeper than the JSON reader follows (about {sys.getrecursionlimit():,} levels)"
    return str(failure)


def _json_estimate(data: bytes) -> int:
    """Bytes that reading this JSON text takes at its peak: the bytes, the text, what json.loads
    builds (each a C-speed count), and the float64 array made of it."""
    text = len(data) if data.isascii() else 4 * len(data)  # one wide character widens the whole str
    items = data.count(b",") + 1
    opens = data.count(b"[") + data.count(b"{")
    built = JSON_PER_ITEM * items + JSON_PER_OPEN * opens + JSON_PER_QUOTE * data.count(b'"')
    return len(data) + text + built + FLOAT_BYTES * items


def read_vars_file(path: Path, option: str = "--vars", max_memory: int | None = None) -> list:
    """[(name, value, how)] from a JSON object of values by name, {"a": 7, "b": -3}, given with
    `option` (--vars, --expect-file); measured before it is parsed when `max_memory` is given."""
    where = f"{option} file {str(path)!r}"
    try:
        data = path.read_bytes()
        if max_memory is not None:
            FileLimits(max_memory=max_memory).memory(where, _json_estimate(data))
        text = data.decode("utf-8").removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as failure:
        raise InputError(f"cannot read {where}: {failure}") from None
    try:
        values = JSON.decode(text)
    except JsonValueError as failure:
        raise InputError(f"{where}: {failure}") from None
    except (ValueError, RecursionError) as failure:
        raise InputError(
            f"{where} is not valid JSON: {json_failure(failure)}",
            hint='the file holds one JSON object of values, e.g. {"a": 7, "x": [1, 2]}',
        ) from None
    if not isinstance(values, dict):
        raise InputError(f'{where} must hold a JSON object such as {{"a": 7}}')
    return [(str(name), value, f"{option} {path}") for name, value in values.items()]


# -- lines -------------------------------------------------------------------------------------


LONG_LINE = b"\n"  # stands for a line past the limit (no line read holds a newline)


def bounded_lines(stream, limit: int, blocks: bool = False) -> Iterator[bytes | None]:
    """The lines of a binary stream, without their newline, each read in time linear in its length;
    LONG_LINE for a line longer than `limit` bytes, as soon as it passes the limit (its bytes are
    dropped up to its end); None after each read. read1 returns what is there, blocking only while
    nothing is, so a reader that flushes at None answers a pipe that stays open line by line.
    With `blocks`, the lines that each read ends come as one list (batch takes them a chunk at a time)."""
    start: list[bytes] = []  # the line in hand, in pieces: joined once it ends (linear, not quadratic)
    held = 0
    dropping = False  # the line in hand has passed the limit
    while True:
        data = stream.read1(READ_SIZE)
        if not data:
            break
        lines = data.split(b"\n")
        if len(lines) > 1:
            start.append(lines[0])  # (when dropping, start is empty: the line's end, not kept)
            first = b"".join(start)
            found = [] if dropping else [first if len(first) <= limit else LONG_LINE]
            if limit >= READ_SIZE:  # a read holds no longer line: no need to measure
                found += lines[1:-1]
            else:
                found += [line if len(line) <= limit else LONG_LINE for line in lines[1:-1]]
            yield from [found] if blocks else found
            start, held, dropping, data = [], 0, False, lines[-1]
        if data and not dropping:
            start.append(data)
            held += len(data)
            if held > limit:
                yield [LONG_LINE] if blocks else LONG_LINE
                start, held, dropping = [], 0, True
        yield None
    if not dropping and any(piece.strip() for piece in start):  # a last line without its newline
        yield [b"".join(start)] if blocks else b"".join(start)


def csv_records(stream, limit: int, hint: str) -> Iterator[tuple[int, list[str] | BackpropError]]:
    """(line number, fields) for every record of a CSV byte stream, or (line number, error) for a
    line that is not UTF-8, not CSV (input errors) or longer than `limit` bytes (a limit error with
    `hint`). A byte-order mark before the first line is dropped, as spreadsheets write one."""
    import csv

    bad: dict[int, BackpropError] = {}
    reader = csv.reader(_decoded_lines(stream, limit, hint, bad))
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as failure:
            if "field limit" in str(failure):  # in our words: the csv module speaks of its field limit
                failure = f"a field is longer than {csv.field_size_limit():,} characters"
            yield reader.line_num, InputError(f"line {reader.line_num}: {failure}")
            continue
        failure = bad.pop(reader.line_num, None)
        yield reader.line_num, fields if failure is None else failure


def _decoded_lines(stream, limit: int, hint: str, bad: dict[int, BackpropError]) -> Iterator[str]:
    """The stream's lines as text; a line that cannot be read is recorded in `bad` and read as blank."""
    number = 0
    for raw in bounded_lines(stream, limit):
        if raw is None:
            continue
        number += 1
        if raw is LONG_LINE:
            bad[number] = LimitError(f"line {number} is longer than the limit of {limit:,} bytes", hint=hint)
            raw = b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as failure:
            bad[number] = InputError(f"line {number} is not UTF-8 text (byte {failure.start})")
            text = ""
        yield (text.removeprefix("\ufeff") if number == 1 else text) + "\n"


# -- .npy --------------------------------------------------------------------------------------


def npy_header(stream) -> tuple[tuple[int, ...], object]:
    """(shape, dtype) from a .npy file's header, the stream left at its data; ValueError if the file
    is not a .npy file (a .npz archive renamed, a text file) or is written in a format not read here."""
    np = numpy()
    magic = stream.read(len(NPY_MAGIC))
    if magic[: len(ZIP_MAGIC)] == ZIP_MAGIC:
        raise ValueError("the file is a .npz archive (numpy.savez), not a .npy file (numpy.save)")
    if magic != NPY_MAGIC:
        raise ValueError("the file is not a .npy file (it does not start as numpy.save writes one)")
    stream.seek(0)
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"it is a .npy file of version {version}, not 1.0 or 2.0 as numpy.save writes")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _fortran, dtype = read(stream)
    return shape, dtype


def dtype_problem(dtype, fields: bool) -> str | None:
    """Why an array of this dtype is not one of numbers (None if it is): integers and floats only,
    and with `fields`, a structured array whose every field is one such number."""
    if dtype.names is None:
        if dtype.kind in "iuf" and dtype.shape == ():
            return None
        return f"an array of {dtype}, not of numbers (integers or floats)"
    if not fields:
        return "a structured array (named fields), not an array of numbers"
    for name in dtype.names:
        field = dtype.fields[name][0]
        if field.names is not None or field.shape != () or field.kind not in "iuf":
            return f"a structured array whose field {name!r} holds {field}, not one number (an integer or a float)"
    return None


def load_npy(
    path: Path, subject: str, limits: FileLimits | None, *, mmap: bool = False, fields: bool = False
):
    """The array a numpy.save file holds, judged by its header before its data is read: ValueError
    unless it holds numbers (`fields`: named fields of one number each) and all the data the header
    promises; a LimitError naming `subject` past the `limits`. Memory-mapped with `mmap`."""
    with path.open("rb") as stream:
        shape, dtype = npy_header(stream)
        problem = dtype_problem(dtype, fields)
        if problem is not None:
            raise ValueError(f"it is {problem}")
        count = math.prod(shape)
        needed, there = count * dtype.itemsize, path.stat().st_size - stream.tell()
    if limits is not None:
        limits.count(subject, count)
    if there < needed:
        raise ValueError(f"the file ends early: its header promises {needed:,} bytes, it holds {there:,}")
    return numpy().load(path, allow_pickle=False, mmap_mode="r" if mmap else None)


# -- value files -------------------------------------------------------------------------------


def read_value_file(
    name: str, filename: str, how: str, *, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
):
    """The value held by a file, by its suffix (see the README for the shape each format gives),
    measured against max_elements and the memory budget before it is parsed."""
    path = Path(filename)
    where = f"{how} @{filename}"
    subject = f"the value of {name} ({where})"
    suffix = path.suffix.lower()
    if not filename:
        raise InputError(
            f"the value of {name} ({how}): no file name after @", hint=f"write e.g. --{name} @{name}.csv"
        )
    if suffix not in VALUE_FILE_TYPES:
        raise InputError(
            f"{subject}: cannot read a {suffix or 'suffix-less'} file",
            hint=f"give a {', '.join(VALUE_FILE_TYPES)} file, e.g. --{name} @{name}.csv",
        )
    reader = {".npy": _npy_value, ".csv": _csv_value, ".json": _json_value}[suffix]
    try:
        return as_value(name, reader(path, subject, FileLimits(max_elements, max_memory)), where)
    except OSError as failure:
        raise InputError(f"{subject}: cannot read the file: {failure.strerror or failure}") from None
    except MemoryError:  # the machine has less than the limit allows
        hint = "lower --max-memory below what the machine has, so that the file is measured against it"
        raise LimitError(f"{subject}: the machine ran out of memory reading the file", hint=hint) from None


def _npy_value(path: Path, subject: str, limits: FileLimits):
    try:
        return load_npy(path, subject, limits)
    except ValueError as failure:
        raise InputError(
            f"{subject} cannot be loaded: {failure}",
            hint="only arrays of integers or floats are read; pickled objects are refused (save e.g. array.astype(float))",
        ) from None


def _json_value(path: Path, subject: str, limits: FileLimits):
    """A number or nested lists of numbers; the file is measured (its size, then a count of its
    commas and brackets) before json.loads builds a Python object per number."""
    limits.memory(subject, 2 * path.stat().st_size)  # the bytes and their text, before any count
    data = path.read_bytes()
    limits.count(subject, data.count(b",") + 1 - data.count(b"["))  # at least that many numbers
    limits.memory(subject, _json_estimate(data))
    try:
        text, data = data.decode("utf-8").removeprefix("\ufeff"), b""  # the bytes go before parsing
        value = JSON.decode(text)
    except UnicodeDecodeError as failure:
        raise InputError(f"{subject}: the file is not UTF-8 text (byte {failure.start})") from None
    except JsonValueError as failure:
        raise InputError(f"{subject}: {failure}") from None
    except (ValueError, RecursionError) as failure:  # json.JSONDecodeError is a ValueError
        raise InputError(
            f"{subject} is not valid JSON: {json_failure(failure)}",
            hint="a .json value file holds a number or nested lists of numbers, e.g. [[1, 2], [3, 4]]",
        ) from None
    if not isinstance(value, (int, float, list)):
        raise InputError(f"{subject}: the file must hold a number or nested lists of numbers")
    return value


def _csv_value(path: Path, subject: str, limits: FileLimits):
    """Rows of comma-separated numbers → rows × columns, or one column → a vector. A first line
    with no number in it is a header and is skipped; blank lines are skipped. The numbers go into
    one buffer of float64s, counted as they come: 8 bytes a number, not a Python float's 32."""
    from array import array

    np = numpy()
    most = min(limits.max_elements, limits.budget // FLOAT_BYTES)
    numbers, width, first_line, header_seen = array("d"), 0, 0, False
    hint = "save wide arrays with numpy.save and give the .npy file"
    with path.open("rb") as stream:
        for line, fields in csv_records(stream, MAX_LINE_BYTES, hint):
            if isinstance(fields, BackpropError):
                fields.message = f"{subject} is not a readable .csv file: {fields.message}"
                raise fields
            if not any(field.strip() for field in fields):
                continue
            row = [_csv_number(field) for field in fields]
            if None in row:
                if not width and not header_seen and all(number is None for number in row):
                    header_seen = True  # a header: only the first non-blank line may be one
                    continue
                column = row.index(None)
                raise InputError(
                    f"{subject}: line {line}, column {column + 1} is not a finite number: {fields[column].strip()[:40]!r}",
                    hint="a .csv value holds numbers separated by commas (a first line of names is skipped as a header)",
                )
            if not width:
                width, first_line = len(row), line
            elif len(row) != width:
                raise InputError(
                    f"{subject} is ragged: line {line} has {len(row)} value{'s' * (len(row) != 1)}, line {first_line} has {width}",
                    hint="every line must have the same number of values",
                )
            if len(numbers) + width > most:
                limits.count(f"{subject}, read up to line {line},", len(numbers) + width)
            numbers.extend(row)
    if not width:
        raise InputError(f"{subject} has no numbers in it")
    values = np.frombuffer(numbers, dtype=np.float64).reshape(-1, width)
    return values[:, 0] if width == 1 else values  # one value per line: a vector


def _csv_number(field: str) -> float | None:
    try:
        return read_number_text(field)
    except ValueError:
        return None
