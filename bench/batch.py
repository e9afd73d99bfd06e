"""`backprop batch` end to end, against reading and writing the same lines with orjson alone.

    .venv/bin/python bench/batch.py [--points 1000000] [--runs 3] [--before DIR]

Makes N points of the lecture program `(a + b**3) * c` as JSON Lines and N points of a 30-op program
as a .npy file (in a temporary folder), then times whole processes, each run writing to /dev/null:
`backprop batch` on each file; orjson alone reading the same JSON Lines and writing lines of the
same shape (the floor the issue measures against); and, with --before DIR, another copy of the
package (a folder holding backprop/, e.g. the tree before a change) on the same files. Medians with
min–max of the runs, ratios from the same run, and the machine's load (uptime) before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LECTURE = "(a + b**3) * c"
# 30 ops over four inputs: arithmetic and elementary functions, shared subexpressions
WIDE = (
    "tanh(a * b + c) * exp(-d**2) + log(1 + a**2) * sin(b - c) "
    "+ sqrt(1 + (a*d)**2) / (2 + cos(c * d)) - relu(a - b) * sigmoid(c + d)"
)
ORJSON_ALONE = """
import itertools, sys, orjson
out, loads, dumps = sys.stdout.buffer, orjson.loads, orjson.dumps
with open(sys.argv[1], "rb") as f:
    lines = enumerate(f, 1)
    while block := list(itertools.islice(lines, 4096)):
        points = [(n, loads(raw)) for n, raw in block]
        out.write(b"".join(
            dumps({"line": n, "value": p["a"], "gradients": {"a": p["b"], "b": p["c"], "c": p["a"]}}) + b"\\n"
            for n, p in points
        ))
"""


def make_points(folder: Path, count: int) -> tuple[Path, Path]:
    """The JSON Lines file of the lecture program's points and the .npy file of the 30-op one's."""
    import numpy as np

    rng = random.Random(1)
    jsonl = folder / "points.jsonl"
    with jsonl.open("w") as out:
        for _ in range(count):
            a, b, c = rng.uniform(-3, 3), rng.uniform(-2, 2), rng.uniform(-1, 1)
            out.write(f'{{"a": {a!r}, "b": {b!r}, "c": {c!r}}}\n')
    npy = folder / "points.npy"
    np.save(npy, np.random.default_rng(1).uniform(-1, 1, size=(count, 4)))
    return jsonl, npy


def timed(command: list[str], folder: str, pythonpath: str | None = None) -> float:
    """Seconds for one whole process, its output to /dev/null; an error if it fails. It runs in
    `folder`, not here: `python -m` would import the backprop/ beside it before PYTHONPATH's."""
    env = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=env, check=True, cwd=folder)
    return time.perf_counter() - start


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="DIR", help="a folder holding another backprop/ to compare")
    options = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        jsonl, npy = make_points(Path(folder), options.points)
        batch = [python, "-m", "backprop", "batch"]
        cases = {
            "batch JSONL, lecture": (batch + [LECTURE, "--points", str(jsonl)], str(ROOT)),
            "batch .npy, 30 ops": (batch + [WIDE, "--points", str(npy), "--columns", "a,b,c,d"], str(ROOT)),
        }
        if options.before:
            cases["before: batch JSONL, lecture"] = (cases["batch JSONL, lecture"][0], options.before)
            cases["before: batch .npy, 30 ops"] = (cases["batch .npy, 30 ops"][0], options.before)
        try:
            import orjson  # noqa: F401

            cases["orjson alone, the same lines"] = ([python, "-c", ORJSON_ALONE, str(jsonl)], None)
        except ImportError:
            print("orjson is not installed: no floor to compare with")
        print(f"load before: {load()}")
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(options.runs):  # a run times every case, so ratios compare like with like
            for name, (command, path) in cases.items():
                times[name].append(timed(command, folder, path))
        print(f"load after:  {load()}")
    runs = f"{options.runs} run{'s' * (options.runs != 1)}"
    print(f"{options.points:,} points, {runs}: median (min–max) seconds, points/s")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"  {name:34} {median:6.2f} s ({min(runs):.2f}–{max(runs):.2f})  {options.points / median:>12,.0f}/s"
        )
    floor = times.get("orjson alone, the same lines")
    for name, runs in times.items():
        if floor and "JSONL" in name:
            ratios = [ours / alone for ours, alone in zip(runs, floor, strict=True)]
            print(
                f"  {name} / orjson alone: median {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
            )
    if options.before:
        for kind in ("batch JSONL, lecture", "batch .npy, 30 ops"):
            ratios = [b / a for a, b in zip(times[kind], times[f"before: {kind}"], strict=True)]
            print(
                f"  {kind}: {statistics.median(ratios):.1f}× faster than before ({min(ratios):.1f}–{max(ratios):.1f})"
            )


if __name__ == "__main__":
    main()
