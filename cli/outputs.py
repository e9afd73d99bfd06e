"""`batch --output FILE`: the kind of file its suffix names, judged before any point is read, and the
file itself, written beside its final name and renamed over it only when the run is done.

.jsonl and .csv are the bytes stdout would get; .npy and .parquet are written from each chunk's
columns (render/npy.py, render/parquet.py), one record (or row group) a chunk, so memory stays that
of a chunk however many points there are.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

from ..graph.errors import InputError

KINDS = {".jsonl": "jsonl", ".csv": "csv", ".npy": "npy", ".parquet": "parquet"}
"""--output's suffix -> the kind of file written (jsonl and csv are also --format's names)."""

PARQUET_EXTRA = "pip install 'backprop[parquet]'"


def output_kind(name: str, format_: str | None, *, nodes: bool, check: bool) -> str:
    """The kind of file `--output name` writes; `format_` is a --format (or --json) given on the
    command line, which must agree. Raises InputError with the fix for a kind that cannot be."""
    suffix = Path(name).suffix.lower()
    kind = KINDS.get(suffix)
    if kind is None:
        raise InputError(
            f"--output {Path(name).name}: unknown kind of file {suffix or '(no suffix)'}",
            hint="end the name in .jsonl, .csv, .npy or .parquet",
        )
    if format_ is not None and format_ != kind:
        raise InputError(
            f"--format {format_} and --output {Path(name).name} ask for two kinds of output",
            hint=f"drop --format: the suffix {suffix} chooses {kind}",
        )
    if kind in ("npy", "parquet") and (nodes or check):
        option = "--nodes" if nodes else "--check"
        raise InputError(
            f"--output {suffix} holds each point's value and gradients only, not {option}'s",
            hint=f"write --output out.jsonl or out.csv, which carry {option}",
        )
    if kind == "parquet":
        require_pyarrow(f"--output {Path(name).name}", "or write .npy, .jsonl or .csv, which need no extra")
    return kind


def require_pyarrow(what: str, hint: str) -> None:
    """Stop with the extra to install when pyarrow cannot be imported (before any work)."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError(f"{what} needs pyarrow: {PARQUET_EXTRA}", hint=hint) from None


def judge_target(name: str, points: Path | None) -> Path:
    """The file --output names, when it can be written: its directory exists and is writable, it is
    not a directory, and it is not the points being read."""
    target = Path(os.path.realpath(name))
    folder = target.parent
    if not folder.is_dir():
        raise InputError(
            f"cannot write --output {name!r}: there is no directory {str(folder)!r}",
            hint="create the directory first, or write the file elsewhere",
        )
    if target.is_dir() or not os.access(folder, os.W_OK):
        what = "it is a directory" if target.is_dir() else f"{str(folder)!r} is not writable"
        raise InputError(f"cannot write --output {name!r}: {what}", hint="give another file name")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise InputError(f"cannot write --output {name!r}: it is not a regular file", hint="give a file name")
    if points is not None and target in _point_files(points):
        raise InputError(
            f"--output {name!r} is the --points file: it would be replaced while it is read",
            hint="write the results to another file",
        )
    return target


def _point_files(points: Path) -> set[Path]:
    """The files --points reads (every match of a pattern), resolved."""
    import glob

    names = glob.glob(str(points)) if glob.has_magic(str(points)) else [str(points)]
    return {Path(os.path.realpath(found)) for found in names}


class OutputFile:
    """The file being written: a new file beside the target, renamed over it when the run ends
    well, removed when it does not (an error, Ctrl-C), so no half file ever has the final name.
    `writer` (render/npy.py, render/parquet.py) writes a chunk's columns, or None for text."""

    def __init__(self, target: Path, kind: str, program, writer_for=None) -> None:
        self.target, self.kind, self.program, self.writer_for = target, kind, program, writer_for
        self.columnar, self.kinks_told = writer_for is not None, False
        self.temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")

    def __enter__(self) -> OutputFile:
        try:
            self.stream = open(self.temporary, "xb")  # noqa: SIM115 - closed by __exit__
        except OSError as failure:
            raise self._failed(failure) from None
        self.writer = self.writer_for(self.stream) if self.columnar else None
        return self

    def write(self, text: str) -> None:
        """A chunk's text (.jsonl, .csv)."""
        try:
            self.stream.write(text.encode("utf-8"))
        except OSError as failure:
            raise self._failed(failure) from None

    def write_columns(self, piece, batch) -> int:
        """A chunk's results through the writer; the number of its points that failed."""
        first = None if self.kinks_told else _first_kink(piece, batch)
        if first is not None:  # once a run, naming the first point at one
            from .render.text import kink_text, warn

            self.kinks_told = True
            line, kink = first
            warn(f"line {line}: {kink_text(kink, self.program)} (--output .jsonl lists every point's kinks)")
        try:
            return self.writer.write(piece, batch)
        except OSError as failure:
            raise self._failed(failure) from None

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                if self.writer is not None:
                    self.writer.close()
                self.stream.flush()
                os.fsync(self.stream.fileno())  # the bytes are on disk before the rename says so
                self.stream.close()
                os.replace(self.temporary, self.target)
                return
        except OSError as failure:
            self._discard()
            raise self._failed(failure) from None
        self._discard()

    def _discard(self) -> None:
        if self.writer is not None:  # pyarrow's writer would end the file as it is collected, when closed
            with contextlib.suppress(Exception):  # a file removed next: whatever went wrong is moot
                self.writer.close()
        with contextlib.suppress(OSError):
            self.stream.close()
        with contextlib.suppress(OSError):
            self.temporary.unlink(missing_ok=True)

    def _failed(self, failure: OSError) -> InputError:
        return InputError(f"cannot write --output {str(self.target)!r}: {failure.strerror or failure}")


def _first_kink(piece, batch) -> tuple | None:
    """(line, kink) of the chunk's first point where a derivative was taken at a kink, if any."""
    if batch is None:
        return None
    at = dict(batch.kinks) | {k: result.kinks for k, result in batch.alone.items() if result.kinks}
    if not at:
        return None
    good = [line for i, line in enumerate(piece.lines) if i not in piece.errors]
    return good[min(at)], at[min(at)][0]


def output_file(name: str, kind: str, program, points: Path | None, wrt=None) -> OutputFile:
    """The OutputFile for --output `name` of `kind` (output_kind), judged again (judge_target);
    its gradient columns are those of `wrt` (batch --wrt), else of every input."""
    target = judge_target(name, points)
    names = list(program.inputs if wrt is None else wrt)
    if kind == "npy":
        from .render.npy import NpyColumns

        return OutputFile(target, kind, program, lambda stream: NpyColumns(stream, names))
    if kind == "parquet":
        from .render.parquet import ParquetColumns

        return OutputFile(target, kind, program, lambda stream: ParquetColumns(stream, names))
    return OutputFile(target, kind, program)


def judged_output(
    ctx, name: str | None, format_: str, json_output: bool, points: Path | None, **options
) -> str | None:
    """--output's kind of file (None for stdout), judged before any point is read: its suffix, the
    --format or --json given with it, --nodes and --check (`options`), and where it would go."""
    if name is None:
        return None
    from .render.text import output_path

    # a --format on the command line must agree; the default (or a configured one) gives way
    source = ctx.get_parameter_source("format_")
    given = getattr(source, "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")
    kind = output_kind(
        str(output_path(name, "--output")), "jsonl" if json_output else format_ if given else None, **options
    )
    judge_target(name, points)
    return kind
