"""Write-ups in Markdown: pipe tables (GitHub's) with the columns and numbers of the Rich tables.

eval: the node table, the gradients, the check and the answers; trace: the forward and backward
lines as `backprop trace` prints them; paths: the paths table and its sum; batch: an answer key a
point. Expressions go in code spans, so that `a * b * c` is not read as emphasis; a `|` in a cell
is escaped, as a pipe table needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...graph.ops import CONST
from ...graph.values import value_text
from .text import check_texts

if TYPE_CHECKING:
    from ...graph.check import CheckReport
    from ...graph.engine import Evaluation
    from ...graph.expect import ExpectReport
    from ...graph.paths import PathReport
    from ...graph.program import Program
    from ...graph.trace import Trace


def cell(text: str) -> str:
    """Text for a table cell: on one line, `|` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: str) -> str:
    """A code span, its fence longer than any run of backticks inside."""
    text = " ".join(str(text).split())
    fence = "`"
    while fence in text:
        fence += "`"
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def table(headers: list[str], right: set[int], rows: list[list[str]]) -> str:
    """A pipe table; the columns numbered in `right` are right-aligned (numbers)."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = [headers, rule, *rows]
    return "".join("| " + " | ".join(cell(text) for text in line) + " |\n" for line in lines)


def _grad(value) -> str:
    return "—" if value is None else value_text(value)


# -- eval -----------------------------------------------------------------------------------------


def evaluation_markdown(
    evaluation: Evaluation,
    source: str,
    shown: list[int],
    check: CheckReport | None = None,
    answers: ExpectReport | None = None,
) -> str:
    """eval's tables: the nodes (id, name, op, expression, value, grad), the gradients, the check
    and the answers where asked for."""
    program = evaluation.program
    labels = program.labels()
    output = labels[program.output]
    parts = [f"**backprop** · {code(source)}\n\n"]
    rows = [
        [
            str(i),
            labels[i] or "",
            program.ops[i].name,
            code(program.expr(i)),
            value_text(evaluation.values[i]),
            _grad(evaluation.grad_of(i)),
        ]
        for i in shown
    ]
    parts.append(table(["id", "name", "op", "expression", "value", "grad"], {0, 4, 5}, rows))
    if len(shown) < len(program):
        parts.append(f"\n{len(shown)} of {len(program)} nodes shown (inputs, named nodes, output)\n")
    gradients = [
        [name, value_text(evaluation.inputs[name]), value_text(grad)]
        for name, grad in evaluation.gradients.items()
        if evaluation.has_gradients
    ]
    if not evaluation.has_gradients:  # a tensor output: its values only, and why
        parts.append(f"\n{cell(evaluation.no_gradients_note)}\n")
    elif gradients:
        parts.append(f"\n**gradients** of {output} = {value_text(evaluation.value)}\n\n")
        parts.append(table(["input", "value", f"∂{output}/∂input"], {1, 2}, gradients))
    else:
        parts.append(f"\n{output} = {value_text(evaluation.value)} (the program has no inputs)\n")
    if check is not None:
        parts.append("\n" + check_markdown(check))
    if answers is not None:
        parts.append("\n" + answers_markdown(answers, output))
    return "".join(parts)


def check_markdown(check: CheckReport) -> str:
    """The gradient check's table: a row per scalar input and per checked element."""
    from ...graph.check import AT_KINK, FAILED, NOT_CHECKABLE, PASSED, status

    marks = {PASSED: "✓", AT_KINK: "kink", NOT_CHECKABLE: "?", FAILED: "✗"}
    rows = []
    for item in check.inputs:
        for each in item.compared:
            name = item.name if item.elements is None else f"{item.name}[{', '.join(map(str, each.index))}]"
            rows.append([name, *check_texts(each), marks[status(each, item.at_kink)]])
    verdict = "passed" if check.passed else "FAILED"
    title = (
        f"**gradient check** (central differences, eps {check.eps:g}, tol {check.tolerance:g}): {verdict}\n\n"
    )
    headers = ["input", "analytic", "numeric", "abs error", "rel error", ""]
    return title + table(headers, {1, 2, 3, 4}, rows)


def answers_markdown(report: ExpectReport, output: str) -> str:
    """The answers' table: what each checks, expected, got, the difference, ✓ or ✗."""
    from .tables import answer_label

    rows = [
        [
            answer_label(item, output),
            value_text(item.expected),
            value_text(item.got),
            "—" if item.abs_error is None else f"{item.abs_error:.3g}",
            "✓" if item.passed else "✗",
        ]
        for item in report.items
    ]
    wrong = sum(not item.passed for item in report.items)
    verdict = "all right" if not wrong else f"{wrong} of {len(report.items)} off"
    return f"**answers**: {verdict}\n\n" + table(
        ["answer", "expected", "got", "difference", ""], {1, 2, 3}, rows
    )


