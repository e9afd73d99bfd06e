"""The lecture's words: trace lines (`c = a + b = 7 + 3 = 10`, `b.grad += …`) and the paths table.

Rich is imported inside the printers only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...graph.engine import Evaluation
from ...graph.ops import CONST
from ...graph.paths import EXACT_COUNT_DIGITS, MAX_PATHS, Path, PathReport
from ...graph.program import Program
from ...graph.trace import BackwardStep, ForwardStep, Scaled, Trace, local_texts
from ...graph.values import value_text
from .text import stdout_console

if TYPE_CHECKING:
    from ...graph.expect import ExpectReport


def forward_line(step: ForwardStep) -> str:
    """`c = a + b = 7 + 3 = 10`; a leaf is `a = 7`."""
    parts = [step.name]
    if step.operands is not None:
        parts.append(step.formula)
        if step.operands != step.formula:  # `k = 2 * 3 = 6`, not `k = 2 * 3 = 2 * 3 = 6`
            parts.append(step.operands)
    parts.append(value_text(step.value))
    return " = ".join(parts)


def backward_line(step: BackwardStep) -> str:
    """`b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297`."""
    child = f"{step.child_name}.grad"
    contribution = value_text(step.contribution)
    if step.formula is not None:  # a tensor: the vector formula, `h.grad += W2ᵀ · yhat.grad`
        return f"{child} += {step.formula} = {contribution} → {_total(step)}"
    if step.local_note is not None:  # too large for a float64 (1/x at 5e-324), or not finite
        product = f"{value_text(step.parent_grad)} · ({step.local_note}) = {contribution}"
    else:
        product = f"{value_text(step.parent_grad)} · {_signed(step.local_value)} = {contribution}"
    return f"{child} += {step.parent_name}.grad · {step.local} = {product} → {_total(step)}"


def _total(step: BackwardStep) -> str:
    """The child's running total: `b.grad = 297`, or `b.grad = 270 + 27 = 297` after the first."""
    child = f"{step.child_name}.grad"
    if step.previous is None:
        return f"{child} = {value_text(step.total)}"
    return f"{child} = {value_text(step.previous)} + {_signed(step.contribution)} = {value_text(step.total)}"


def seed_line(trace: Trace) -> str:
    """∂L/∂L = 1, with the output's own label."""
    seed = trace.evaluation.grads[trace.evaluation.program.output]
    return f"∂{trace.output}/∂{trace.output} = {value_text(seed)}"


def print_trace(trace: Trace, expression: str, answers: ExpectReport | None = None) -> None:
    """Both passes, step by step; with `answers`, each step a student answered is marked ✓ or ✗
    with the number written beside it (a gradient on the step that completes it). A step too long
    for the terminal wraps between its terms (wrapped)."""
    from rich.markup import escape

    marks = _Marks(answers)
    console = stdout_console(highlight=False, soft_wrap=True)  # lines are broken here, not by Rich
    width = wrap_width(console)
    evaluation = trace.evaluation
    print_header(console, "backprop trace · ", expression, evaluation.inputs)

    console.print("\n[bold]forward pass[/bold], in topological order:")
    shown = [
        step for step in trace.forward if not (step.op == CONST.name and step.name == value_text(step.value))
    ]
    lines = [forward_line(step) for step in shown]
    column = min(max((len(line) for line in lines), default=0), 60)
    for step, line in zip(shown, lines, strict=True):
        if step.operands is not None and step.expr.replace(" ", "") != step.formula.replace(" ", ""):
            line = f"{line.ljust(column)}  # {step.expr}"  # letters stand for subexpressions: say which
        _print_step(console, line, width, marks.of(step.name, "value"))
        marks.why(console, step.name, "value")

    console.print(
        f"\n[bold]backward pass[/bold], in reverse topological order, from {escape(seed_line(trace))}:"
        + marks.of(trace.output, "grad"),
        soft_wrap=not console.is_terminal,  # prose: between words on a terminal, one line in a file
    )
    last = {step.child: index for index, step in enumerate(trace.backward)}  # the step completing each
    for index, step in enumerate(trace.backward):
        mark = marks.of(step.child_name, "grad") if last[step.child] == index else ""
        _print_step(console, backward_line(step), width, mark, "bold" if step.previous is not None else None)
        if mark:
            marks.why(console, step.child_name, "grad")
    if not trace.backward:
        console.print("  (no edge to follow: nothing below the output needs a gradient)")

    gradients = [
        f"∂{trace.output}/∂{name} = {value_text(grad)}" for name, grad in evaluation.gradients.items()
    ]
    if gradients:
        summary = "gradients: " + ", ".join(gradients)
        if width is None or len(summary) <= width:
            console.print(f"\n[bold]gradients[/bold]: {escape(', '.join(gradients))}")
        else:  # one input a line
            console.print("\n[bold]gradients[/bold]:")
            for line in gradients:
                _print_step(console, line, width)
    marks.summary(console)


