"""Reading `batch`'s points from Parquet files (`--points data.parquet`, or a quoted pattern such as
`--points 'data/*.parquet'`: its files in sorted name order, line numbers running on across them).

Each file is read a record batch at a time (bounded memory) and sliced into cli/points.py's Chunks
as a .npy file is: columns straight in when they are exactly the inputs needed, numbers without a
null, all finite; else row by row, with the per-line errors of a JSON line (a null is a missing
value; a column that is not an input is carried). Needs pyarrow (the `parquet` extra).

parquet_files (a path or pattern -> its files) and parquet_rows (-> blocks of rows) are for other readers too.
"""

from __future__ import annotations

import glob
from pathlib import Path

from ..graph.errors import InputError
from ..graph.kernels import numpy
from .outputs import require_pyarrow

BLOCK = 1 << 16
"""Rows of a Parquet file read at a time (a record batch), as cli/points.py's NPY_BLOCK."""


def parquet_files(points: Path) -> list[Path]:
    """The files --points names: the file itself, or every match of a pattern, sorted by name."""
    text = str(points)
    if not glob.has_magic(text):
        if not points.is_file():  # before any work, as the other kinds of points
            raise InputError(
                f"cannot read --points file {text!r}: {'it is a directory' if points.is_dir() else 'no such file'}"
            )
        return [points]
    found = sorted(glob.glob(text))
    if not found:
        raise InputError(
            f"--points {text!r} matches no file", hint="check the pattern (quote it from the shell)"
        )
    return [Path(name) for name in found]


def parquet_rows(points: Path):
    """cli/points.py's rows of Parquet points: a ParquetBlock per record batch of each file. Raises
    InputError before any reading when pyarrow is missing or a pattern matches nothing."""
    require_pyarrow(f"--points {points.name}", "or give the points as .npy, .jsonl or .csv")
    return _blocks(parquet_files(points))


def _blocks(files: list[Path]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = 1
    for path in files:
        try:
            with pq.ParquetFile(path) as source:
                _refuse_twice(source.schema_arrow.names, path)
                for batch in source.iter_batches(batch_size=BLOCK):
                    yield ParquetBlock(first, batch)
                    first += batch.num_rows
        except (OSError, pa.ArrowException) as failure:
            raise InputError(
                f"cannot read --points {path.name} as Parquet: {failure}",
                hint="give a Parquet file (written by pyarrow, pandas or Spark) with a column for each input",
            ) from None


def _refuse_twice(names: list[str], path: Path) -> None:
    """Arrow lets a table name two columns alike: a point would take one, silently, as its value."""
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(
            f"--points {path.name} has two columns named {twice[0]!r}", hint="name each input once"
        )


class ParquetBlock:
    """Rows of a Parquet file from line `first` on (an Arrow record batch)."""

    def __init__(self, first: int, batch) -> None:
        self.first, self.batch = first, batch
        self.names = list(batch.schema.names)
        self.numbers: dict | None = None  # the float64 columns, once asked for ({} when they cannot be)

    def __len__(self) -> int:
        return self.batch.num_rows

    def columns_at(self, start: int, stop: int, needed: set[str]) -> dict | None:
        """Rows start to stop as float64 columns when the block's columns are exactly the inputs
        needed, each of numbers without a null; else None (the rows are read one by one)."""
        if self.numbers is None:
            fits = set(self.names) == needed and len(self.names) == len(needed)
            self.numbers = (fits and self._numbers()) or {}
        return {name: column[start:stop] for name, column in self.numbers.items()} if self.numbers else None

    def _numbers(self) -> dict | None:
        """Every column as float64, when every one is of numbers without a null; else None."""
        import pyarrow as pa

        np = numpy()
        columns = {}
        for name, column in zip(self.names, self.batch.columns, strict=True):
            kind = column.type
            if column.null_count or not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
                return None
            columns[name] = _float64(np, pa, column)
        return columns

    def rows(self, start: int, stop: int) -> list:
        """(line number, {name: value}) for rows start to stop, a null left out (a missing value)."""
        lists = [_values(column.slice(start, stop - start)) for column in self.batch.columns]
        return [
            (
                self.first + start + k,
                {name: v for name, v in zip(self.names, values, strict=True) if v is not None},
            )
            for k, values in enumerate(zip(*lists, strict=True))
        ]


def _float64(np, pa, column):
    """A numeric Arrow array without a null as a float64 array: its data buffer read in place
    (Array.to_numpy would import pandas, measured at 0.5 s of a run)."""
    if column.type != pa.float64():
        column = column.cast(pa.float64())
    return np.frombuffer(column.buffers()[1], dtype=np.float64, count=len(column), offset=8 * column.offset)


def _values(column) -> list:
    """A column's values as Python's numbers, text and booleans; another kind (a date, a decimal,
    bytes, a list) as its text, which is carried as given and is an error as an input's value."""
    import pyarrow as pa

    kind = column.type
    plain = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    values = column.to_pylist()
    if plain or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values
    return [None if value is None else str(value) for value in values]
