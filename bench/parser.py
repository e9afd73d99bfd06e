"""From text to gradients: `evaluate(text)` vs micrograd building the same graph from Python.

    python bench/parser.py              # 10^3 - 10^5 nodes, a few minutes
    python bench/parser.py --full       # also 10^6 nodes (about ten minutes; ~1 GB for micrograd)
    python bench/parser.py --before /tmp/old   # also an older checkout, timed between ours and micrograd
    python bench/parser.py --sizes 1000000 --shapes chain   # one row

For each shape of bench/programs.py (chain, wide, DAG) and size, it times in fresh processes:
  ours       backprop.evaluate(text, point): parse, evaluate and every gradient, from the text
  parse      backprop.parse(text) alone (the part of `ours` that reads the text)
  micrograd  the same steps replayed with micrograd's Value (bench/peers.py), then .backward()
Both sides check the same value and gradients before their times count. A node is one step of the
graph (the text makes a constant node at each use of a number, so a parsed DAG has ~1.4× as many
nodes: per parsed node, our times are that much lower). Prints µs per node as
medians with min–max over the runs, the ratio ours / micrograd (lower is better), and the load
average before and after, and writes bench/results/parser-<time>.json. A timed run does not include
freeing the previous run's graph. `cpu` is the median of the same runs in the process's own CPU
time, which other jobs on the machine disturb less than the clock. With --before, the older checkout's evaluate(text) is timed in
the same row, so that both see the same load (this machine is shared: compare within a run).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from programs import SHAPES, inputs_of, to_text  # noqa: E402
from run import agrees, measure  # noqa: E402


def ours(shape: str, size: int, repeat: int) -> dict:
    """In this process: evaluate(text) and parse(text), each `repeat` times, in seconds."""
    from backprop import evaluate, parse

    steps = SHAPES[shape](size)
    text, point = to_text(steps), inputs_of(steps)
    evaluation = evaluate(text, point)  # warm: the tables load once per process
    result = {"nodes": len(steps), "evaluate": [], "evaluate_cpu": [], "parse": []}
    for _ in range(repeat):
        del evaluation  # freeing the last run's graph is no part of this one's time (nor of micrograd's)
        start, cpu = time.perf_counter(), time.process_time()
        evaluation = evaluate(text, point)
        result["evaluate"].append(time.perf_counter() - start)
        result["evaluate_cpu"].append(time.process_time() - cpu)
        start = time.perf_counter()
        program = parse(text)
        result["parse"].append(time.perf_counter() - start)
        del program
    result["program_nodes"] = len(evaluation.program)
    result["value"] = evaluation.value
    result["gradients"] = dict(evaluation.gradients)
    return result


def ours_in_a_process(shape: str, size: int, repeat: int, cap: float, tree: str | None = None) -> dict:
    """ours() in a fresh process; from the checkout `tree` if given (its folder on PYTHONPATH)."""
    command = [sys.executable, str(Path(__file__)), "--one", shape, str(size), str(repeat)]
    env = None if tree is None else {**os.environ, "PYTHONPATH": tree}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"over {cap:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(done.stdout)


def micrograd(shape: str, size: int, runs: int, cap: float) -> dict:
    """`runs` fresh processes of bench/peers.py, one timed build + backward each."""
    if runs == 0:
        return {"error": "not run (--runs 0)"}
    times, last = [], {}
    for _ in range(runs):
        last = measure("micrograd", shape, size, 1, cap)
        if "error" in last:
            return last
        times.append(last["seconds"])
    return {**last, "times": times}


def spread(seconds: list[float], nodes: int) -> dict:
    """Median, min and max in µs per node."""
    per_node = [1e6 * s / nodes for s in seconds]
    return {"median": statistics.median(per_node), "min": min(per_node), "max": max(per_node)}


def row(shape: str, size: int, repeat: int, runs: int, cap: float, before: str | None = None) -> dict:
    mine = ours_in_a_process(shape, size, repeat, cap)
    if "error" in mine:
        return {"shape": shape, "size": size, "error": mine["error"]}
    nodes = mine["nodes"]
    result = {
        "shape": shape,
        "nodes": nodes,
        "evaluate_text_us_per_node": spread(mine["evaluate"], nodes),
        "evaluate_text_cpu_us_per_node": spread(mine["evaluate_cpu"], nodes),
        "parse_us_per_node": spread(mine["parse"], nodes),
    }
    theirs = micrograd(shape, size, runs, cap)
    if "error" not in theirs and not agrees(mine, theirs):
        theirs = {"error": "gradients disagree with ours: not timed"}
    if "error" in theirs:
        result["micrograd"] = {"error": theirs["error"]}
    else:
        result["micrograd"] = spread(theirs["times"], nodes)
        result["ratio"] = result["evaluate_text_us_per_node"]["median"] / result["micrograd"]["median"]
    if before is not None:  # the older tree, measured between ours and micrograd: the same conditions
        old = ours_in_a_process(shape, size, repeat, cap, before)
        result["before"] = old if "error" in old else spread(old["evaluate"], nodes)
        if "error" not in old:
            result["before_cpu"] = spread(old["evaluate_cpu"], nodes)
    return result


def show(result: dict) -> None:
    def cell(stats: dict) -> str:
        if "error" in stats:
            return stats["error"]
        return f"{stats['median']:6.2f} ({stats['min']:.2f}–{stats['max']:.2f})"

    if "error" in result:
        print(f"  {result['shape']:<6} {result['size']:>9,}: {result['error']}", flush=True)
        return
    ratio = f"{result['ratio']:.2f}" if "ratio" in result else "—"
    if "before" in result:
        ratio += f" | {cell(result['before'])}"
        if "before_cpu" in result:
            ratio += f" cpu {result['before_cpu']['median']:.2f}"
    cpu = result["evaluate_text_cpu_us_per_node"]["median"]
    print(
        f"  {result['shape']:<6} {result['nodes']:>9,} | {cell(result['evaluate_text_us_per_node'])} cpu {cpu:.2f} | "
        f"{cell(result['parse_us_per_node'])} | {cell(result['micrograd'])} | {ratio}",
        flush=True,
    )


def options() -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="also 10^6-node programs")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of ours per program")
    parser.add_argument("--runs", type=int, default=3, help="fresh micrograd processes per program (0: none)")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds one process may take")
    parser.add_argument("--sizes", help="comma-separated node counts instead (e.g. 1000000)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes (default: all)")
    parser.add_argument("--before", metavar="DIR", help="also time evaluate(text) from the checkout in DIR")
    parser.add_argument("--one", nargs=3, metavar=("SHAPE", "SIZE", "REPEAT"), help=argparse.SUPPRESS)
    return parser.parse_args()


def save(results: dict) -> None:
    """Write bench/results/parser-<time>.json."""
    path = HERE / "results" / f"parser-{results['date'].replace(':', '')}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(HERE.parent)}")


def main() -> None:
    args = options()
    if args.one:
        print(json.dumps(ours(args.one[0], int(args.one[1]), int(args.one[2]))))
        return
    sizes = [1_000, 10_000, 100_000] + ([1_000_000] if args.full else [])
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    load_before = os.getloadavg()
    where = "import backprop; print(backprop.__file__)"  # run from here, as the measuring processes are
    found = subprocess.run([sys.executable, "-c", where], capture_output=True, text=True, cwd=HERE)
    print(
        f"measuring {found.stdout.strip()} (set PYTHONPATH to measure a checkout rather than the installed package)"
    )
    print(
        f"evaluate(text) vs micrograd — {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}")
    print(
        "  shape      nodes | evaluate(text) µs/node (and its CPU time) | parse µs/node | micrograd µs/node | ours/micrograd"
        + (f" | evaluate(text) from {args.before}" if args.before else "")
    )
    rows = []
    for shape in args.shapes.split(","):
        for size in sizes:
            rows.append(
                row(
                    shape,
                    size,
                    args.repeat if size < 1_000_000 else min(args.repeat, 3),
                    args.runs,
                    args.cap,
                    args.before,
                )
            )
            show(rows[-1])
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) after: {', '.join(f'{x:.2f}' for x in load_after)}")
    date = datetime.datetime.now().isoformat(timespec="seconds")
    results = {
        "date": date,
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    results.update(
        measured=found.stdout.strip(),
        before=args.before,
        load_before=load_before,
        load_after=load_after,
        rows=rows,
    )
    save(results)


if __name__ == "__main__":
    main()