BREAKS = ((" → ",), (" = ", "  # "), (" + ", " · ", " × "))
"""Where a long trace step may break, the first kind first: before one of these, outside brackets
(so never inside a number or a tensor)."""


def wrap_width(console) -> int | None:
    """The width trace steps wrap to: the terminal's, or COLUMNS's in a pipe; None (one line a
    step, as grep wants) in a pipe or file without COLUMNS."""
    import os

    return console.width if console.is_terminal or os.environ.get("COLUMNS") else None


def wrapped(text: str, width: int | None, indent: str = "  ", hang: int = 4, breaks=BREAKS) -> list[str]:
    """`text` as lines of at most `width` columns where it can: broken before a ` → `, else a
    ` = `, else a ` + ` or ` · ` outside brackets; later lines indented `hang` more. A term longer
    than a line stays whole."""
    if width is None or len(indent) + len(text) <= width:
        return [indent + text]
    room = width - len(indent) - hang
    pieces = [text]
    for kind in breaks:  # split only what is still too long, at the next kind of break
        pieces = [
            part for piece in pieces for part in (_split(piece, kind) if len(piece) > room else [piece])
        ]
    lines, line = [], indent + pieces[0]
    for piece in pieces[1:]:
        if len(line) + len(piece) <= width:
            line += piece
        else:
            lines.append(line.rstrip())
            line = indent + " " * hang + piece.lstrip()
    return [*lines, line]


def _split(text: str, breaks: tuple[str, ...]) -> list[str]:
    """`text` cut before each of `breaks` outside brackets; each piece after the first starts with
    the space before its operator, so that joining them gives `text` back."""
    cuts, depth = [0], 0
    for position, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        found = depth == 0 and next((b for b in breaks if text.startswith(b, position)), None)
        if found and position > cuts[-1]:
            cuts.append(position + found.index(" "))
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)])]


def _print_step(console, text: str, width: int | None, mark: str = "", style: str | None = None) -> None:
    """One step, wrapped between its terms; `mark` (markup) after its last line."""
    from rich.markup import escape

    lines = wrapped(text, width)
    for number, line in enumerate(lines):
        console.print(escape(line) + (mark if number == len(lines) - 1 else ""), style=style)


def print_header(console, title: str, expression: str, inputs: dict) -> None:
    """`backprop trace · (a + b) * c  at a = 7, b = 3`: the expression as wide as the terminal,
    and the point on the next lines when it does not fit beside it."""
    from rich.markup import escape

    from .columns import title_text

    point = ", ".join(f"{name} = {value_text(value)}" for name, value in inputs.items())
    head = title_text(console, title, expression)
    if point and len(head) + 4 + len(point) <= console.width:
        console.print(f"[bold]{escape(head)}[/bold]  at {escape(point)}")
        return
    console.print(f"[bold]{escape(head)}[/bold]")
    if point:
        for line in wrapped("at " + point, console.width, breaks=((", ",),)):
            console.print(escape(line))


class _Marks:
    """The answers by (node label, kind), as marks and `why:` lines for the trace."""

    def __init__(self, answers: ExpectReport | None) -> None:
        self.report = answers
        self.items = {} if answers is None else {(item.node, item.kind): item for item in answers.items}

    def of(self, node: str, kind: str) -> str:
        item = self.items.get((node, kind))
        if item is None:
            return ""
        from rich.markup import escape

        written = escape(value_text(item.expected))
        return f"  [green]✓ {written}[/green]" if item.passed else f"  [red]✗ you wrote {written}[/red]"

    def why(self, console, node: str, kind: str) -> None:
        item = self.items.get((node, kind))
        if item is None:
            return
        from rich.markup import escape

        if item.note:
            console.print(f"      {escape(item.note)}")
        if item.diagnosis is not None:
            console.print(f"      [yellow]why:[/yellow] {escape(item.diagnosis.text)}")

    def summary(self, console) -> None:
        if self.report is None:
            return
        wrong = sum(not item.passed for item in self.report.items)
        total = len(self.report.items)
        first = (
            f"; first mistake: {self.report.first_mistake}" if wrong > 1 and self.report.first_mistake else ""
        )
        verdict = "[green]all right[/green]" if not wrong else f"[red]{wrong} of {total} off[/red]"
        console.print(f"\n[bold]answers[/bold]: {verdict}{first}")


