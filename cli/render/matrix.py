"""A labelled matrix as a Rich table: `backprop hessian`'s second derivatives, inputs on both sides.

Rich is imported inside the printer only, so `--json` runs never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...graph.values import value_text
from .columns import Column, fit_table, print_table, title_text
from .text import shortened, stdout_console

if TYPE_CHECKING:
    from ...graph.hessian import Hessian

KINDS = {
    "minimum": "a minimum (every eigenvalue > 0)",
    "maximum": "a maximum (every eigenvalue < 0)",
    "saddle": "a saddle (eigenvalues of both signs)",
    "degenerate": "degenerate (an eigenvalue is 0: the second derivatives cannot tell)",
}


def print_hessian(result: Hessian, expression: str, numeric=None, worst=None) -> None:
    """The matrix, its eigenvalues, the kind of point, and --check's comparison where asked for."""
    from rich.markup import escape

    console = stdout_console(highlight=False, emoji=False)
    names = [shortened(name) for name in result.inputs]
    columns = [Column("∂²f", gives=1, least=3), *(Column(name, "right") for name in names)]
    rows = [[name, *(value_text(h) for h in row)] for name, row in zip(names, result.matrix)]
    print_table(
        console, fit_table(console, columns, rows), title_text(console, "backprop hessian · ", expression)
    )
    gradient = ", ".join(f"{name} {value_text(g)}" for name, g in zip(names, result.gradient.values()))
    lines = [
        f"value {value_text(result.value)}; gradient {gradient}",
        "eigenvalues " + ", ".join(value_text(x) for x in result.eigenvalues),
        f"symmetry error max|H − Hᵀ| = {value_text(result.symmetry_error)}",
    ]
    if result.kind is None:
        lines.append("the gradient is not zero here: not a stationary point")
    else:
        lines.append(f"the gradient is zero here: the point is {KINDS[result.kind]}")
    if numeric is not None:
        error, failed = worst
        verdict = "[red]failed[/red]" if failed else "[green]passed[/green]"
        lines.append(f"check by central differences: {verdict}, largest difference {value_text(error)}")
    for line in lines:
        console.print(line if "[/" in line else escape(line))


def print_product(product: dict, evaluation, expression: str, worst=None) -> None:
    """--hvp: H·v for each input, the value and gradient beside it, and --check's verdict."""
    from rich.markup import escape

    console = stdout_console(highlight=False, emoji=False)
    console.print(escape(title_text(console, "backprop hessian --hvp · ", expression)))
    for name, value in product.items():
        console.print(escape(f"(H·v) for {shortened(name)}: {value_text(value)}"))
    gradient = ", ".join(f"{shortened(n)} {value_text(g)}" for n, g in evaluation.gradients.items())
    console.print(escape(f"value {value_text(evaluation.value)}; gradient {gradient}"))
    if worst is not None:
        error, failed = worst
        verdict = "[red]failed[/red]" if failed else "[green]passed[/green]"
        console.print(
            f"check by central differences along v: {verdict}, largest difference {escape(value_text(error))}"
        )
