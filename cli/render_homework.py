"""Rendering for homework mode: trace lines, the answers table, DOT, Mermaid, the tree and the paths
table, each also as JSON where it has one. No math here; Rich is imported inside the printers only.
"""

from __future__ import annotations

import io
import shutil

from ..graph.engine import Evaluation
from ..graph.expect import VALUE, ExpectReport
from ..graph.ops import CONST, INPUT
from ..graph.paths import PathReport
from ..graph.program import Program
from ..graph.trace import BackwardStep, ForwardStep, Trace, local_texts, spell
from .render import _one_line, number, value_text

# -- trace -------------------------------------------------------------------------------------


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
    if step.local_value is None:  # a Jacobian, not a number: show only the vector-Jacobian product
        product = contribution
    else:
        product = f"{value_text(step.parent_grad)} · {_signed(step.local_value)} = {contribution}"
    if step.previous is None:
        total = f"{child} = {value_text(step.total)}"
    else:
        total = (
            f"{child} = {value_text(step.previous)} + {_signed(step.contribution)} = {value_text(step.total)}"
        )
    return f"{child} += {step.parent_name}.grad · {step.local} = {product} → {total}"


def seed_line(trace: Trace) -> str:
    """∂L/∂L = 1, with the output's own label."""
    seed = trace.evaluation.grads[trace.evaluation.program.output]
    return f"∂{trace.output}/∂{trace.output} = {value_text(seed)}"


def trace_json(trace: Trace, expression: str) -> dict:
    evaluation = trace.evaluation
    return {
        "expression": expression,
        "output": trace.output,
        "value": number(evaluation.value),
        "gradients": {name: number(grad) for name, grad in evaluation.gradients.items()},
        "forward": [
            {
                "id": step.id,
                "name": step.name,
                "op": step.op,
                "expr": step.expr,
                "formula": step.formula,
                "operands": step.operands,
                "value": number(step.value),
                "text": forward_line(step),
            }
            for step in trace.forward
        ],
        "seed": {
            "name": trace.output,
            "grad": number(evaluation.grads[evaluation.program.output]),
            "text": seed_line(trace),
        },
        "backward": [
            {
                "parent": step.parent_name,
                "parent_id": step.parent,
                "child": step.child_name,
                "child_id": step.child,
                "position": step.position,
                "local": step.local,
                "local_value": number(step.local_value),
                "parent_grad": number(step.parent_grad),
                "contribution": number(step.contribution),
                "previous": number(step.previous),
                "total": number(step.total),
                "text": backward_line(step),
            }
            for step in trace.backward
        ],
    }


def print_trace(trace: Trace, expression: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)  # a step is one line, however narrow the terminal
    evaluation = trace.evaluation
    point = ", ".join(f"{name} = {value_text(value)}" for name, value in evaluation.inputs.items())
    console.print(
        f"[bold]backprop trace[/bold] · {escape(_one_line(expression))}"
        + (f"  at {escape(point)}" if point else "")
    )

    console.print("\n[bold]forward pass[/bold], in topological order:")
    shown = [
        step for step in trace.forward if not (step.op == CONST.name and step.name == value_text(step.value))
    ]
    lines = [forward_line(step) for step in shown]
    width = min(max((len(line) for line in lines), default=0), 60)
    for step, line in zip(shown, lines, strict=True):
        if step.operands is not None and step.expr.replace(" ", "") != step.formula.replace(" ", ""):
            # Letters stand for subexpressions: show which, beside the step.
            console.print(f"  {escape(line.ljust(width))}  [dim]# {escape(step.expr)}[/dim]")
        else:
            console.print(f"  {escape(line)}")

    console.print(
        f"\n[bold]backward pass[/bold], in reverse topological order, from {escape(seed_line(trace))}:"
    )
    for step in trace.backward:
        console.print(f"  {escape(backward_line(step))}", style="bold" if step.previous is not None else None)
    if not trace.backward:
        console.print("  (no edge to follow: nothing below the output needs a gradient)")

    gradients = evaluation.gradients
    if gradients:
        summary = ", ".join(
            f"∂{trace.output}/∂{name} = {value_text(grad)}" for name, grad in gradients.items()
        )
        console.print(f"\n[bold]gradients[/bold]: {escape(summary)}")


