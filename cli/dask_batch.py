"""`batch --points 'data/*.parquet' --dask ADDRESS`: the rows of Parquet files evaluated on a Dask
cluster, a partition a task, written as exactly the JSON Lines `batch` writes for the same rows.

The files (in sorted name order) are read with dask.dataframe.read_parquet, a partition a row group.
Each task is given the program's text, its partition's first line number (counted here from the
files' Parquet metadata, so that no task waits for another) and the options; it turns its rows
into the chunks `batch` evaluates, runs the same machinery on them (cli/batch_run.py, the JSON Lines
writer) and sends back its text. Here a few partitions are kept in flight and each one's text is
written once those before it are, so this process holds a bounded number of partitions' lines
however many points there are. Nothing is shared with the workers but the program's text: each
needs backprop installed, and the files at the same paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import socket
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from ..graph.errors import BackpropError, InputError
from .batch_run import Kinks, WholeLines, chunk_text, evaluate_chunk
from .render.text import warn

CONNECT_TIMEOUT = 10.0
"""Seconds to reach the scheduler before the address is reported unreachable."""

PARQUET = (".parquet", ".parq", ".pq")
START_A_CLUSTER = "start one with `dask scheduler` and `dask worker ADDRESS`, or check the address"


@dataclass
class Options:
    """What every task is told besides its rows: the run's options (batch's)."""

    source: str
    fixed: dict
    chunk: int
    nodes: bool = False
    check: bool = False
    eps: float = 0.0
    tol: float = 0.0
    limits: tuple = ()  # (max_nodes, max_elements, max_memory), as the command parsed it
    exact: bool = False
    wrt: tuple | None = None  # the inputs whose gradients are computed (None: every input)


@dataclass
class PartText:
    """A partition's outcome, sent back to the client: its lines and what the run must count."""

    text: str
    points: int = 0
    failed: int = 0
    check_failed: bool = False
    told: list = field(default_factory=list)  # (node, warning) the first time each node is at a kink
    kink_points: int = 0


def dask_modules():
    """dask.dataframe and distributed, or the error naming the extra that brings them."""
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError:
        raise InputError(
            "--dask needs dask: pip install 'backprop[dask]'", hint="or run batch without --dask"
        ) from None
    return dd, distributed


def parquet_files(pattern: Path) -> list[str]:
    """The Parquet files a --points pattern (or folder) names, sorted, as absolute paths (the
    workers read them at the same paths)."""
    text = str(pattern)
    if pattern.is_dir():
        text = str(pattern / "*.parquet")
    files = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
    if not files or not Path(files[0]).exists():
        raise InputError(
            f"--points {text}: no such file", hint="check the name or pattern, e.g. 'data/*.parquet'"
        )
    for name in files:
        if not name.lower().endswith(PARQUET) or not Path(name).is_file():
            raise InputError(
                f"--points {name}: --dask reads Parquet files",
                hint="give .parquet files (a pattern such as 'data/*.parquet'), or run batch without --dask",
            )
    return [str(Path(name).resolve()) for name in files]


