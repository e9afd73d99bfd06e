"""`backprop diff`: the derivative as a program, the backward pass written out (graph/adjoint.py)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from ...graph.errors import InputError, ShapeError
from ..options import PROGRAM_SETTINGS, ProgramInputs, takes_program

EXAMPLES = """
Examples:

  backprop diff "(a + b**3) * c" --wrt b

  backprop diff "(a + b)*b**3" --wrt b --format latex

  backprop diff "z = x + y; s = sigmoid(x); L = z * s" --wrt x,y --format python

  backprop eval "$(backprop diff 'x**3' --wrt x)" --x 2

  backprop diff "$(backprop diff 'x**3' --wrt x)" --wrt x

  backprop diff "sum((W @ x - y)**2)" --wrt W --W "[[1, 2], [3, 4]]" --x "[1, 1]" --y "[0, 1]"
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Format(str, Enum):
    program = "program"
    latex = "latex"
    python = "python"


Wrt = Annotated[
    str | None,
    typer.Option(
        "--wrt",
        metavar="NAME[,NAME...]",
        help="The inputs to differentiate with respect to; several give one statement each, the last being the output [default: every input].",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="program (the tool's own language, which `backprop eval` reads back), latex, or python (a plain function).",
    ),
]


@takes_program()
def command(given: ProgramInputs, wrt: Wrt = None, form: FormatOption = Format.program) -> None:
    """Print the derivative of PROGRAM's output as a program: the backward pass written out.

    The forward statements it needs come first, then the adjoints (d_c = ∂output/∂c) in reverse order, ending in the derivative with respect to --wrt; subexpressions are shared, so it grows linearly with the program. Values (--NAME VALUE) are not needed for a program of scalars; a tensor input needs one, as the rules are written for its shape (the values themselves are never printed). `backprop eval` reads the output back, and `diff` of a `diff` is a second derivative.

    Exit codes: 0 success, 2 an error in the program, the names or the options.
    """
    from ...graph.adjoint import derivative
    from ..render.formula import render

    program = given.parse()
    shapes = _shapes(given, program)
    names = _names(wrt) if wrt is not None else list(program.inputs)
    result = derivative(program, names, shapes)
    text = render(result, form.value)
    if given.json:
        from ..render.json import print_json

        print_json({"expression": given.source, "wrt": names, "format": form.value, "derivative": text})
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _names(text: str) -> list[str]:
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise InputError("--wrt names no input", hint="e.g. --wrt x or --wrt a,b")
    return names


def _shapes(given: ProgramInputs, program) -> dict[str, tuple[int, ...]]:
    """Each input's shape, from its value (a scalar where none is given), checked by the shape pass."""
    from ...graph.kernels import shape
    from ...graph.shapes import node_shapes

    shapes = {name: shape(value) for name, value in given.values.items()}
    try:
        node_shapes(program, {name: shapes.get(name, ()) for name in program.inputs})
    except ShapeError as failure:
        missing = [name for name in program.inputs if name not in shapes]
        failure.hint = (
            failure.hint or "give values of the shapes the program needs, as `backprop eval` takes them"
        )
        if missing:
            failure.hint = (
                f"diff reads each tensor input's shape from its value: give one, e.g. --{missing[0]} "
                "'[[1, 2], [3, 4]]' (inputs without a value are scalars)"
            )
        raise
    return shapes
