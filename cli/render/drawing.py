"""Drawings of the computation graph: Graphviz DOT, a Mermaid flowchart (bare, in a Markdown fence or
in an HTML page), a tree for the terminal, and the DAG as LaTeX node definitions."""

from __future__ import annotations

import io

from ...graph.engine import Evaluation
from ...graph.ops import CONST, INPUT
from ...graph.program import Program
from ...graph.trace import local_texts, scaled_local_derivatives, spell
from ...graph.values import COMPACT_DIGITS, shape_text, summary, value_text
from .text import middle, one_line, shortened, visible

LABEL_WIDTH = 48
"""A tensor's numbers in a node's caption stay within about this many characters a line: a longer
compact tensor is written as its min/mean/max (the table's cell for a large tensor), so a 30×10
matrix is a label of a few short lines, not a drawing thousands of pixels wide."""


def _kind(program: Program, node_id: int) -> str:
    """output, input, const or op: what the drawing distinguishes."""
    if node_id == program.output:
        return "output"
    op = program.nodes[node_id].op
    return "input" if op is INPUT else "const" if op is CONST else "op"


def _caption(program: Program, labels: list[str], evaluation: Evaluation | None, node_id: int) -> list[str]:
    """The lines of a node's caption, as the lecture draws them: `Add c`, `a + b`, `value=10 grad=27`;
    a tensor's head line adds its shape."""
    node = program.nodes[node_id]
    head = f"{node.op.name.capitalize()} {labels[node_id]}"
    value = None if evaluation is None else evaluation.values[node_id]
    if value is not None and not isinstance(value, float):
        head += f" · shape {shape_text(value)}"
    lines = [head]
    if node.inputs:
        lines.append(spell(node.op, [labels[i] for i in node.inputs]))
    if evaluation is not None:
        lines.extend(_numbers(value, evaluation.grad_of(node_id)))
    return lines


def _numbers(value, grad) -> list[str]:
    """`value=10 grad=27` on one line when it fits LABEL_WIDTH, else one line each."""
    parts = [_brief("value", value)] + ([] if grad is None else [_brief("grad", grad)])
    joined = " ".join(parts)
    return [joined] if len(joined) <= LABEL_WIDTH else parts


def _brief(word: str, value) -> str:
    """`value=…` as the table writes it, or a tensor too wide for a label as `value: min … · mean … · max …`."""
    text = value_text(value)
    if isinstance(value, float) or len(text) <= LABEL_WIDTH - len("value="):
        return f"{word}={text}"
    low, mean, high = (f"{stat + 0.0:.{COMPACT_DIGITS}g}" for stat in summary(value))
    return f"{word}: min {low} · mean {mean} · max {high}"


def _bare(text: str) -> str:
    """A local derivative without the brackets that make it a factor: `(1 - h²)` → `1 - h²`."""
    depth = 0
    for position, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and position < len(text) - 1:
            return text  # `(a)·(b)`: the brackets are not one pair around the whole
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def edge_labels(program: Program, evaluation: Evaluation | None, labels: list[str]) -> list[list[str | None]]:
    """For every node, ∂node/∂input of each of its inputs: the number (the op's vjp at g = 1, as
    trace and paths compute it) when values are given, else, and for a tensor's Jacobian, the
    local derivative's formula (`3·b²`, `∂h/∂W1`); None for an input that is a constant."""
    texts: list[list[str]] = []
    for node_id in range(len(program)):
        children = program.inputs_of(node_id)
        formulas = [_bare(text) for text in local_texts(program, labels, node_id)] if children else ()
        if evaluation is not None and children:
            numbers = scaled_local_derivatives(program, evaluation.values, node_id)
            formulas = [f if n is None else n.text() for f, n in zip(formulas, numbers)]
        # a constant gets no gradient, so no edge from one carries a weight of the lecture's sum
        texts.append([None if program.ops[c] is CONST else f for c, f in zip(children, formulas)])
    return texts


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


def dot_text(program: Program, evaluation: Evaluation | None, expression: str, *, edges: bool = False) -> str:
    """Graphviz DOT: inputs (blue ellipses), constants (plain), ops (boxes), the output (gold, doubled);
    with `edges`, each edge child → parent labelled with ∂parent/∂child."""
    labels = program.labels()
    lines = [
        "digraph backprop {",
        "  rankdir=LR;",
        f"  label={_dot_string(one_line(expression))};",
        "  labelloc=t;",
        '  fontname="Helvetica";',
        '  node [fontname="Helvetica"];',
    ]
    if edges:
        lines.append('  edge [fontname="Helvetica", fontsize=10, fontcolor="#7c2d12"];')
    for node in program.nodes:
        caption = "\n".join(_caption(program, labels, evaluation, node.id))
        lines.append(f"  n{node.id} [label={_dot_string(caption)}, {_DOT_STYLE[_kind(program, node.id)]}];")
    weights = edge_labels(program, evaluation, labels) if edges else None
    for node in program.nodes:
        for position, child in enumerate(node.inputs):
            weight = weights[node.id][position] if weights else None
            label = "" if weight is None else f" [label={_dot_string(weight)}]"
            lines.append(f"  n{child} -> n{node.id}{label};")
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


