"""`backprop eval`: every node's value and gradient, with the gradient check and the answers to check."""

from __future__ import annotations

from typing import Annotated

import typer

from ...graph.limits import DEFAULT_EPS, DEFAULT_SAMPLES, DEFAULT_TOL
from ..answers import Expect, ExpectFile, Rounded, read_answers
from ..arguments import wrt_list
from ..formats import TableWriteUp as Format
from ..formats import refuse_two_outputs, write_up
from ..options import (
    DEFAULT_ROWS,
    PROGRAM_SETTINGS,
    ROWS_HELP,
    Eps,
    ProgramInputs,
    require_positive,
    takes_program,
)
from ..render.text import warn_about_check, warn_about_kinks

EXIT_CHECK_FAILED = 1

EXAMPLES = """
Examples:

  backprop eval "(a + b**3) * c" --a 7 --b 3 --c 2

  backprop eval "(a + b)*b^3" --a 7 --b 3 --json | jq .gradients.b

  backprop eval "z = x + y; s = sigmoid(x); L = z * s" --x 1 --y 2 --check

  echo "(a+b)*c" | backprop eval - --var a=7 --var b=3 --var c=2 --json

  backprop eval "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2" --W1 '[[2,1],[1,1]]' --W2 '[1,-1]' --x '[1,2]' --y 3

  backprop eval --x 3 -- "-x**2"
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


WriteUp = write_up(
    Format,
    "A write-up instead of the tables: markdown (pipe tables), latex (an array of the nodes) or csv (the node table).",
)


Check = Annotated[
    bool,
    typer.Option("--check", help="Compare every gradient with central differences; exit 1 if one fails."),
]
Tol = Annotated[
    float,
    typer.Option(
        help="Tolerance of --check, |numeric − analytic| ≤ tol·max(1, |analytic|), and of --expect, |got − expected| ≤ tol·max(1, |expected|)."
    ),
]
Wrt = Annotated[
    str | None,
    typer.Option(
        "--wrt",
        metavar="NAME[,NAME...]",
        help="The inputs whose gradients to compute; nodes none of them flows into show no gradient, and --check checks these only [default: every input].",
        show_default=False,
    ),
]
ShowAll = Annotated[bool, typer.Option("--all", help="Show every node, however many.")]
Rows = Annotated[int, typer.Option(metavar="N", help=ROWS_HELP)]
Full = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Print every element of every tensor, in tables and in --json's nodes (else a large one is shown as its shape and min/mean/max).",
    ),
]
CheckSamples = Annotated[
    int,
    typer.Option(
        "--check-samples",
        metavar="N",
        help="--check compares at most N elements of each tensor input, a seeded sample (all of them when it has no more).",
    ),
]


@takes_program()
def command(
    given: ProgramInputs,
    check: Check = False,
    eps: Eps = DEFAULT_EPS,
    tol: Tol = DEFAULT_TOL,
    show_all: ShowAll = False,
    rows: Rows = DEFAULT_ROWS,
    expect: Expect = None,
    expect_file: ExpectFile = None,
    rounded: Rounded = False,
    full: Full = False,
    check_samples: CheckSamples = DEFAULT_SAMPLES,
    format_: WriteUp = None,
    wrt: Wrt = None,
) -> None:
    """Evaluate PROGRAM at the given values and print every node's value and gradient.

    PROGRAM is an expression such as "(a + b) * c", or statements "name = expr" separated by ";" or new lines, the last being the output; "-" reads it from standard input. Give each input as --NAME VALUE, --NAME=VALUE, --var NAME=VALUE or in a --vars JSON file.

    A program whose output is a tensor gets every node's value and no gradients (a gradient is of a number; --check and --expect, which need one, refuse it).

    Exit codes: 0 success, 1 a failed --check or --expect, 2 an error in the program, the values or the options.
    """
    refuse_two_outputs(given.json, format_)
    expected = read_answers(expect, expect_file)
    require_positive(("--eps", eps), ("--tol", tol), ("--rows", rows), ("--check-samples", check_samples))
    # a tensor output has values and no gradients; --check and answers need gradients or a scalar
    evaluation = given.evaluate(check=check, tensor_output=not check and not expected, wrt=wrt_list(wrt))
    kinks = warn_about_kinks(evaluation)  # a kink is told, not an error
    answers = report = None
    if expected:
        from ...graph.expect import check_expectations  # loaded only when asked for: start-up time

        answers = check_expectations(evaluation, expected, tol, rounded=rounded)
    if check:
        from ...graph.check import gradient_check

        report = gradient_check(evaluation, eps=eps, tol=tol, samples=check_samples)
        warn_about_check(report, evaluation.program, kinks_told=True)
    if format_ is not None:
        _write_up(format_, given.source, evaluation, report, answers, rows=rows, show_all=show_all)
    else:
        _show(given, evaluation, report, answers, rows=rows, show_all=show_all, full=full, kinks=kinks)
    failed = (report is not None and not report.passed) or (answers is not None and not answers.passed)
    raise typer.Exit(EXIT_CHECK_FAILED if failed else 0)


def _show(
    given: ProgramInputs, evaluation, report, answers, *, rows: int, show_all: bool, full: bool, kinks: list
) -> None:
    """The evaluation, with the check and the answers where asked for: one JSON object, or tables."""
    if given.json:
        from ..render.json import evaluation_json, expect_json, print_json

        document = evaluation_json(evaluation, given.source, report, full=full, kinks=kinks)
        if answers is not None:
            document["expect"] = expect_json(answers)
        print_json(document)
    else:
        from ..render.tables import print_evaluation, print_expectations

        print_evaluation(evaluation, given.source, report, limit=rows, show_all=show_all, full=full)
        if answers is not None:
            print_expectations(answers, evaluation)


def _write_up(
    format_: Format, source: str, evaluation, report, answers, *, rows: int, show_all: bool
) -> None:
    """The node table (the rows the tables would show) as Markdown, LaTeX or CSV, on standard output."""
    import sys

    from ..render.tables import rows_to_show

    shown = rows_to_show(evaluation, rows, show_all)
    if format_ is Format.markdown:
        from ..render.markdown import evaluation_markdown

        sys.stdout.write(evaluation_markdown(evaluation, source, shown, report, answers))
    elif format_ is Format.latex:
        from ..render.latex import evaluation_latex

        sys.stdout.write(evaluation_latex(evaluation, source, shown))
    else:
        from ..render.csv import evaluation_csv

        sys.stdout.write(evaluation_csv(evaluation, shown))
