"""`backprop batch`: one program, many points, JSON Lines out — streaming, in bounded memory.

Points arrive as JSON Lines on stdin or from --points (.jsonl, .csv with a header, .npy), read by
cli/points.py and evaluated in chunks, kept as columns from input to output (graph/batch.py). Every
input line gives exactly one output line, in order: a result, or {"line": N, "error": {...}} —
and the rest go on; Ctrl-C stops the run after whole lines. Values given on the command line
(`--c 2`, --var, --vars) are fixed for every point; a point's names that are not inputs are
carried into its line. --format csv or markdown writes the same results as a spreadsheet's rows
or as one answer key per point (cli/render/csv.py, cli/render/markdown.py).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ...graph.limits import DEFAULT_EPS, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from ...graph.shapes import fitting_chunk
from ...graph.values import SCALAR_DIGITS
from ..arguments import split_arguments
from ..batch_run import progress_for, run, wrt_names
from ..files import MAX_LINE_BYTES
from ..options import (
    PROGRAM_SETTINGS,
    Digits,
    Json,
    Limits,
    MaxElements,
    MaxMemory,
    MaxNodes,
    Timeout,
    Var,
    VarsFile,
    deadline,
    exit_on_error,
    read_inputs,
    require_positive,
    written_to,
)
from ..outputs import judged_output, output_file
from ..points import chunks, point_rows
from ..render.jsonl import BatchLines
from ..render.text import warn

EXIT_CHECK_FAILED, EXIT_FAILED_POINTS = 1, 2
DEFAULT_CHUNK = 8192  # 10⁶ points .npy → .npy, 30 ops: 0.40 s against 0.45 at 4096 (medians of 8)

EXAMPLES = """
Examples:

  jq -c '{a: .x, b: .y, c: 2}' points.jsonl | backprop batch "(a + b**3) * c"

  backprop batch "(a + b**3) * c" --points points.csv --json > out.jsonl

  backprop batch "x * W" --points grid.npy --columns x,W --check

  backprop batch "(a + b**3) * c" --points students.csv --c 2 --nodes --format csv > keys.csv

  backprop batch "(a + b**3) * c" --points students.csv --c 2 --nodes --format markdown > keys.md

  backprop batch "(a + b**3) * c" --points points.npy --columns a,b,c --output out.npy --wrt b

  backprop batch "(a + b**3) * c" --points 'sweep/*.parquet' --dask tcp://scheduler:8786 > out.jsonl
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


Points = Annotated[
    Path | None,
    typer.Option(
        "--points",
        metavar="FILE",
        help="Read points from a .jsonl, .csv, .npy or .parquet file (or a quoted 'data/*.parquet') instead of stdin.",
    ),
]
Columns = Annotated[
    str | None, typer.Option(metavar="a,b,c", help="Input names of the columns of a 2-D .npy file.")
]
ChunkSize = Annotated[int, typer.Option(help="Evaluate at most this many points at once.")]
Check = Annotated[bool, typer.Option("--check", help="Gradient check at every point; exit 1 if one fails.")]
Eps = Annotated[float, typer.Option(help="Relative step of the gradient check.")]
Tol = Annotated[float, typer.Option(help="Tolerance of the gradient check.")]
MaxLineBytes = Annotated[
    int,
    typer.Option(
        "--max-line-bytes",
        metavar="N",
        help="A longer input line is a limit error for that line; the others go on.",
    ),
]
Nodes = Annotated[
    bool, typer.Option("--nodes", help="Every node's value and gradient too, by its name in eval's table.")
]
Formats = Annotated[
    Format,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="jsonl (a JSON object a line), csv (a row a point, for a spreadsheet), markdown or latex (a key a point).",
    ),
]
OutputFile = Annotated[
    str | None,
    typer.Option(
        "--output",
        metavar="FILE",
        help="Write the results to FILE instead of stdout, as its suffix says: .jsonl, .csv, .npy or .parquet (the parquet extra). The file appears when the run is done, never half written.",
    ),
]
Exact = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Values bit for bit eval's: the C library's functions a point at a time (slower; else NumPy's vectorised ones, within 4 ulp).",
    ),
]
Wrt = Annotated[
    str | None,
    typer.Option(
        "--wrt",
        metavar="NAME[,NAME...]",
        help="The inputs whose gradients to compute and write; the others' are skipped [default: every input].",
        show_default=False,
    ),
]

DaskAddress = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Evaluate the rows of --points 'data/*.parquet' on the Dask cluster at ADDRESS (tcp://host:8786).",
    ),
]


