"""`backprop batch`: one program, many points, JSON Lines out — streaming, in bounded memory.

Points arrive as JSON Lines on stdin or from --points (.jsonl, .csv with a header, .npy), read by
cli/points.py and evaluated in chunks, kept as columns from input to output (graph/batch.py). Every
input line gives exactly one output line, in order: a result, or {"line": N, "error": {...}} —
and the rest go on; Ctrl-C stops the run after whole lines. Values given on the command line
(`--c 2`, --var, --vars) are fixed for every point; a point's names that are not inputs are
carried into its line. --format csv or markdown writes the same results as a spreadsheet's rows
or as one answer key per point (cli/render/csv.py, cli/render/markdown.py).
"""

from __future__ import annotations

import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ...graph.limits import DEFAULT_EPS, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from ...graph.shapes import fitting_chunk
from ...graph.values import SCALAR_DIGITS
from ..arguments import split_arguments
from ..files import MAX_LINE_BYTES
from ..options import (
    PROGRAM_SETTINGS,
    Digits,
    Json,
    Limits,
    MaxElements,
    MaxMemory,
    MaxNodes,
    Timeout,
    Var,
    VarsFile,
    deadline,
    exit_on_error,
    read_inputs,
    require_positive,
    written_to,
)
from ..points import chunks, point_rows
from ..render.json import kinks_json
from ..render.jsonl import BatchLines, batch_lines
from ..render.text import warn

EXIT_CHECK_FAILED, EXIT_FAILED_POINTS = 1, 2
DEFAULT_CHUNK = 4096

