"""--format: the write-ups (Markdown, LaTeX, CSV) a command can print instead of its text, and the
one rule they share with --json."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from ..graph.errors import InputError


class TableWriteUp(str, Enum):
    """--format's write-ups of a command whose output is a table (cli/render/markdown.py, latex.py, csv.py)."""

    markdown = "markdown"
    latex = "latex"
    csv = "csv"


def write_up(formats: type[Enum], help: str):
    """The --format option of a command that writes `formats` instead of its text (None: the text)."""
    return Annotated[
        formats | None, typer.Option("--format", case_sensitive=False, help=help, show_default=False)
    ]


def refuse_two_outputs(json_output: bool, format_) -> None:
    """--json and --format (an Enum) ask for two kinds of output: both given is an error, not a choice made silently."""
    if json_output and format_ is not None:
        raise InputError(
            f"--json and --format {format_.value} ask for two kinds of output", hint="give one of them"
        )
