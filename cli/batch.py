"""`backprop batch`: one program, many points, JSON Lines out — streaming, in bounded memory.

Points arrive as JSON Lines on stdin or from --points (.jsonl, .csv with a header, .npy). They are
read as they become available and evaluated in chunks, every point of a chunk at once (see
graph/batch.py), so output starts before input ends. Every input line gives exactly one output
line, in order: a result, or {"line": N, "error": {...}} — and the rest go on.
"""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..graph.errors import BackpropError, InputError, NameError_
from ..graph.limits import DEFAULT_EPS, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from . import render
from .app import app
from .arguments import json_failure
from .options import Json, Limits, MaxElements, MaxNodes, exit_on_error, parse_program

EXIT_CHECK_FAILED, EXIT_FAILED_POINTS = 1, 2
DEFAULT_CHUNK = 4096
READ_SIZE = 1 << 16

BATCH_EXAMPLES = """
Examples:

  jq -c '{a: .x, b: .y, c: 2}' points.jsonl | backprop batch "(a + b**3) * c"

  backprop batch "(a + b**3) * c" --points points.csv --json > out.jsonl

  backprop batch "x * W" --points grid.npy --columns x,W --check
"""


class Chunk:
    """Up to --chunk input lines: the values of the good ones by column, and the bad ones' errors."""

    def __init__(self, columns: dict[str, list[float]]) -> None:
        self.lines: list[int] = []  # the line number of every row, in order
        self.columns = columns  # name -> values of the good rows
        self.errors: dict[int, BackpropError] = {}  # row index -> what was wrong

    def __len__(self) -> int:
        return len(self.lines)


@app.command("batch", epilog=BATCH_EXAMPLES)
def batch_command(
    program_text: Annotated[str, typer.Argument(metavar="PROGRAM", help="The program, as for eval.")],
    points: Annotated[
        Path | None,
        typer.Option(
            "--points", metavar="FILE", help="Read points from a .jsonl, .csv or .npy file instead of stdin."
        ),
    ] = None,
    columns: Annotated[
        str | None, typer.Option(metavar="a,b,c", help="Input names of the columns of a 2-D .npy file.")
    ] = None,
    chunk: Annotated[int, typer.Option(help="Evaluate at most this many points at once.")] = DEFAULT_CHUNK,
    check: Annotated[
        bool, typer.Option("--check", help="Gradient check at every point; exit 1 if one fails.")
    ] = False,
    eps: Annotated[float, typer.Option(help="Relative step of the gradient check.")] = DEFAULT_EPS,
    tol: Annotated[float, typer.Option(help="Tolerance of the gradient check.")] = DEFAULT_TOL,
    json_output: Json = False,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
) -> None:
    """Evaluate PROGRAM at many points: one JSON object per input line, with value and gradients.

    Points are JSON objects of input values, one per line, on standard input ({"a": 7, "b": 3}), or the rows of --points FILE. Output is always JSON Lines (--json is accepted for symmetry): {"line": N, "value": ..., "gradients": {...}} or {"line": N, "error": {...}} for a bad line.

    Exit codes: 0 every point evaluated; 1 a --check failed; 2 some points failed (counted on stderr) or the program or options are wrong.
    """
    with exit_on_error(json_output=True) as shown:  # always JSON Lines: an error is one line too
        if chunk < 1:
            raise InputError(f"--chunk must be at least 1, not {chunk}")
        if program_text == "-" and points is None:
            raise InputError(
                "the program cannot come from stdin when the points do",
                hint="give the points with --points FILE",
            )
        shown.source = sys.stdin.read() if program_text == "-" else program_text
        program = parse_program(shown.source, Limits(max_nodes, max_elements))
        chunks = _chunks(_rows(points, columns, program), chunk, set(program.inputs))
        total, failed, check_failed = _run(
            program, chunks, check=check, eps=eps, tol=tol, progress=_progress_for(points)
        )
    if failed:
        render.warn(f"{failed} of {total} points failed")
        raise typer.Exit(EXIT_FAILED_POINTS)
    raise typer.Exit(EXIT_CHECK_FAILED if check_failed else 0)


def _run(program, chunks, *, check: bool, eps: float, tol: float, progress) -> tuple[int, int, bool]:
    from ..graph.batch import evaluate_batch

    total = failed = 0
    check_failed = False
    out = sys.stdout
    with progress as advance:
        for piece in chunks:
            good = [i for i in range(len(piece)) if i not in piece.errors]
            results = iter(
                evaluate_batch(program, piece.columns, check=check, eps=eps, tol=tol, size=len(good))
                if good
                else ()
            )
            lines = []
            for i, line in enumerate(piece.lines):
                error = piece.errors.get(i)
                result = None if error is not None else next(results)
                if result is not None and result.error is not None:
                    error = result.error
                if error is not None:
                    failed += 1
                    lines.append({"line": line, **render.error_json(error)})
                    continue
                document = {
                    "line": line,
                    "value": render.number(result.value),
                    "gradients": {k: render.number(v) for k, v in result.gradients.items()},
                }
                if result.check is not None:
                    document["check"] = render.check_json(result.check)
                    check_failed = check_failed or not result.check.passed
                lines.append(document)
            out.write("".join(json.dumps(document, allow_nan=False) + "\n" for document in lines))
            out.flush()
            total += len(piece)
            advance(len(piece))
    return total, failed, check_failed


# -- reading points ------------------------------------------------------------------------------


def _rows(points: Path | None, columns: str | None, program):
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
    import csv

    with handle:
        reader = csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            return
        except (UnicodeDecodeError, csv.Error) as failure:
            raise InputError(f"cannot read the CSV header: {failure}") from None
        number = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as failure:
                number += 1
                yield number, InputError(f"line {number}: {failure}")
                continue
            number = reader.line_num
            if len(row) != len(header):
                message = f"line {number} has {len(row)} value{'s' * (len(row) != 1)}, "
                message += f"but the header names {len(header)} columns"
                yield number, InputError(message, hint="give every line one value per column of the header")
            else:
                yield number, dict(zip(header, row))


def _npy_rows(path: Path, columns: str | None):
    from ..graph.kernels import numpy

    np = numpy()
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
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


def _chunks(rows, size: int, needed: set[str]):
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
                render.warn(f"ignoring {name}: the program has no input of that name")
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
            number_value = float(value)
        except (ValueError, OverflowError):
            return InputError(f"line {number}: the value of {name} is not a number: {str(value)[:40]!r}")
        if not math.isfinite(number_value):
            return InputError(f"line {number}: the value of {name} is not finite: {str(value)[:40]!r}")
    return None


# -- progress ------------------------------------------------------------------------------------


class _NoProgress:
    def __enter__(self):
        return lambda done: None

    def __exit__(self, *exc) -> None:
        return None


class _Progress:
    """A Rich progress bar on stderr: points done and their rate."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.completed:,} points"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.__enter__()
        task = self.progress.add_task("", total=None)

        def advance(done: int) -> None:
            self.progress.advance(task, done)
            speed = self.progress.tasks[0].speed
            if speed:
                self.progress.update(task, description=f"{speed:,.0f} points/s")

        return advance

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


def _progress_for(points: Path | None):
    """A progress bar when the points come from a file and stderr is a terminal; never in a pipe."""
    return _Progress() if points is not None and sys.stderr.isatty() else _NoProgress()
