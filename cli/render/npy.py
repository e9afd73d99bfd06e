"""`batch --output FILE.npy`: a structured array, one record a point that succeeded — `line` (int64,
the input line, to join back), the carried columns that are numbers, `value` and `grad_<input>`
(float64) — written a chunk at a time. A failed point has no record (a .npy has no empty field,
and NaN is never written); its error line goes to stderr, as batch prints it.

The header is written first with room for any number of records and rewritten with the count
when the file is closed, so the points never sit in memory together. np.load(path,
allow_pickle=False) reads it (format 1.0, or 3.0 for names beyond Latin-1).
"""

from __future__ import annotations

from ...graph.errors import InputError
from ...graph.kernels import numpy
from ..chunk_table import CarriedNames, chunk_table, error_lines

MAGIC = b"\x93NUMPY"
ALIGN = 64  # NumPy's own: the data starts on a multiple of 64 bytes
COUNT_DIGITS = 20  # room in the header for any record count up to 10**20 - 1


class NpyColumns:
    """Writes chunks' results to a binary stream as one structured .npy array."""

    def __init__(self, stream, names: list[str]) -> None:
        self.stream, self.names, self.count = stream, names, 0
        self.gradient_fields = [f"grad_{name}" for name in names]
        self.carried: CarriedNames | None = None
        self.dtype = None

    def write(self, piece, batch) -> int:
        """One chunk's records (its points that succeeded); the number that failed."""
        np = numpy()
        table = chunk_table(piece, batch, self.names)
        if self.carried is None:
            self.carried = CarriedNames(table, ["value", *self.gradient_fields])
            self.kinds = {name: _number_kind(table, name) for name in self.carried.names}
            self.dtype = np.dtype(
                [("line", "<i8"), *((name, self.kinds[name]) for name in self.carried.names)]
                + [(field, "<f8") for field in ("value", *self.gradient_fields)]
            )
            self._header()
        self.carried.warn_left_out(table)
        rows = np.ones(len(table.lines), dtype=bool)
        rows[list(table.errors)] = False
        rows = rows.nonzero()[0] if table.errors else slice(None)  # a slice copies nothing
        records = np.empty(len(table.lines) - len(table.errors), dtype=self.dtype)
        records["line"] = table.lines[rows]
        kept = np.arange(len(table.lines))[rows].tolist() if self.carried.names else []
        for name in self.carried.names:
            records[name] = _numbers(
                self.carried.values(table, name, kept), table, kept, name, self.kinds[name]
            )
        records["value"] = table.value[rows]
        for field, name in zip(self.gradient_fields, self.names, strict=True):
            records[field] = table.gradients[name][rows]
        self.stream.write(records.data)  # the records' own bytes, not a copy
        self.count += len(records)
        error_lines(table)
        return len(table.errors)

    def close(self) -> None:
        """Rewrite the header with the number of records written."""
        if self.dtype is None:  # no chunk at all: an empty array of the fields known
            self.dtype = numpy().dtype(
                [("line", "<i8"), *((f, "<f8") for f in ("value", *self.gradient_fields))]
            )
            self._header()
            return
        self.stream.seek(0)
        self._header()

    def _header(self) -> None:
        """The magic, the version and the header, padded to the same length whatever the count."""
        np = numpy()
        descr = np.lib.format.dtype_to_descr(self.dtype)

        def text(count: str) -> str:
            return f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': ({count},), }}"

        widest = text("9" * COUNT_DIGITS)
        try:
            version, encoding = 1, "latin1"
            widest.encode(encoding)
        except UnicodeEncodeError:
            version, encoding = 3, "utf8"
        room = len(widest.encode(encoding)) + 1  # and the \n
        size_bytes = 2 if version == 1 and room + ALIGN <= 0xFFFF else 4
        version = 2 if version == 1 and size_bytes == 4 else version
        total = -(-(len(MAGIC) + 2 + size_bytes + room) // ALIGN) * ALIGN
        length = total - len(MAGIC) - 2 - size_bytes
        header = text(str(self.count)).encode(encoding)
        header = header + b" " * (length - len(header) - 1) + b"\n"
        self.stream.write(MAGIC + bytes([version, 0]) + len(header).to_bytes(size_bytes, "little") + header)


def _number_kind(table, name: str) -> str:
    """The field type of a carried column, from the first chunk: int64 when every value given is
    a whole number written without a point, float64 when some is not; text is refused."""
    kind = "<i8"
    for i, carried in table.carried.items():
        value = carried.get(name)
        if value is None:
            continue
        _refuse_text(value, table.lines[i], name)
        if type(value) is float:
            kind = "<f8"
    return kind


def _numbers(values: list, table, rows, name: str, kind: str) -> list:
    """A carried column's values for its field, each checked: present, a number, and for an int64
    field a whole number that fits."""
    for value, i in zip(values, rows, strict=True):
        line = table.lines[i]
        if value is None:
            raise InputError(
                f"line {line} gives no {name}: a .npy record has no empty field",
                hint=f"give every point a {name}, or write --output .parquet, which has empty cells",
            )
        _refuse_text(value, line, name)
        if kind == "<i8" and not (
            (type(value) is int or float(value).is_integer()) and -(2**63) <= value < 2**63
        ):
            raise InputError(
                f"line {line}: {name} is {value!r}, but the first points made it a column of whole numbers",
                hint="write --output .parquet or .csv, or give the first points' values with a decimal point",
            )
    return values


def _refuse_text(value, line: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(
            f"line {line}: the carried column {name} holds text ({str(value)[:40]!r}): a .npy file holds numbers only",
            hint="write --output .parquet or .csv, which carry text",
        )
