"""Drawings of the computation graph: Graphviz DOT, a Mermaid flowchart, and a tree for the terminal."""

from __future__ import annotations

import io
import shutil

from ...graph.engine import Evaluation
from ...graph.ops import CONST, INPUT
from ...graph.program import Program
from ...graph.trace import spell
from ...graph.values import value_text
from .text import one_line, shortened, visible


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
    """A DOT double-quoted string: hidden characters as escapes (text.visible), then backslashes and
    quotes escaped, line breaks as \\n."""
    escaped = visible(text, lines=True).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def dot_text(program: Program, evaluation: Evaluation | None, expression: str) -> str:
    """Graphviz DOT: inputs (blue ellipses), constants (plain), ops (boxes), the output (gold, doubled)."""
    labels = program.labels()
    lines = [
        "digraph backprop {",
        "  rankdir=LR;",
        f"  label={_dot_string(one_line(expression))};",
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
    """Text for inside a quoted Mermaid label: hidden characters as escapes (text.visible), entity
    codes for what Mermaid would read, <br/> for breaks."""
    text = visible(text, lines=True)
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

    labels = [shortened(label) for label in program.labels()]  # a name of a megabyte, in the middle
    uses = _uses_below_output(program)
    styles = {"output": "bold", "input": "cyan", "const": "dim", "op": ""}

    def caption(node_id: int) -> Text:
        text = Text(
            visible(" · ".join(_caption(program, labels, evaluation, node_id))),
            style=styles[_kind(program, node_id)],
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
