"""Write-ups in LaTeX: eval → an `array` of nodes (node, expression, value, gradient) in display
math; trace → an `align*` block, the forward lines then the backward lines as the lecture writes
them; paths → the sum of the paths' products in an `align*`; batch → a key a point. Everything
emitted renders in KaTeX as well as in LaTeX with amsmath (tests/test_writeups.py renders it).
Numbers are written as the tables write them; the notation is latex_math.py's, from the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...graph.ops import CONST
from ...graph.paths import EXACT_COUNT_DIGITS
from ...graph.values import value_text
from .latex_math import (
    ADD,
    ATOM,
    MUL,
    formula,
    latex_expression,
    latex_expressions,
    latex_name,
    latex_number,
    latex_number_text,
    local_derivative,
    operand_name,
    partial,
    wrap,
)

if TYPE_CHECKING:
    from ...graph.engine import Evaluation
    from ...graph.paths import PathReport
    from ...graph.program import Program
    from ...graph.trace import Trace

__all__ = ["latex_expression", "latex_name", "latex_number"]  # for other renderers (graph --format latex)


# -- eval ----------------------------------------------------------------------------------------------


def node_array(output: str, rows: list[tuple[str, str, object, object]]) -> str:
    """Display math: an `array` of (node, expression, value, gradient or None) rows, ∂output/∂· heading the last column."""
    gradient = partial(output, "\\,\\cdot")
    lines = [
        "\\[",
        "\\begin{array}{llrr}",
        f"\\text{{node}} & \\text{{expression}} & \\text{{value}} & {gradient} \\\\",
        "\\hline",
    ]
    for name, expression, value, grad in rows:
        lines.append(
            f"{name} & {expression} & {latex_number(value)} & {'' if grad is None else latex_number(grad)} \\\\"
        )
    return "\n".join([*lines, "\\end{array}", "\\]"]) + "\n"


def evaluation_latex(evaluation: Evaluation, source: str, shown: list[int]) -> str:
    """eval's node table: node, expression, value, gradient (empty, and a comment saying why, when
    the output is a tensor)."""
    program = evaluation.program
    labels = program.labels()
    expressions = latex_expressions(program, labels, upto=max(shown, default=0))
    rows = [
        (latex_name(labels[i]), expressions[i][0], evaluation.values[i], evaluation.grad_of(i)) for i in shown
    ]
    title = f"% backprop eval · {' '.join(source.split())}\n"
    text = title + node_array(latex_name(labels[program.output]), rows)
    if not evaluation.has_gradients:  # a tensor output: the gradient column is empty, say why
        text += f"% {' '.join(evaluation.no_gradients_note.split())}\n"
    return text


def text_mode(words: str) -> str:
    """Words for LaTeX's text mode, its special characters escaped."""
    special = {"\\": "\\textbackslash{}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}"}
    special |= {c: "\\" + c for c in "&%$#_{}"}
    return "".join(special.get(c, c) for c in " ".join(words.split()))


class BatchKeys:
    """`batch --format latex`: a key a point, `\\subsection*{student: Ada}` (else `line 3`) and its
    nodes' table (with --nodes every node but the constants, else the inputs and the output). Its
    results must hold every node's (evaluate_batch's `nodes`)."""

    def __init__(self, program: Program, source: str, fixed: dict, nodes: bool) -> None:
        labels = program.labels()
        self.output = latex_name(labels[program.output])
        if nodes:
            self.rows = [i for i in range(len(program)) if program.ops[i] is not CONST]
        else:
            self.rows = sorted({*program.inputs.values(), program.output})
        expressions = latex_expressions(program, labels)
        self.cells = {i: (latex_name(labels[i]), expressions[i][0]) for i in self.rows}
        self.title = f"% backprop batch · {' '.join(source.split())}\n"
        if fixed:
            self.title += (
                "% fixed for every point: "
                + ", ".join(f"{n} = {value_text(v)}" for n, v in fixed.items())
                + "\n"
            )

    def chunk(self, rows: list) -> str:
        """The keys of (line, result, carried, kinks) rows; the title before the first."""
        parts = [self.title]
        self.title = ""
        for line, result, carried, _kinks in rows:
            heading = (
                ", ".join(f"{name}: {value}" for name, value in carried.items())
                if carried
                else f"line {line}"
            )
            parts.append(f"\n\\subsection*{{{text_mode(heading)}}}\n")
            if result.error is not None:
                parts.append(f"\\textbf{{error}} ({result.error.kind}): {text_mode(result.error.message)}\n")
                continue
            cells = [(*self.cells[i], *result.nodes[i]) for i in self.rows]
            parts.append(node_array(self.output, cells))
        return "".join(parts)


# -- trace -----------------------------------------------------------------------------------------------


