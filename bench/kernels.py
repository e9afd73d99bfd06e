"""Kernels: a least-squares loss from text against NumPy by hand, powers, and batch's arithmetic.

    .venv/bin/python bench/kernels.py [--runs 7] [--before DIR]

Times, in one process per tree (this one, and with --before DIR another folder holding backprop/,
e.g. `git archive HEAD` unpacked before a change), each case once a round for --runs rounds, so that
the ratios compare runs made side by side:
  - `mean((X @ w - y)**2)` with X 10⁵×100, w 100, y 10⁵, through `backprop.evaluate(text, ...)`
    (parsing included) with every gradient, and with wrt=["w"]; against NumPy by hand computing the
    same value and the same gradients (X's, w's and y's; w's only for wrt);
  - b**3 on 10⁶ points by np.power and by multiplications (b*b*b), as batch's fast path does;
  - batch's arithmetic (graph/batch.py's evaluate_columns, chunks of 4,096 as `batch` takes them)
    on the 30-op program at 10⁶ points: the fast path and --exact's.
Prints medians with min–max, the ratios of each round, and the load (os.getloadavg) before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOSS = "mean((X @ w - y)**2)"
WIDE = (  # bench/batch.py's 30-op program
    "tanh(a * b + c) * exp(-d**2) + log(1 + a**2) * sin(b - c) "
    "+ sqrt(1 + (a*d)**2) / (2 + cos(c * d)) - relu(a - b) * sigmoid(c + d)"
)
CHUNK = 4096


def _loss_by_hand(X, w, y, every: bool):
    """The loss and its gradients as one would write them in NumPy: r = Xw − y, L = mean(r²)."""
    import numpy as np

    r = X @ w - y
    value = float(np.mean(r * r))
    g = (2.0 / r.size) * r  # dL/dr
    if not every:
        return value, {"w": g @ X}
    return value, {"X": np.multiply.outer(g, w), "w": g @ X, "y": -g}


def _cases(rounds: int) -> dict[str, list[float]]:
    """Every case's seconds, one a round (run inside the tree being measured)."""
    import inspect

    import numpy as np

    import backprop
    from backprop.graph.batch import evaluate_columns

    rng = np.random.default_rng(19)
    point = {
        "X": rng.standard_normal((100_000, 100)),
        "w": rng.standard_normal(100),
        "y": rng.standard_normal(100_000),
    }
    b = rng.uniform(-2.0, 2.0, 1_000_000)
    wide = {name: rng.uniform(-1.0, 1.0, 1_000_000) for name in "abcd"}
    has_wrt = "wrt" in inspect.signature(backprop.evaluate).parameters
    has_exact = "exact" in inspect.signature(evaluate_columns).parameters
    program = backprop.parse(WIDE)

    def columns(**options):
        for start in range(0, 1_000_000, CHUNK):
            evaluate_columns(program, {k: v[start : start + CHUNK] for k, v in wide.items()}, **options)

    cases = {
        "text, every gradient": lambda: backprop.evaluate(LOSS, point).gradients,
        "by hand, every gradient": lambda: _loss_by_hand(point["X"], point["w"], point["y"], True),
        "text, wrt=w": (lambda: backprop.evaluate(LOSS, point, wrt=["w"]).gradients) if has_wrt else None,
        "by hand, w's only": lambda: _loss_by_hand(point["X"], point["w"], point["y"], False),
        "b**3 np.power, 10⁶": lambda: np.power(b, 3.0),
        "b**3 b*b*b, 10⁶": lambda: b * b * b,
        "batch arithmetic, 30 ops, 10⁶": columns,
        "batch arithmetic --exact, 30 ops, 10⁶": (lambda: columns(exact=True)) if has_exact else None,
    }
    cases = {name: case for name, case in cases.items() if case is not None}
    _agree(backprop, point, has_wrt)
    for _ in range(3):  # rounds not counted: imports, caches, and this machine's first touch of
        for case in cases.values():  # fresh memory (a 10⁷-element gradient took 0.4–0.8 s, then 0.1)
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(rounds):  # every other round in reverse: no case always follows another
        for name, case in list(cases.items())[:: -1 if round_ % 2 else 1]:
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    return times


def _agree(backprop, point: dict, has_wrt: bool) -> None:
    """The text's value and gradients are the hand-written ones (to rounding): like is timed with like."""
    import numpy as np

    value, grads = _loss_by_hand(point["X"], point["w"], point["y"], True)
    evaluation = backprop.evaluate(LOSS, point, **({"wrt": ["w"]} if has_wrt else {}))
    assert abs(evaluation.value - value) <= 1e-12 * abs(value)
    assert np.allclose(evaluation.gradients["w"], grads["w"], rtol=1e-10, atol=1e-14)


def _report(label: str, times: dict[str, list[float]]) -> None:
    print(f"{label}: median (min–max) of {len(next(iter(times.values())))} rounds")
    for name, runs in times.items():
        print(
            f"  {name:40} {statistics.median(runs) * 1e3:8.1f} ms ({min(runs) * 1e3:.1f}–{max(runs) * 1e3:.1f})"
        )
    pairs = [
        ("text, every gradient", "by hand, every gradient"),
        ("text, wrt=w", "by hand, w's only"),
        ("text, wrt=w", "by hand, every gradient"),
        ("b**3 np.power, 10⁶", "b**3 b*b*b, 10⁶"),
        ("batch arithmetic --exact, 30 ops, 10⁶", "batch arithmetic, 30 ops, 10⁶"),
    ]
    for top, bottom in pairs:
        if top in times and bottom in times:
            ratios = [t / b for t, b in zip(times[top], times[bottom], strict=True)]
            print(
                f"  {top} / {bottom}: median {statistics.median(ratios):.2f}× "
                f"({min(ratios):.2f}–{max(ratios):.2f})"
            )
    for name in ("batch arithmetic, 30 ops, 10⁶", "batch arithmetic --exact, 30 ops, 10⁶"):
        if name in times:
            print(f"  {name}: {1e6 / statistics.median(times[name]):,.0f} points/s")


def _in_tree(tree: str, rounds: int) -> dict[str, list[float]]:
    """The cases timed in a process that imports the backprop/ of `tree`."""
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(rounds)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (at least 5 for the report)")
    parser.add_argument("--before", metavar="DIR", help="a folder holding another backprop/ to compare")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(_cases(options.child)))
        return
    print(f"load before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    results = {"this tree": _in_tree(str(ROOT), options.runs)}
    if options.before:
        results[f"before ({options.before})"] = _in_tree(options.before, options.runs)
    print(f"load after:  {os.getloadavg()}")
    for label, times in results.items():
        _report(label, times)


if __name__ == "__main__":
    main()
