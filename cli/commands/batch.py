"""`backprop batch`: one program, many points, JSON Lines out — streaming, in bounded memory.

Points arrive as JSON Lines on stdin or from --points (.jsonl, .csv with a header, .npy), read by
cli/points.py and evaluated in chunks, every point of a chunk at once (see graph/batch.py). Every
input line gives exactly one output line, in order: a result, or {"line": N, "error": {...}} —
and the rest go on; Ctrl-C stops the run after whole lines.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ...graph.limits import DEFAULT_EPS, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from ...graph.shapes import fitting_chunk
from ..arguments import read_program
from ..files import MAX_LINE_BYTES
from ..options import (
    Json,
    Limits,
    MaxElements,
    MaxMemory,
    MaxNodes,
    Timeout,
    deadline,
    exit_on_error,
    require_positive,
)
from ..points import chunks, point_rows
from ..render.json import batch_line, json_line, kinks_json
from ..render.text import warn

EXIT_CHECK_FAILED, EXIT_FAILED_POINTS = 1, 2
DEFAULT_CHUNK = 4096

EXAMPLES = """
Examples:

  jq -c '{a: .x, b: .y, c: 2}' points.jsonl | backprop batch "(a + b**3) * c"

  backprop batch "(a + b**3) * c" --points points.csv --json > out.jsonl

  backprop batch "x * W" --points grid.npy --columns x,W --check
"""

SETTINGS = {"epilog": EXAMPLES}


def command(
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
    max_line_bytes: Annotated[
        int,
        typer.Option(
            "--max-line-bytes",
            metavar="N",
            help="A longer input line is a limit error for that line; the others go on.",
        ),
    ] = MAX_LINE_BYTES,
    json_output: Json = False,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
    max_memory: MaxMemory = None,
    timeout: Timeout = None,
) -> None:
    """Evaluate PROGRAM at many points: one JSON object per input line, with value and gradients.

    Points are JSON objects of input values, one per line, on standard input ({"a": 7, "b": 3}), or the rows of --points FILE. Output is always JSON Lines (--json is accepted for symmetry): {"line": N, "value": ..., "gradients": {...}} or {"line": N, "error": {...}} for a bad line.

    Exit codes: 0 every point evaluated; 1 a --check failed; 2 some points failed (counted on stderr) or the program or options are wrong; 130 Ctrl-C (after whole lines).
    """
    with exit_on_error(json_output=True) as shown:  # always JSON Lines: an error is one line too
        for option, value in (("--chunk", chunk), ("--max-line-bytes", max_line_bytes)):
            if value < 1:
                raise InputError(f"{option} must be at least 1, not {value}")
        require_positive(("--eps", eps), ("--tol", tol))  # as eval's: --tol -1 passed every check
        if program_text == "-" and points is None:
            raise InputError(
                "the program cannot come from stdin when the points do",
                hint="give the points with --points FILE",
            )
        limits = Limits(max_nodes, max_elements, max_memory, timeout)
        with deadline(limits.timeout):
            shown.source = read_program(program_text)
            program = limits.parse(shown.source)
            chunk = fitting_chunk(program, chunk)
            pieces = chunks(point_rows(points, columns, max_line_bytes), chunk, set(program.inputs))
            total, failed, check_failed = _run(
                program, pieces, check=check, eps=eps, tol=tol, progress=_progress_for(points)
            )
    if failed:
        warn(f"{failed} of {total} points failed")
        raise typer.Exit(EXIT_FAILED_POINTS)
    raise typer.Exit(EXIT_CHECK_FAILED if check_failed else 0)


def _run(program, chunks, *, check: bool, eps: float, tol: float, progress) -> tuple[int, int, bool]:
    """Evaluate chunk by chunk, writing each chunk's lines at once; (points, failed, check failed)."""
    from ...graph.batch import PointResult, evaluate_batch

    total = failed = 0
    check_failed = False
    kinks = _Kinks(program)
    with progress as advance, _WholeLines() as output:
        for piece in chunks:
            good = len(piece) - len(piece.errors)
            results = iter(
                evaluate_batch(program, piece.columns, check=check, eps=eps, tol=tol, size=good)
                if good
                else ()
            )
            lines = []
            for i, line in enumerate(piece.lines):
                error = piece.errors.get(i)
                result = PointResult(error=error) if error is not None else next(results)
                failed += result.error is not None
                check_failed = check_failed or (result.check is not None and not result.check.passed)
                lines.append(json_line(batch_line(line, result, kinks.told(line, result.kinks))))
            output.write("".join(lines))
            total += len(piece)
            advance(len(piece))
    if kinks.points > 1:
        warn(f'{kinks.points} of {total} points were at a kink: their lines list them under "kinks"')
    return total, failed, check_failed


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
