"""Tables as CSV, for a spreadsheet: batch's rows (one a point), eval's node table, the paths table.

RFC 4180 through the csv module (fields with a comma, a quote or a line break are quoted; lines end
in CRLF). Numbers are written as the tables write them (graph/values.py's value_text), so a
spreadsheet shows what the terminal showed.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from ...graph.ops import CONST
from ...graph.values import value_text
from .text import warn

if TYPE_CHECKING:
    from ...graph.engine import Evaluation
    from ...graph.paths import PathReport
    from ...graph.program import Program


def rows_text(rows: list[list[str]]) -> str:
    """Rows as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _cell(value) -> str:
    """A number as the tables write it; empty for none (a constant's gradient)."""
    return "" if value is None else value_text(value)


def _carried_cell(value) -> str:
    """A carried column as given: a CSV field or a JSON string as it is, any other JSON value as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


class BatchRows:
    """`batch --format csv`: a header, then one row a point: line, the carried columns, the output's
    value and each input's gradient (with --nodes every node's value and gradient), the check, the
    error. The carried columns are those of the first chunk: the header is written before the
    rest of the points are read, so a name first met later is left out, with a warning."""

    def __init__(self, program: Program, nodes: bool, wrt: tuple[str, ...] | None = None) -> None:
        labels = program.labels()
        self.output = labels[program.output]
        if nodes:
            self.nodes = [i for i in range(len(program)) if program.ops[i] is not CONST]
            self.names = [labels[i] for i in self.nodes]
        else:
            self.nodes, self.names = None, list(program.inputs if wrt is None else wrt)  # batch --wrt
        self.carried: list[str] | None = None
        self.left_out: set[str] = set()
        self.check = False  # a check column: set with the header, from the first chunk

    def chunk(self, rows: list) -> str:
        """The CSV of (line, result, carried, kinks) rows; the header before the first."""
        table = []
        if self.carried is None:
            self.carried = list(dict.fromkeys(name for row in rows for name in row[2] or ()))
            table.append(self._header(any(row[1].check is not None for row in rows)))
        for line, result, carried, _kinks in rows:
            table.append([str(line), *self._carried(line, carried or {}), *self._numbers(result)])
        return rows_text(table)

    def _header(self, check: bool) -> list[str]:
        self.check = check
        numbers = []
        if self.nodes is None:
            numbers = [self.output, *(f"∂{self.output}/∂{name}" for name in self.names)]
        else:
            for name in self.names:
                numbers += [name, f"∂{self.output}/∂{name}"]
        return ["line", *self.carried, *numbers, *(["check"] if check else []), "error"]

    def _carried(self, line: int, carried: dict) -> list[str]:
        for name in carried.keys() - set(self.carried) - self.left_out:
            self.left_out.add(name)
            warn(
                f"line {line}: column {name} is not in the CSV: its header was written from the first points"
            )
        return [_carried_cell(carried[name]) if name in carried else "" for name in self.carried]

    def _numbers(self, result) -> list[str]:
        width = (1 + len(self.names)) if self.nodes is None else 2 * len(self.names)
        if result.error is not None:
            check = [""] if self.check else []
            return [*([""] * width), *check, f"{result.error.kind}: {result.error.message}"]
        if self.nodes is None:
            cells = [_cell(result.value), *(_cell(result.gradients[name]) for name in self.names)]
        else:
            cells = [_cell(part) for i in self.nodes for part in result.nodes[i]]
        if self.check:
            cells.append("" if result.check is None else ("passed" if result.check.passed else "FAILED"))
        return [*cells, ""]


def evaluation_csv(evaluation: Evaluation, shown: list[int]) -> str:
    """eval's node table as CSV: id, name, op, expression, value, grad (empty for a constant, and
    for every node when the output is a tensor)."""
    program = evaluation.program
    labels = program.labels()
    rows = [["id", "name", "op", "expression", "value", "grad"]]
    for node_id in shown:
        rows.append(
            [
                str(node_id),
                labels[node_id] or "",
                program.ops[node_id].name,
                program.expr(node_id),
                value_text(evaluation.values[node_id]),
                _cell(evaluation.grad_of(node_id)),
            ]
        )
    return rows_text(rows)


def paths_csv(report: PathReport, evaluation: Evaluation) -> str:
    """The paths table as CSV: #, path, local derivatives, values, product."""
    from .lecture import locals_text, path_rows

    program = evaluation.program
    rows = [["#", "path", "local derivatives", "values", "product"]]
    listed = path_rows(report, program, program.labels())
    for index, (path, (nodes, symbols)) in enumerate(zip(report.paths, listed, strict=True), 1):
        values = " × ".join(factor.text() for factor in path.factors) or "1"
        rows.append([str(index), nodes, locals_text(symbols), values, path.weight.text()])
    return rows_text(rows)
