"""`backprop graph`: the computation graph drawn as DOT, Mermaid or a tree, or rendered by Graphviz."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ..options import PROGRAM_SETTINGS, ProgramInputs, takes_program
from ..render.text import output_path, write_atomically

EXAMPLES = """
Examples:

  backprop graph "(a + b) * b**3" --a 7 --b 3 --format dot | dot -Tsvg > g.svg

  backprop graph "(a + b) * b**3" --format mermaid

  backprop graph "u = a*b; v = u + a; u * v" --a 2 --b 5 --format tree

  backprop graph "(a + b) * b**3" --a 7 --b 3 --output g.svg    # needs Graphviz's dot on PATH

  backprop graph "(a + b) * b**3" --format mermaid --output -   # - is standard output
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    tree = "tree"


IMAGE_TYPES = (".svg", ".png", ".pdf", ".jpg", ".jpeg", ".gif")
"""Output files that Graphviz's dot renders; any other --output gets the text."""

FORMAT_OF_SUFFIX = {
    ".dot": Format.dot,
    ".gv": Format.dot,
    ".mmd": Format.mermaid,
    ".mermaid": Format.mermaid,
    ".txt": Format.tree,
}


@takes_program(json=False)
def command(
    given: ProgramInputs,
    format_: Annotated[
        Format | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="dot (Graphviz), mermaid (Markdown) or tree (the terminal). Default: from --output's suffix, else dot.",
        ),
    ] = None,
    output: Annotated[
        str | None,  # not a Path: pathlib would make ./-name into -name, which is refused
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write here instead of standard output (- is standard output); .svg, .png or .pdf is rendered by Graphviz's dot. The file is replaced only when all went well.",
        ),
    ] = None,
) -> None:
    """Draw the computation graph of PROGRAM: inputs, operations and the output, with every value and gradient when values are given.

    Values are optional: without them the graph shows the structure only. In the tree, a node used more than once is drawn once and marked shared. Exit codes: 0 success, 2 an error in the program, the values or the options (or no dot to render an image).
    """
    from ..render import drawing

    target = None if output in (None, "-") else output_path(output, "--output")  # None: standard output
    chosen = _graph_format(format_, target)
    program = given.parse()
    evaluation = given.evaluate(program) if given.values or not program.inputs else None
    if chosen is Format.dot:
        text = drawing.dot_text(program, evaluation, given.source)
    elif chosen is Format.mermaid:
        text = drawing.mermaid_text(program, evaluation)
    else:
        text = drawing.tree_text(program, evaluation, color=target is None and sys.stdout.isatty())
    _write_graph(text, target)


def _graph_format(chosen: Format | None, output: Path | None) -> Format:
    suffix = output.suffix.lower() if output is not None else ""
    if suffix in IMAGE_TYPES:
        if chosen not in (None, Format.dot):
            raise InputError(
                f"--output {output} is an image, which only --format dot can make",
                hint="drop --format, or write the text: --output graph.mmd",
            )
        return Format.dot
    return chosen or FORMAT_OF_SUFFIX.get(suffix, Format.dot)


def _write_graph(text: str, output: Path | None) -> None:
    """The drawing on standard output, or in place of `output`, whole or not at all."""
    if output is None:
        sys.stdout.write(text)
        return
    if output.suffix.lower() in IMAGE_TYPES:
        data = _render_with_dot(text, output)
    else:
        data = text.encode("utf-8")
    write_atomically(output, data, "--output")


def _render_with_dot(text: str, output: Path) -> bytes:
    """Run Graphviz's dot (no shell) to turn the DOT text into the bytes of an image; dot writes
    them to its standard output, so a dot that fails leaves no file behind."""
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise InputError(
            f"rendering {output.name} needs Graphviz's dot program, which is not on PATH",
            hint="install Graphviz, or write the text and render it elsewhere: --output graph.dot",
        )
    try:
        result = subprocess.run(
            [dot, f"-T{output.suffix.lower()[1:]}"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as failure:
        raise InputError(f"dot could not render {output}: {failure}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"exit code {result.returncode}"
        raise InputError(f"dot could not render {output}: {message}")
    return result.stdout
