"""The results of a chunk of `batch`'s points as columns over all its rows, for the output files
written from columns (render/npy.py, render/parquet.py): the evaluated points' value and gradients
spread back over the rows, the failed rows' errors, and the carried columns of the file."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from ..graph.errors import BackpropError, InputError


@dataclass
class ChunkTable:
    """A chunk's results over all its rows: the line numbers (int64), the value and each gradient
    (float64, NaN in a failed row, which no writer writes), the failed rows' errors in row order,
    and the carried names of the rows that have some."""

    lines: object
    value: object
    gradients: dict
    errors: dict[int, BackpropError]
    carried: dict[int, dict]


def chunk_table(piece, batch, names: list[str]) -> ChunkTable:
    """The ChunkTable of a chunk (cli/points.py's Chunk) and its BatchColumns (None when none of its
    points could be read): the evaluated points' columns spread back over every row."""
    from ..graph.kernels import numpy

    np = numpy()
    size = len(piece)
    if batch is None:
        value, gradients, failed = np.full(0, np.nan), {name: np.full(0, np.nan) for name in names}, {}
    else:
        value, gradients, failed = batch.table(names)
    errors = dict(piece.errors)
    if piece.errors:  # the evaluated points are the rows without an error already
        rows = np.ones(size, dtype=bool)
        rows[list(piece.errors)] = False
        rows = rows.nonzero()[0]
        value = _spread(np, value, rows, size)
        gradients = {name: _spread(np, column, rows, size) for name, column in gradients.items()}
        errors.update({int(rows[k]): error for k, error in failed.items()})
    else:
        errors.update(failed)
    lines = np.asarray(piece.lines, dtype=np.int64)
    return ChunkTable(lines, value, gradients, dict(sorted(errors.items())), piece.carried)


def _spread(np, column, rows, size: int):
    full = np.full(size, np.nan)
    full[rows] = column
    return full


def error_lines(table: ChunkTable) -> None:
    """The failed rows' JSONL lines ({"line": N, "error": {...}}, as batch prints them) on stderr,
    for an output file that leaves them out (.npy)."""
    from ..graph.batch import PointResult
    from .render.json import batch_line, json_line

    text = "".join(
        json_line(batch_line(int(table.lines[i]), PointResult(error=error), None, table.carried.get(i)))
        for i, error in table.errors.items()
    )
    sys.stderr.write(text)


class CarriedNames:
    """The carried columns of a columnar file: those of the first chunk, in the order first met (a
    file's columns are fixed before the rest of the points are read; a name first met later is
    left out, with a warning, as --format csv does)."""

    def __init__(self, table: ChunkTable, columns: list[str]) -> None:
        self.names = list(dict.fromkeys(name for carried in table.carried.values() for name in carried))
        taken = {"line", "error", *columns}
        for name in self.names:
            if name in taken:
                raise InputError(
                    f"the points' column {name!r} has the name of a column of the results",
                    hint="rename it in the points: the results' columns are line, value, grad_<input>, error",
                )
        self.left_out: set[str] = set()

    def values(self, table: ChunkTable, name: str, rows) -> list:
        """The column's values at these rows (None where a row does not give it)."""
        return [table.carried.get(i, {}).get(name) for i in rows]

    def warn_left_out(self, table: ChunkTable) -> None:
        """Warn of each name first met after the first chunk, once."""
        from .render.text import warn

        for i, carried in table.carried.items():
            for name in carried.keys() - set(self.names) - self.left_out:
                self.left_out.add(name)
                warn(
                    f"line {table.lines[i]}: column {name} is not in the --output file: "
                    "its columns were set from the first points"
                )