def _signed(value) -> str:
    """A number as a factor or a term: negative ones in brackets, 27 · (-1)."""
    return _bracketed(value_text(value))


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def path_rows(report: PathReport, program: Program, labels: list[str]) -> list[tuple[str, list[str]]]:
    """For every listed path: its nodes (`b → d → e`) and the local derivative of each edge as text.

    Where a node takes the same input twice (`b * b`), the arrow says which argument: `b →₁ c`, `b →₂ c`.
    """
    texts_of: dict[int, tuple[str, ...]] = {}
    rows = []
    for path in report.paths:
        nodes, symbols = [labels[path.nodes[0]]], []
        for step, position in enumerate(path.positions):
            child, parent = path.nodes[step], path.nodes[step + 1]
            if parent not in texts_of:
                texts_of[parent] = local_texts(program, labels, parent)
            symbols.append(texts_of[parent][position])
            twice = program.inputs_of(parent).count(child) > 1
            nodes.append(f"→{str(position + 1).translate(_SUBSCRIPT) if twice else ''} {labels[parent]}")
        rows.append((" ".join(nodes), symbols))
    return rows


def locals_text(symbols: list[str]) -> str:
    """A path's local derivatives as one product, `b × (1 - h2²) × c` (each text is a factor already)."""
    return " × ".join(symbols) or "1"


def count_text(report: PathReport) -> str:
    """`1099511627776 (≈ 1.1e+12)`; past the exact range, `more than 10^40 (≈ 9.94e+180617)`."""
    if report.count is None:
        return f"more than 10^{EXACT_COUNT_DIGITS} (≈ {report.estimate.text(3)})"
    return f"{report.count}" + (f" (≈ {report.count:.3g})" if report.count > 10**6 else "")


def path_note(path: Path) -> str | None:
    """What of a path is no float64, in words (None when every number is one): `local derivative 1
    is 2.02402e+323, too large for a float64`."""
    notes = [
        f"local derivative {position} is {factor.words()}"
        for position, factor in enumerate(path.factors, 1)
        if factor.as_float() is None
    ]
    if path.product is None:
        notes.append(f"the product is {path.weight.words()}")
    return "; ".join(notes) or None


def _scaled_text(value: Scaled) -> str:
    """A Scaled number as text, saying so when it is too large for a float64: `1e+310 (too large for a float64)`."""
    if value.as_float() is None and value.finite:
        return f"{value.text()} (too large for a float64)"
    return value.text()


def print_paths(report: PathReport, evaluation: Evaluation, expression: str, max_paths: int) -> None:
    from rich.markup import escape

    from .columns import Column, fit_table, print_table, title_text

    console = stdout_console(highlight=False, soft_wrap=True)
    program = evaluation.program
    labels = program.labels()
    start, output = labels[report.start], labels[program.output]
    console.print(
        f"[bold]{escape(title_text(console, f'paths from {start} to {output} in ', expression))}[/bold]"
    )
    if report.paths:
        columns = [
            Column("#", "right"),
            Column("path", gives=2, wraps=True),
            Column("local derivatives", gives=1, wraps=True),
            Column("values", gives=3, wraps=True),
            Column("product", "right"),
        ]
        rows = [
            [
                str(index),
                nodes,
                locals_text(symbols),
                " × ".join(_bracketed(factor.text()) for factor in path.factors) or "1",
                path.weight.text(),
            ]
            for index, (path, (nodes, symbols)) in enumerate(
                zip(report.paths, path_rows(report, program, labels), strict=True), 1
            )
        ]
        print_table(console, fit_table(console, columns, rows))
        wide = sum(path_note(path) is not None for path in report.paths)
        if wide:
            console.print(
                f"[yellow]{wide} path{'s hold' if wide != 1 else ' holds'} a number too large for a float64, "
                "or not finite[/yellow]: each is shown in full, and the products and their sum are taken "
                "as mantissa · 2^exponent, so none of them overflows",
                soft_wrap=not console.is_terminal,
            )
    _print_sums(console, report, evaluation, f"∂{output}/∂{start}", max_paths)


def _print_sums(console, report: PathReport, evaluation: Evaluation, gradient: str, max_paths: int) -> None:
    """Below the paths table: their sum beside backprop's gradient, and how many paths there are."""
    from rich.markup import escape

    prose = not console.is_terminal  # one line each in a file; between words on a terminal
    total = _scaled_text(report.weight)
    if report.complete:
        console.print(
            f"sum over the {report.count} path{'s' if report.count != 1 else ''}: {total}; {escape(gradient)} by backprop: {value_text(report.gradient)}",
            soft_wrap=prose,
        )
    else:
        console.print(
            f"sum over the {len(report.paths)} listed paths: {total} (partial); {escape(gradient)} by backprop: {value_text(report.gradient)}",
            soft_wrap=prose,
        )
    console.print(
        f"number of paths: {count_text(report)} by the recurrence paths(v) = Σ paths(parents of v); {len(report.paths)} listed",
        soft_wrap=prose,
    )
    if not report.complete:
        console.print(
            f"[yellow]listing stopped at --max-paths {max_paths}[/yellow] (raise it, up to {MAX_PATHS:,}, to see "
            "more): the number of paths can grow exponentially with the program, backprop's cost only linearly",
            soft_wrap=prose,
        )


def _bracketed(text: str) -> str:
    """A factor's text in brackets when negative: 27 × (-1)."""
    return f"({text})" if text.startswith("-") else text
