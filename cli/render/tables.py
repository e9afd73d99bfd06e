"""Rich tables: an evaluation's nodes and gradients, the gradient check, and the answers to --expect.

Rich is imported inside the printers only, so `--json` runs never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...graph.values import shape_text, value_text
from .text import one_line, shortened, stdout_console

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation
    from ...graph.expect import ExpectReport


DEFAULT_ROWS = 40
"""Past this many nodes the table shows only the inputs, the named nodes and the output."""


def inputs_header(evaluation: Evaluation) -> str | None:
    """`inputs: W1 (2, 2) · x (2,) · y scalar` when some input is a tensor, else None."""
    inputs = evaluation.inputs
    names = list(evaluation.program.inputs)
    if all(type(inputs[name]) is float for name in names):
        return None
    return "inputs: " + " · ".join(f"{shortened(name)} {shape_text(inputs[name])}" for name in names)


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
    """What `eval` prints: the inputs' shapes, the node table, the gradients, and --full, --check."""
    from rich.markup import escape

    console = stdout_console(highlight=False, emoji=False)
    shown = rows_to_show(evaluation, limit, show_all)
    header = inputs_header(evaluation)
    if header is not None:
        console.print(escape(header))
    console.print(_node_table(evaluation, expression, shown))
    if evaluation.gradients:
        console.print(_gradients_table(evaluation, None if show_all else limit))
    else:
        output = shortened(evaluation.program.labels()[evaluation.program.output])
        console.print(f"{output} = {escape(value_text(evaluation.value))} (the program has no inputs)")
    if full:
        print_full_tensors(console, evaluation, shown)
    if check is not None:
        print_check(console, check, limit=None if show_all else limit)


def _node_table(evaluation: Evaluation, expression: str, shown: list[int]):
    """One row per shown node (id, name, op, expression, value, grad), ⋮ where rows are left out."""
    from rich.markup import escape
    from rich.table import Table

    program = evaluation.program
    labels = program.labels()
    table = Table(
        title=f"backprop · {escape(one_line(expression))}", title_justify="left", caption_justify="left"
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
            shortened(labels[node_id] or ""),  # a name of a megabyte, in the middle
            op_name,
            escape(program.expr(node_id)),
            escape(value_text(evaluation.values[node_id])),
            "—" if grad is None else escape(value_text(grad)),
            style=style,
        )
        previous = node_id
    if len(shown) < len(program):
        table.caption = f"{len(shown)} of {len(program)} nodes shown (inputs, named nodes, output); --all shows every node"
    return table


def _gradients_table(evaluation: Evaluation, limit: int | None):
    """∂L/∂input for every input (the first `limit` of them; None: all)."""
    from rich.markup import escape
    from rich.table import Table

    output = shortened(evaluation.program.labels()[evaluation.program.output])
    table = Table(
        title=f"gradients of {output} = {escape(value_text(evaluation.value))}", title_justify="left"
    )
    table.add_column("input")
    table.add_column("value", justify="right")
    table.add_column(f"∂{output}/∂input", justify="right")
    items = list(evaluation.gradients.items())
    for name, grad in items if limit is None else items[:limit]:
        table.add_row(shortened(name), escape(value_text(evaluation.inputs[name])), escape(value_text(grad)))
    if limit is not None and len(items) > limit:
        table.caption = f"{limit} of {len(items)} inputs shown; --all shows every input"
    return table


def print_full_tensors(console, evaluation: Evaluation, shown: list[int]) -> None:
    """Every tensor value and gradient of the shown nodes, whole, one row per line: what --full adds.
    A table cell would wrap the rows; here a long row runs on (soft wrap), as NumPy prints it."""
    from rich.markup import escape

    program = evaluation.program
    labels = program.labels()
    output = shortened(labels[program.output])
    blocks = []
    for node_id in shown:
        label = shortened(labels[node_id]) or program.expr(node_id, limit=40)
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
            shortened(item.name)
            if item.elements is None
            else f"{shortened(item.name)}[{', '.join(map(str, each.index))}]",
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
            console.print(f"{shortened(item.name)}: all {item.size} elements checked")
        else:
            console.print(
                f"{shortened(item.name)}: {len(item.elements)} of {item.size} elements checked (a seeded sample; --check-samples N)"
            )
    console.print(f"gradient check {_check_verdict(check, len(rows))}")


