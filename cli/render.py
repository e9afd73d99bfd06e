"""Turn results into Rich tables, JSON objects and error messages. No math here.

Rich is imported only inside the table printers, so `--json` runs never load it.
"""

from __future__ import annotations

import json
import sys

from ..graph.check import CheckReport
from ..graph.engine import Evaluation, format_value
from ..graph.errors import BackpropError

DEFAULT_ROWS = 40
"""Past this many nodes the table shows only the inputs, the named nodes and the output."""


# -- JSON --------------------------------------------------------------------------------------


def number(value):
    """A value for JSON: floats as they are (never -0.0), None as null."""
    if value is None:
        return None
    return value + 0.0


def evaluation_json(evaluation: Evaluation, expression: str, check: CheckReport | None = None) -> dict:
    program = evaluation.program
    labels = program.labels()
    document = {
        "expression": expression,
        "output": labels[program.output],
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "nodes": [
            {
                "id": row.id,
                "name": row.name,
                "op": row.op,
                "expr": row.expr,
                "inputs": list(row.inputs),
                "value": number(row.value),
                "grad": number(row.grad),
            }
            for row in evaluation.nodes
        ],
    }
    if check is not None:
        document["check"] = check_json(check)
    return document


def check_json(check: CheckReport) -> dict:
    return {
        "passed": check.passed,
        "eps": check.eps,
        "tolerance": check.tolerance,
        "max_abs_error": check.max_abs_error,
        "max_rel_error": check.max_rel_error,
        "inputs": {
            item.name: {
                "numeric": number(item.numeric),
                "analytic": number(item.analytic),
                "abs_error": number(item.abs_error),
                "rel_error": number(item.rel_error),
                "passed": item.passed,
                "at_kink": item.at_kink,
                **({"note": item.note} if item.note else {}),
            }
            for item in check.inputs
        },
    }


def error_json(error: BackpropError) -> dict:
    body = {"type": error.kind, "message": error.message, "line": error.line, "column": error.column}
    if error.hint:
        body["hint"] = error.hint
    return {"error": body}


def print_json(document: dict) -> None:
    # allow_nan=False: strict JSON; the engine never lets a NaN or infinity through.
    sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")


# -- errors and warnings on stderr -------------------------------------------------------------


def error_text(error: BackpropError, source: str | None) -> str:
    """The message, the offending line with a caret under the place, and the fix."""
    lines = [f"error: {error.message}"]
    if error.line is not None and error.column is not None:
        lines.append(f"  --> line {error.line}, column {error.column}")
        if source is not None:
            source_lines = source.split("\n")
            if 0 < error.line <= len(source_lines):
                text = source_lines[error.line - 1].replace("\t", " ")
                gutter = str(error.line)
                lines.append(f"{' ' * len(gutter)} |")
                lines.append(f"{gutter} | {text}")
                lines.append(f"{' ' * len(gutter)} | {' ' * (error.column - 1)}{'^' * error.width}")
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


def print_error(error: BackpropError, source: str | None) -> None:
    sys.stderr.write(error_text(error, source) + "\n")


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


# -- tables ------------------------------------------------------------------------------------


def rows_to_show(evaluation: Evaluation, limit: int, show_all: bool) -> list[int]:
    """Node ids for the table: all of them, or past `limit` the inputs, named nodes and output."""
    program = evaluation.program
    count = len(program)
    if show_all or count <= limit:
        return list(range(count))
    keep = sorted(set(program.inputs.values()) | set(program.bindings.values()) | {program.output})
    if len(keep) > limit:
        head = max(1, limit // 2)
        keep = keep[:head] + keep[-(limit - head) :]
    return keep


def print_evaluation(
    evaluation: Evaluation,
    expression: str,
    check: CheckReport | None = None,
    *,
    limit: int = DEFAULT_ROWS,
    show_all: bool = False,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    program = evaluation.program
    labels = program.labels()
    shown = rows_to_show(evaluation, limit, show_all)

    table = Table(title=f"backprop · {_one_line(expression)}", title_justify="left", caption_justify="left")
    for header, justify in (("id", "right"), ("name", "left"), ("op", "left"), ("expression", "left"), ("value", "right"), ("grad", "right")):
        table.add_column(header, justify=justify, overflow="fold")
    previous = -1
    for node_id in shown:
        if node_id != previous + 1:
            table.add_row("⋮", "", "", f"[dim]{node_id - previous - 1} rows not shown[/dim]", "", "")
        op_name = program.ops[node_id].name
        style = "bold" if node_id == program.output else ("cyan" if op_name == "input" else None)
        table.add_row(
            str(node_id),
            labels[node_id] or "",
            op_name,
            program.expr(node_id),
            format_value(evaluation.values[node_id]),
            _grad_text(evaluation.grad_of(node_id)),
            style=style,
        )
        previous = node_id
    if len(shown) < len(program):
        table.caption = f"{len(shown)} of {len(program)} nodes shown (inputs, named nodes, output); --all shows every node"
    console.print(table)

    output = labels[program.output]
    gradients = Table(title=f"gradients of {output} = {format_value(evaluation.value)}", title_justify="left")
    gradients.add_column("input")
    gradients.add_column("value", justify="right")
    gradients.add_column(f"∂{output}/∂input", justify="right")
    items = list(evaluation.gradients.items())
    for name, grad in items if show_all else items[:limit]:
        gradients.add_row(name, format_value(evaluation.inputs[name]), format_value(grad))
    if not show_all and len(items) > limit:
        gradients.caption = f"{limit} of {len(items)} inputs shown; --all shows every input"
    if items:
        console.print(gradients)
    else:
        console.print(f"{output} = {format_value(evaluation.value)} (the program has no inputs)")
    if check is not None:
        print_check(console, check, limit=None if show_all else limit)


def print_check(console, check: CheckReport, limit: int | None) -> None:
    from rich.table import Table

    table = Table(title=f"gradient check (central differences, eps {check.eps:g}, tol {check.tolerance:g})", title_justify="left")
    for header in ("input", "analytic", "numeric", "abs error", "rel error", ""):
        table.add_column(header, justify="left" if header in ("input", "") else "right")
    items = check.inputs if limit is None else check.inputs[:limit]
    for item in items:
        mark = "[green]✓[/green]" if item.passed else ("[yellow]⚠ kink[/yellow]" if item.at_kink else ("[yellow]? undefined[/yellow]" if item.numeric is None else "[red]✗[/red]"))
        table.add_row(
            item.name,
            format_value(item.analytic),
            "—" if item.numeric is None else format_value(item.numeric),
            "—" if item.abs_error is None else f"{item.abs_error:.2e}",
            "—" if item.rel_error is None else f"{item.rel_error:.2e}",
            mark,
        )
    console.print(table)
    verdict = "[green]passed[/green]" if check.passed else "[red]FAILED[/red]"
    console.print(f"gradient check {verdict}: max abs error {check.max_abs_error:.2e}, max rel error {check.max_rel_error:.2e}")


def _grad_text(grad) -> str:
    return "—" if grad is None else format_value(grad)


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
