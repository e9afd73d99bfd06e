"""What the user typed → the program text and the input values. Reads stdin and files; no math."""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from pathlib import Path

from ..graph.errors import InputError
from ..graph.kernels import numpy
from ..graph.values import as_value

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SHORT_OPTION = re.compile(r"-[A-Za-z]\Z")


def split_arguments(
    args: list[str], options: tuple[str, ...] = ()
) -> tuple[str | None, list[tuple[str, str, str]]]:
    """Split the words Typer did not recognise into the program and `--NAME VALUE` pairs.

    Every `--NAME` takes exactly one value (`--b -3` and `--b=-3` both work), so any other word is
    the program, even one that starts with `-`. `options` are the command's own, for the
    did-you-mean of a misspelt one. Returns (program or None, [(name, text, how)]).
    """
    program: str | None = None
    pairs: list[tuple[str, str, str]] = []
    words = iter(args)
    for word in words:
        if word.startswith("--") and len(word) > 2:
            name, equals, value = word[2:].partition("=")
            if not equals:
                value = next(words, None)
                if value is None:
                    raise _value_missing(word, options)
            pairs.append((name, value, f"--{name}"))
        elif program is None:
            program = word
        else:
            raise _second_program(program, word)
    return program, pairs


def _value_missing(word: str, options: tuple[str, ...]) -> InputError:
    """`--NAME` last with no value: an input without its value, or a misspelt option."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    if close:
        return InputError(
            f"unknown option {word}",
            hint=f"did you mean {close[0]}? (an input named {word[2:]} needs a value: {word} VALUE)",
        )
    return InputError(f"{word} needs a value", hint=f"write {word} VALUE or {word}=VALUE")


def _second_program(program: str, word: str) -> InputError:
    """A second program word; one shaped like a short option (`-j`) is reported as that."""
    for candidate in (word, program):
        if _SHORT_OPTION.match(candidate):
            return InputError(
                f"unknown option {candidate}",
                hint="options are spelled out (--json, --check; see --help); "
                "a program that starts with - goes last, after --",
            )
    return InputError(
        f"more than one program given: {program!r} and {word!r}",
        hint="quote the program as one argument; give values as --NAME VALUE",
    )


def parse_var_option(text: str, option: str = "--var") -> tuple[str, str, str]:
    """`--var NAME=VALUE` (or another `option` of that form) → (name, value text, how it was given)."""
    name, equals, value = text.partition("=")
    if not equals:
        raise InputError(f"{option} {text!r} is not NAME=VALUE", hint=f"write {option} a=7")
    return name.strip(), value.strip(), option


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


def collect_values(given: list[tuple[str, object, str]]) -> dict[str, object]:
    """Validate names and turn every given value into a value (a float, or an array for a list or
    an @FILE); a name given twice is an error."""
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name, raw, how in given:
        if not _NAME.match(name):
            raise InputError(
                f"{how}: {name!r} is not a variable name",
                hint="names are letters, digits and _, not starting with a digit",
            )
        if name in values:
            raise InputError(
                f"{name} is given twice ({sources[name]} and {how})", hint="give each input once"
            )
        values[name] = _value(name, raw, how)
        sources[name] = how
    return values


def _value(name: str, raw: object, how: str):
    """A value as typed (`2.5`, `[[2, 1], [1, 1]]`, `@W.csv`) or as found in a --vars file."""
    if not isinstance(raw, str):
        return as_value(name, raw, how)
    text = raw.strip()
    if text.startswith("@"):
        return _read_value_file(name, text[1:], how)
    if text.startswith("["):
        return as_value(name, _parse_list(name, text, how), how)
    try:
        value = float(text)
    except (ValueError, OverflowError):
        raise InputError(
            f"the value of {name} ({how}) is not a number: {text[:40]!r}",
            hint="write e.g. "
            + " or ".join(_spelled(name, how, value) for value in ("2.5", "'[1, 2]'", "@FILE")),
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"the value of {name} ({how}) is not finite: {text[:40]!r}",
            hint="NaN and infinity are refused; give a finite number",
        )
    return value


def _spelled(name: str, how: str, value: str) -> str:
    """How to give `name` this value the way it was given (`how`): --x 2.5, --var x=2.5, "x": 2.5."""
    if " " in how:  # from a file: --vars FILE, --expect-file FILE, where a file name is a string
        value = value.strip("'")
        return f'"{name}": "{value}"' if value.startswith("@") else f'"{name}": {value}'
    return f"--{name} {value}" if how == f"--{name}" else f"{how} {name}={value}"


# -- lists typed on the command line -----------------------------------------------------------

_LIST_TOKEN = re.compile(r"[\[\],]|[^\s\[\],]+")


def _parse_list(name: str, text: str, how: str) -> list:
    """`[[2, 1], [1, 1]]` → nested lists of floats. JSON's brackets and commas; each number is
    written as a scalar value is (`1.`, `.5` and `1e-3` are fine), so no JSON parser is used."""
    stack: list[list] = [[]]  # stack[0] receives the finished value
    want_value = True  # a number or `[` may come next (or `]` right after `[`)

    def fail(column: int, what: str) -> InputError:
        return InputError(
            f"the value of {name} ({how}) is not a list of numbers: {what} at column {column}: {text[:60]!r}",
            hint="write e.g. " + _spelled(name, how, "'[[2, 1], [1, 1]]'"),
        )

    for match in _LIST_TOKEN.finditer(text):
        token, column = match.group(), match.start() + 1
        if stack[0]:
            raise fail(column, f"{token!r} comes after the end of the list")
        if token == "[":
            if not want_value:
                raise fail(column, "a comma is missing")
            stack.append([])
        elif token == "]":
            if len(stack) == 1:
                raise fail(column, "this ] closes no [")
            if want_value and stack[-1]:
                raise fail(column, "a number is missing before ]")
            finished = stack.pop()
            stack[-1].append(finished)
            want_value = False
        elif token == ",":
            if want_value:
                raise fail(column, "a number is missing before ,")
            want_value = True
        else:
            if not want_value:
                raise fail(column, "a comma is missing")
            try:
                stack[-1].append(float(token))
            except (ValueError, OverflowError):
                raise fail(column, f"{token[:40]!r} is not a number") from None
            want_value = False
    if len(stack) > 1:
        open_count = len(stack) - 1
        raise fail(
            len(text) + 1, "a [ is not closed" if open_count == 1 else f"{open_count} [ are not closed"
        )
    return stack[0][0]


# -- @FILE: .json, .csv, .npy --------------------------------------------------------------------

VALUE_FILE_TYPES = (".json", ".csv", ".npy")


def _read_value_file(name: str, filename: str, how: str):
    """The value held by a file, by its suffix; see the README for the shape each format gives."""
    import csv  # only when a file is given: start-up time matters

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
            return as_value(name, _load_npy(name, path, where), where)
        with path.open(encoding="utf-8-sig", newline="") as stream:
            if suffix == ".csv":
                return as_value(name, _read_csv(name, stream, where), where)
            data = json.load(stream)
    except OSError as failure:
        raise InputError(
            f"the value of {name} ({where}): cannot read the file: {failure.strerror or failure}"
        ) from None
    except UnicodeDecodeError as failure:
        raise InputError(
            f"the value of {name} ({where}): the file is not UTF-8 text (byte {failure.start})"
        ) from None
    except csv.Error as failure:
        raise InputError(f"the value of {name} ({where}) is not a readable .csv file: {failure}") from None
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
    import csv

    np = numpy()
    rows: list[list[float]] = []
    first_line = 0
    reader = csv.reader(stream)
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue
        line = reader.line_num
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
        value = float(field)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _load_npy(name: str, path: Path, where: str):
    """An array saved by numpy.save; never unpickles (object arrays are refused)."""
    np = numpy()
    with path.open("rb") as stream:
        if stream.read(6) != b"\x93NUMPY":
            raise InputError(
                f"the value of {name} ({where}): the file is not a .npy file (it does not start as numpy.save writes one)"
            )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as failure:
        raise InputError(
            f"the value of {name} ({where}) cannot be loaded: {failure}",
            hint="only numeric arrays are read; pickled objects are refused (save e.g. array.astype(float))",
        ) from None


def read_program(text: str | None) -> str:
    """The program argument, or standard input when it is `-`."""
    if text is None:
        raise InputError(
            "no program given",
            hint='write e.g. backprop eval "(a + b) * c" --a 7 --b 3 --c 2, or pipe it in with -',
        )
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise InputError(f"standard input is not valid UTF-8 (byte {failure.start})") from None


def read_expectations(items: list[str] | None, path: Path | None) -> dict[str, object]:
    """The answers to check, from `--expect NAME=VALUE` and an `--expect-file` JSON object."""
    given = [parse_var_option(item, "--expect") for item in items or []]
    if path is not None:
        given += read_vars_file(path, "--expect-file")
    return collect_values(given)
