"""Homework mode: `trace` (the lecture's two passes step by step), `graph` (DOT, Mermaid or a tree)
and `paths` (backprop as weighted path counting), plus the answers `eval --expect` checks.

The commands register themselves on the `backprop` app when cli/app.py imports this module, so
it imports only what registering needs; the work and the renderers are imported when a command runs.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..graph.errors import InputError
from ..graph.limits import MAX_ELEMENTS, MAX_NODES
from . import render
from .app import app
from .arguments import collect_values, parse_var_option, read_vars_file
from .options import (
    PROGRAM_COMMAND,
    Json,
    Limits,
    MaxElements,
    MaxNodes,
    Var,
    VarsFile,
    evaluate_program,
    exit_on_error,
    parse_program,
    read_inputs,
)

TRACE_EXAMPLES = """
Examples:

  backprop trace "(a + b) * b**3" --a 7 --b 3

  backprop trace "z = x + y; b = sigmoid(x); L = z * b" --x 1 --y 2

  backprop trace "(a + relu(b)) * c" --a 7 --b -3 --c 2 --json | jq '.backward[].text'
"""

GRAPH_EXAMPLES = """
Examples:

  backprop graph "(a + b) * b**3" --a 7 --b 3 --format dot | dot -Tsvg > g.svg

  backprop graph "(a + b) * b**3" --format mermaid

  backprop graph "u = a*b; v = u + a; u * v" --a 2 --b 5 --format tree

  backprop graph "(a + b) * b**3" --a 7 --b 3 --output g.svg    # needs Graphviz's dot on PATH
"""

PATHS_EXAMPLES = """
Examples:

  backprop paths "(a + b) * b**3" --a 7 --b 3 --wrt b

  backprop paths "u = a*b; v = u + a; u * v" --a 2 --b 5 --wrt a --json

  backprop paths "x1 = a + a; x2 = x1 + x1; x3 = x2 + x2; x3 * x3" --a 1 --wrt a --max-paths 5
"""


def read_expectations(items: list[str] | None, path: Path | None) -> dict[str, float]:
    """The answers to check, from `--expect NAME=VALUE` and an `--expect-file` JSON object."""
    given = [parse_var_option(item, "--expect") for item in items or []]
    if path is not None:
        given += read_vars_file(path, "--expect-file")
    return collect_values(given)


# -- trace -------------------------------------------------------------------------------------


@app.command("trace", **PROGRAM_COMMAND, epilog=TRACE_EXAMPLES)
def trace_command(
    ctx: typer.Context,
    var: Var = None,
    vars_file: VarsFile = None,
    json_output: Json = False,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
) -> None:
    """Show the forward pass node by node, then the backward pass edge by edge, as the lecture does.

    Forward: every node in topological order with its value (c = a + b = 7 + 3 = 10). Backward: from ∂L/∂L = 1, every edge in reverse topological order as child.grad += parent.grad · ∂parent/∂child, with the child's running total, so a node with two parents receives two contributions.

    Nodes are named by the program's own names, else by letters a, b, c, … in topological order. Exit codes: 0 success, 2 an error in the program, the values or the options.
    """
    from ..graph.trace import trace
    from . import render_homework

    with exit_on_error(json_output) as shown:
        shown.source, values = read_inputs(ctx, var, vars_file)
        steps = trace(evaluate_program(shown.source, values, Limits(max_nodes, max_elements)))
    if json_output:
        render.print_json(render_homework.trace_json(steps, shown.source))
    else:
        render_homework.print_trace(steps, shown.source)


# -- graph -------------------------------------------------------------------------------------


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


@app.command("graph", **PROGRAM_COMMAND, epilog=GRAPH_EXAMPLES)
def graph_command(
    ctx: typer.Context,
    var: Var = None,
    vars_file: VarsFile = None,
    format_: Annotated[
        Format | None,
        typer.Option(
            "--format",
            case_sensitive=False,
            help="dot (Graphviz), mermaid (Markdown) or tree (the terminal). Default: from --output's suffix, else dot.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write here instead of standard output; .svg, .png or .pdf is rendered by Graphviz's dot.",
        ),
    ] = None,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
) -> None:
    """Draw the computation graph of PROGRAM: inputs, operations and the output, with every value and gradient when values are given.

    Values are optional: without them the graph shows the structure only. In the tree, a node used more than once is drawn once and marked shared. Exit codes: 0 success, 2 an error in the program, the values or the options (or no dot to render an image).
    """
    from . import render_homework

    with exit_on_error() as shown:
        shown.source, values = read_inputs(ctx, var, vars_file)
        program = parse_program(shown.source, Limits(max_nodes, max_elements))
        evaluation = evaluate_program(program, values) if values or not program.inputs else None
        chosen = _graph_format(format_, output)
        if chosen is Format.dot:
            text = render_homework.dot_text(program, evaluation, shown.source)
        elif chosen is Format.mermaid:
            text = render_homework.mermaid_text(program, evaluation)
        else:
            text = render_homework.tree_text(
                program, evaluation, color=output is None and sys.stdout.isatty()
            )
        _write_graph(text, output)


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
    if output is None:
        sys.stdout.write(text)
    elif output.suffix.lower() in IMAGE_TYPES:
        _render_with_dot(text, output)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as failure:
            raise InputError(f"cannot write --output {str(output)!r}: {failure}") from None


def _render_with_dot(text: str, output: Path) -> None:
    """Run Graphviz's dot (no shell) to turn the DOT text into an image file."""
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
            [dot, f"-T{output.suffix.lower()[1:]}", "-o", str(output)],
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


# -- paths -------------------------------------------------------------------------------------


@app.command("paths", **PROGRAM_COMMAND, epilog=PATHS_EXAMPLES)
def paths_command(
    ctx: typer.Context,
    wrt: Annotated[
        str,
        typer.Option(
            "--wrt",
            metavar="NAME",
            help="The input (or any node, by its name) whose paths to the output to list.",
        ),
    ],
    var: Var = None,
    vars_file: VarsFile = None,
    max_paths: Annotated[
        int,
        typer.Option(
            "--max-paths", metavar="N", help="List at most this many paths; all of them are counted."
        ),
    ] = 100,
    json_output: Json = False,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
) -> None:
    """List every path from an input to the output with the product of the local derivatives along it.

    The products of the paths from --wrt NAME sum to ∂L/∂NAME: backprop is weighted path counting.

    The number of paths is counted by the lecture's recurrence, paths(v) = Σ paths(parents of v) in reverse topological order, and compared with the number listed. It can be exponential in the size of the program, so past --max-paths the list stops and only the count is shown. Exit codes: 0 success, 2 an error in the program, the values or the options.
    """
    from ..graph.expect import unknown_node
    from ..graph.paths import path_report
    from ..graph.trace import gradient_nodes
    from . import render_homework

    with exit_on_error(json_output) as shown:
        shown.source, values = read_inputs(ctx, var, vars_file)
        if max_paths < 0:
            raise InputError(f"--max-paths must be 0 or more, not {max_paths}")
        evaluation = evaluate_program(shown.source, values, Limits(max_nodes, max_elements))
        nodes = gradient_nodes(evaluation)
        if wrt not in nodes:
            raise unknown_node(wrt, list(nodes), what="--wrt")
        report = path_report(evaluation, nodes[wrt], max_paths)
    if json_output:
        render.print_json(render_homework.paths_json(report, evaluation, shown.source, max_paths))
    else:
        render_homework.print_paths(report, evaluation, shown.source, max_paths)
