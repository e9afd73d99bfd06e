"""`backprop hessian`: exact second derivatives at a point, and what kind of point it is."""

from __future__ import annotations

from typing import Annotated

import typer

from ...graph.limits import DEFAULT_TOL
from ..options import PROGRAM_SETTINGS, ProgramInputs, require_positive, takes_program

EXIT_CHECK_FAILED = 1
HESSIAN_EPS = 1e-5
"""--check's relative step: a difference of gradients, whose rounding error grows as 1/h."""

EXAMPLES = """
Examples:

  backprop hessian "(x - 1)**2 + 3*(y + 2)**2 + x*y" --x 1 --y 2

  backprop hessian "x**2 - y**2" --x 0 --y 0 --json

  backprop hessian "sin(x)*exp(y)" --x 0.5 --y 2 --check

  backprop hessian "sum(w**2)" --w "[1, 2, 3]"

  backprop hessian "sum(tanh(W @ x))" --W "[[1, 2], [3, 4]]" --x "[1, -1]" --hvp W="[[1, 0], [0, 0]]" --json
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}

Check = Annotated[
    bool,
    typer.Option(
        "--check", help="Compare with central differences of the gradient; exit 1 if an entry differs."
    ),
]
Eps = Annotated[float, typer.Option(help="Relative step of --check: h = eps·max(1, |x|).")]
Tol = Annotated[
    float,
    typer.Option(help="Tolerance of --check: |numeric − exact| ≤ tol·max(1, |exact|)."),
]
Hvp = Annotated[
    list[str] | None,
    typer.Option(
        "--hvp",
        metavar="NAME=VALUE",
        help="Print the Hessian–vector product H·v instead of the matrix: v's part for input NAME (its shape); repeatable, inputs left out are 0. For inputs of more than 400 elements in all.",
        show_default=False,
    ),
]
Gtol = Annotated[
    float,
    typer.Option(
        "--gtol",
        metavar="G",
        help="The gradient counts as zero (the point is stationary, and its kind is told) when every |∂f/∂x| ≤ G.",
    ),
]


@takes_program()
def command(
    given: ProgramInputs,
    check: Check = False,
    eps: Eps = HESSIAN_EPS,
    tol: Tol = DEFAULT_TOL,
    gtol: Gtol = 1e-8,
    hvp: Hvp = None,
) -> None:
    """Print the Hessian of PROGRAM's output at the given point: every ∂²f/∂x∂y, exact (not finite differences).

    Each row is the engine's gradient of one first derivative, the program `backprop diff` prints. With it: the eigenvalues, and where the gradient is zero (--gtol), whether the point is a minimum, a maximum, a saddle, or degenerate (an eigenvalue 0); and the symmetry error max|H − Hᵀ|, which only rounding makes non-zero. A tensor input counts one row and column per element (`W[0,1]`), up to 400 elements in all; beyond, --hvp gives H·v, exact, for any size. A kink on the way (relu at 0, a max tie) is an error: the second derivative does not exist there.

    Exit codes: 0 success, 1 a failed --check, 2 an error in the program, the values or the options.
    """
    from ...graph.hessian import central_differences, hessian

    require_positive(("--eps", eps), ("--tol", tol))
    if not 0 <= gtol < float("inf"):
        from ...graph.errors import InputError

        raise InputError(f"--gtol must be 0 or a positive, finite number, not {gtol}")
    program = given.parse()
    if hvp:
        _product(given, program, hvp, check, eps, tol)
    result = hessian(program, given.values, gtol=gtol)
    numeric = worst = None
    if check:
        point = {name: given.values[name] for name in program.inputs}
        numeric = central_differences(program, point, list(program.inputs), eps)
        worst = _worst(result.matrix, numeric, tol)
    failed = worst is not None and worst[1]
    if given.json:
        from ..render.json import print_json

        print_json(_document(result, numeric, worst, eps, tol))
    else:
        from ..render.matrix import print_hessian

        print_hessian(result, given.source, numeric, worst)
    raise typer.Exit(EXIT_CHECK_FAILED if failed else 0)


def _document(result, numeric, worst, eps: float, tol: float) -> dict:
    """The --json object of the full matrix (and of --check's comparison, where asked for)."""
    from ..render.json import number

    document = {
        "inputs": result.inputs,
        "hessian": [[number(h) for h in row] for row in result.matrix],
        "eigenvalues": [number(x) for x in result.eigenvalues],
        "kind": result.kind,
        "gradient": {name: number(g) for name, g in result.gradient.items()},
        "value": number(result.value),
        "symmetry_error": result.symmetry_error,
    }
    if worst is not None:
        check_result = {"passed": not worst[1], "max_error": worst[0], "eps": eps, "tol": tol}
        document["check"] = {**check_result, "numeric": [[number(h) for h in row] for row in numeric]}
    return document


def _worst(exact: list[list[float]], numeric: list[list[float]], tol: float) -> tuple[float, bool]:
    """The largest scaled difference |numeric − exact| / max(1, |exact|), and whether it is past tol."""
    worst = 0.0
    for row, other in zip(exact, numeric):
        for h, n in zip(row, other):
            worst = max(worst, abs(n - h) / max(1.0, abs(h)))
    return worst, worst > tol


def _product(given: ProgramInputs, program, options: list[str], check: bool, eps: float, tol: float) -> None:
    """--hvp: H·v per input (and --check's central differences of the gradient along v); exits."""
    from ...graph.hessian import hvp, hvp_differences
    from ..arguments import parse_var_option, typed_value

    vectors = {}
    for text in options:
        name, raw, how = parse_var_option(text, "--hvp")
        if name in vectors:
            from ...graph.errors import InputError

            raise InputError(f"--hvp {name} is given twice", hint="give each input's part of v once")
        vectors[name] = typed_value(name, raw, how)
    product, evaluation = hvp(program, given.values, vectors)
    worst = numeric = None
    if check:
        numeric = hvp_differences(program, evaluation.inputs, vectors, eps)
        worst = _worst(
            [_elements(product[n]) for n in product], [_elements(numeric[n]) for n in product], tol
        )
    if given.json:
        from ..render.json import print_json

        document = {
            "inputs": list(product),
            "hvp": {name: _listed(value) for name, value in product.items()},
            "gradient": {name: _listed(g) for name, g in evaluation.gradients.items()},
            "value": _listed(evaluation.value),
        }
        if worst is not None:
            document["check"] = {"passed": not worst[1], "max_error": worst[0], "eps": eps, "tol": tol}
            document["check"]["numeric"] = {name: _listed(value) for name, value in numeric.items()}
        print_json(document)
    else:
        from ..render.matrix import print_product

        print_product(product, evaluation, given.source, worst)
    raise typer.Exit(EXIT_CHECK_FAILED if worst is not None and worst[1] else 0)


def _elements(value) -> list[float]:
    return [value] if type(value) is float else [float(x) for x in value.reshape(-1)]


def _listed(value):
    """A value for JSON: a number, or nested lists of numbers (never inf or NaN: values are finite)."""
    from ..render.json import number

    if type(value) is float:
        return number(value)
    rows = value.tolist()
    if value.ndim == 1:
        return [number(x) for x in rows]
    return [_listed(row) for row in value]
