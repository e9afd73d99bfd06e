"""Value files and point files: the CSV and .npy reading that `--NAME @FILE` and `batch --points`
share. Never unpickles (allow_pickle=False); CSV is decoded line by line, so one bad line is one
error in its place and the lines after it are still read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from ..graph.errors import InputError
from ..graph.kernels import numpy
from ..graph.values import as_value, read_number

VALUE_FILE_TYPES = (".json", ".csv", ".npy")
NPY_MAGIC = b"\x93NUMPY"


def csv_records(stream) -> Iterator[tuple[int, list[str] | InputError]]:
    """(line number, fields) for every record of a CSV byte stream, or (line number, InputError) for
    a line that is not UTF-8 or not CSV. A byte-order mark before the first line is dropped."""
    import csv

    undecodable: dict[int, UnicodeDecodeError] = {}
    reader = csv.reader(_decoded_lines(stream, undecodable))
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as failure:
            yield reader.line_num, InputError(f"line {reader.line_num}: {failure}")
            continue
        failure = undecodable.pop(reader.line_num, None)
        if failure is not None:
            yield (
                reader.line_num,
                InputError(f"line {reader.line_num} is not UTF-8 text (byte {failure.start})"),
            )
        else:
            yield reader.line_num, fields


def _decoded_lines(stream, undecodable: dict[int, UnicodeDecodeError]) -> Iterator[str]:
    """The stream's lines as text; a line that is not UTF-8 is recorded and read as a blank line."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as failure:
            undecodable[number] = failure
            text = "\n"
        yield text.removeprefix("\ufeff") if number == 1 else text


def json_failure(failure: ValueError | RecursionError) -> str:
    """Why json.loads refused a text, in words (its C reader gives up past ~1,000 nested levels)."""
    if isinstance(failure, RecursionError):
        return f"it nests deeper than the JSON reader follows (about {sys.getrecursionlimit():,} levels)"
    return str(failure)


def read_vars_file(path: Path, option: str = "--vars") -> list[tuple[str, object, str]]:
    """A JSON object of values by name, {"a": 7, "b": -3}, given with `option` (--vars, --expect-file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise InputError(f"cannot read {option} file {str(path)!r}: {failure}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as failure:
        raise InputError(
            f"{option} file {str(path)!r} is not valid JSON: {json_failure(failure)}",
            hint='the file holds one JSON object of values, e.g. {"a": 7, "x": [1, 2]}',
        ) from None
    if not isinstance(data, dict):
        raise InputError(f'{option} file {str(path)!r} must hold a JSON object such as {{"a": 7}}')
    return [(str(name), value, f"{option} {path}") for name, value in data.items()]


def load_npy(path: Path, *, mmap: bool = False):
    """An array saved by numpy.save (memory-mapped with `mmap`); ValueError if the file is not one,
    or holds pickled objects."""
    np = numpy()
    with path.open("rb") as stream:
        if stream.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise ValueError("the file is not a .npy file (it does not start as numpy.save writes one)")
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except EOFError as failure:
        raise ValueError(str(failure) or "the file ends early") from None


def read_value_file(name: str, filename: str, how: str):
    """The value held by a file, by its suffix; see the README for the shape each format gives."""
    path = Path(filename)
    where = f"{how} @{filename}"
    suffix = path.suffix.lower()
    if not filename:
        raise InputError(
            f"the value of {name} ({how}): no file name after @", hint=f"write e.g. --{name} @{name}.csv"
        )
    if suffix not in VALUE_FILE_TYPES:
        raise InputError(
            f"the value of {name} ({where}): cannot read a {suffix or 'suffix-less'} file",
            hint=f"give a {', '.join(VALUE_FILE_TYPES)} file, e.g. --{name} @{name}.csv",
        )
    try:
        if suffix == ".npy":
            return as_value(name, _npy_value(name, path, where), where)
        if suffix == ".csv":
            with path.open("rb") as stream:
                return as_value(name, _read_csv(name, stream, where), where)
        with path.open(encoding="utf-8-sig") as stream:
            data = json.load(stream)
    except OSError as failure:
        raise InputError(
            f"the value of {name} ({where}): cannot read the file: {failure.strerror or failure}"
        ) from None
    except UnicodeDecodeError as failure:
        raise InputError(
            f"the value of {name} ({where}): the file is not UTF-8 text (byte {failure.start})"
        ) from None
    except (ValueError, RecursionError) as failure:  # json.JSONDecodeError is a ValueError
        raise InputError(
            f"the value of {name} ({where}) is not valid JSON: {json_failure(failure)}",
            hint="a .json value file holds a number or nested lists of numbers, e.g. [[1, 2], [3, 4]]",
        ) from None
    if not isinstance(data, (int, float, list)):
        raise InputError(
            f"the value of {name} ({where}): the file must hold a number or nested lists of numbers"
        )
    return as_value(name, data, where)


def _read_csv(name: str, stream, where: str):
    """Rows of comma-separated numbers → rows × columns, or one column → a vector. A first line
    with no number in it is a header and is skipped; blank lines are skipped."""
    np = numpy()
    rows: list[list[float]] = []
    first_line = 0
    for line, fields in csv_records(stream):
        if isinstance(fields, InputError):
            raise InputError(f"the value of {name} ({where}) is not a readable .csv file: {fields.message}")
        if not any(field.strip() for field in fields):
            continue
        numbers = [_csv_number(field) for field in fields]
        if None in numbers:
            if not rows and not first_line and all(number is None for number in numbers):
                first_line = -1  # a header: only the first non-blank line may be one
                continue
            column = numbers.index(None)
            raise InputError(
                f"the value of {name} ({where}): line {line}, column {column + 1} is not a finite number: {fields[column].strip()[:40]!r}",
                hint="a .csv value holds numbers separated by commas (a first line of names is skipped as a header)",
            )
        if not rows:
            first_line = line
        elif len(numbers) != len(rows[0]):
            raise InputError(
                f"the value of {name} ({where}) is ragged: line {line} has {len(numbers)} value{'s' if len(numbers) != 1 else ''}, line {first_line} has {len(rows[0])}",
                hint="every line must have the same number of values",
            )
        rows.append(numbers)
    if not rows:
        raise InputError(f"the value of {name} ({where}) has no numbers in it")
    array = np.array(rows, dtype=np.float64)
    return array[:, 0] if array.shape[1] == 1 else array  # one value per line: a vector


def _csv_number(field: str) -> float | None:
    try:
        return read_number(field)
    except ValueError:
        return None


def _npy_value(name: str, path: Path, where: str):
    try:
        return load_npy(path)
    except ValueError as failure:
        raise InputError(
            f"the value of {name} ({where}) cannot be loaded: {failure}",
            hint="only numeric arrays are read; pickled objects are refused (save e.g. array.astype(float))",
        ) from None