def _signed(value) -> str:
    """A number as a factor or a term: negative ones in brackets, 27 · (-1)."""
    text = value_text(value)
    return f"({text})" if text.startswith("-") else text


# -- eval --expect -----------------------------------------------------------------------------


def expect_json(report: ExpectReport) -> dict:
    return {
        "passed": report.passed,
        "tolerance": report.tolerance,
        "items": {
            item.name: {
                "expected": number(item.expected),
                "got": number(item.got),
                "abs_error": number(item.abs_error),
                "passed": item.passed,
                **({"note": item.note} if item.note else {}),
            }
            for item in report.items
        },
    }


def print_expectations(report: ExpectReport, evaluation: Evaluation) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    output = evaluation.program.labels()[evaluation.program.output]
    table = Table(title=f"answers (tolerance {report.tolerance:g})", title_justify="left")
    for header, justify in (
        ("answer", "left"),
        ("expected", "right"),
        ("got", "right"),
        ("difference", "right"),
        ("", "left"),
    ):
        table.add_column(header, justify=justify)
    for item in report.items:
        what = output if item.name == VALUE else f"∂{output}/∂{item.name}"
        mark = "[green]✓[/green]" if item.passed else "[red]✗[/red]"
        difference = item.note if item.abs_error is None else f"{item.abs_error:.3g}"
        table.add_row(what, value_text(item.expected), value_text(item.got), difference, mark)
    console.print(table)
    wrong = sum(not item.passed for item in report.items)
    verdict = "[green]all right[/green]" if not wrong else f"[red]{wrong} of {len(report.items)} off[/red]"
    console.print(f"answers: {verdict}")


# -- graph -------------------------------------------------------------------------------------


def _kind(program: Program, node_id: int) -> str:
    """output, input, const or op: what the drawing distinguishes."""
    if node_id == program.output:
        return "output"
    op = program.nodes[node_id].op
    return "input" if op is INPUT else "const" if op is CONST else "op"


def _caption(program: Program, labels: list[str], evaluation: Evaluation | None, node_id: int) -> list[str]:
    """The lines of a node's caption, as the lecture draws them: `Add c`, `a + b`, `value=10 grad=27`."""
    node = program.nodes[node_id]
    lines = [f"{node.op.name.capitalize()} {labels[node_id]}"]
    if node.inputs:
        lines.append(spell(node.op, [labels[i] for i in node.inputs]))
    if evaluation is not None:
        numbers = f"value={value_text(evaluation.values[node_id])}"
        grad = evaluation.grad_of(node_id)
        if grad is not None:
            numbers += f" grad={value_text(grad)}"
        lines.append(numbers)
    return lines


