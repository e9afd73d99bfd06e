"""An evaluation as an HTML table, for a notebook: the command's table, one row per node."""

from __future__ import annotations

from html import escape

from .values import value_text

HTML_ROWS = 200
"""A notebook shows at most this many nodes; the rest are counted below the table."""


def evaluation_html(evaluation) -> str:
    """The table of an engine.Evaluation (not imported here: the engine imports this module)."""
    program = evaluation.program
    labels = program.labels()
    header = "".join(f"<th>{name}</th>" for name in ("id", "name", "op", "expression", "value", "grad"))
    rows = []
    for node_id in range(min(len(program), HTML_ROWS)):
        grad = evaluation.grad_of(node_id)
        cells = (
            str(node_id),
            labels[node_id],
            program.ops[node_id].name,
            program.expr(node_id),
            value_text(evaluation.values[node_id]),
            "—" if grad is None else value_text(grad),
        )
        rows.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>")
    more = len(program) - HTML_ROWS
    caption = f"<caption>{escape(program.text(limit=80))}</caption>"
    footer = f"<p>{more:,} more nodes</p>" if more > 0 else ""
    return f"<table>{caption}<tr>{header}</tr>{''.join(rows)}</table>{footer}"
