"""Defaults of the checks, and resource limits with defaults a user can raise (`--max-nodes`,
`--max-elements`, `--max-memory`).

They keep hostile or mistaken input from exhausting the machine, and they are judged before the
work: a program of more nodes than the limit is refused while it is parsed; the shape pass
(shapes.py) then finds every node's shape from the inputs' shapes alone, so a tensor past
MAX_ELEMENTS, or a run whose values and gradients would need more than the memory limit, is
refused before a value is computed (each error names the limit and the option that raises it).
"""

from __future__ import annotations

import os

DEFAULT_EPS = 1e-6  # the gradient check's relative step (PyTorch's gradcheck for float64)
DEFAULT_TOL = 1e-4  # the gradient check's and --expect's tolerance
DEFAULT_SAMPLES = 32  # elements of a tensor input the gradient check compares at most

MAX_NODES = 5_000_000  # ~1.9 GB for `eval`, tables or --json (BYTES_PER_NODE)
MAX_ELEMENTS = 50_000_000  # 400 MB for one float64 tensor

BYTES_PER_NODE = 400
"""What a node of a scalar program costs a run: its text, tape entry, value and gradient, and its
row of the output (measured: `eval` of a 750,000-node chain peaks at 282 MB with tables and 296 MB
with --json, 375–395 bytes a node with the interpreter's own 30 MB)."""

_UNITS = {"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})


def default_max_memory() -> int:
    """A quarter of this machine's physical memory (4 GB where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (AttributeError, ValueError, OSError):
        return 4 * 10**9


def read_size(text: str) -> int | None:
    """Bytes from `2GB`, `512MB`, `1.5G`, `2GiB` or a plain number of bytes; None if it is not one."""
    cleaned = text.strip().upper().replace(" ", "")
    number = cleaned.rstrip("KMGTIB")
    unit = cleaned[len(number) :]
    if unit not in _UNITS or not number or not number.replace(".", "", 1).isdigit():
        return None
    return int(float(number) * _UNITS[unit])


def size_text(count: float) -> str:
    """Bytes for people: `392 MB`, `9.6 GB` (powers of 1000, as --max-memory reads them)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{int(count)} bytes"


def nodes_error(limit: int, max_memory: int | None = None):
    from .errors import LimitError

    if max_memory is not None and limit == max_memory // BYTES_PER_NODE:  # memory is what binds
        error = LimitError(
            f"the program has more than {limit:,} nodes, more than {size_text(max_memory)} of memory holds "
            f"at ~{BYTES_PER_NODE} bytes a node",
            hint=f"raise the limit with --max-memory (now {size_text(max_memory)}), or split the program",
        )
        return _in_python(error, f"parse(text, max_memory=…) (now {max_memory:,} bytes)")
    error = LimitError(
        f"the program has more than {limit:,} nodes",
        hint=f"raise the limit with --max-nodes (now {limit:,}), or split the program",
    )
    return _in_python(error, f"parse(text, max_nodes=…) (now {limit:,})")


def _in_python(error, call: str):
    """The error with its fix for a library caller: the same limit, raised by a keyword."""
    error.library_hint = f"raise the limit with {call}"
    return error


def elements_error(what: str, count: int, limit: int):
    from .errors import LimitError

    error = LimitError(
        f"{what} would have {count:,} elements, more than the limit of {limit:,}",
        hint=f"raise the limit with --max-elements (now {limit:,})",
    )
    return _in_python(error, f"parse(text, max_elements=…) (now {limit:,})")


def memory_error(needed: int, limit: int, largest: list[str]):
    """A run refused before it starts: what it would need, and the nodes that need the most."""
    from .errors import LimitError

    error = LimitError(
        f"this run would need about {size_text(needed)} of memory, more than the limit of {size_text(limit)}"
        + (f"; the largest values: {'; '.join(largest)}" if largest else ""),
        hint=f"raise the limit with --max-memory (now {size_text(limit)}; e.g. --max-memory 16GB), or use smaller tensors",
    )
    return _in_python(error, f"parse(text, max_memory=…) (now {limit:,} bytes), or use smaller tensors")
