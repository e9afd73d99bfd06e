"""Turn results into Rich tables, JSON objects and error messages. No math here.

Rich is imported only inside the table printers, so `--json` runs never load it.
"""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING

from ...graph.errors import BackpropError
from ...graph.kernels import shape
from ...graph.values import shape_text, value_text

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation

DEFAULT_ROWS = 40
"""Past this many nodes the table shows only the inputs, the named nodes and the output."""



# -- JSON --------------------------------------------------------------------------------------


def number(value):
    """A value for JSON: floats as they are (never -0.0), None as null, a tensor as nested lists."""
    if value is None:
        return None
    value = value + 0.0  # -0.0 + 0.0 is 0.0, in a tensor element by element
    return value.tolist() if hasattr(value, "tolist") else value


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
                "shape": list(shape(row.value)),
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
    """The check as JSON; a tensor input's entry is its worst element, plus every checked element."""
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
                **(_elements_json(item) if item.elements is not None else {}),
            }
            for item in check.inputs
        },
    }


def _elements_json(item) -> dict:
    return {
        "checked": len(item.elements),
        "size": item.size,
        "elements": [
            {
                "index": list(each.index),
                "numeric": number(each.numeric),
                "analytic": number(each.analytic),
                "abs_error": number(each.abs_error),
                "rel_error": number(each.rel_error),
                "passed": each.passed,
                **({"note": each.note} if each.note else {}),
            }
            for each in item.elements
        ],
    }


def error_json(error: BackpropError) -> dict:
    return _error_object(error.kind, error.message, error.line, error.column, error.hint)


def _error_object(kind: str, message: str, line: int | None, column: int | None, hint: str | None) -> dict:
    """The same five keys on every error (`hint` null when there is none), so scripts need not probe."""
    return {"error": {"type": kind, "message": message, "line": line, "column": column, "hint": hint or None}}


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
                text, offset, width = _window(
                    source_lines[error.line - 1].replace("\t", " "), error.column - 1, error.width
                )
                gutter = str(error.line)
                lines.append(f"{' ' * len(gutter)} |")
                lines.append(f"{gutter} | {text}")
                lines.append(f"{' ' * len(gutter)} | {' ' * offset}{'^' * width}")
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


ERROR_LINE_WIDTH = 100
"""A longer source line is shown as a window of this many characters around the error's place."""


def _window(text: str, start: int, width: int) -> tuple[str, int, int]:
    """(the part of `text` to show, where the caret starts in it, how many carets): the whole line
    when it is short, else ERROR_LINE_WIDTH characters from a little before `start`, with …"""
    if len(text) <= ERROR_LINE_WIDTH:
        return text, start, width
    first = max(0, min(start - ERROR_LINE_WIDTH // 3, len(text) - ERROR_LINE_WIDTH))
    last = first + ERROR_LINE_WIDTH
    shown = ("…" if first else "") + text[first:last] + ("…" if last < len(text) else "")
    offset = start - first + (1 if first else 0)
    return shown, offset, max(1, min(width, last - start))


def print_error(error: BackpropError, source: str | None) -> None:
    sys.stderr.write(error_text(error, source) + "\n")


def print_internal_error(failure: Exception, json_output: bool) -> None:
    """A bug of ours, told in two lines instead of a traceback (BACKPROP_TRACEBACK=1 shows it)."""
    message = f"internal error: {type(failure).__name__}: {failure}"
    hint = (
        "this is a bug in backprop: please report it with the command line; BACKPROP_TRACEBACK=1 shows where"
    )
    sys.stderr.write(f"error: {message}\nhint: {hint}\n")
    if json_output:
        print_json(_error_object("internal", message, None, None, hint))


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def inputs_header(evaluation: Evaluation) -> str | None:
    """`inputs: W1 (2, 2) · x (2,) · y scalar` when some input is a tensor, else None."""
    inputs = evaluation.inputs
    names = list(evaluation.program.inputs)
    if all(type(inputs[name]) is float for name in names):
        return None
    return "inputs: " + " · ".join(f"{name} {shape_text(inputs[name])}" for name in names)


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
    full: bool = False,
) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, emoji=False)
    program = evaluation.program
    labels = program.labels()
    shown = rows_to_show(evaluation, limit, show_all)
    header = inputs_header(evaluation)
    if header is not None:
        console.print(escape(header))

    table = Table(
        title=f"backprop · {escape(_one_line(expression))}", title_justify="left", caption_justify="left"
    )
    for header, justify in (
        ("id", "right"),
        ("name", "left"),
        ("op", "left"),
        ("expression", "left"),
        ("value", "right"),
        ("grad", "right"),
    ):
        table.add_column(header, justify=justify, overflow="fold")
    previous = -1
    for node_id in shown:
        if node_id != previous + 1:
            table.add_row("⋮", "", "", f"[dim]{node_id - previous - 1} rows not shown[/dim]", "", "")
        op_name = program.ops[node_id].name
        style = "bold" if node_id == program.output else ("cyan" if op_name == "input" else None)
        grad = evaluation.grad_of(node_id)
        table.add_row(
            str(node_id),
            labels[node_id] or "",
            op_name,
            escape(program.expr(node_id)),
            escape(value_text(evaluation.values[node_id])),
            "—" if grad is None else escape(value_text(grad)),
            style=style,
        )
        previous = node_id
    if len(shown) < len(program):
        table.caption = f"{len(shown)} of {len(program)} nodes shown (inputs, named nodes, output); --all shows every node"
    console.print(table)

    output = labels[program.output]
    gradients = Table(
        title=f"gradients of {output} = {escape(value_text(evaluation.value))}", title_justify="left"
    )
    gradients.add_column("input")
    gradients.add_column("value", justify="right")
    gradients.add_column(f"∂{output}/∂input", justify="right")
    items = list(evaluation.gradients.items())
    for name, grad in items if show_all else items[:limit]:
        gradients.add_row(name, escape(value_text(evaluation.inputs[name])), escape(value_text(grad)))
    if not show_all and len(items) > limit:
        gradients.caption = f"{limit} of {len(items)} inputs shown; --all shows every input"
    if items:
        console.print(gradients)
    else:
        console.print(f"{output} = {escape(value_text(evaluation.value))} (the program has no inputs)")
    if full:
        print_full_tensors(console, evaluation, shown)
    if check is not None:
        print_check(console, check, limit=None if show_all else limit)


