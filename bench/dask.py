"""`batch --dask` on a LocalCluster of 1 and of 2 workers, against the single-process `batch`.

    .venv/bin/python bench/dask.py [--points 1000000] [--files 8] [--runs 3]

Writes N points of bench/batch.py's 30-op program (inputs a, b, c, d uniform in [-1, 1]) as
--files Parquet files of one row group each, and the same rows as one .npy file, in a temporary
folder; starts two LocalClusters on this machine (1 and 2 worker processes of one thread each),
each warmed by one untimed run; then, --runs times, times whole processes writing their lines to a
file: `batch --points 'part-*.parquet' --dask ADDRESS` on each cluster, and the single-process
`batch --points points.npy --columns a,b,c,d` on the same rows (every output is checked to be the
same bytes); and, from this process, backprop.dask's evaluate_frame over the same files on each
cluster, summing the values there (the workers' share of a run alone). Prints medians with min–max, the points a second, and the machine's load (uptime)
before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this file is named dask.py: with its folder first on the path, `import dask` would find it. The
# tree's backprop goes first instead, for this process and the workers it starts (spawned with
# this path), so that they run this checkout rather than an installed copy.
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]


def _bench_batch():
    """bench/batch.py, loaded from its path (its folder is no longer on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_batch", HERE / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_batch = _bench_batch()
ROOT, WIDE, load = _batch.ROOT, _batch.WIDE, _batch.load


def make_points(folder: Path, count: int, files: int) -> Path:
    """The points as `files` Parquet files (a row group each) and as points.npy; the .npy's path."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    points = np.random.default_rng(1).uniform(-1, 1, size=(count, 4))
    np.save(folder / "points.npy", points)
    for index, rows in enumerate(np.array_split(points, files)):
        table = pa.table({name: rows[:, i] for i, name in enumerate("abcd")})
        pq.write_table(table, folder / f"part-{index}.parquet", row_group_size=len(rows))
    return folder / "points.npy"


def timed(command: list[str], out: Path) -> tuple[float, str]:
    """Seconds for one whole process writing to `out`, and the sha256 of what it wrote."""
    import subprocess
    import time

    start = time.perf_counter()
    with out.open("wb") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, check=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    return seconds, hashlib.sha256(out.read_bytes()).hexdigest()


def frame_timed(cluster, folder: Path) -> tuple[float, None]:
    """Seconds for backprop.dask's evaluate_frame over the files on the cluster, the sum of the
    values computed there: the workers' share alone (no client process, no lines written)."""
    import time

    import dask.dataframe as dd
    import distributed

    from backprop.dask import evaluate_frame

    with distributed.Client(cluster, set_as_default=False) as client:
        start = time.perf_counter()
        frame = dd.read_parquet(
            str(folder / "part-*.parquet"), split_row_groups=True, dtype_backend="pyarrow"
        )
        client.compute(evaluate_frame(WIDE, frame)["value"].sum()).result()
        return time.perf_counter() - start, None


def start_cases(folder: Path, npy: Path, clusters: list) -> dict:
    """Each case's name -> a function timing one run of it: (seconds, sha256 of its output or None)."""
    import distributed

    batch = [sys.executable, "-m", "backprop", "batch", WIDE]
    single = batch + ["--points", str(npy), "--columns", "a,b,c,d"]
    cases = {"single process, .npy": lambda: timed(single, folder / "out.jsonl")}
    for workers in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        clusters.append(cluster)
        command = batch + ["--points", str(folder / "part-*.parquet"), "--dask", cluster.scheduler_address]
        timed(command, folder / "out.jsonl")  # the workers import backprop and NumPy once: not timed
        name = f"{workers} worker{'s' * (workers > 1)}"
        cases[f"--dask, {name}"] = lambda command=command: timed(command, folder / "out.jsonl")
        cases[f"evaluate_frame, {name}"] = lambda cluster=cluster: frame_timed(cluster, folder)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    logging.disable(logging.WARNING)  # not a line a worker's start and stop from the clusters here
    clusters: list = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        npy = make_points(folder, options.points, options.files)
        try:
            cases = start_cases(folder, npy, clusters)
            print(f"{options.points:,} points of the 30-op program in {options.files} Parquet files")
            print(f"load before: {load()}")
            times: dict[str, list[float]] = {case: [] for case in cases}
            digests = set()
            for _ in range(options.runs):  # a run times every case, so ratios compare like with like
                for case, one in cases.items():
                    seconds, digest = one()
                    times[case].append(seconds)
                    digests.add(digest)
            print(f"load after:  {load()}")
        finally:
            for cluster in clusters:
                cluster.close()
    digests.discard(None)
    print("outputs: " + ("the same bytes in every case" if len(digests) == 1 else "DIFFERENT (a bug)"))
    base = statistics.median(times["single process, .npy"])
    for case, runs in times.items():
        median = statistics.median(runs)
        print(
            f"{case:26} {median:7.2f} s (min {min(runs):.2f}, max {max(runs):.2f})  "
            f"{options.points / median:>10,.0f} points/s  {median / base:5.2f}× single"
        )


if __name__ == "__main__":
    main()