_DOT_STYLE = {
    "input": 'shape=ellipse, style=filled, fillcolor="#dbeafe", color="#1d4ed8"',
    "const": 'shape=plaintext, fontcolor="#4b5563"',
    "op": "shape=box, style=rounded",
    "output": 'shape=box, style="rounded,filled,bold", fillcolor="#fde68a", color="#b45309", peripheries=2',
}


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks as \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def dot_text(program: Program, evaluation: Evaluation | None, expression: str) -> str:
    """Graphviz DOT: inputs (blue ellipses), constants (plain), ops (boxes), the output (gold, doubled)."""
    labels = program.labels()
    lines = [
        "digraph backprop {",
        "  rankdir=LR;",
        f"  label={_dot_string(_one_line(expression))};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        '  node [fontname="Helvetica"];',
    ]
    for node in program.nodes:
        caption = "\n".join(_caption(program, labels, evaluation, node.id))
        lines.append(f"  n{node.id} [label={_dot_string(caption)}, {_DOT_STYLE[_kind(program, node.id)]}];")
    for node in program.nodes:
        for child in node.inputs:
            lines.append(f"  n{child} -> n{node.id};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPE = {"input": '(["{}"])', "const": '("{}")', "op": '["{}"]', "output": '[["{}"]]'}
_MERMAID_CLASS = {
    "input": "fill:#dbeafe,stroke:#1d4ed8",
    "const": "fill:#f3f4f6,stroke:#9ca3af,color:#4b5563",
    "output": "fill:#fde68a,stroke:#b45309,stroke-width:3px",
}
_MERMAID_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def _mermaid_string(text: str) -> str:
    """Text for inside a quoted Mermaid label: entity codes for what Mermaid would read, <br/> for breaks."""
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text).replace("\n", "<br/>")


def mermaid_text(program: Program, evaluation: Evaluation | None) -> str:
    """A Mermaid flowchart that pastes into Markdown (inside a ```mermaid fence)."""
    labels = program.labels()
    lines = ["flowchart LR"]
    members: dict[str, list[str]] = {kind: [] for kind in _MERMAID_CLASS}
    for node in program.nodes:
        kind = _kind(program, node.id)
        caption = _mermaid_string("\n".join(_caption(program, labels, evaluation, node.id)))
        lines.append(f"  n{node.id}{_MERMAID_SHAPE[kind].format(caption)}")
        if kind in members:
            members[kind].append(f"n{node.id}")
    for node in program.nodes:
        for child in node.inputs:
            lines.append(f"  n{child} --> n{node.id}")
    for kind, style in _MERMAID_CLASS.items():
        if members[kind]:
            lines.append(f"  classDef {kind} {style}")
            lines.append(f"  class {','.join(members[kind])} {kind}")
    return "\n".join(lines) + "\n"


TREE_DEPTH = 60
"""The tree is drawn this many levels deep at most: each level indents every line below it, so a
deep chain would cost quadratic space (DOT and Mermaid draw every node of any depth)."""


def tree_text(program: Program, evaluation: Evaluation | None, *, color: bool) -> str:
    """The graph as a tree from the output down; a node with several parents is drawn once, marked shared."""
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    labels = program.labels()
    uses = _uses_below_output(program)
    styles = {"output": "bold", "input": "cyan", "const": "dim", "op": ""}

    def caption(node_id: int) -> Text:
        text = Text(
            " · ".join(_caption(program, labels, evaluation, node_id)), style=styles[_kind(program, node_id)]
        )
        if uses[node_id] > 1:
            text.append(f"  ◆ shared: {uses[node_id]} uses", style="magenta")
        return text

    root = Tree(caption(program.output))
    drawn, cut = {program.output}, False
    stack = [(child, root, 1) for child in reversed(program.nodes[program.output].inputs)]
    while stack:  # depth first with an explicit stack: pop order is the printed order
        node_id, parent, level = stack.pop()
        if node_id in drawn:
            parent.add(Text(f"↑ {labels[node_id]} (shared, drawn above)", style="dim"))
        elif level > TREE_DEPTH:
            parent.add(
                Text(
                    f"⋮ {labels[node_id]} and what it depends on: deeper than {TREE_DEPTH} levels",
                    style="dim",
                )
            )
            cut = True
        else:
            drawn.add(node_id)
            branch = parent.add(caption(node_id))
            stack.extend((child, branch, level + 1) for child in reversed(program.nodes[node_id].inputs))
    buffer = io.StringIO()
    width = shutil.get_terminal_size((100, 24)).columns if color else 100
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        width=max(width, 4 * TREE_DEPTH + 80),
        highlight=False,
    )
    console.print(root)
    if cut:
        console.print("(--format dot or mermaid draws every level)", style="dim")
    unreached = sum(1 for node_id, count in enumerate(uses) if count == 0 and node_id != program.output)
    if unreached:
        console.print(
            f"({unreached} node{'s' if unreached > 1 else ''} of the program do not reach the output)",
            style="dim",
        )
    return buffer.getvalue()


