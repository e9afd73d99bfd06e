"""The `backprop` command. Each command reads its inputs, calls the library, and hands the result
to a renderer; a BackpropError anywhere becomes a message with a caret and exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..graph.errors import BackpropError
from . import render
from .arguments import collect_values, parse_var_option, read_program, read_vars_file, split_arguments

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="backprop",
    help="Differentiate expressions: every node's value and gradient, by backpropagation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EVAL_EXAMPLES = """
Examples:

  backprop eval "(a + b**3) * c" --a 7 --b 3 --c 2

  backprop eval "(a + b)*b^3" --a 7 --b 3 --json | jq .gradients.b

  backprop eval "z = x + y; s = sigmoid(x); L = z * s" --x 1 --y 2 --check

  echo "(a+b)*c" | backprop eval - --var a=7 --var b=3 --var c=2 --json

  backprop eval --x 3 -- "-x**2"
"""


@app.callback()
def _root() -> None:
    """Differentiate expressions: every node's value and gradient, by backpropagation."""


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="PROGRAM [--NAME VALUE]... [OPTIONS]",
    epilog=EVAL_EXAMPLES,
)
def eval_command(
    ctx: typer.Context,
    var: Annotated[
        Optional[list[str]],
        typer.Option("--var", metavar="NAME=VALUE", help="An input value; repeatable. Also: --NAME VALUE."),
    ] = None,
    vars_file: Annotated[
        Optional[Path], typer.Option("--vars", metavar="FILE", help='A JSON object of input values, {"a": 7}.')
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one strict JSON object instead of tables.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Compare every gradient with central differences; exit 1 if one fails.")
    ] = False,
    eps: Annotated[float, typer.Option(help="Relative step of the gradient check: h = eps·max(1, |x|).")] = 1e-6,
    tol: Annotated[float, typer.Option(help="Tolerance of the gradient check: |numeric − analytic| ≤ tol·max(1, |analytic|).")] = 1e-4,
    show_all: Annotated[bool, typer.Option("--all", help="Show every node, however many.")] = False,
    rows: Annotated[int, typer.Option(help="Past this many nodes, show only inputs, named nodes and the output.")] = render.DEFAULT_ROWS,
) -> None:
    """Evaluate PROGRAM at the given values and print every node's value and gradient.

    PROGRAM is an expression such as "(a + b) * c", or statements "name = expr" separated by ";"
    or new lines, the last being the output; "-" reads it from standard input. Give each input as
    --NAME VALUE, --NAME=VALUE, --var NAME=VALUE or in a --vars JSON file.

    Exit codes: 0 success, 1 a failed --check, 2 an error in the program, the values or the options.
    """
    source = None
    try:
        program_arg, pairs = split_arguments(ctx.args)
        source = read_program(program_arg)
        given = [*pairs, *(parse_var_option(item) for item in var or [])]
        if vars_file is not None:
            given += read_vars_file(vars_file)
        values = collect_values(given)
        _check_positive("--eps", eps)
        _check_positive("--tol", tol)
        _check_positive("--rows", rows)
        exit_code = _run_eval(source, values, json_output=json_output, check=check, eps=eps, tol=tol, show_all=show_all, rows=rows)
    except BackpropError as error:
        render.print_error(error, source)
        if json_output:
            render.print_json(render.error_json(error))
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(exit_code)


def _run_eval(source: str, values: dict, *, json_output: bool, check: bool, eps: float, tol: float, show_all: bool, rows: int) -> int:
    from .. import evaluate, parse
    from ..graph.check import gradient_check

    program = parse(source)
    evaluation = evaluate(program, values)
    for name in values:
        if name not in program.inputs:
            render.warn(f"{name} is given a value but the program never uses it")
    report = gradient_check(evaluation, eps=eps, tol=tol) if check else None
    if report is not None:
        for node_id in report.kink_nodes:
            render.warn(
                f"{program.expr(node_id, limit=60)} is evaluated exactly at a kink; its derivative there "
                "is a convention (relu'(0) = 0, abs'(0) = 0, a max/min tie splits evenly), so the numeric "
                "gradient may differ; inputs upstream are not failed for it"
            )
        for item in report.inputs:
            if item.note:
                render.warn(f"gradient check of {item.name}: {item.note}")
    if json_output:
        render.print_json(render.evaluation_json(evaluation, source, report))
    else:
        render.print_evaluation(evaluation, source, report, limit=rows, show_all=show_all)
    return EXIT_CHECK_FAILED if report is not None and not report.passed else 0


def _check_positive(option: str, value: float) -> None:
    from ..graph.errors import InputError

    if not value > 0:
        raise InputError(f"{option} must be positive, not {value}")


def main() -> None:
    """Entry point of the `backprop` console script."""
    app()