def print_full_tensors(console, evaluation: Evaluation, shown: list[int]) -> None:
    """Every tensor value and gradient of the shown nodes, whole, one row per line: what --full adds.
    A table cell would wrap the rows; here a long row runs on (soft wrap), as NumPy prints it."""
    from rich.markup import escape

    program = evaluation.program
    labels = program.labels()
    output = labels[program.output]
    blocks = []
    for node_id in shown:
        label = labels[node_id] or program.expr(node_id, limit=40)
        value, grad = evaluation.values[node_id], evaluation.grad_of(node_id)
        if type(value) is not float:
            blocks.append(_hanging(f"{label} = ", value_text(value, full=True)))
        if grad is not None and type(grad) is not float:
            blocks.append(_hanging(f"∂{output}/∂{label} = ", value_text(grad, full=True)))
    if blocks:
        console.print("\n[bold]tensors in full[/bold]")
        for block in blocks:
            console.print(escape(block), soft_wrap=True)


def _hanging(prefix: str, text: str) -> str:
    """prefix + text, the text's later lines indented to stay under its first."""
    return prefix + text.replace("\n", "\n" + " " * len(prefix))


def print_check(console, check: CheckReport, limit: int | None) -> None:
    """One row per scalar input and per checked element of a tensor input (`W1[0, 1]`)."""
    from rich.table import Table

    table = Table(
        title=f"gradient check (central differences, eps {check.eps:g}, tol {check.tolerance:g})",
        title_justify="left",
        caption_justify="left",
    )
    for header in ("input", "analytic", "numeric", "abs error", "rel error", ""):
        table.add_column(header, justify="left" if header in ("input", "") else "right")
    rows = [
        (
            item.name if item.elements is None else f"{item.name}[{', '.join(map(str, each.index))}]",
            each,
            item.at_kink,
        )
        for item in check.inputs
        for each in item.compared
    ]
    for label, each, at_kink in rows if limit is None else rows[:limit]:
        mark = (
            "[green]✓[/green]"
            if each.passed
            else (
                "[yellow]⚠ kink[/yellow]"
                if at_kink
                else ("[yellow]? not checkable[/yellow]" if each.numeric is None else "[red]✗[/red]")
            )
        )
        table.add_row(
            label,
            value_text(each.analytic),
            "—" if each.numeric is None else value_text(each.numeric),
            "—" if each.abs_error is None else f"{each.abs_error:.2e}",
            "—" if each.rel_error is None else f"{each.rel_error:.2e}",
            mark,
        )
    if limit is not None and len(rows) > limit:
        table.caption = f"{limit} of {len(rows)} rows shown; --all shows every row"
    console.print(table)
    for item in check.inputs:
        if item.elements is None:
            continue
        if len(item.elements) == item.size:
            console.print(f"{item.name}: all {item.size} elements checked")
        else:
            console.print(
                f"{item.name}: {len(item.elements)} of {item.size} elements checked (a seeded sample; --check-samples N)"
            )
    verdict = "[green]passed[/green]" if check.passed else "[red]FAILED[/red]"
    unchecked = sum(each.numeric is None for _, each, _ in rows)
    if unchecked:  # a pass over nothing must not read as a pass over everything
        verdict += f" [yellow]({unchecked} of {len(rows)} not checkable: see the warnings)[/yellow]"
    console.print(
        f"gradient check {verdict}: max abs error {check.max_abs_error:.2e}, max rel error {check.max_rel_error:.2e}"
    )


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