def mermaid_text(program: Program, evaluation: Evaluation | None, *, edges: bool = False) -> str:
    """A Mermaid flowchart that pastes into Markdown (inside a ```mermaid fence); with `edges`, each
    edge labelled with ∂parent/∂child."""
    labels = program.labels()
    lines = ["flowchart LR"]
    members: dict[str, list[str]] = {kind: [] for kind in _MERMAID_CLASS}
    for node in program.nodes:
        kind = _kind(program, node.id)
        caption = _mermaid_string("\n".join(_caption(program, labels, evaluation, node.id)))
        lines.append(f"  n{node.id}{_MERMAID_SHAPE[kind].format(caption)}")
        if kind in members:
            members[kind].append(f"n{node.id}")
    weights = edge_labels(program, evaluation, labels) if edges else None
    for node in program.nodes:
        for position, child in enumerate(node.inputs):
            weight = weights[node.id][position] if weights else None
            label = "" if weight is None else f'|"{_mermaid_string(weight)}"|'
            lines.append(f"  n{child} -->{label} n{node.id}")
    for kind, style in _MERMAID_CLASS.items():
        if members[kind]:
            lines.append(f"  classDef {kind} {style}")
            lines.append(f"  class {','.join(members[kind])} {kind}")
    return "\n".join(lines) + "\n"