EXAMPLES = """
Examples:

  jq -c '{a: .x, b: .y, c: 2}' points.jsonl | backprop batch "(a + b**3) * c"

  backprop batch "(a + b**3) * c" --points points.csv --json > out.jsonl

  backprop batch "x * W" --points grid.npy --columns x,W --check

  backprop batch "(a + b**3) * c" --points students.csv --c 2 --nodes --format csv > keys.csv

  backprop batch "(a + b**3) * c" --points students.csv --c 2 --nodes --format markdown > keys.md
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


Points = Annotated[
    Path | None,
    typer.Option(
        "--points", metavar="FILE", help="Read points from a .jsonl, .csv or .npy file instead of stdin."
    ),
]
Columns = Annotated[
    str | None, typer.Option(metavar="a,b,c", help="Input names of the columns of a 2-D .npy file.")
]
ChunkSize = Annotated[int, typer.Option(help="Evaluate at most this many points at once.")]
Check = Annotated[bool, typer.Option("--check", help="Gradient check at every point; exit 1 if one fails.")]
Eps = Annotated[float, typer.Option(help="Relative step of the gradient check.")]
Tol = Annotated[float, typer.Option(help="Tolerance of the gradient check.")]
MaxLineBytes = Annotated[
    int,
    typer.Option(
        "--max-line-bytes",
        metavar="N",
        help="A longer input line is a limit error for that line; the others go on.",
    ),
]
Nodes = Annotated[
    bool, typer.Option("--nodes", help="Every node's value and gradient too, by its name in eval's table.")
]
Formats = Annotated[
    Format,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="jsonl (a JSON object a line), csv (a row a point, for a spreadsheet), markdown or latex (a key a point).",
    ),
]


def command(
    ctx: typer.Context,
    var: Var = None,
    vars_file: VarsFile = None,
    points: Points = None,
    columns: Columns = None,
    chunk: ChunkSize = DEFAULT_CHUNK,
    check: Check = False,
    eps: Eps = DEFAULT_EPS,
    tol: Tol = DEFAULT_TOL,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
    nodes: Nodes = False,
    format_: Formats = Format.jsonl,
    json_output: Json = False,
    digits: Digits = SCALAR_DIGITS,  # of --format csv and markdown (JSON Lines has every digit)
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
    max_memory: MaxMemory = None,
    timeout: Timeout = None,
) -> None:
    """Evaluate PROGRAM at many points: one JSON object per input line, with value and gradients.

    Points are JSON objects of input values, one per line, on standard input ({"a": 7, "b": 3}), or the rows of --points FILE. Values given as --NAME VALUE, --var or --vars are fixed for every point (a point that gives one again is an error on its line). A point's other names (a "student" column) are carried into its line under "carried". Output is JSON Lines (--json is accepted for symmetry): {"line": N, "value": ..., "gradients": {...}} or {"line": N, "error": {...}} for a bad line; --nodes adds "nodes", every node's value and grad by name. --format csv writes a header and a row a point; --format markdown or latex a heading and a table of nodes a point.

    Exit codes: 0 every point evaluated; 1 a --check failed; 2 some points failed (counted on stderr) or the program or options are wrong; 130 Ctrl-C (after whole lines).
    """
    jsonl = format_ is Format.jsonl
    # JSON Lines: an error is one line too
    with exit_on_error(json_output=jsonl) as shown, written_to(digits):
        _check_options(ctx, json_output and not jsonl, format_, chunk, max_line_bytes, eps, tol, points)
        limits = Limits(max_nodes, max_elements, max_memory, timeout)
        with deadline(limits.timeout):
            shown.source, fixed, typed = read_inputs(ctx, var, vars_file, limits)
            program = limits.parse(shown.source)
            # a misspelt option (`--nodez 1`) is told, not taken for an input
            typed.refuse_mistyped(program.inputs)
            fixed = _fixed_values(program, fixed)
            chunk = fitting_chunk(program, chunk)
            needed = set(program.inputs) - fixed.keys()
            pieces = chunks(point_rows(points, columns, max_line_bytes), chunk, needed, frozenset(fixed))
            output = _writer(format_, program, shown.source, fixed, nodes)
            total, failed, check_failed = _run(
                program,
                pieces,
                output,
                fixed,
                nodes=nodes or format_ in (Format.markdown, Format.latex),  # a key shows the inputs' values
                check=check,
                eps=eps,
                tol=tol,
                progress=_progress_for(points),
            )
    if failed:
        warn(f"{failed} of {total} points failed")
        raise typer.Exit(EXIT_FAILED_POINTS)
    raise typer.Exit(EXIT_CHECK_FAILED if check_failed else 0)


def _check_options(ctx, both: bool, format_: Format, chunk: int, max_line: int, eps, tol, points) -> None:
    """The options' own errors, before anything is read."""
    if both:
        raise InputError(
            f"--json and --format {format_.value} ask for two kinds of output",
            hint="give one of them (--json is --format jsonl)",
        )
    for option, value in (("--chunk", chunk), ("--max-line-bytes", max_line)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, not {value}")
    require_positive(("--eps", eps), ("--tol", tol))  # as eval's: --tol -1 passed every check
    if split_arguments(ctx.args)[0] == "-" and points is None:
        raise InputError(
            "the program cannot come from stdin when the points do", hint="give the points with --points FILE"
        )


def _fixed_values(program, given: dict[str, object]) -> dict[str, float]:
    """The values given on the command line that the program uses, fixed for every point: numbers
    only, since every point's values are numbers; the others are warned about, as eval does."""
    fixed = {}
    for name, value in given.items():
        if name not in program.inputs:
            warn(f"{name} is given a value but the program never uses it")
        elif type(value) is not float:
            raise InputError(
                f"{name} is a tensor: batch fixes numbers only, as its points give numbers only",
                hint=f"evaluate at a tensor with backprop eval, or give {name} a number",
            )
        else:
            fixed[name] = value
    return fixed


def _writer(format_: Format, program, source: str, fixed: dict, nodes: bool):
    """What turns each chunk's results into text, for the --format asked for."""
    if format_ is Format.csv:
        from ..render.csv import BatchRows

        return BatchRows(program, nodes)
    if format_ is Format.markdown:
        from ..render.markdown import BatchKeys

        return BatchKeys(program, source, fixed, nodes)
    if format_ is Format.latex:
        from ..render.latex import BatchKeys as LatexKeys

        return LatexKeys(program, source, fixed, nodes)
    return BatchLines(program, nodes)


def _run(
    program, chunks, output, fixed: dict, *, nodes: bool, check: bool, eps: float, tol: float, progress
) -> tuple[int, int, bool]:
    """Evaluate chunk by chunk, writing each chunk's lines at once; (points, failed, check failed)."""
    from ...graph.batch import evaluate_columns
    from ...graph.kernels import numpy

    np = numpy()
    total = failed = 0
    check_failed = False
    kinks = _Kinks(program)
    columnar = getattr(output, "columnar", False) and not check
    with progress as advance, _WholeLines() as out:
        for piece in chunks:
            good = len(piece) - len(piece.errors)
            columns = {**piece.columns, **{name: np.full(good, value) for name, value in fixed.items()}}
            batch = None
            if good:
                batch = evaluate_columns(
                    program, columns, check=check, eps=eps, tol=tol, size=good, nodes=nodes
                )
            text, bad, check_bad = _chunk_text(piece, batch, output, kinks, columnar)
            out.write(text)
            failed, check_failed = failed + bad, check_failed or check_bad
            total += len(piece)
            advance(len(piece))
    if kinks.points > 1:
        warn(f'{kinks.points} of {total} points were at a kink: their lines list them under "kinks"')
    return total, failed, check_failed


def _chunk_text(piece, batch, output, kinks: _Kinks, columnar: bool) -> tuple[str, int, bool]:
    """A chunk's lines, (text, points failed, a check failed). `columnar`: the plain points' lines
    come from the columns (render/jsonl.py), the others' one by one."""
    from ...graph.batch import PointResult

    plain = columnar and batch is not None and batch.value is not None
    if plain and not (piece.errors or piece.carried or batch.alone or batch.kinks):
        return batch_lines(piece.lines, batch.value, batch.gradients), 0, False
    good = [line for i, line in enumerate(piece.lines) if i not in piece.errors]
    lines = batch_lines(good, batch.value, batch.gradients, split=True) if plain else None
    texts, rows, point, failed, check_failed = [], [], 0, 0, False
    for i, line in enumerate(piece.lines):
        error = piece.errors.get(i)
        if error is None:
            point += 1
            if plain and i not in piece.carried and batch.plain(point - 1):
                texts.append(lines[point - 1])
                continue
        result = PointResult(error=error) if error is not None else batch.result(point - 1)
        failed += result.error is not None
        check_failed = check_failed or (result.check is not None and not result.check.passed)
        row = (line, result, piece.carried.get(i), kinks.told(line, result.kinks))
        if columnar:
            texts.append(output.line(*row))
        else:
            rows.append(row)
    return ("".join(texts) if columnar else output.chunk(rows)), failed, check_failed


class _Kinks:
    """The kinks of a run: a warning the first time each node is at one, naming the line; the
    "kinks" entries of every point at one."""

    def __init__(self, program) -> None:
        self.program, self.labels, self.warned, self.points = program, None, set(), 0
        self.entries: dict = {}  # Kink -> its entry: relu at 0 is the same kink at every point

    def told(self, line: int, kinks: list | None) -> list[dict] | None:
        """The point's "kinks" entries (None when it has none), warning of the nodes not yet told."""
        if not kinks:
            return None
        self.points += 1
        for kink in kinks:
            if kink.node not in self.warned:
                self.warned.add(kink.node)
                warn(f"line {line}: {self._entry(kink)['text']}")
        return [self._entry(kink) for kink in kinks]

    def _entry(self, kink) -> dict:
        entry = self.entries.get(kink)
        if entry is None:
            if self.labels is None:
                self.labels = self.program.labels()
            if len(self.entries) >= 10_000:  # many distinct ties: memory stays bounded
                self.entries.clear()
            (entry,) = kinks_json([kink], self.program, self.labels)
            self.entries[kink] = entry
        return entry


class _WholeLines:
    """Writes each chunk's lines. Ctrl-C while they are being written takes effect once they are all
    out, so that every line of the output is whole; at any other time (reading, evaluating) it
    stops the run at once. Either way KeyboardInterrupt ends it, with exit 130."""

    def __enter__(self):
        self.writing = self.interrupted = False
        self.installed = (  # not when Ctrl-C is ignored (`nohup`), nor outside the main thread
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
            and threading.current_thread() is threading.main_thread()
        )
        if self.installed:
            signal.signal(signal.SIGINT, self._interrupt)
        return self

    def _interrupt(self, signum, frame) -> None:
        if not self.writing:
            raise KeyboardInterrupt
        self.interrupted = True

    def write(self, text: str) -> None:
        self.writing = True
        try:
            _write_all(text.encode("utf-8"))
        finally:
            self.writing = False
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _write_all(data: bytes) -> None:
    """Write and flush every byte. An unbuffered stdout (python -u, PYTHONUNBUFFERED) writes what a
    signal interrupts only in part, and its text layer drops the rest: here the rest is written."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text stream put in its place (contextlib.redirect_stdout)
        sys.stdout.write(data.decode("utf-8"))
        return
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]
    out.flush()


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
