"""`backprop batch` end to end, against reading and writing the same lines with orjson alone.

    .venv/bin/python bench/batch.py [--points 1000000] [--runs 3] [--before DIR] [--jax-path DIR]

Makes N points of the lecture program `(a + b**3) * c` as JSON Lines and N points of a 30-op program
as a .npy file (in a temporary folder), then times whole processes, each run writing to /dev/null:
`backprop batch` on each file; orjson alone reading the same JSON Lines and writing lines of the
same shape (the floor the issue measures against); `batch --output out.npy` from the .npy file to a
.npy file of value and gradient columns, against JAX's `jit(vmap(value_and_grad))` of the same
function in float64 reading the same file and writing the same columns, whole processes including
JAX's compile (the peer the issue names; skipped, and said, when JAX cannot be imported: --jax-path
adds a folder to its PYTHONPATH); and, with --before DIR, another copy of the package (a folder
holding backprop/, e.g. the tree before a change) on the same files. Medians with min–max of the
runs, ratios from the same run, and the machine's load (uptime) before and after. The .npy outputs of
batch and JAX are compared (largest relative difference) so that both computed the same thing.
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

JAX_PEER = """
import sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import time
start = time.perf_counter()  # after the imports: the issue's figure, compile and run
points = np.load(sys.argv[1], allow_pickle=False)
def f(a, b, c, d):
    return (jnp.tanh(a * b + c) * jnp.exp(-d**2) + jnp.log(1 + a**2) * jnp.sin(b - c)
            + jnp.sqrt(1 + (a*d)**2) / (2 + jnp.cos(c * d)) - jax.nn.relu(a - b) * jax.nn.sigmoid(c + d))
both = jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1, 2, 3))))
value, grads = both(*(points[:, i] for i in range(4)))
out = np.empty(len(points), dtype=[(name, "f8") for name in ("value", "grad_a", "grad_b", "grad_c", "grad_d")])
out["value"] = np.asarray(value)
for name, grad in zip("abcd", grads):
    out["grad_" + name] = np.asarray(grad)
np.save(sys.argv[2], out, allow_pickle=False)
print(f"after imports: {time.perf_counter() - start}", file=sys.stderr)
"""


def jax_works(python: str, path: str | None) -> bool:
    """Whether `import jax` works for the peer's processes (with --jax-path on PYTHONPATH)."""
    env = {**os.environ, **({"PYTHONPATH": path} if path else {})}
    return subprocess.run([python, "-c", "import jax"], env=env, capture_output=True).returncode == 0


def largest_difference(ours: Path, theirs: Path) -> float:
    """The largest relative difference between two .npy files' value and gradient columns."""
    import numpy as np

    mine, peer = np.load(ours, allow_pickle=False), np.load(theirs, allow_pickle=False)
    worst = 0.0
    for name in peer.dtype.names:
        scale = np.maximum(np.abs(peer[name]), 1e-300)
        worst = max(worst, float(np.max(np.abs(mine[name] - peer[name]) / np.maximum(scale, 1.0))))
    return worst


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
        done = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=env, check=True, cwd=folder)
    seconds = time.perf_counter() - start
    for line in done.stderr.decode().splitlines():  # the JAX peer's own time, after its imports
        if line.startswith("after imports: "):
            INSIDE.append(float(line.split(": ")[1]))
    return seconds


INSIDE: list[float] = []
"""The JAX peer's seconds after its imports (compile, run, save), one a run."""


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="DIR", help="a folder holding another backprop/ to compare")
    parser.add_argument("--jax-path", metavar="DIR", help="a folder to put on JAX's PYTHONPATH")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cases = cases_for(options, Path(folder))
        print(f"load before: {load()}")
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(options.runs):  # a run times every case, so ratios compare like with like
            for name, (command, path) in cases.items():
                times[name].append(timed(command, folder, path))
        print(f"load after:  {load()}")
        ours_npy, jax_npy = Path(folder) / "ours.npy", Path(folder) / "jax.npy"
        if jax_npy.exists():
            worst = largest_difference(ours_npy, jax_npy)
            print(f"batch and JAX .npy outputs: largest relative difference {worst:.1e}")
    report(times, options)


def cases_for(options, folder: Path) -> dict[str, tuple[list[str], str | None]]:
    """Each case's command and the PYTHONPATH it runs with."""
    python = sys.executable
    jsonl, npy = make_points(folder, options.points)
    batch = [python, "-m", "backprop", "batch"]
    from_npy = batch + [WIDE, "--points", str(npy), "--columns", "a,b,c,d"]
    cases = {
        "batch JSONL, lecture": (batch + [LECTURE, "--points", str(jsonl)], str(ROOT)),
        "batch .npy, 30 ops": (from_npy, str(ROOT)),
        "batch .npy→.npy, 30 ops": (from_npy + ["--output", str(folder / "ours.npy")], str(ROOT)),
    }
    if jax_works(python, options.jax_path):
        peer = [python, "-c", JAX_PEER, str(npy), str(folder / "jax.npy")]
        cases["JAX .npy→.npy, 30 ops"] = (peer, options.jax_path)
    else:
        print("JAX cannot be imported (pip install jax, or --jax-path DIR): no JAX figure")
    if options.before:
        cases["before: batch JSONL, lecture"] = (cases["batch JSONL, lecture"][0], options.before)
        cases["before: batch .npy, 30 ops"] = (cases["batch .npy, 30 ops"][0], options.before)
    try:
        import orjson  # noqa: F401

        cases["orjson alone, the same lines"] = ([python, "-c", ORJSON_ALONE, str(jsonl)], None)
    except ImportError:
        print("orjson is not installed: no floor to compare with")
    return cases


def report(times: dict[str, list[float]], options) -> None:
    """Medians with min–max and points/s, then the ratios within each run."""
    runs = f"{options.runs} run{'s' * (options.runs != 1)}"
    print(f"{options.points:,} points, {runs}: median (min–max) seconds, points/s")
    if INSIDE:
        times["JAX after its imports (compile+run)"] = INSIDE
    for name, runs in times.items():
        median = statistics.median(runs)
        print(
            f"  {name:36} {median:6.2f} s ({min(runs):.2f}–{max(runs):.2f})  {options.points / median:>12,.0f}/s"
        )
    floor = times.get("orjson alone, the same lines")
    for name in times:
        if floor and "JSONL" in name:
            ratio(f"{name} / orjson alone", times[name], floor)
    if "JAX .npy→.npy, 30 ops" in times:
        ours = times["batch .npy→.npy, 30 ops"]
        ratio("batch .npy→.npy / JAX, whole processes", ours, times["JAX .npy→.npy, 30 ops"])
        ratio("batch .npy→.npy (whole process) / JAX after its imports", ours, INSIDE)
    for kind in ("batch JSONL, lecture", "batch .npy, 30 ops") if options.before else ():
        ratio(f"before / now, {kind}", times[f"before: {kind}"], times[kind])


def ratio(name: str, mine: list[float], theirs: list[float]) -> None:
    """The ratio run by run: median (min–max)."""
    ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
    print(f"  {name}: median {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})")


if __name__ == "__main__":
    main()
