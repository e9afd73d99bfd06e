"""Text for people on stderr: error messages with the caret under their place, and warnings.

The JSON error object is built by render/json.py; this module writes the words.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ...graph.errors import BackpropError, InputError


def error_text(error: BackpropError, source: str | None) -> str:
    """The message, the offending line with a caret under the place, and the fix."""
    lines = [f"error: {error.message}"]
    if error.line is not None and error.column is not None:
        lines.append(f"  --> line {error.line}, column {error.column}")
        if source is not None:
            source_lines = source.split("\n")
            if 0 < error.line <= len(source_lines):
                text, offset, width = _window(
                    source_lines[error.line - 1].replace("\t", " "), error.column - 1, error.width
                )
                gutter = str(error.line)
                lines.append(f"{' ' * len(gutter)} |")
                lines.append(f"{gutter} | {text}")
                lines.append(f"{' ' * len(gutter)} | {' ' * offset}{'^' * width}")
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


ERROR_LINE_WIDTH = 100
"""A longer source line is shown as a window of this many characters around the error's place."""


def _window(text: str, start: int, width: int) -> tuple[str, int, int]:
    """(the part of `text` to show, where the caret starts in it, how many carets): the whole line
    when it is short, else ERROR_LINE_WIDTH characters from a little before `start`, with …"""
    if len(text) <= ERROR_LINE_WIDTH:
        return text, start, width
    first = max(0, min(start - ERROR_LINE_WIDTH // 3, len(text) - ERROR_LINE_WIDTH))
    last = first + ERROR_LINE_WIDTH
    shown = ("…" if first else "") + text[first:last] + ("…" if last < len(text) else "")
    offset = start - first + (1 if first else 0)
    return shown, offset, max(1, min(width, last - start))


def print_error(error: BackpropError, source: str | None) -> None:
    sys.stderr.write(error_text(error, source) + "\n")


def print_internal_error(failure: Exception) -> tuple[str, str]:
    """A bug of ours, told in two lines instead of a traceback (BACKPROP_TRACEBACK=1 shows it);
    returns (message, hint) for the JSON error object."""
    message = f"internal error: {type(failure).__name__}: {failure}"
    hint = (
        "this is a bug in backprop: please report it with the command line; BACKPROP_TRACEBACK=1 shows where"
    )
    sys.stderr.write(f"error: {message}\nhint: {hint}\n")
    return message, hint


_StdoutConsole = None


def stdout_console(**options):
    """A Rich console on standard output whose broken pipe reaches the command's output rule
    (cli/app.py: exit 141, quietly); Rich's own handler would exit 1. Rich loads here, not before."""
    global _StdoutConsole
    if _StdoutConsole is None:
        from rich.console import Console

        class PipeAwareConsole(Console):
            def on_broken_pipe(self) -> None:
                raise BrokenPipeError

        _StdoutConsole = PipeAwareConsole
    return _StdoutConsole(**options)


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_atomically(path: Path, data: bytes, what: str) -> None:
    """Write a new file beside `path` and rename it over `path`: a failure never leaves a
    half-written file where a good one was. `what` names the file in the error (`--save`)."""
    import contextlib
    import os
    import uuid

    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "xb") as stream:  # "x": a new file, its mode from the umask as any other
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # the bytes reach the disk before the rename says they have
        os.replace(temporary, path)
    except OSError as failure:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write {what} {str(path)!r}: {failure.strerror or failure}") from None


def warn_about_check(report, program) -> None:
    """Kinks the gradient check met, and inputs it could not check, said on stderr (eval, minimize)."""
    for node_id in report.kink_nodes:
        warn(
            f"{program.expr(node_id, limit=60)} is evaluated exactly at a kink; its derivative there "
            "is a convention (relu'(0) = 0, abs'(0) = 0, a max/min tie splits evenly), so the numeric "
            "gradient may differ; inputs upstream are not failed for it"
        )
    for item in report.inputs:
        if item.note:
            warn(f"gradient check of {item.name}: {item.note}")