# -- trace and paths ------------------------------------------------------------------------------


def trace_markdown(trace: Trace, source: str) -> str:
    """The two passes as `backprop trace` prints them, a line per node and per edge."""
    from .lecture import backward_line, forward_line, seed_line

    evaluation = trace.evaluation
    point = ", ".join(f"{name} = {value_text(value)}" for name, value in evaluation.inputs.items())
    parts = [f"**backprop trace** · {code(source)}" + (f" at {point}" if point else "") + "\n\n"]
    parts.append("**forward pass**, in topological order:\n\n")
    for step in trace.forward:
        if not (step.op == CONST.name and step.name == value_text(step.value)):
            parts.append(f"- {code(forward_line(step))}\n")
    parts.append(f"\n**backward pass**, in reverse topological order, from {code(seed_line(trace))}:\n\n")
    for step in trace.backward:
        parts.append(f"- {code(backward_line(step))}\n")
    if not trace.backward:
        parts.append("- (no edge to follow: nothing below the output needs a gradient)\n")
    if evaluation.gradients:
        summary = ", ".join(
            code(f"∂{trace.output}/∂{name} = {value_text(grad)}")
            for name, grad in evaluation.gradients.items()
        )
        parts.append(f"\n**gradients**: {summary}\n")
    return "".join(parts)


def paths_markdown(report: PathReport, evaluation: Evaluation, source: str) -> str:
    """The paths table (#, path, local derivatives, values, product) and their sum beside backprop's."""
    from .lecture import count_text, locals_text, path_rows

    program = evaluation.program
    labels = program.labels()
    start, output = labels[report.start], labels[program.output]
    rows = [
        [
            str(index),
            nodes,
            code(locals_text(symbols)),
            " × ".join(factor.text() for factor in path.factors) or "1",
            path.weight.text(),
        ]
        for index, (path, (nodes, symbols)) in enumerate(
            zip(report.paths, path_rows(report, program, labels), strict=True), 1
        )
    ]
    parts = [f"**paths from {start} to {output}** in {code(source)}\n\n"]
    if rows:
        parts.append(table(["#", "path", "local derivatives", "values", "product"], {0, 4}, rows) + "\n")
    which = f"the {report.count}" if report.complete else f"the {len(report.paths)} listed"
    partial = "" if report.complete else " (partial)"
    parts.append(
        f"sum over {which} paths: {report.weight.text()}{partial}; ∂{output}/∂{start} by backprop: "
        f"{value_text(report.gradient)}; number of paths: {count_text(report)}\n"
    )
    return "".join(parts)


# -- batch ----------------------------------------------------------------------------------------


class BatchKeys:
    """`batch --format markdown`: a heading naming each point by its carried columns (`## student:
    Ada`, else `## line 3`), then a table of its nodes (with --nodes, every node but the constants;
    else the inputs and the output): node, expression, value, gradient. A failed point says why.
    Its results must hold every node's (evaluate_batch's `nodes`)."""

    def __init__(self, program: Program, source: str, fixed: dict, nodes: bool) -> None:
        self.labels = program.labels()
        self.output = self.labels[program.output]
        if nodes:
            self.rows = [i for i in range(len(program)) if program.ops[i] is not CONST]
        else:
            self.rows = sorted({*program.inputs.values(), program.output})
        self.expressions = [program.expr(i) for i in range(len(program))]
        self.title = f"# backprop batch · {code(source)}\n\n"
        if fixed:
            given = ", ".join(f"{name} = {value_text(value)}" for name, value in fixed.items())
            self.title += f"Fixed for every point: {given}.\n\n"

    def chunk(self, rows: list) -> str:
        """The keys of (line, result, carried, kinks) rows; the title before the first."""
        parts = [self.title]
        self.title = ""
        for line, result, carried, _kinks in rows:
            parts.append(f"## {self._heading(line, carried)}\n\n")
            parts.append(self._key(result))
        return "".join(parts)

    def _heading(self, line: int, carried: dict | None) -> str:
        if not carried:
            return f"line {line}"
        return ", ".join(f"{name}: {value}" for name, value in carried.items()).replace("\n", " ")

    def _key(self, result) -> str:
        error = result.error
        if error is not None:
            hint = f" ({error.hint})" if error.hint else ""
            return f"**error** ({error.kind}): {cell(error.message)}{cell(hint)}\n\n"
        rows = []
        for i in self.rows:
            value, grad = result.nodes[i]
            rows.append([self.labels[i], code(self.expressions[i]), value_text(value), _grad(grad)])
        text = table(["node", "expression", "value", f"∂{self.output}/∂node"], {2, 3}, rows)
        if result.check is not None:
            text += f"\ngradient check: {'passed' if result.check.passed else 'FAILED'}\n"
        return text + "\n"
