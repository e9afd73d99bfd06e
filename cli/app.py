"""The `backprop` command. Each command reads its inputs, calls the library, and hands the result
to a renderer; a BackpropError anywhere becomes a message with a caret and exit code 2."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from typer._click import exceptions as click_exceptions  # typer 0.26-0.28 vendor click

from ..graph.limits import DEFAULT_EPS, DEFAULT_SAMPLES, DEFAULT_TOL, MAX_ELEMENTS, MAX_NODES
from . import render
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
    read_inputs,
)

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h: a bug in backprop, not in what the user gave


class _Commands(typer.core.TyperGroup):
    """Typer's command group, with its usage errors (a bad option value, a missing one) told the
    way every other error is: a message on stderr, the JSON error object under --json, exit 2."""

    def main(self, args=None, *rest, standalone_mode: bool = True, **options):
        words = list(sys.argv[1:] if args is None else args)
        json_output = "--json" in words or words[:1] == ["batch"]  # batch's output is always JSON Lines
        try:
            code = super().main(words, *rest, standalone_mode=False, **options)
        except click_exceptions.NoArgsIsHelpError as failure:
            failure.show()  # `backprop` alone: the help
            code = failure.exit_code
        except click_exceptions.UsageError as failure:
            from ..graph.errors import InputError

            error = InputError(failure.format_message(), hint="see backprop COMMAND --help")
            render.print_error(error, None)
            if json_output:
                render.print_json(render.error_json(error))
            code = EXIT_USAGE
        except typer.Abort:  # end of input at a prompt
            code = 130
        except Exception as failure:
            if os.environ.get("BACKPROP_TRACEBACK"):
                raise
            render.print_internal_error(failure, json_output)
            code = EXIT_INTERNAL
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_Commands,
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

  backprop eval "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2" --W1 '[[2,1],[1,1]]' --W2 '[1,-1]' --x '[1,2]' --y 3

  backprop eval --x 3 -- "-x**2"
"""


@app.callback()
def _root() -> None:
    """Differentiate expressions: every node's value and gradient, by backpropagation."""


@app.command("eval", **PROGRAM_COMMAND, epilog=EVAL_EXAMPLES)
def eval_command(
    ctx: typer.Context,
    var: Var = None,
    vars_file: VarsFile = None,
    json_output: Json = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Compare every gradient with central differences; exit 1 if one fails."),
    ] = False,
    eps: Annotated[
        float, typer.Option(help="Relative step of the gradient check: h = eps·max(1, |x|).")
    ] = DEFAULT_EPS,
    tol: Annotated[
        float,
        typer.Option(
            help="Tolerance of --check, |numeric − analytic| ≤ tol·max(1, |analytic|), and of --expect, |got − expected| ≤ tol·max(1, |expected|)."
        ),
    ] = DEFAULT_TOL,
    show_all: Annotated[bool, typer.Option("--all", help="Show every node, however many.")] = False,
    rows: Annotated[
        int, typer.Option(help="Past this many nodes, show only inputs, named nodes and the output.")
    ] = render.DEFAULT_ROWS,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="NAME=VALUE",
            help="An answer to check: the gradient of input or node NAME, or value=… for the output's value; repeatable; exit 1 if one is off.",
        ),
    ] = None,
    expect_file: Annotated[
        Path | None,
        typer.Option(
            "--expect-file", metavar="FILE", help='A JSON object of answers, {"a": 27, "value": 270}.'
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Print every element of every tensor (else a large one is shown as its shape and min/mean/max).",
        ),
    ] = False,
    check_samples: Annotated[
        int,
        typer.Option(
            "--check-samples",
            metavar="N",
            help="--check compares at most N elements of each tensor input, a seeded sample (all of them when it has no more).",
        ),
    ] = DEFAULT_SAMPLES,
    max_nodes: MaxNodes = MAX_NODES,
    max_elements: MaxElements = MAX_ELEMENTS,
) -> None:
    """Evaluate PROGRAM at the given values and print every node's value and gradient.

    PROGRAM is an expression such as "(a + b) * c", or statements "name = expr" separated by ";" or new lines, the last being the output; "-" reads it from standard input. Give each input as --NAME VALUE, --NAME=VALUE, --var NAME=VALUE or in a --vars JSON file.

    Exit codes: 0 success, 1 a failed --check or --expect, 2 an error in the program, the values or the options.
    """
    from .homework import read_expectations

    with exit_on_error(json_output) as shown:
        shown.source, values = read_inputs(ctx, var, vars_file)
        expected = read_expectations(expect, expect_file)
        _check_positive("--eps", eps)
        _check_positive("--tol", tol)
        _check_positive("--rows", rows)
        _check_positive("--check-samples", check_samples)
        limits = Limits(max_nodes, max_elements)
        exit_code = _run_eval(
            shown.source,
            values,
            json_output=json_output,
            check=check,
            eps=eps,
            tol=tol,
            show_all=show_all,
            rows=rows,
            expected=expected,
            full=full,
            samples=check_samples,
            limits=limits,
        )
    raise typer.Exit(exit_code)


def _run_eval(
    source: str,
    values: dict,
    *,
    json_output: bool,
    check: bool,
    eps: float,
    tol: float,
    show_all: bool,
    rows: int,
    expected: dict,
    full: bool,
    samples: int,
    limits: Limits,
) -> int:
    evaluation = evaluate_program(source, values, limits)
    program = evaluation.program
    answers = _answers(evaluation, expected, tol) if expected else None
    report = _check(evaluation, eps=eps, tol=tol, samples=samples) if check else None
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
        document = render.evaluation_json(evaluation, source, report)
        if answers is not None:
            from . import render_homework

            document["expect"] = render_homework.expect_json(answers)
        render.print_json(document)
    else:
        render.print_evaluation(evaluation, source, report, limit=rows, show_all=show_all, full=full)
        if answers is not None:
            from . import render_homework

            render_homework.print_expectations(answers, evaluation)
    failed = (report is not None and not report.passed) or (answers is not None and not answers.passed)
    return EXIT_CHECK_FAILED if failed else 0


# The check and the answers load their modules only when asked for: start-up time matters.


def _check(evaluation, **settings):
    from ..graph.check import gradient_check

    return gradient_check(evaluation, **settings)


def _answers(evaluation, expected: dict, tol: float):
    from ..graph.expect import check_expectations

    return check_expectations(evaluation, expected, tol)


def _check_positive(option: str, value: float) -> None:
    from ..graph.errors import InputError

    if not 0 < value < float("inf"):
        raise InputError(f"{option} must be a positive, finite number, not {value}")


# The other commands live in their own modules, which register themselves on `app` when imported.
# A run loads only the module of the command it runs (Typer builds every registered command's
# options at each start, and start-up time is measured); --help and anything unknown load all.
COMMAND_MODULES = {"trace": "homework", "graph": "homework", "paths": "homework", "batch": "batch"}


def load_commands(names: list[str] | None = None) -> typer.Typer:
    """Register the commands named (every command when None) on `app`, and return it."""
    modules = (
        set(COMMAND_MODULES.values())
        if names is None
        else {COMMAND_MODULES[n] for n in names if n in COMMAND_MODULES}
    )
    for module in sorted(modules):
        importlib.import_module(f"{__package__}.{module}")
    return app


def main() -> None:
    """Entry point of the `backprop` console script."""
    command = sys.argv[1] if len(sys.argv) > 1 else None
    load_commands([command] if command == "eval" or command in COMMAND_MODULES else None)
    app()
