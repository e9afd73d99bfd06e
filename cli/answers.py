"""The answers a student checks: `--expect NAME=…`, `NAME.value=…`, `NAME.grad=…`, and
`--expect-file` as a JSON object or a worksheet CSV. Each becomes one graph.expect.Answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ..graph.errors import InputError
from .arguments import parse_var_option, typed_value

# graph/expect.py (and the diagnoses it loads) and the file readers load only when answers are
# given: start-up time of a plain `eval` is measured. These are its two kinds:
VALUE, GRAD = "value", "grad"

# The options of every command that checks answers (eval, trace).
Expect = Annotated[
    list[str] | None,
    typer.Option(
        "--expect",
        metavar="NAME=VALUE",
        help="An answer to check: NAME=… or NAME.grad=… the gradient of input or node NAME, NAME.value=… its value, value=… the output's; the value may be exact (1/3, sqrt(2)/2); repeatable; exit 1 if one is off.",
    ),
]
ExpectFile = Annotated[
    Path | None,
    typer.Option(
        "--expect-file",
        metavar="FILE",
        help='Answers as a JSON object, {"c": {"value": 10, "grad": 27}, "a": 27}, or a worksheet .csv with columns name,value,grad.',
    ),
]
Rounded = Annotated[
    bool,
    typer.Option(
        "--rounded",
        help="Grade each answer written as a decimal by the digits written (1.32 for 1.32089 passes), not by --tol.",
    ),
]
AnswerTol = Annotated[
    float, typer.Option("--tol", help="Tolerance of --expect: |got − expected| ≤ tol·max(1, |expected|).")
]

_DECIMAL = re.compile(r"\s*[-+]?(\d*)\.?(\d*)(?:[eE][-+]?\d+)?\s*")
CSV_LINE_BYTES = 1 << 20


def read_answers(items: list[str] | None, path: Path | None) -> list:
    """Every answer given, as graph.expect.Answer, in order; a key given twice is an InputError."""
    if not items and path is None:
        return []
    from ..graph.expect import Answer

    given = [parse_var_option(item, "--expect") for item in items or []]
    if path is not None:
        given += read_worksheet(path) if path.suffix.lower() == ".csv" else _json_answers(path)
    answers: dict[tuple[str, str], object] = {}
    for key, raw, how in given:
        node, kind = split_key(key, how)
        if (node, kind) in answers:
            raise InputError(f"the answer {key} is given twice ({how})", hint="give each answer once")
        value = typed_value(node, raw, how)
        answers[node, kind] = Answer(key, node, kind, value, written_digits(raw))
    return list(answers.values())


def split_key(key: str, how: str) -> tuple[str, str]:
    """`c` → (c, grad); `c.grad`, `c.value` → (c, kind); `value` → the output's value."""
    node, dot, kind = key.partition(".")
    if not dot:
        return (key, VALUE) if key == VALUE else (key, GRAD)
    if kind not in (VALUE, GRAD) or not node:
        raise InputError(
            f"{how}: {key!r} is not an answer's name",
            hint="write NAME=… (the gradient), NAME.grad=… or NAME.value=…, or value=… for the output's value",
        )
    return node, kind


def written_digits(raw) -> int | None:
    """Significant digits of an answer written as a plain decimal (`1.32` → 3, `0.0045` → 2,
    `1.320` → 4); a float from a JSON file by its shortest text; None for an expression or a list."""
    text = repr(raw) if isinstance(raw, float) else raw if isinstance(raw, str) else None
    match = _DECIMAL.fullmatch(text) if text is not None else None
    if match is None or not (match.group(1) or match.group(2)):
        return None
    digits = (match.group(1) + match.group(2)).lstrip("0")
    return len(digits) or 1


def _json_answers(path: Path) -> list:
    """{"c": {"value": 10, "grad": 27}, "a": 27, "value": 270} → (key, raw, how) triples."""
    from .files import read_vars_file

    given = []
    for name, raw, how in read_vars_file(path, "--expect-file"):
        if isinstance(raw, dict):
            unknown = set(raw) - {VALUE, GRAD}
            if unknown:
                raise InputError(
                    f"{how}: {name} has {', '.join(sorted(unknown))}; an answer holds value and grad"
                )
            given += [(f"{name}.{kind}", raw[kind], how) for kind in (VALUE, GRAD) if kind in raw]
        else:
            given.append((name, raw, how))
    return given


def read_worksheet(path: Path) -> list:
    """A worksheet CSV: a header `name,value,grad` (in any order; either column may be missing),
    then a row per node; blank cells are skipped, as a student leaves them."""
    from .files import csv_records

    how = f"--expect-file {path}"
    try:
        stream = path.open("rb")
    except OSError as failure:
        raise InputError(f"cannot read {how}: {failure.strerror or failure}") from None
    given, header = [], None
    with stream:
        for line, fields in csv_records(stream, CSV_LINE_BYTES, "split the worksheet"):
            if not isinstance(fields, list):
                raise fields
            cells = [cell.strip() for cell in fields]
            if not any(cells):
                continue
            if header is None:
                header = _worksheet_header(cells, how)
                continue
            row = dict(zip(header, cells))
            name = row.get("name", "")
            given += [
                (f"{name}.{kind}", row[kind], f"{how}, line {line}")
                for kind in (VALUE, GRAD)
                if row.get(kind)
            ]
    return given


def _worksheet_header(cells: list[str], how: str) -> list[str]:
    header = [cell.lower() for cell in cells]
    if "name" not in header or not ({VALUE, GRAD} & set(header)):
        raise InputError(
            f"{how}: the first line must name the columns, e.g. name,value,grad",
            hint="a worksheet has a column `name` and a column `value`, `grad` or both",
        )
    return header
