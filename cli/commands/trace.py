"""`backprop trace`: the lecture's two passes, node by node and edge by edge."""

from __future__ import annotations

from enum import Enum

import typer

from ...graph.errors import LimitError
from ...graph.limits import DEFAULT_TOL
from ..answers import AnswerTol, Expect, ExpectFile, Rounded, read_answers
from ..formats import refuse_two_outputs, write_up
from ..options import (
    PROGRAM_SETTINGS,
    ProgramInputs,
    require_positive,
    takes_program,
)
from ..render.text import warn_about_kinks

EXIT_ANSWER_OFF = 1

EXAMPLES = """
Examples:

  backprop trace "(a + b) * b**3" --a 7 --b 3

  backprop trace "z = x + y; b = sigmoid(x); L = z * b" --x 1 --y 2

  backprop trace "(a + relu(b)) * c" --a 7 --b -3 --c 2 --json | jq '.backward[].text'

  backprop trace "c = a + b; d = b**3; e = c * d" --a 7 --b 3 --expect c.value=10 --expect b=270
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    markdown = "markdown"
    latex = "latex"


WriteUp = write_up(
    Format,
    "A write-up instead of the text: markdown (the lines as a list) or latex (an align* block, line by line).",
)


@takes_program()
def command(
    given: ProgramInputs,
    expect: Expect = None,
    expect_file: ExpectFile = None,
    tol: AnswerTol = DEFAULT_TOL,
    rounded: Rounded = False,
    format_: WriteUp = None,
) -> None:
    """Show the forward pass node by node, then the backward pass edge by edge, as the lecture does.

    Forward: every node in topological order with its value (c = a + b = 7 + 3 = 10). Backward: from ∂L/∂L = 1, every edge in reverse topological order as child.grad += parent.grad · ∂parent/∂child, with the child's running total, so a node with two parents receives two contributions.

    Nodes are named by the program's own names, else by letters a, b, c, … in topological order. A local derivative too large for a float64 (1/x at x = 5e-324) is shown in full and said so, never as inf. With --expect or --expect-file, each step a student answered is marked ✓ or ✗ with the number written beside it, and a wrong one says why where a usual mistake explains it.

    Exit codes: 0 success, 1 an answer is off, 2 an error in the program, the values or the options.
    """
    from ...graph.trace import trace

    refuse_two_outputs(given.json, format_)
    expected = read_answers(expect, expect_file)
    require_positive(("--tol", tol))
    evaluation = given.evaluate()
    kinks = warn_about_kinks(evaluation)  # a kink is told, not an error
    answers = None
    if expected:
        from ...graph.expect import check_expectations

        answers = check_expectations(evaluation, expected, tol, rounded=rounded)
    try:
        steps = trace(evaluation)
        if format_ is not None:
            _write_up(format_, steps, given.source)
        elif given.json:
            from ..render.json import expect_json, print_json, trace_json

            document = trace_json(steps, given.source, kinks)
            if answers is not None:
                document["expect"] = expect_json(answers)
            print_json(document)
        else:
            from ..render.lecture import print_trace

            print_trace(steps, given.source, answers)
    except MemoryError:
        raise LimitError(
            f"the trace of {len(evaluation.program):,} nodes needs more memory than this machine has",
            hint="trace a smaller program; `backprop eval` gives the same gradients in far less memory",
        ) from None
    raise typer.Exit(EXIT_ANSWER_OFF if answers is not None and not answers.passed else 0)


def _write_up(format_: Format, steps, source: str) -> None:
    """The trace as Markdown or LaTeX, on standard output."""
    import sys

    if format_ is Format.markdown:
        from ..render.markdown import trace_markdown

        sys.stdout.write(trace_markdown(steps, source))
    else:
        from ..render.latex import trace_latex

        sys.stdout.write(trace_latex(steps, source))
