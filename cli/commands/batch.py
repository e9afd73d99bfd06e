"""`backprop batch`: one program, many points, JSON Lines out — streaming, in bounded memory.

Points arrive as JSON Lines on stdin or from --points (.jsonl, .csv with a header, .npy), read by
cli/points.py and evaluated in chunks, every point of a chunk at once (see graph/batch.py). Every
input line gives exactly one output line, in order: a result, or {"line": N, "error": {...}} —
and the rest go on.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ...graph.limits import DEFAULT_EPS, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from ..arguments import read_program
from ..options import Json, Limits, MaxElements, MaxNodes, exit_on_error, require_positive
from ..points import chunks, point_rows
from ..render.json import batch_line, json_line
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
        require_positive(("--eps", eps), ("--tol", tol))  # as eval's: --tol -1 passed every check
        if program_text == "-" and points is None:
            raise InputError(
                "the program cannot come from stdin when the points do",
                hint="give the points with --points FILE",
            )
        shown.source = read_program(program_text)
        program = Limits(max_nodes, max_elements).parse(shown.source)
        pieces = chunks(point_rows(points, columns), chunk, set(program.inputs))
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
    with progress as advance:
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
                lines.append(json_line(batch_line(line, result)))
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            total += len(piece)
            advance(len(piece))
    return total, failed, check_failed


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