def markdown_text(program: Program, evaluation: Evaluation | None, *, edges: bool = False) -> str:
    """The Mermaid flowchart in a ```mermaid fence: GitHub, GitLab and most Markdown viewers draw it."""
    return f"```mermaid\n{mermaid_text(program, evaluation, edges=edges)}```\n"


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ font-family: Helvetica, Arial, sans-serif; margin: 2em; }} .note {{ color: #4b5563; }}</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""

MERMAID_SCRIPT = "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs"
"""Where a page without Graphviz loads Mermaid from: the page then needs the network to draw."""


def html_page(expression: str, mermaid: str | None, svg: str | None) -> str:
    """A page that draws the graph: Graphviz's SVG inline when there is one (self-contained, no
    script), else the Mermaid text and the Mermaid script from MERMAID_SCRIPT, which draws it online."""
    from html import escape

    title = escape(one_line(expression))
    if svg is not None:
        body = svg[svg.index("<svg") :]  # without dot's XML declaration and doctype, which HTML refuses
    else:
        body = (
            f'<pre class="mermaid">\n{escape(mermaid)}</pre>\n'
            f'<p class="note">Drawn by Mermaid, loaded from {escape(MERMAID_SCRIPT)}: offline this page shows'
            " the Mermaid text. With Graphviz installed, backprop writes the drawing into the page.</p>\n"
            f'<script type="module">import mermaid from "{MERMAID_SCRIPT}";'
            " mermaid.initialize({ startOnLoad: true });</script>"
        )
    return _PAGE.format(title=title, body=body)


def latex_text(program: Program, evaluation: Evaluation | None, expression: str) -> str:
    """The DAG as an align* of node definitions in topological order, `c &= a + b`, with `= value`
    and `\\frac{\\partial e}{\\partial c} &= 27` beside each when values are given; constants
    appear in the formulas, inputs get a line only when they have a value. Written by latex.py."""
    from .latex import operand_name

    labels = program.labels()
    rows = []
    if program.ops[program.output] is CONST:  # a program that is one number: no node to define
        rows.append(rf"\text{{output}} &= {operand_name(program, labels, program.output)}")
    for node in program.nodes:
        if node.op is CONST or (node.op is INPUT and evaluation is None and node.id != program.output):
            continue
        rows.append(_latex_row(program, labels, evaluation, node.id))
    body = " \\\\\n".join(rows)
    return f"% backprop graph: {one_line(expression)}\n\\begin{{align*}}\n{body}\n\\end{{align*}}\n"


def _latex_row(program: Program, labels: list[str], evaluation: Evaluation | None, node_id: int) -> str:
    """`c &= a + b = 10, & \\frac{\\partial e}{\\partial c} &= 27`: one node's definition, value and gradient."""
    from .latex import formula, latex_name, latex_number, operand_name, partial

    name, inputs = latex_name(labels[node_id]), program.inputs_of(node_id)
    parts = [formula(program, node_id, [operand_name(program, labels, i) for i in inputs])] if inputs else []
    if evaluation is not None:
        parts.append(latex_number(evaluation.values[node_id]))
    row = f"{name} &= " + (" = ".join(parts) or r"\text{an input}")
    grad = None if evaluation is None else evaluation.grad_of(node_id)
    if grad is not None:
        row += f", & {partial(latex_name(labels[program.output]), name)} &= {latex_number(grad)}"
    return row


TREE_DEPTH = 60
"""The tree is drawn this many levels deep at most (fewer in a narrow terminal, see tree_text):
each level indents every line below it, so a deep chain would cost quadratic space (DOT and Mermaid
draw every node of any depth)."""

TREE_ROOM = 16
"""A tree level is drawn only where this many columns are left for its caption beside the guides."""


_TREE_STYLES = {"output": "bold", "input": "cyan", "const": "dim", "op": ""}


def tree_text(program: Program, evaluation: Evaluation | None, *, color: bool, width: int = 100) -> str:
    """The graph as a tree from the output down, in `width` columns; a node with several parents is
    drawn once, marked shared; a caption too long for its line loses its formula first, then its end."""
    from rich.console import Console
    from rich.tree import Tree

    labels = [shortened(label) for label in program.labels()]  # a name of a megabyte, in the middle
    uses = _uses_below_output(program)
    depth = max(1, min(TREE_DEPTH, (width - TREE_ROOM) // 4))

    def caption(node_id: int, level: int):
        parts = _caption(program, labels, evaluation, node_id)
        style = _TREE_STYLES[_kind(program, node_id)]
        room = width - 4 * level  # a level's guides take 4 columns
        return _tree_caption(parts, room, style, uses[node_id], formula=bool(program.inputs_of(node_id)))

    root = Tree(caption(program.output, 0))
    drawn, cut = {program.output}, False
    stack = [(child, root, 1) for child in reversed(program.nodes[program.output].inputs)]
    while stack:  # depth first with an explicit stack: pop order is the printed order
        node_id, parent, level = stack.pop()
        if node_id in drawn:
            parent.add(_tree_line(f"↑ {labels[node_id]} (shared, drawn above)", width - 4 * level))
        elif level > depth:
            parent.add(_tree_line(f"⋮ {labels[node_id]} and what it depends on", width - 4 * level))
            cut = True
        else:
            drawn.add(node_id)
            branch = parent.add(caption(node_id, level))
            stack.extend((child, branch, level + 1) for child in reversed(program.nodes[node_id].inputs))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)
    console.print(root)
    notes = []
    if cut:
        notes.append(
            f"drawn {depth} levels deep: a wider terminal draws more, --format dot or mermaid every one"
        )
    unreached = sum(1 for node_id, count in enumerate(uses) if count == 0 and node_id != program.output)
    if unreached:
        notes.append(f"{unreached} node{'s' if unreached > 1 else ''} of the program do not reach the output")
    for note in notes:
        console.print(f"({note})", style="dim")
    return buffer.getvalue()


def _tree_line(text: str, room: int, style: str = "dim"):
    """One line of the tree as Rich text, cut with … to `room` columns."""
    from rich.text import Text

    drawn = Text(visible(text), style=style, no_wrap=True, overflow="ellipsis")
    drawn.truncate(max(room, 1), overflow="ellipsis")
    return drawn


def _tree_caption(parts: list[str], room: int, style: str, uses: int, *, formula: bool):
    """A node's caption in `room` columns (see _tree_lines), `◆ shared: 2 uses` (or `◆ ×2`) after its name."""
    from rich.text import Text

    marker = f"  ◆ shared: {uses} uses" if uses > 1 else ""
    if marker and len(parts[0]) + len(marker) > room:
        marker = f"  ◆ ×{uses}"
    lines = _tree_lines(parts, room, formula=formula, taken=len(marker))
    texts = [_tree_line(text, room - (len(marker) if i == 0 else 0), style) for i, text in enumerate(lines)]
    if marker:
        texts[0].append(marker, style="magenta")
    return Text("\n").join(texts)


def _tree_lines(parts: list[str], room: int, *, formula: bool, taken: int = 0) -> list[str]:
    """A caption's parts on one line joined by ` · ` if they fit in `room` characters (less `taken`
    on the first line); else the name (and the formula, shortened in the middle or left out) on the
    first line and the numbers below, value and gradient on lines of their own if need be, so a
    number is never cut."""
    whole = " · ".join(parts)
    if len(whole) <= room - taken:
        return [whole]
    first, numbers = parts[0], parts[2:] if formula else parts[1:]
    keep = room - taken - len(first) - len(" · ")
    if formula and keep >= 8:
        first += f" · {middle(parts[1], keep)}"
    lines = [first]
    for text in numbers:
        lines.extend(text.replace(" grad", "\ngrad").split("\n") if len(text) > room else [text])
    return lines


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