def trace_latex(trace: Trace, source: str) -> str:
    """Both passes in an `align*`: `c &= a + b = 7 + 3 = 10`, then from ∂L/∂L = 1 every edge,
    `∂L/∂b += ∂L/∂c · 3b² = 2 · 27 = 54`, with the running total beside it."""
    evaluation = trace.evaluation
    program = evaluation.program
    labels = trace.labels
    out = latex_name(trace.output)
    point = ", ".join(f"{name} = {value_text(value)}" for name, value in evaluation.inputs.items())
    lines = [f"% backprop trace · {' '.join(source.split())}" + (f" at {point}" if point else "")]
    lines += ["\\begin{align*}", "&\\text{forward pass, in topological order:} \\\\"]
    for step in trace.forward:
        if step.op == CONST.name:
            continue
        parts = [latex_name(step.name)]
        if step.operands is not None:
            inputs = program.inputs_of(step.id)
            parts.append(formula(program, step.id, [operand_name(program, labels, i) for i in inputs]))
            numbers = [latex_number(evaluation.values[i]) for i in inputs]
            if step.op == "matmul":  # W x: a vector on the right is a column
                numbers[-1] = latex_number(evaluation.values[inputs[-1]], column=True)
            if formula(program, step.id, numbers) != parts[-1]:  # `k = 2 · 3 = 6`, not `= 2 · 3 = 2 · 3`
                parts.append(formula(program, step.id, numbers))
        parts.append(latex_number(step.value))
        lines.append(f"{parts[0]} &= {' = '.join(parts[1:])} \\\\")
    seed = latex_number(evaluation.grads[program.output])
    lines += [
        "&\\text{backward pass, in reverse topological order:} \\\\",
        f"{partial(out, out)} &= {seed} \\\\",
    ]
    lines += [_backward_line(step, program, labels, out) + " \\\\" for step in trace.backward]
    lines[-1] = lines[-1].removesuffix(" \\\\")  # no empty row after the last
    lines.append("\\end{align*}")
    return "\n".join(lines) + "\n"


def _backward_line(step, program: Program, labels: list[str], out: str) -> str:
    """`∂L/∂b &+= ∂L/∂c · local = g · local value = contribution && ∂L/∂b = total`."""
    child, parent = partial(out, latex_name(step.child_name)), partial(out, latex_name(step.parent_name))
    if step.formula is not None or step.local_value is None:  # a Jacobian, or no float64: the product alone
        local = partial(latex_name(step.parent_name), latex_name(step.child_name))
        right = (
            f"{parent} \\cdot {local}"
            if step.formula is None
            else f"\\left({local}\\right)^{{\\top}} {parent}"
        )
        product = latex_number(step.contribution)
    else:
        local = local_derivative(program, labels, step.parent, step.position)
        right = f"{parent} \\cdot {wrap(local, MUL)}"
        numbers = (latex_number(step.parent_grad), ATOM), (latex_number(step.local_value), ATOM)
        product = f"{wrap(numbers[0], MUL, False)} \\cdot {wrap(numbers[1], MUL)} = {latex_number(step.contribution)}"
    if step.previous is None:
        total = f"{child} = {latex_number(step.total)}"
    else:
        earlier = (latex_number(step.previous), ATOM), (latex_number(step.contribution), ATOM)
        total = f"{child} = {earlier[0][0]} + {wrap(earlier[1], ADD)} = {latex_number(step.total)}"
    return f"{child} &\\mathrel{{+}}= {right} = {product} && {total}"


# -- paths -------------------------------------------------------------------------------------------------


def paths_latex(report: PathReport, evaluation: Evaluation, source: str) -> str:
    """The gradient as the sum over paths of the products of local derivatives, a line a path."""
    program = evaluation.program
    labels = program.labels()
    start, output = latex_name(labels[report.start]), latex_name(labels[program.output])
    gradient = partial(output, start)
    lines = [f"% backprop paths · {' '.join(source.split())}", "\\begin{align*}"]
    lines.append(
        f"{gradient} &= \\sum_{{\\text{{paths }} {start} \\to {output}}} \\ "
        f"\\prod_{{\\text{{edges }} u \\to v}} {partial('v', 'u')} \\\\"
    )
    times = " \\cdot "
    for path in report.paths:
        symbols, numbers = [], []
        for step, position in enumerate(path.positions):
            symbols.append(wrap(local_derivative(program, labels, path.nodes[step + 1], position), MUL))
            numbers.append(wrap((latex_number_text(path.factors[step].text()), ATOM), MUL))
        product = latex_number_text(path.weight.text())
        lines.append(
            f"{_route(program, labels, path)}:&\\quad {times.join(symbols) or 1} = {times.join(numbers) or 1} = {product} \\\\"
        )
    total, by_backprop = latex_number_text(report.weight.text()), latex_number(report.gradient)
    if report.complete:
        lines.append(
            f"{gradient} &= {total} \\quad \\text{{(the sum over the {report.count} paths; backprop: }} {by_backprop}\\text{{)}}"
        )
    else:
        listed = len(report.paths)
        count = (
            report.count if report.count is not None else f"\\text{{more than }} 10^{{{EXACT_COUNT_DIGITS}}}"
        )
        lines.append(
            f"\\text{{the {listed} listed}} &= {total} \\quad \\text{{(partial: }} {count} \\text{{ paths in all; }} "
            f"{gradient} = {by_backprop} \\text{{ by backprop)}}"
        )
    lines.append("\\end{align*}")
    return "\n".join(lines) + "\n"


def _route(program: Program, labels: list[str], path) -> str:
    """`b \\to c \\to e`; where a node takes the same input twice, the arrow says which: `\\overset{1}{\\to}`."""
    route = latex_name(labels[path.nodes[0]])
    for step, position in enumerate(path.positions):
        child, parent = path.nodes[step], path.nodes[step + 1]
        arrow = (
            f"\\overset{{{position + 1}}}{{\\to}}" if program.inputs_of(parent).count(child) > 1 else "\\to"
        )
        route += f" {arrow} {latex_name(labels[parent])}"
    return route
