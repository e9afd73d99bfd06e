"""Running `batch`: its points evaluated chunk by chunk and written as each chunk is done, whole
lines only, with kinks told once and a progress bar on a terminal (cli/commands/batch.py reads the
options and calls run)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

from .render.json import kinks_json
from .render.jsonl import batch_lines
from .render.text import warn


def run(
    program,
    chunks,
    output,
    fixed: dict,
    *,
    nodes: bool,
    check: bool,
    eps: float,
    tol: float,
    progress,
    sink=None,
    exact: bool = False,
    wrt: tuple[str, ...] | None = None,
) -> tuple[int, int, bool]:
    """Evaluate chunk by chunk, writing each chunk's lines at once; (points, failed, check failed).
    `sink`: the --output file (cli/outputs.py), else stdout; `exact`: values bit for bit eval's;
    `wrt`: the inputs whose gradients are computed and written (None: all)."""
    total = failed = 0
    check_failed = False
    kinks = Kinks(program)
    columnar = getattr(output, "columnar", False) and not check
    # the --output file is renamed to its name only when every chunk is written (cli/outputs.py)
    with progress as advance, WholeLines() as out, sink or contextlib.nullcontext():
        for piece in chunks:
            batch = evaluate_chunk(
                program, piece, fixed, nodes=nodes, check=check, eps=eps, tol=tol, exact=exact, wrt=wrt
            )
            if sink is not None and sink.columnar:  # .npy, .parquet: written from the columns
                bad, check_bad = sink.write_columns(piece, batch), False
            else:
                text, bad, check_bad = chunk_text(piece, batch, output, kinks, columnar)
                (sink or out).write(text)
            failed, check_failed = failed + bad, check_failed or check_bad
            total += len(piece)
            advance(len(piece))
    if kinks.points > 1:
        warn(f'{kinks.points} of {total} points were at a kink: their lines list them under "kinks"')
    return total, failed, check_failed


def evaluate_chunk(program, piece, fixed: dict, **options):
    """The chunk's BatchColumns (None when no point of it is good): its columns at once, or, for a
    few points, each on eval's scalar path (cli/points.py's SCALAR_POINTS), without NumPy."""
    from ..graph.batch import evaluate_columns, evaluate_points

    good = len(piece) - len(piece.errors)
    if not good:
        return None
    if piece.scalar:  # eval's own path: exact whatever is asked
        columns = {**piece.columns, **{name: [value] * good for name, value in fixed.items()}}
        options.pop("exact", None)
        return evaluate_points(program, columns, good, **options)
    from ..graph.kernels import numpy

    np = numpy()
    columns = {**piece.columns, **{name: np.full(good, value) for name, value in fixed.items()}}
    return evaluate_columns(program, columns, size=good, checked=True, **options)


def wrt_names(wrt: str | None, program) -> tuple[str, ...] | None:
    """--wrt's names (None without it), each an input of the program (a name error with the
    closest one, else), in the order of the program's inputs."""
    from ..graph.wanted import check_wrt
    from .arguments import wrt_list

    names = wrt_list(wrt)
    return None if names is None else check_wrt(program, names)


def chunk_text(piece, batch, output, kinks: Kinks, columnar: bool) -> tuple[str, int, bool]:
    """A chunk's lines, (text, points failed, a check failed). `columnar`: the plain points' lines
    come from the columns (render/jsonl.py), the others' one by one."""
    from ..graph.batch import PointResult

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


class Kinks:
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
                self.say(kink.node, f"line {line}: {self._entry(kink)['text']}")
        return [self._entry(kink) for kink in kinks]

    def say(self, node: int, warning: str) -> None:
        """Tell a node's first kink: on stderr here (a Dask task keeps it for the client instead)."""
        warn(warning)

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


class WholeLines:
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


def progress_for(points: Path | None):
    """A progress bar when the points come from a file and stderr is a terminal; never in a pipe."""
    return _Progress() if points is not None and sys.stderr.isatty() else _NoProgress()
