"""`batch --output FILE.parquet`: every point a row — `line` (int64), the carried columns as given
(text, or numbers when the first points give numbers), `value` and `grad_<input>` (float64, null
for a failed point) and `error` (its kind and message, null for a point that succeeded) — one row
group a chunk, through pyarrow (the `parquet` extra, imported only here).
"""

from __future__ import annotations

import json

from ...graph.errors import InputError
from ...graph.kernels import numpy
from ..chunk_table import CarriedNames, chunk_table


class ParquetColumns:
    """Writes chunks' results to a binary stream as one Parquet file, a row group a chunk."""

    def __init__(self, stream, names: list[str]) -> None:
        self.stream, self.names, self.writer = stream, names, None
        self.gradient_fields = [f"grad_{name}" for name in names]

    def write(self, piece, batch) -> int:
        """One chunk's rows as a row group; the number of its points that failed."""
        import pyarrow as pa

        np = numpy()
        table = chunk_table(piece, batch, self.names)
        if self.writer is None:
            self.carried = CarriedNames(table, ["value", *self.gradient_fields])
            self._open({name: _kind(table, name) for name in self.carried.names})
        self.carried.warn_left_out(table)
        size = len(table.lines)
        failed = np.zeros(size, dtype=bool)
        failed[list(table.errors)] = True
        columns = [_numbers(pa, table.lines, pa.int64())]
        for name, kind in self.kinds.items():
            columns.append(_carried_array(self.carried.values(table, name, range(size)), kind, name, table))
        columns += [
            _numbers(pa, column, pa.float64(), failed) for column in (table.value, *self._grads(table))
        ]
        errors = [None] * size
        for i, error in table.errors.items():
            errors[i] = f"{error.kind}: {error.message}"
        columns.append(_texts(pa, errors) if table.errors else pa.nulls(size, pa.string()))
        self.writer.write_table(
            pa.Table.from_arrays(columns, schema=self.schema), row_group_size=max(size, 1)
        )
        return len(table.errors)

    def _grads(self, table) -> list:
        return [table.gradients[name] for name in self.names]

    def close(self) -> None:
        """The file's footer (with no chunk at all, a file of no rows with the results' columns)."""
        if self.writer is None:
            self._open({})
        self.writer.close()

    def _open(self, kinds: dict[str, str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.kinds = kinds
        types = {"int": pa.int64(), "float": pa.float64(), "text": pa.string()}
        fields = [("line", pa.int64()), *((name, types[kind]) for name, kind in kinds.items())]
        fields += [(field, pa.float64()) for field in ("value", *self.gradient_fields)]
        self.schema = pa.schema([*fields, ("error", pa.string())])
        # dictionaries only for text: on floats they cost 2.5x the writing time, for a larger file
        text = [name for name, kind in kinds.items() if kind == "text"]
        self.writer = pq.ParquetWriter(self.stream, self.schema, use_dictionary=[*text, "error"])


def _kind(table, name: str) -> str:
    """A carried column's kind from the first chunk: int when every value given is a whole number
    written without a point, float when they are numbers, else text."""
    given = [carried[name] for carried in table.carried.values() if carried.get(name) is not None]
    if all(type(value) is int for value in given):
        return "int"
    return "float" if all(type(value) in (int, float) for value in given) else "text"


def _carried_array(values: list, kind: str, name: str, table):
    """A carried column as an Arrow array of its kind (null where a point does not give it)."""
    import pyarrow as pa

    if kind == "text":  # a JSON value that is not text is written as JSON, as --format csv does
        return _texts(pa, [v if v is None or isinstance(v, str) else json.dumps(v) for v in values])
    for i, value in enumerate(values):
        fits = value is None or type(value) is int or (kind == "float" and type(value) is float)
        fits = fits or (type(value) is float and value.is_integer())
        if not fits:
            raise InputError(
                f"line {table.lines[i]}: {name} is {str(value)[:40]!r}, but the first points made it "
                f"a column of {'whole numbers' if kind == 'int' else 'numbers'}",
                hint="give the first points' values as the rest are (as text, or with a decimal point)",
            )
    np = numpy()
    missing = np.array([value is None for value in values], dtype=bool)
    try:
        numbers = np.array([0 if value is None else value for value in values], dtype=f"<{kind[0]}8")
    except OverflowError:
        raise InputError(
            f"the carried column {name} holds a whole number too large for an int64",
            hint="write it as text in the points",
        ) from None
    return _numbers(pa, numbers, pa.int64() if kind == "int" else pa.float64(), missing)


# pa.array() would import pandas (measured: 0.5 s of a run): arrays are made from their buffers


def _numbers(pa, values, kind, missing=None):
    """A float64 or int64 Arrow array of a NumPy array, null where `missing`."""
    np = numpy()
    values = np.ascontiguousarray(values, dtype=np.float64 if kind == pa.float64() else np.int64)
    nulls = 0 if missing is None else int(missing.sum())
    valid = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(kind, len(values), [valid, pa.py_buffer(values)], null_count=nulls)


def _texts(pa, texts: list):
    """A string Arrow array of a list of str or None (null)."""
    np = numpy()
    encoded = [b"" if text is None else text.encode("utf-8") for text in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum([len(data) for data in encoded], out=offsets[1:])
    missing = np.array([text is None for text in texts], dtype=bool)
    nulls = int(missing.sum())
    valid = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    buffers = [valid, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(texts), buffers, null_count=nulls)
