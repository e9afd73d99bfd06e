"""`backprop paths`: every path from an input to the output, with the product of its local derivatives."""

from __future__ import annotations

from typing import Annotated

import typer

from ...graph.errors import InputError, LimitError
from ..formats import TableWriteUp as Format
from ..formats import refuse_two_outputs, write_up
from ..options import PROGRAM_SETTINGS, ProgramInputs, takes_program

EXAMPLES = """
Examples:

  backprop paths "(a + b) * b**3" --a 7 --b 3 --wrt b

  backprop paths "u = a*b; v = u + a; u * v" --a 2 --b 5 --wrt a --json

  backprop paths "x1 = a + a; x2 = x1 + x1; x3 = x2 + x2; x3 * x3" --a 1 --wrt a --max-paths 5
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


WriteUp = write_up(
    Format,
    "A write-up instead of the text: markdown (a pipe table), latex (the sum of the paths' products) or csv (the table).",
)


@takes_program()
def command(
    given: ProgramInputs,
    wrt: Annotated[
        str,
        typer.Option(
            "--wrt",
            metavar="NAME",
            help="The input (or any node, by its name) whose paths to the output to list.",
        ),
    ],
    max_paths: Annotated[
        int,
        typer.Option(
            "--max-paths",
            metavar="N",
            help="List at most this many paths (listing takes memory: at most 192,307); all of them are counted.",
        ),
    ] = 100,
    format_: WriteUp = None,
) -> None:
    """List every path from an input to the output with the product of the local derivatives along it.

    The products of the paths from --wrt NAME sum to ∂L/∂NAME: backprop is weighted path counting.

    The number of paths is counted by the lecture's recurrence, paths(v) = Σ paths(parents of v) in reverse topological order, and compared with the number listed: exactly up to 10^40, past that to 3 digits. It can be exponential in the size of the program, so past --max-paths the list stops and only the count is shown. A product too large for a float64 is shown in full and said so, never as inf. Exit codes: 0 success, 2 an error in the program, the values or the options (a limit: --max-paths past its ceiling, paths too long to list in memory).
    """
    from ...graph.expect import unknown_node
    from ...graph.paths import MAX_PATHS, path_report, too_many_paths
    from ...graph.trace import gradient_nodes

    refuse_two_outputs(given.json, format_)
    if max_paths < 0:
        raise InputError(f"--max-paths must be 0 or more, not {max_paths}")
    if max_paths > MAX_PATHS:
        raise too_many_paths(max_paths)
    evaluation = given.evaluate()
    nodes = gradient_nodes(evaluation)
    if wrt not in nodes:
        raise unknown_node(wrt, list(nodes), what="--wrt")
    report = path_report(evaluation, nodes[wrt], max_paths)
    try:
        if format_ is not None:
            _write_up(format_, report, evaluation, given.source)
        elif given.json:
            from ..render.json import paths_json, print_json

            print_json(paths_json(report, evaluation, given.source, max_paths))
        else:
            from ..render.lecture import print_paths

            print_paths(report, evaluation, given.source, max_paths)
    except MemoryError:
        raise LimitError(
            f"printing {len(report.paths):,} paths needs more memory than this machine has",
            hint="list fewer paths with --max-paths (0 lists none)",
        ) from None


def _write_up(format_: Format, report, evaluation, source: str) -> None:
    """The paths as Markdown, LaTeX or CSV, on standard output."""
    import sys

    if format_ is Format.markdown:
        from ..render.markdown import paths_markdown

        sys.stdout.write(paths_markdown(report, evaluation, source))
    elif format_ is Format.latex:
        from ..render.latex import paths_latex

        sys.stdout.write(paths_latex(report, evaluation, source))
    else:
        from ..render.csv import paths_csv

        sys.stdout.write(paths_csv(report, evaluation))
