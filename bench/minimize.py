"""Time per gradient-descent step, ours against its peers, in one run: `python bench/minimize.py [--quick]`.

Each problem is trained with plain gradient descent (a fixed learning rate, the data held fixed,
no batches) from the same seeded data and initial parameters, in float64:
  rosenbrock  (1 - x)**2 + 100*(y - x**2)**2 from (-1, 1), lr 1e-3, 10^4 steps
  linreg      mean((X @ w - y)**2), X 1000×10, w from zeros, lr 0.1
  mlp         h = sigmoid(X @ W1 + b1); yhat = sigmoid(h @ W2 + b2); mean((yhat - y)**2),
              X ROWS×64, 16 hidden units, lr 0.5; at 1000 rows, and at 16 rows where micrograd can run
Ours is `backprop.graph.minimize.minimize` on a program parsed once (the parse is not timed); a
step is its whole loop (forward, backward, the update, the loss history and its finiteness checks).
The peers: PyTorch (torch.optim.SGD on float64 tensors, zero_grad / backward / step) and
micrograd (its demo's loop: the expression rebuilt from Values every step, backward(),
p.data -= lr * p.grad). Each measurement runs in a fresh process with a time cap; each peer's
losses and parameters after a few steps are checked against ours first, and a peer that
disagrees is reported, not timed. Prints medians of repeated runs (min–max) in µs per step and
ratios ours / peer (lower is better), the load average before and after, and writes
bench/results/minimize-<time>.json. A peer not installed is reported and skipped.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
PEERS = ["torch", "micrograd"]
PEER_NAMES = {"torch": "PyTorch", "micrograd": "micrograd"}
MICROGRAD_ROWS = 16  # one micrograd step at 1000 rows builds ~2 × 10^6 Values (minutes a step)

# (problem, rows, steps, quick steps, micrograd's steps, quick); micrograd's None: not run there.
CASES = [
    ("rosenbrock", 0, 10_000, 10_000, 10_000, 2_000),
    ("linreg", 1000, 1000, 200, 3, 2),
    ("mlp", 1000, 200, 50, None, None),
    ("mlp", MICROGRAD_ROWS, 1000, 200, 3, 2),
]


def measure(peer: str, case: tuple, steps: int, repeat: int, settings, reference: dict | None) -> dict:
    """One peer on one problem in a fresh process: its check numbers and seconds per step."""
    problem, rows = case[0], case[1]
    command = [sys.executable, str(HERE / "minimize_peers.py"), peer, problem, str(rows)]
    command += [str(steps), str(repeat), str(settings.cap / 2), str(settings.threads)]
    try:
        done = subprocess.run(
            command, input=json.dumps(reference), capture_output=True, text=True, timeout=settings.cap
        )
    except subprocess.TimeoutExpired:
        return {"error": f"> {settings.cap:.0f} s (the cap)"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:120]}
    return {**json.loads(done.stdout), "steps": steps}


def run_case(case: tuple, peers: list[str], settings) -> dict:
    """Ours first (its numbers are the reference), then rounds of fresh processes, ours and each
    peer in turn, so that a change in the machine's load falls on all of them alike. A peer is
    checked against ours in every process; micrograd, minutes a round, runs in the first only."""
    problem, rows, steps, quick_steps, micrograd_steps, micrograd_quick = case
    if settings.quick:
        steps, micrograd_steps = quick_steps, micrograd_quick
    steps = {"ours": steps, "torch": steps, "micrograd": micrograd_steps}
    rounds, repeat = (2, 2) if settings.quick else (3, 3)
    row = {"problem": problem, "rows": rows, "load_before": os.getloadavg(), "peers": {}}
    runs = {"ours": [measure("ours", case, steps["ours"], repeat, settings, None)]}
    reference = runs["ours"][0].get("check")
    for peer in peers:
        if reference is None:
            row["peers"][peer] = {"error": "not run: ours failed"}
        elif steps[peer] is None:
            row["peers"][peer] = {"error": f"not run at {rows} rows: see the row at {MICROGRAD_ROWS} rows"}
        else:
            runs[peer] = []
    for round_number in range(rounds if reference is not None else 0):
        for name in runs:
            done = (round_number == 0 and name == "ours") or (round_number > 0 and name == "micrograd")
            if not done and (not runs[name] or "error" not in runs[name][-1]):
                runs[name].append(measure(name, case, steps[name], repeat, settings, reference))
    row["ours"] = summarize(runs.pop("ours"))
    for peer, results in runs.items():
        row["peers"][peer] = summarize(results)
        if "us_per_step" in row["peers"][peer] and "us_per_step" in row["ours"]:
            ratio = row["ours"]["us_per_step"]["median"] / row["peers"][peer]["us_per_step"]["median"]
            row["peers"][peer]["ratio"] = ratio
    row["load_after"] = os.getloadavg()
    print_row(row, peers)
    return row


def summarize(results: list[dict]) -> dict:
    """One peer's processes together: every run's seconds per step, their median, min and max;
    the first error ends it (a disagreement keeps the differences found)."""
    failed = next((result for result in results if "error" in result), None)
    if failed is not None:
        return {key: failed[key] for key in ("error", "differences") if key in failed}
    seconds = [each for result in results for each in result["per_step_seconds"]]
    summary = {
        "steps": results[0]["steps"],
        "processes": len(results),
        "per_step_seconds": seconds,
        "us_per_step": {
            "median": 1e6 * statistics.median(seconds),
            "min": 1e6 * min(seconds),
            "max": 1e6 * max(seconds),
        },
    }
    if "differences" in results[0]:  # the largest of any process's
        summary["differences"] = {
            key: max(result["differences"][key] for result in results) for key in results[0]["differences"]
        }
    return summary


def print_row(row: dict, peers: list[str]) -> None:
    size = "scalar" if row["problem"] == "rosenbrock" else f"{row['rows']} rows"
    cells = [f"{row['problem']:<10} {size:>9}", f"ours {_time_cell(row['ours'])}"]
    for peer in peers:
        result = row["peers"][peer]
        if "ratio" in result:
            cell = f"{PEER_NAMES[peer]} {_time_cell(result)} → {result['ratio']:.3g}"
            cell += f" (agree to {max(result['differences'].values()):.0e})"
        else:
            cell = f"{PEER_NAMES[peer]}: {result['error']}"
        cells.append(cell)
    load = f"load {row['load_before'][0]:.2f} → {row['load_after'][0]:.2f}"
    print("  " + " | ".join([*cells, load]), flush=True)


def _time_cell(result: dict) -> str:
    if "us_per_step" not in result:
        return result.get("error", "not run")
    us = result["us_per_step"]
    return f"{_us(us['median'])} µs/step ({_us(us['min'])}–{_us(us['max'])}, {result['steps']:,} steps)"


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ["numpy", "torch", "micrograd"]:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", "graph", "parser", "backprop"], capture_output=True, text=True
    )
    found["backprop"] = commit.stdout.strip() + (
        " with uncommitted changes" if changed.stdout.strip() else ""
    )
    return found


def profile(problem: str, rows: int, steps: int) -> None:
    """cProfile of our minimize() on one problem: where a step's time goes."""
    import cProfile
    import pstats

    sys.path.insert(0, str(HERE))
    from minimize_peers import problem as make_problem  # it puts the checkout first on the path

    from backprop import parse
    from backprop.graph.minimize import minimize

    spec = make_problem(problem, rows)
    program = parse(spec["text"])
    values = {**spec["data"], **spec["params"]}
    minimize(program, values, list(spec["params"]), lr=spec["lr"], steps=2)  # warm-up
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(minimize, program, values, list(spec["params"]), lr=spec["lr"], steps=steps)
    print(
        f"{problem}, {rows} rows, {steps} steps: {1e6 * (time.perf_counter() - start) / steps:,.0f} µs/step profiled"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (about a minute)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers to run")
    parser.add_argument("--cap", type=float, default=120.0, help="seconds one measurement may take")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS and PyTorch threads, for every peer alike (0: the libraries' defaults)",
    )
    parser.add_argument("--profile", metavar="PROBLEM:ROWS", help="only profile ours, e.g. mlp:1000")
    args = parser.parse_args()
    # One thread by default: on this 2-core machine, shared with other work, two BLAS threads
    # made the 1000-row mlp swing from 1.1 to 6.6 ms a step between identical runs (measured).
    if args.threads > 0:  # before anything imports NumPy; the workers inherit it
        for name in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]:
            os.environ[name] = str(args.threads)
    if args.profile:
        problem, _, rows = args.profile.partition(":")
        profile(problem, int(rows or 0), 10_000 if problem == "rosenbrock" else 200)
        return

    wanted = [peer for peer in args.peers.split(",") if peer]
    if set(wanted) - set(PEERS):
        parser.error(f"the peers are: {', '.join(PEERS)}")
    missing = [peer for peer in wanted if importlib.util.find_spec(peer) is None]
    peers = [peer for peer in wanted if peer not in missing]
    for peer in missing:
        print(f"peer {peer}: not installed (pip install '.[bench]'); skipped")
    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
        "versions": versions(),
        "threads": args.threads or "library defaults",
        "cap_seconds": args.cap,
        "missing_peers": missing,
        "load_before": os.getloadavg(),
    }
    print(
        f"time per gradient-descent step — {platform.platform()}, {os.cpu_count()} cores, {results['versions']}"
    )
    print(
        f"threads {results['threads']}; load average (1, 5, 15 min) before: {_load(results['load_before'])}"
    )
    print("median µs per step (min–max of the runs) → ratio ours / peer (lower is better)")
    results["cases"] = [run_case(case, peers, args) for case in CASES]
    results["load_after"] = os.getloadavg()
    print(f"load average after: {_load(results['load_after'])}")

    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    path = folder / f"minimize-{results['date'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def _load(load: tuple) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


if __name__ == "__main__":
    main()
