"""backprop.dask: one program evaluated over a Dask DataFrame, a partition a task.

>>> import dask.dataframe as dd
>>> from backprop.dask import evaluate_frame
>>> points = dd.read_parquet("data/*.parquet", dtype_backend="pyarrow")
>>> results = evaluate_frame("(a + b**3) * c", points, fixed={"c": 2.0})
>>> results.to_parquet("results/")  # or .compute() on a small one

Each partition's points are evaluated as columns (graph/batch.py's evaluate_columns), as `batch`
evaluates a chunk: every number within 4 ulp of the one `eval` gives at the same point (NumPy's
vectorised functions), or with exact=True bit for bit that one. All a task carries of
the program is its text, parsed once per worker process: nothing else is shared between the
machines, and every worker needs backprop installed (`pip install 'backprop[dask]'`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

try:
    import dask.dataframe  # noqa: F401 - the extra is checked here, once, with its fix
    import pandas as pd
except ImportError as missing:
    raise ImportError(f"backprop.dask needs dask: pip install 'backprop[dask]' ({missing})") from missing

from .graph.errors import BackpropError, InputError, NameError_
from .graph.program import Program

CHUNK = 1 << 16
"""Points evaluated in one vectorised step within a partition (fitted to the program's memory)."""


def evaluate_frame(
    program: str | Program,
    frame,
    *,
    fixed: Mapping[str, float] | None = None,
    wrt: Sequence[str] | None = None,
    exact: bool = False,
):
    """The program at every row of a Dask DataFrame, lazily, as a Dask DataFrame of its results.

    `frame`'s columns named as the program's inputs give the points (numbers; a null or a value
    that is not finite fails that point); its other columns are carried through unchanged.
    `fixed` gives inputs one value for every row instead (`--c 2` on the command line); `wrt`
    names the inputs whose gradients are computed (default: every input); `exact`: values bit
    for bit eval's (the C library's functions a point at a time; else NumPy's, within a few ulp).
    Each partition's result keeps its index and holds the carried columns, `value`,
    `grad_<input>` for each gradient (nullable Float64, null where the point failed) and `error`
    (string: the point's error as JSON, {"type", "message", "line", "column", "hint"}, null where
    it succeeded). The program is parsed here first (a Program given is parsed again from its
    text, under the default limits), so a wrong program or a missing input raises at once
    rather than on a worker.
    """
    if not hasattr(frame, "map_partitions"):
        raise TypeError(
            f"evaluate_frame takes a Dask DataFrame, not {type(frame).__name__}: "
            "dask.dataframe.from_pandas(frame, npartitions=N) makes one"
        )
    text = program if isinstance(program, str) else program.source
    parsed = _program(text)
    fixed = {name: float(value) for name, value in (fixed or {}).items()}
    names = list(parsed.inputs if wrt is None else wrt)
    _check_columns(parsed, frame._meta, fixed, names)
    carried = [column for column in frame.columns if column not in parsed.inputs]
    meta = _results(frame._meta[carried], names, 0, None, {}, {})
    return frame.map_partitions(
        evaluate_partition, text, fixed, names, exact, meta=meta, align_dataframes=False
    )


def _check_columns(program: Program, meta, fixed: dict, names: list[str]) -> None:
    """The frame's columns against the program's inputs: each input given once, as numbers."""
    clash = [name for name in fixed if name in meta.columns]
    if clash:
        raise InputError(
            f"{', '.join(clash)} is both fixed and a column of the frame",
            hint="drop the column, or the fixed value",
        )
    unknown = [name for name in [*fixed, *names] if name not in program.inputs]
    if unknown:
        raise NameError_(
            f"{', '.join(unknown)} is not an input of the program",
            hint=f"its inputs: {', '.join(program.inputs)}",
        )
    missing = [name for name in program.inputs if name not in fixed and name not in meta.columns]
    if missing:
        raise NameError_(
            f"no column or fixed value for {', '.join(missing)}",
            hint="every input needs a column of the frame or a value in `fixed`",
        )
    taken = [
        column for column in meta.columns if column in ("value", "error") or str(column).startswith("grad_")
    ]
    if taken:
        raise InputError(
            f"column {taken[0]} would be overwritten by a result's column", hint="rename it, or drop it"
        )
    for name in program.inputs:
        if name in meta.columns and not _numeric(meta[name].dtype):
            raise InputError(
                f"column {name} holds {meta[name].dtype}, not numbers", hint="cast it to float64"
            )


def _numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


@lru_cache(maxsize=16)
def _program(text: str) -> Program:
    """The program of this text, parsed once per process (a worker's tasks share it)."""
    from . import parse

    return parse(text)


def evaluate_partition(part, text: str, fixed: dict, names: list, exact: bool = False):
    """One partition's results (evaluate_frame's columns), chunk by chunk: the task each worker runs."""
    import numpy as np

    from .graph.batch import evaluate_columns
    from .graph.shapes import fitting_chunk

    program = _program(text)
    size = len(part)
    columns, null = {}, {}
    for name in program.inputs:
        if name in fixed:
            columns[name] = np.full(size, fixed[name])
            continue
        series = part[name]
        columns[name] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        # an Arrow or nullable column tells a null from NaN; a NumPy one holds NaN for both, which
        # evaluate_columns refuses as not finite, as eval does
        if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            null[name] = series.isna().to_numpy()
    value, gradients = np.full(size, np.nan), {name: np.full(size, np.nan) for name in names}
    failed: dict[int, BackpropError] = {}
    step = fitting_chunk(program, CHUNK)
    wrt = None if names == list(program.inputs) else names
    for start in range(0, size, step):
        stop = min(start + step, size)
        piece = {name: column[start:stop] for name, column in columns.items()}
        batch = evaluate_columns(program, piece, size=stop - start, exact=exact, wrt=wrt)
        values, grads, errors = batch.table(names)
        value[start:stop] = values
        for name in names:
            gradients[name][start:stop] = grads[name]
        failed.update({start + k: error for k, error in errors.items()})
    for name, mask in null.items():
        for k in np.flatnonzero(mask).tolist():
            failed[k] = InputError(
                f"the value of {name} is null", hint="give every point a number for every input"
            )
    carried = part[[column for column in part.columns if column not in program.inputs]]
    return _results(carried, names, size, value, gradients, failed)


def _results(carried, names: list, size: int, value, gradients: dict, failed: dict):
    """The result frame: the carried columns, then value, grad_<name> and error."""
    import numpy as np

    bad = np.zeros(size, dtype=bool)
    bad[list(failed)] = True
    out = carried.copy()
    empty = np.zeros(size)
    out["value"] = pd.arrays.FloatingArray(empty if value is None else value, bad)
    for name in names:
        out[f"grad_{name}"] = pd.arrays.FloatingArray(gradients.get(name, empty), bad.copy())
    errors = [None] * size
    for k, error in failed.items():
        errors[k] = _error_text(error)
    out["error"] = pd.array(errors, dtype=pd.StringDtype())
    return out


def _error_text(error: BackpropError) -> str:
    """The point's error as the five keys of the command's JSON error object."""
    fields = {"type": error.kind, "message": error.message, "line": error.line, "column": error.column}
    return json.dumps({**fields, "hint": error.hint or None})
