"""`backprop graph`: the computation graph drawn as DOT, Mermaid (bare, in Markdown, in an HTML page), LaTeX or
a tree, or rendered by Graphviz."""

from __future__ import annotations

import shutil
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

  backprop graph "(a + b) * b**3" --a 7 --b 3 --edges --output g.md   # Mermaid in Markdown, edges weighted

  backprop graph "(a + b) * b**3" --a 7 --b 3 --format latex
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    tree = "tree"
    markdown = "markdown"
    latex = "latex"
    html = "html"


IMAGE_TYPES = (".svg", ".png", ".pdf", ".jpg", ".jpeg", ".gif")
"""Output files that Graphviz's dot renders; any other --output gets the text."""

FORMAT_OF_SUFFIX = {
    ".dot": Format.dot,
    ".gv": Format.dot,
    ".mmd": Format.mermaid,
    ".mermaid": Format.mermaid,
    ".txt": Format.tree,
    ".md": Format.markdown,
    ".markdown": Format.markdown,
    ".tex": Format.latex,
    ".html": Format.html,
    ".htm": Format.html,
}

EDGELESS = (Format.tree, Format.latex)
"""Formats that draw no edges, so no --edges."""


@takes_program(json=False)
def command(
    given: ProgramInputs,
    format_: Annotated[
        Format | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="dot (Graphviz), mermaid, markdown (Mermaid in a fence), html (a page that draws it), latex (the nodes as an align*) or tree (the terminal). Default: from --output's suffix, else dot.",
        ),
    ] = None,
    edges: Annotated[
        bool,
        typer.Option(
            "--edges",
            help="Label each edge child → parent with ∂parent/∂child: the number when values are given, else its formula.",
        ),
    ] = False,
    output: Annotated[
        str | None,  # not a Path: pathlib would make ./-name into -name, which is refused
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write here instead of standard output (- is standard output): .dot/.gv, .mmd, .md, .html, .tex, .txt, or an image (.svg, .png, .pdf, …) rendered by Graphviz's dot. The file is replaced only when all went well.",
        ),
    ] = None,
) -> None:
    """Draw the computation graph of PROGRAM: inputs, operations and the output, with every value and gradient when values are given.

    Values are optional: without them the graph shows the structure only. A tensor's node shows its shape and, past a few elements, its min, mean and max. In the tree, a node used more than once is drawn once and marked shared; the tree fits the terminal's width. Exit codes: 0 success, 2 an error in the program, the values or the options (or no dot to render an image).
    """
    target = None if output in (None, "-") else output_path(output, "--output")  # None: standard output
    chosen = _graph_format(format_, target)
    if edges and chosen in EDGELESS:
        raise InputError(
            f"--edges labels the edges of a drawing, and --format {chosen.value} draws none",
            hint="use --format dot, mermaid, markdown or html; `backprop trace` lists every local derivative",
        )
    program = given.parse()
    evaluation = given.evaluate(program) if given.values or not program.inputs else None
    _write_graph(
        _drawing(chosen, program, evaluation, given.source, edges, to_terminal=target is None), target
    )


def _drawing(chosen: Format, program, evaluation, source: str, edges: bool, *, to_terminal: bool) -> str:
    """The text of the drawing in the chosen format."""
    from ..render import drawing

    if chosen is Format.dot:
        return drawing.dot_text(program, evaluation, source, edges=edges)
    if chosen is Format.mermaid:
        return drawing.mermaid_text(program, evaluation, edges=edges)
    if chosen is Format.markdown:
        return drawing.markdown_text(program, evaluation, edges=edges)
    if chosen is Format.html:
        return _html_page(program, evaluation, source, edges)
    if chosen is Format.latex:
        return drawing.latex_text(program, evaluation, source)
    width = max(shutil.get_terminal_size((100, 24)).columns, 20)  # COLUMNS, else the terminal's, else 100
    return drawing.tree_text(program, evaluation, color=to_terminal and sys.stdout.isatty(), width=width)


def _html_page(program, evaluation, source: str, edges: bool) -> str:
    """A page drawn by Graphviz when dot is on PATH (self-contained), else by Mermaid from a CDN."""
    from ..render import drawing
    from ..render.text import warn

    if shutil.which("dot") is None:
        warn(
            f"no Graphviz dot on PATH: the page draws with Mermaid from {drawing.MERMAID_SCRIPT}, online only"
        )
        return drawing.html_page(source, drawing.mermaid_text(program, evaluation, edges=edges), None)
    dot = drawing.dot_text(program, evaluation, source, edges=edges)
    return drawing.html_page(source, None, _render_with_dot(dot, "svg", "the page").decode("utf-8"))


def _graph_format(chosen: Format | None, output: Path | None) -> Format:
    suffix = output.suffix.lower() if output is not None else ""
    if suffix in IMAGE_TYPES:
        if chosen not in (None, Format.dot):
            raise InputError(
                f"--output {output} is an image, which only --format dot can make",
                hint="drop --format, or write the text: --output graph.mmd",
            )
        return Format.dot
    if chosen is not None or output is None or (output.exists() and not output.is_file()):
        return chosen or Format.dot  # /dev/null, a pipe: no name to judge; a folder: the write says so
    if suffix not in FORMAT_OF_SUFFIX:
        known = ", ".join([*FORMAT_OF_SUFFIX, *IMAGE_TYPES])
        raise InputError(
            f"--output {output.name}: "
            + (f"no drawing is written as {suffix}" if suffix else "the name has no suffix"),
            hint=f"name the file with one of {known}; or say which with --format",
        )
    return FORMAT_OF_SUFFIX[suffix]


def _write_graph(text: str, output: Path | None) -> None:
    """The drawing on standard output, or in place of `output`, whole or not at all."""
    if output is None:
        sys.stdout.write(text)
        return
    if output.suffix.lower() in IMAGE_TYPES:
        data = _render_with_dot(text, output.suffix.lower()[1:], str(output))
    else:
        data = text.encode("utf-8")
    write_atomically(output, data, "--output")


def _render_with_dot(text: str, kind: str, output: str) -> bytes:
    """Run Graphviz's dot (no shell) to turn the DOT text into the bytes of an image of `kind` (svg,
    png, …) for `output`; dot writes them to its standard output, so a dot that fails leaves no file behind."""
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        raise InputError(
            f"rendering {Path(output).name} needs Graphviz's dot program, which is not on PATH",
            hint="install Graphviz, or write the text and render it elsewhere: --output graph.dot",
        )
    try:
        result = subprocess.run(
            [dot, f"-T{kind}"],
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
