"""Rich tables: an evaluation's nodes and gradients, the gradient check, and the answers to --expect.

Rich is imported inside the printers only, so `--json` runs never load it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...graph.ops import CONST
from ...graph.values import shape_text, value_text
from ..options import DEFAULT_ROWS
from .columns import Column, Gap, Styled, fit_table, print_table, title_text
from .text import check_texts, shortened, stdout_console

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation
    from ...graph.expect import ExpectReport


def inputs_header(evaluation: Evaluation) -> str | None:
    """`inputs: W1 (2, 2) · x (2,) · y scalar` when some input is a tensor, else None."""
    inputs = evaluation.inputs
    names = list(evaluation.program.inputs)
    if all(type(inputs[name]) is float for name in names):
        return None
    return "inputs: " + " · ".join(f"{shortened(name)} {shape_text(inputs[name])}" for name in names)


def rows_to_show(evaluation: Evaluation, limit: int, show_all: bool) -> list[int]:
    """Node ids for the table: all of them up to `limit`; past it, `limit` rows: the inputs, named
    nodes and output, then the unnamed nodes nearest before each of them (the steps computing it,
    the nearest first), in order. More than `limit` inputs and named nodes: the first and last."""
    program = evaluation.program
    count = len(program)
    if show_all or count <= limit:
        return list(range(count))
    keep = sorted(set(program.inputs.values()) | set(program.bindings.values()) | {program.output})
    if len(keep) >= limit:
        head = max(1, limit // 2)
        return keep[:head] + keep[len(keep) - (limit - head) :]
    chosen, budget = set(keep), limit - len(keep)
    floor = dict(zip(keep, [-1, *keep]))  # the kept node before each kept node
    below = {node_id: node_id - 1 for node_id in keep}  # the next step to take below each
    while budget > 0:  # a round takes one step below each kept node: the nearest first
        taken = 0
        for node_id in keep:
            step = below[node_id]
            while step > floor[node_id] and program.ops[step] is CONST:  # a literal is no step
                step -= 1
            if step > floor[node_id] and taken < budget:
                chosen.add(step)
                taken += 1
                step -= 1
            below[node_id] = step
        if not taken:
            break
        budget -= taken
    return sorted(chosen)


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
    print_table(
        console, _node_table(console, evaluation, shown), title_text(console, "backprop · ", expression)
    )
    if not evaluation.has_gradients:  # a tensor output: its values only, and why
        console.print(escape(evaluation.no_gradients_note), soft_wrap=True)
    elif evaluation.gradients:
        output = shortened(evaluation.program.labels()[evaluation.program.output])
        title = title_text(console, f"gradients of {output} = ", value_text(evaluation.value))
        print_table(console, _gradients_table(console, evaluation, None if show_all else limit), title)
    else:
        output = shortened(evaluation.program.labels()[evaluation.program.output])
        console.print(f"{output} = {escape(value_text(evaluation.value))} (the program has no inputs)")
    if full:
        print_full_tensors(console, evaluation, shown)
    if check is not None:
        print_check(console, check, limit=None if show_all else limit)


NODE_COLUMNS = [
    Column("id", "right", gives=4, least=99, drops=True),  # the last to go: a name says which node
    Column("name", gives=3, least=4, middle=True),
    Column("op", gives=2, least=99, drops=True),  # an op is left out whole, never cut
    Column("expression", gives=1, least=10, drops=True),
    Column("value", "right"),
    Column("grad", "right"),
]
"""When the terminal is too narrow, the expression is shortened and then left out, then the op,
then names are shortened, then the id left out; a value or gradient is never cut."""


def cell_text(value) -> str:
    """A value in a table cell: as value_text, but a small matrix one row per line, aligned."""
    text = value_text(value)
    if type(value) is float or getattr(value, "ndim", 1) < 2 or not text.startswith("[["):
        return text
    depth = value.ndim
    return re.sub(r"(\]+), (\[+)", lambda m: f"{m[1]},\n{' ' * (depth - len(m[1]))}{m[2]}", text)


def _node_table(console, evaluation: Evaluation, shown: list[int]):
    """One row per shown node (id, name, op, expression, value, grad), ⋮ where rows are left out."""
    program = evaluation.program
    labels = program.labels()
    rows, styles, previous = [], [], -1
    for node_id in shown:
        if node_id != previous + 1:
            rows.append(_not_shown(node_id - previous - 1))
            styles.append(None)
        op_name = program.ops[node_id].name
        grad = evaluation.grad_of(node_id)
        rows.append(
            [
                str(node_id),
                shortened(labels[node_id] or ""),  # a name of a megabyte, in the middle
                op_name,
                program.expr(node_id),
                cell_text(evaluation.values[node_id]),
                "—" if grad is None else cell_text(grad),
            ]
        )
        styles.append("bold" if node_id == program.output else ("cyan" if op_name == "input" else None))
        previous = node_id
    if previous != len(program) - 1:
        rows.append(_not_shown(len(program) - 1 - previous))
        styles.append(None)
    table = fit_table(console, NODE_COLUMNS, rows, styles=styles)
    if len(shown) < len(program):
        table.caption = (
            f"{len(shown)} of {len(program)} nodes shown (inputs, named nodes, output and the steps "
            "before them; --rows N); --all shows every node"
        )
    return table


def _not_shown(count: int) -> Gap:
    return Gap(f"{count} row{'s' if count != 1 else ''} not shown", f"{count} hidden")


def _gradients_table(console, evaluation: Evaluation, limit: int | None):
    """∂L/∂input for every input (the first `limit` of them; None: all)."""
    output = shortened(evaluation.program.labels()[evaluation.program.output])
    columns = [
        Column("input", gives=1, least=5, middle=True),
        Column("value", "right"),
        Column(f"∂{output}/∂input", "right"),
    ]
    items = list(evaluation.gradients.items())
    rows = [
        [shortened(name), cell_text(evaluation.inputs[name]), cell_text(grad)]
        for name, grad in (items if limit is None else items[:limit])
    ]
    table = fit_table(console, columns, rows)
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
    from ...graph.check import AT_KINK, FAILED, NOT_CHECKABLE, PASSED, status  # loaded with --check only

    marks = {
        PASSED: Styled("✓", "green"),
        AT_KINK: Styled("⚠ kink", "yellow"),
        NOT_CHECKABLE: Styled("? not checkable", "yellow"),
        FAILED: Styled("✗", "red"),
    }
    columns = [Column("input", gives=1, least=5, middle=True)]
    columns += [Column(header, "right") for header in ("analytic", "numeric", "abs error", "rel error")]
    columns.append(Column(""))
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
    cells = []
    for label, each, at_kink in rows if limit is None else rows[:limit]:
        cells.append([label, *check_texts(each), marks[status(each, at_kink)]])
    table = fit_table(console, columns, cells)
    if limit is not None and len(rows) > limit:
        table.caption = f"{limit} of {len(rows)} rows shown; --all shows every row"
    title = f"gradient check (central differences, eps {check.eps:g}, tol {check.tolerance:g})"
    print_table(console, table, title)
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

    console = stdout_console(highlight=False)
    output = shortened(evaluation.program.labels()[evaluation.program.output])
    how = "the digits written" if report.rounded else f"tolerance {report.tolerance:g}"
    columns = [Column("answer", gives=1, wraps=True)]
    columns += [Column(header, "right") for header in ("expected", "got", "difference")]
    columns.append(Column(""))
    rows, notes = [], []
    for item in report.items:
        what = answer_label(item, output)
        mark = Styled("✓", "green") if item.passed else Styled("✗", "red")
        difference = "—" if item.abs_error is None else f"{item.abs_error:.3g}"
        rows.append([what, cell_text(item.expected), cell_text(item.got), difference, mark])
        if item.note:
            notes.append(f"  {escape(what)}: {escape(item.note)}")
        if item.diagnosis:
            notes.append(f"  {escape(what)}: [yellow]why:[/yellow] {escape(item.diagnosis.text)}")
    print_table(console, fit_table(console, columns, rows), f"answers ({how})")
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

    from .curve import LABEL_MARGIN, MIN_WIDTH, curve_text

    console = stdout_console(highlight=False, emoji=False)
    columns = [
        Column("parameter", gives=1, least=9, middle=True),
        Column("start", "right"),
        Column("end", "right"),
    ]
    rows = [
        [shortened(name), cell_text(training.start[name]), cell_text(training.params[name])]
        for name in training.wrt
    ]
    table = fit_table(console, columns, rows)
    table.caption = f"{training.method}, η = {training.lr:g}"
    print_table(console, table, title_text(console, "backprop minimize · ", expression))
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