def _check_verdict(check: CheckReport, compared: int) -> str:
    """passed / FAILED with the largest errors, saying how many could not be checked; a check that
    could compare nothing has not passed (exit 1) and has no errors to give."""
    unchecked = check.not_checkable
    if unchecked and unchecked == compared:
        return "[red]not passed[/red]: no gradient could be compared (see the warnings)"
    verdict = "[green]passed[/green]" if check.passed else "[red]FAILED[/red]"
    if unchecked:  # a pass over some must not read as a pass over all
        verdict += f" [yellow]({unchecked} of {compared} not checkable: see the warnings)[/yellow]"
    return f"{verdict}: max abs error {check.max_abs_error:.2e}, max rel error {check.max_rel_error:.2e}"


def print_expectations(report: ExpectReport, evaluation: Evaluation) -> None:
    """The answers table: each row says what it checks (`value of c`, `∂e/∂c`), with its note below."""
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console(highlight=False)
    output = shortened(evaluation.program.labels()[evaluation.program.output])
    how = "the digits written" if report.rounded else f"tolerance {report.tolerance:g}"
    table = Table(title=f"answers ({how})", title_justify="left")
    for header, justify in (
        ("answer", "left"),
        ("expected", "right"),
        ("got", "right"),
        ("difference", "right"),
        ("", "left"),
    ):
        table.add_column(header, justify=justify)
    notes = []
    for item in report.items:
        what = answer_label(item, output)
        mark = "[green]✓[/green]" if item.passed else "[red]✗[/red]"
        difference = "—" if item.abs_error is None else f"{item.abs_error:.3g}"
        table.add_row(what, value_text(item.expected), value_text(item.got), difference, mark)
        if item.note:
            notes.append(f"  {what}: {escape(item.note)}")
        if item.diagnosis:
            notes.append(f"  {what}: [yellow]why:[/yellow] {escape(item.diagnosis.text)}")
    console.print(table)
    for note in notes:
        console.print(note)
    wrong = sum(not item.passed for item in report.items)
    verdict = "[green]all right[/green]" if not wrong else f"[red]{wrong} of {len(report.items)} off[/red]"
    first = f"; first mistake: {report.first_mistake}" if wrong > 1 and report.first_mistake else ""
    console.print(f"answers: {verdict}{first}")


def answer_label(item, output: str) -> str:
    """What an answer row checks: `value of c` for a forward value, `∂e/∂c` for a gradient."""
    from ...graph.expect import VALUE  # here: graph/expect.py loads only when answers are checked

    node = shortened(item.node or item.name)
    return f"value of {node}" if item.kind == VALUE else f"∂{output}/∂{node}"


STOPPED = {
    "steps": "all steps taken",
    "gtol": "the gradient's norm fell below --gtol",
    "diverged": "diverged",
    "interrupted": "interrupted (Ctrl-C)",
}


def print_training(training, expression: str, stride: int = 1) -> None:
    """What `minimize` prints: the parameters at the start and the end, the losses, why it stopped,
    and the loss curve."""
    from rich.markup import escape
    from rich.table import Table

    from .curve import LABEL_MARGIN, MIN_WIDTH, curve_text

    console = stdout_console(highlight=False, emoji=False)
    table = Table(
        title=f"backprop minimize · {escape(one_line(expression))}",
        title_justify="left",
        caption_justify="left",
    )
    for header, justify in (("parameter", "left"), ("start", "right"), ("end", "right")):
        table.add_column(header, justify=justify)
    for name in training.wrt:
        table.add_row(
            shortened(name),
            escape(value_text(training.start[name])),
            escape(value_text(training.params[name])),
        )
    table.caption = f"{training.method}, η = {training.lr:g}"
    console.print(table)
    norm = "—" if training.grad_norm is None else value_text(training.grad_norm)
    console.print(
        f"loss {value_text(training.loss_start)} → {value_text(training.loss_final)} in {training.steps:,} "
        f"step{'s' if training.steps != 1 else ''}; stopped: {STOPPED[training.stopped]}; ‖∇L‖ {norm}"
    )
    if training.reason:
        console.print(f"[yellow]{escape(training.reason)}[/yellow]")
    width = min(console.width - LABEL_MARGIN, 72)
    if len(training.history) > 1 and width >= MIN_WIDTH:  # too narrow a terminal: no curve
        console.print(escape(curve_text(training.history, width=width, stride=stride)))