def row_groups(files: list[str]) -> list[int]:
    """The number of rows of every row group of the files, in order: one partition each."""
    import pyarrow.parquet as pq

    counts = []
    for name in files:
        try:
            metadata = pq.read_metadata(name)
        except (OSError, ValueError) as failure:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(f"cannot read {name} as Parquet: {failure}") from None
        counts += [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    return counts


def connect(distributed, address: str):
    """A client of the scheduler at `address`, or an error naming it within CONNECT_TIMEOUT. The
    address is read and its port tried first, so that a refused connection is told at once
    rather than retried until the timeout."""
    from distributed.comm.addressing import get_address_host_port

    try:
        host, port = get_address_host_port(address)
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError, TypeError) as failure:
        raise _unreachable(address, getattr(failure, "strerror", None) or str(failure)) from None
    try:  # distributed waits for a handshake without a limit: a silent server would hang the Client
        asyncio.run(_handshake(address))
    except Exception as failure:
        raise _unreachable(address, f"no Dask handshake: {type(failure).__name__} {failure}") from None
    # made in two steps to hold the client when it fails to start (something else on the port):
    # closed here, it would otherwise be closed at exit, 2 × the timeout later and with a traceback
    client = distributed.Client.__new__(distributed.Client)
    try:
        client.__init__(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as failure:  # a timeout, or a reply that is not a scheduler's (any error)
        with contextlib.suppress(Exception):
            client.close(timeout=2)
        raise _unreachable(address, f"{type(failure).__name__}: {failure}") from None
    return client


async def _handshake(address: str) -> None:
    """A connection to the scheduler, its handshake done within CONNECT_TIMEOUT, then closed."""
    from distributed.comm import connect

    comm = await asyncio.wait_for(connect(address, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT)
    await comm.close()


def _unreachable(address: str, reason: str) -> InputError:
    reason = (reason.splitlines() or [""])[0][:200]
    return InputError(f"--dask {address}: cannot reach the scheduler ({reason})", hint=START_A_CLUSTER)


def on_cluster(address: str, points: Path | None, options: Options, refused: dict) -> tuple[int, int, bool]:
    """batch --dask: its options checked (`refused`: those given that it cannot take), then
    run_on_cluster."""
    if points is None:
        raise InputError("--dask reads its points from Parquet files", hint="add --points 'data/*.parquet'")
    given = [option for option, value in refused.items() if value]
    if given:
        raise InputError(
            f"--dask writes JSON Lines to stdout, and takes no {' or '.join(given)}",
            hint=f"drop {' and '.join(given)} (redirect stdout to a file), or run batch without --dask",
        )
    return run_on_cluster(address, points, options)


def run_on_cluster(address: str, points: Path, options: Options, in_flight: int = 0) -> tuple[int, int, bool]:
    """Evaluate the Parquet files' rows on the cluster, writing their lines in order; (points,
    failed, check failed), as cli/batch_run.py's run. `in_flight`: partitions at once (default:
    two a worker thread)."""
    dd, distributed = dask_modules()
    files = parquet_files(points)
    counts = row_groups(files)
    client = connect(distributed, address)
    try:
        frame = dd.read_parquet(files, split_row_groups=True, dtype_backend="pyarrow")
        parts = frame.to_delayed()
        if len(parts) != len(counts):
            raise InputError(
                f"--dask: Dask made {len(parts)} partitions of {len(counts)} row groups",
                hint="run batch on these files without --dask",
            )
        firsts = list(accumulate([1, *counts[:-1]]))
        _wait_for_a_worker(client, address)
        in_flight = in_flight or max(2, 2 * sum(client.nthreads().values()))
        return _stream(client, list(zip(parts, firsts)), options, in_flight)
    finally:
        client.close()


def _wait_for_a_worker(client, address: str) -> None:
    """Return once the cluster has a worker; a scheduler alone would hold the tasks for ever."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except TimeoutError:
        raise InputError(
            f"--dask {address}: the scheduler has no worker (waited {CONNECT_TIMEOUT:g} s)",
            hint=f"start workers with `dask worker {address}` on the machines that will evaluate",
        ) from None


def _stream(client, parts: list, options: Options, in_flight: int) -> tuple[int, int, bool]:
    """Submit the partitions' tasks, at most `in_flight` at once, and write their texts in order."""
    import dask

    task = dask.delayed(partition_text, pure=True)
    pending: deque = deque()
    waiting = iter(parts)
    total = failed = kink_points = 0
    check_failed, warned = False, set()
    try:
        with WholeLines() as out:
            for _ in range(len(parts)):
                for part, first in waiting:
                    pending.append(client.compute(task(part, first, options)))
                    if len(pending) >= in_flight:
                        break
                result = _result(pending.popleft())
                out.write(result.text)
                total, failed = total + result.points, failed + result.failed
                check_failed = check_failed or result.check_failed
                kink_points += result.kink_points
                for node, text in result.told:
                    if node not in warned:
                        warned.add(node)
                        warn(text)
    finally:
        client.cancel(list(pending))
    if kink_points > 1:
        warn(f'{kink_points} of {total} points were at a kink: their lines list them under "kinks"')
    return total, failed, check_failed


def _result(future) -> PartText:
    """A task's PartText; a failure on a worker as an error of the run."""
    try:
        return future.result()
    except BackpropError:
        raise
    except Exception as failure:  # whatever a worker raised, sent back by distributed
        raise InputError(
            f"--dask: a worker failed: {type(failure).__name__}: {str(failure)[:300]}",
            hint="every worker needs backprop installed (pip install 'backprop[dask]') and the files at the same paths",
        ) from None


# -- on a worker ------------------------------------------------------------------------------------


def partition_text(part, first: int, options: Options) -> PartText:
    """A partition's JSON Lines, from line `first` on: the task each worker runs."""
    from ..graph.shapes import fitting_chunk
    from .render.jsonl import BatchLines

    program = _program(options.source, *options.limits)
    needed = set(program.inputs) - options.fixed.keys()
    size = fitting_chunk(program, options.chunk)
    output = BatchLines(program, options.nodes)
    columnar = getattr(output, "columnar", False) and not options.check
    kinks = _ToldKinks(program)
    result = PartText("")
    texts = []
    evaluate = {"nodes": options.nodes, "check": options.check, "eps": options.eps, "tol": options.tol}
    evaluate |= {"exact": options.exact, "wrt": options.wrt}
    for piece in _pieces(part, first, needed, frozenset(options.fixed), size):
        batch = evaluate_chunk(program, piece, options.fixed, **evaluate)
        text, bad, check_bad = chunk_text(piece, batch, output, kinks, columnar)
        texts.append(text)
        result.points += len(piece)
        result.failed += bad
        result.check_failed = result.check_failed or check_bad
    result.text, result.told, result.kink_points = "".join(texts), kinks.said, kinks.points
    return result


def _pieces(part, first: int, needed: set[str], fixed: frozenset[str], size: int):
    """The partition's rows as batch's chunks: straight from its columns when they are exactly
    the inputs needed, all finite numbers; else row by row, each row the JSON object of its
    columns, as a line of JSON Lines would give it (errors, carried columns and all)."""
    import numpy as np
    import pyarrow as pa

    from .points import Chunk, chunks

    table = pa.Table.from_pandas(part, preserve_index=False)
    if set(table.column_names) == needed and all(_plain(table[name]) for name in needed):
        columns = {name: table[name].to_numpy().astype(np.float64) for name in needed}
        if all(np.isfinite(column).all() for column in columns.values()):
            for start in range(0, table.num_rows, size):
                stop = min(start + size, table.num_rows)
                piece = Chunk(columns={name: column[start:stop] for name, column in columns.items()})
                piece.lines = list(range(first + start, first + stop))
                yield piece
            return
    rows = list(zip(range(first, first + table.num_rows), _json_rows(table)))
    yield from chunks(iter(rows), size, needed, fixed)


def _plain(column) -> bool:
    """A column of numbers without a null (bools are not numbers here, as in JSON Lines)."""
    import pyarrow as pa

    kind = column.type
    return column.null_count == 0 and (pa.types.is_floating(kind) or pa.types.is_integer(kind))


def _json_rows(table) -> list[dict]:
    """The table's rows as JSON objects: columns of a type JSON has not (dates, decimals, bytes)
    as their text."""
    import pyarrow as pa

    json_like = (pa.types.is_floating, pa.types.is_integer, pa.types.is_boolean, pa.types.is_string)
    json_like += (pa.types.is_large_string, pa.types.is_null)
    for i, column in enumerate(table.columns):
        if not any(test(column.type) for test in json_like):
            table = table.set_column(i, table.field(i).name, column.cast(pa.string()))
    return table.to_pylist()


@lru_cache(maxsize=16)
def _program(source: str, *limits):
    """The program, parsed once per worker process for all its tasks, under the command's limits."""
    from ..parser import parse

    return parse(source, **dict(zip(("max_nodes", "max_elements", "max_memory"), limits)))


class _ToldKinks(Kinks):
    """batch_run's kinks of a run, whose warnings are kept for the client to give (once a node)."""

    def __init__(self, program) -> None:
        super().__init__(program)
        self.said: list = []

    def say(self, node: int, warning: str) -> None:
        self.said.append((node, warning))