def _uses_below_output(program: Program) -> list[int]:
    """For every node, how many edges lead into it from the nodes the output depends on (0: unused)."""
    needed = [False] * len(program.nodes)
    needed[program.output] = True
    uses = [0] * len(program.nodes)
    for node in reversed(program.nodes):  # reverse topological order: parents before children
        if needed[node.id]:
            for child in node.inputs:
                needed[child] = True
                uses[child] += 1
    return uses


# -- paths -------------------------------------------------------------------------------------


_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _path_rows(report: PathReport, program: Program, labels: list[str]) -> list[tuple[str, list[str]]]:
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
            twice = program.nodes[parent].inputs.count(child) > 1
            nodes.append(f"→{str(position + 1).translate(_SUBSCRIPT) if twice else ''} {labels[parent]}")
        rows.append((" ".join(nodes), symbols))
    return rows


def paths_json(report: PathReport, evaluation: Evaluation, expression: str, max_paths: int) -> dict:
    program = evaluation.program
    labels = program.labels()
    return {
        "expression": expression,
        "wrt": labels[report.start],
        "output": labels[program.output],
        "gradient": number(report.gradient),
        "count": report.count,
        "listed": len(report.paths),
        "complete": report.complete,
        "max_paths": max_paths,
        "sum": number(report.total),
        "paths": [
            {
                "nodes": [labels[i] for i in path.nodes],
                "ids": list(path.nodes),
                "positions": list(path.positions),
                "locals": symbols,
                "local_values": [number(value) for value in path.locals],
                "product": number(path.product),
            }
            for path, (_, symbols) in zip(report.paths, _path_rows(report, program, labels), strict=True)
        ],
    }


def print_paths(report: PathReport, evaluation: Evaluation, expression: str, max_paths: int) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    program = evaluation.program
    labels = program.labels()
    start, output = labels[report.start], labels[program.output]
    console.print(
        f"[bold]paths from {escape(start)} to {escape(output)}[/bold] in {escape(_one_line(expression))}"
    )
    if report.paths:
        table = Table(title_justify="left")
        for header, justify in (
            ("#", "right"),
            ("path", "left"),
            ("local derivatives", "left"),
            ("values", "left"),
            ("product", "right"),
        ):
            table.add_column(header, justify=justify, overflow="fold")
        for index, (path, (nodes, symbols)) in enumerate(
            zip(report.paths, _path_rows(report, program, labels), strict=True), 1
        ):
            table.add_row(
                str(index),
                escape(nodes),
                escape(" × ".join(symbols) or "1"),
                " × ".join(_signed(value) for value in path.locals) or "1",
                value_text(path.product),
            )
        console.print(table)
    gradient = f"∂{output}/∂{start}"
    if report.complete:
        console.print(
            f"sum over the {report.count} path{'s' if report.count != 1 else ''}: {value_text(report.total)}; {escape(gradient)} by backprop: {value_text(report.gradient)}"
        )
    else:
        console.print(
            f"sum over the {len(report.paths)} listed paths: {value_text(report.total)} (partial); {escape(gradient)} by backprop: {value_text(report.gradient)}"
        )
    count = f"{report.count}" + (f" (≈ {report.count:.3g})" if report.count > 10**6 else "")
    console.print(
        f"number of paths: {count} by the recurrence paths(v) = Σ paths(parents of v); {len(report.paths)} listed"
    )
    if not report.complete:
        console.print(
            f"[yellow]listing stopped at --max-paths {max_paths}[/yellow] (raise it to see more): the number of "
            "paths can grow exponentially with the program, backprop's cost only linearly"
        )