def command(
    ctx: typer.Context,
    var: Var = None,
    vars_file: VarsFile = None,
    points: Points = None,
    columns: Columns = None,
    chunk: ChunkSize = DEFAULT_CHUNK,
    check: Check = False,
    eps: Eps = DEFAULT_EPS,
    tol: Tol = DEFAULT_TOL,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
    nodes: Nodes = False,
    format_: Formats = Format.jsonl,
    json_output: Json = False,
    digits: Digits = SCALAR_DIGITS,  # of --format csv and markdown (JSON Lines has every digit)
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
    max_memory: MaxMemory = None,
    timeout: Timeout = None,
    dask: DaskAddress = None,
    output_to: OutputFile = None,
    exact: Exact = False,
    wrt: Wrt = None,
) -> None:
    """Evaluate PROGRAM at many points: one JSON object per input line, with value and gradients.

    Points are JSON objects of input values, one per line, on standard input ({"a": 7, "b": 3}), or the rows of --points FILE. Values given as --NAME VALUE, --var or --vars are fixed for every point (a point that gives one again is an error on its line). A point's other names (a "student" column) are carried into its line under "carried". Output is JSON Lines (--json is accepted for symmetry): {"line": N, "value": ..., "gradients": {...}} or {"line": N, "error": {...}} for a bad line; --nodes adds "nodes", every node's value and grad by name. --format csv writes a header and a row a point; --format markdown or latex a heading and a table of nodes a point. --output FILE writes .jsonl, .csv, .npy or .parquet columns to a file; --wrt computes only some gradients; values are NumPy's vectorised functions, within 4 ulp of eval's (--exact: bit for bit); --dask ADDRESS runs the rows of Parquet files on a Dask cluster.

    Exit codes: 0 every point evaluated; 1 a --check failed; 2 some points failed (counted on stderr) or the program or options are wrong; 130 Ctrl-C (after whole lines).
    """
    jsonl = format_ is Format.jsonl
    # JSON Lines: an error is one line too
    with exit_on_error(json_output=jsonl and output_to is None) as shown, written_to(digits):
        _check_options(ctx, json_output and not jsonl, format_, chunk, max_line_bytes, eps, tol, points)
        kind = judged_output(ctx, output_to, format_.value, json_output, points, nodes=nodes, check=check)
        format_ = Format.csv if kind == "csv" else format_
        limits = Limits(max_nodes, max_elements, max_memory, timeout)
        with deadline(limits.timeout):
            shown.source, fixed, typed = read_inputs(ctx, var, vars_file, limits)
            program = limits.parse(shown.source)
            # a misspelt option (`--nodez 1`) is told, not taken for an input
            typed.refuse_mistyped(program.inputs)
            fixed = _fixed_values(program, fixed)
            wanted = wrt_names(wrt, program)
            chunk = fitting_chunk(program, chunk)
            if dask is not None:  # the rows of Parquet files on a Dask cluster: cli/dask_batch.py
                options = (shown.source, fixed, chunk, nodes, check, eps, tol, limits, exact, wanted)
                total, failed, check_failed = _on_cluster(dask, points, options, columns, output_to, format_)
            else:
                options = dict(nodes=nodes, check=check, eps=eps, tol=tol, exact=exact, wrt=wanted)
                where = (points, columns, max_line_bytes, output_to, kind)
                total, failed, check_failed = _here(
                    program, shown.source, fixed, chunk, format_, where, options
                )
    if failed:
        warn(f"{failed} of {total} points failed")
        raise typer.Exit(EXIT_FAILED_POINTS)
    raise typer.Exit(EXIT_CHECK_FAILED if check_failed else 0)


def _here(program, source: str, fixed: dict, chunk: int, format_: Format, where: tuple, options: dict):
    """batch in this process (cli/batch_run.py): the points read, evaluated and written chunk by chunk."""
    points, columns, max_line_bytes, output_to, kind = where
    needed = set(program.inputs) - fixed.keys()
    pieces = chunks(point_rows(points, columns, max_line_bytes), chunk, needed, frozenset(fixed))
    output = _writer(format_, program, source, fixed, options["nodes"], options["wrt"])
    sink = output_to and output_file(output_to, kind, program, points, options["wrt"])
    # a key shows the inputs' values
    options["nodes"] = options["nodes"] or format_ in (Format.markdown, Format.latex)
    return run(program, pieces, output, fixed, progress=progress_for(points), sink=sink, **options)


def _on_cluster(address: str, points, options: tuple, columns, output_to, format_: Format):
    """batch --dask (cli/dask_batch.py): the options it takes, the cluster's run."""
    from ..dask_batch import Options, on_cluster

    source, fixed, chunk, nodes, check, eps, tol, limits, exact, wanted = options
    sizes = (limits.max_nodes, limits.max_elements, limits.max_memory)
    run_options = Options(source, fixed, chunk, nodes, check, eps, tol, sizes, exact, wanted)
    refused = {"--columns": columns, "--output": output_to, "--format": format_ is not Format.jsonl}
    return on_cluster(address, points, run_options, refused)


def _check_options(ctx, both: bool, format_: Format, chunk: int, max_line: int, eps, tol, points) -> None:
    """The options' own errors, before anything is read."""
    if both:
        raise InputError(
            f"--json and --format {format_.value} ask for two kinds of output",
            hint="give one of them (--json is --format jsonl)",
        )
    for option, value in (("--chunk", chunk), ("--max-line-bytes", max_line)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, not {value}")
    require_positive(("--eps", eps), ("--tol", tol))  # as eval's: --tol -1 passed every check
    if split_arguments(ctx.args)[0] == "-" and points is None:
        raise InputError(
            "the program cannot come from stdin when the points do", hint="give the points with --points FILE"
        )


def _fixed_values(program, given: dict[str, object]) -> dict[str, float]:
    """The values given on the command line that the program uses, fixed for every point: numbers
    only, since every point's values are numbers; the others are warned about, as eval does."""
    fixed = {}
    for name, value in given.items():
        if name not in program.inputs:
            warn(f"{name} is given a value but the program never uses it")
        elif type(value) is not float:
            raise InputError(
                f"{name} is a tensor: batch fixes numbers only, as its points give numbers only",
                hint=f"evaluate at a tensor with backprop eval, or give {name} a number",
            )
        else:
            fixed[name] = value
    return fixed


def _writer(format_: Format, program, source: str, fixed: dict, nodes: bool, wrt=None):
    """What turns each chunk's results into text, for the --format asked for."""
    if format_ is Format.csv:
        from ..render.csv import BatchRows

        return BatchRows(program, nodes, wrt)
    if format_ is Format.markdown:
        from ..render.markdown import BatchKeys

        return BatchKeys(program, source, fixed, nodes)
    if format_ is Format.latex:
        from ..render.latex import BatchKeys as LatexKeys

        return LatexKeys(program, source, fixed, nodes)
    return BatchLines(program, nodes)
