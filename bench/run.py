"""backprop's benchmarks against its peers, in one run: `python bench/run.py [--quick | --full]`.

Measures, on the same programs and points:
  engine   ours (tape build + forward + backward) vs micrograd, PyTorch 0-dim autograd, JAX grad
           (eager, and jit with its compile time apart) and SymPy diff + lambdify, on a chain, a
           wide sum and a random DAG with sharing; each peer in a fresh process with a time cap,
           its gradients checked against ours before its time counts
  parse    our LALR driver building nodes vs Lark's own parse() of the same text
  memory   bytes per node retained by a parsed program with its values and gradients
  startup  whole-process `backprop eval` (--json and table) vs `python -c pass` and
           `python -c "import typer"`, paired run by run
  tensors  sum(A @ B) for 1000×1000 matrices with both gradients vs the NumPy calls by hand
  batch    `backprop batch` points per second vs one `backprop eval` process per point
Prints ratios (ours / peer: lower is better) of medians, and writes bench/results/<time>.json.
Peers are optional (`pip install ".[bench]"`); a missing one is reported, not an error.
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from programs import SHAPES, to_text  # noqa: E402

PEERS = ["micrograd", "torch", "jax", "jax-jit", "sympy"]
PEER_MODULES = {"micrograd": "micrograd", "torch": "torch", "jax": "jax", "jax-jit": "jax", "sympy": "sympy"}
PROGRAM = "(a + b**3) * c"


def measure(peer: str, shape: str, size: int, repeat: int, cap: float) -> dict:
    """One peer on one program, in a fresh process; {"error": ...} when it fails or runs out of time."""
    command = [sys.executable, str(HERE / "peers.py"), peer, shape, str(size), str(repeat)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return {"error": f"over {cap:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:80]}
    return json.loads(done.stdout)


def agrees(ours: dict, theirs: dict) -> bool:
    """The peer's value and gradients match ours (so a wrong peer cannot win)."""

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))

    if not close(ours["value"], theirs["value"]):
        return False
    return all(close(grad, theirs["gradients"][name]) for name, grad in ours["gradients"].items())


def engine(sizes: list[int], peers: list[str], repeat: int, cap: float) -> list[dict]:
    rows = []
    for shape in SHAPES:
        stopped: dict[str, str] = {}
        for size in sizes:
            ours = measure("ours", shape, size, repeat, cap)
            nodes = ours["nodes"]
            row = {
                "shape": shape,
                "nodes": nodes,
                "ours_us_per_node": 1e6 * ours["seconds"] / nodes,
                "build_us_per_node": 1e6 * ours["build"] / nodes,
                "forward_us_per_node": 1e6 * ours["forward"] / nodes,
                "backward_us_per_node": 1e6 * ours["backward"] / nodes,
                "backward_over_forward": ours["backward"] / ours["forward"],
                "peers": {},
            }
            for peer in peers:
                if peer in stopped:
                    row["peers"][peer] = {"error": f"skipped: {stopped[peer]} at a smaller size"}
                    continue
                result = measure(peer, shape, size, max(1, min(repeat, 3)), cap)
                if "error" not in result and not agrees(ours, result):
                    result = {"error": "gradients disagree with ours: not timed"}
                if "error" in result:
                    stopped[peer] = result["error"]
                    row["peers"][peer] = result
                    continue
                entry = {
                    "us_per_node": 1e6 * result["seconds"] / nodes,
                    "ratio": ours["seconds"] / result["seconds"],
                }
                for extra in ("compile_seconds", "default_recursion_limit"):
                    if result.get(extra) is not None:
                        entry[extra] = result[extra]
                row["peers"][peer] = entry
            rows.append(row)
            print_engine_row(row, peers)
    return rows


def print_engine_row(row: dict, peers: list[str]) -> None:
    cells = [
        f"{row['shape']:<6}",
        f"{row['nodes']:>8,}",
        f"{row['ours_us_per_node']:6.2f} µs/node",
        f"(build {row['build_us_per_node']:.2f}, fwd {row['forward_us_per_node']:.2f}, bwd {row['backward_us_per_node']:.2f}; bwd/fwd {row['backward_over_forward']:.1f})",
    ]
    for peer in peers:
        result = row["peers"].get(peer, {})
        if "ratio" in result:
            note = ""
            if "compile_seconds" in result:
                note = f", compile {result['compile_seconds']:.1f} s"
            if result.get("default_recursion_limit") == "RecursionError":
                note += ", RecursionError at the default limit"
            cells.append(f"{peer} {result['us_per_node']:.2f} µs/node → ratio {result['ratio']:.3f}{note}")
        else:
            cells.append(f"{peer}: {result.get('error', 'not run')}")
    print("  " + " | ".join(cells), flush=True)


def parse_speed(sizes: list[int], repeat: int) -> list[dict]:
    from lark import Lark

    from backprop.parser import parse
    from backprop.parser.build import StatementBreaks
    from backprop.parser.generate import GRAMMAR

    lark = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="basic", postlex=StatementBreaks())
    rows = []
    for size in sizes:
        text = to_text(SHAPES["dag"](size))
        ours = statistics.median(_time(lambda text=text: parse(text)) for _ in range(repeat))
        theirs = statistics.median(_time(lambda text=text: lark.parse(text)) for _ in range(repeat))
        nodes = len(parse(text))
        row = {
            "nodes": nodes,
            "bytes": len(text),
            "ours_us_per_node": 1e6 * ours / nodes,
            "lark_us_per_node": 1e6 * theirs / nodes,
            "ratio": ours / theirs,
        }
        rows.append(row)
        print(
            f"  parse {nodes:>8,} nodes: ours {row['ours_us_per_node']:.2f} µs/node, Lark parse() {row['lark_us_per_node']:.2f} µs/node → ratio {row['ratio']:.2f}",
            flush=True,
        )
    return rows


def tensors(size: int, repeat: int) -> dict:
    """sum(A @ B) with its gradients through backprop vs the same NumPy calls written by hand."""
    import numpy as np

    from backprop.graph.engine import evaluate
    from backprop.parser import parse

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    program = parse("sum(A @ B)")

    def ours():
        return evaluate(program, {"A": a, "B": b}).gradients

    def by_hand():
        c = a @ b
        total = float(c.sum())
        ones = np.full(c.shape, 1.0)  # d sum / d C
        return total, ones @ b.T, a.T @ ones

    ours_grads, (_, grad_a, grad_b) = ours(), by_hand()
    assert np.allclose(ours_grads["A"], grad_a) and np.allclose(ours_grads["B"], grad_b)
    ours_time = statistics.median(_time(ours) for _ in range(repeat))
    hand_time = statistics.median(_time(by_hand) for _ in range(repeat))
    row = {
        "size": size,
        "ours_seconds": ours_time,
        "numpy_seconds": hand_time,
        "ratio": ours_time / hand_time,
    }
    print(
        f"  sum(A @ B), {size}×{size}, value and both gradients: ours {1000 * ours_time:.1f} ms, NumPy by hand {1000 * hand_time:.1f} ms → ratio {row['ratio']:.2f}",
        flush=True,
    )
    return row


def memory(size: int) -> dict:
    import gc
    import tracemalloc

    from backprop.graph.engine import backward, forward
    from backprop.parser import parse

    steps = SHAPES["dag"](size)
    text = to_text(steps)
    point = {step[1]: 0.5 for step in steps if step[0] == "input"}
    gc.collect()
    tracemalloc.start()
    program = parse(text)
    grads = backward(program, forward(program, point))
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del grads
    row = {
        "nodes": len(program),
        "bytes_per_node": (retained - len(text)) / len(program),
        "peak_bytes_per_node": peak / len(program),
    }
    print(
        f"  memory {row['nodes']:,} nodes (parsed, every node named): {row['bytes_per_node']:.0f} B/node retained (program, values, gradients; not the source text), peak {row['peak_bytes_per_node']:.0f}",
        flush=True,
    )
    return row


def backprop_command() -> list[str]:
    beside = Path(sys.executable).with_name("backprop")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "backprop"]


def startup(rounds: int, against: str | None = None) -> dict:
    """Whole-process start-up, paired run by run; `against` adds another install's `backprop`
    (e.g. the previous commit's) on the same commands, so a change is measured in one run."""
    command = backprop_command()
    eval_words = ["eval", PROGRAM, "--a", "7", "--b", "3", "--c", "2"]
    runs = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import typer"': [sys.executable, "-c", "import typer"],
        "backprop eval --json": [*command, *eval_words, "--json"],
        "backprop eval (table)": [*command, *eval_words],
        "backprop batch, 1 line": [*command, "batch", PROGRAM],
    }
    stdin = {"backprop batch, 1 line": b'{"a": 7, "b": 3, "c": 2}\n'}
    if against:
        runs["other eval --json"] = [against, *eval_words, "--json"]
        runs["other eval (table)"] = [against, *eval_words]
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_number in range(rounds):
        shift = round_number % len(names)  # paired runs, the order rotating round by round
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            subprocess.run(
                runs[name],
                input=stdin.get(name, b""),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians['python -c "import typer"']
    result = {
        "median_seconds": medians,
        "json_over_typer": medians["backprop eval --json"] / floor,
        "table_over_typer": medians["backprop eval (table)"] / floor,
        "batch_line_over_typer": medians["backprop batch, 1 line"] / floor,
        "typer_over_pass": floor / medians["python -c pass"],
        "rounds": rounds,
        "load_average": os.getloadavg(),
    }
    for name, value in medians.items():
        print(f"  {name:<28} {1000 * value:7.1f} ms  ({value / floor:.2f}× import typer)", flush=True)
    print(f"  load average (1, 5, 15 min): {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return result


def batch(sizes: list[int], singles: int) -> dict:
    command = backprop_command()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"points-{size}.jsonl"
            with path.open("w") as out:
                for k in range(size):
                    out.write(json.dumps({"a": (k % 97) / 7, "b": (k % 13) / 5 - 1, "c": 2}) + "\n")
            start = time.perf_counter()
            subprocess.run(
                [*command, "batch", PROGRAM, "--points", str(path)], stdout=subprocess.DEVNULL, check=True
            )
            seconds = time.perf_counter() - start
            rows.append({"points": size, "seconds": seconds, "points_per_second": size / seconds})
    single = []
    for k in range(singles):
        start = time.perf_counter()
        subprocess.run(
            [*command, "eval", PROGRAM, "--a", str(k), "--b", "3", "--c", "2", "--json"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        single.append(time.perf_counter() - start)
    per_point = statistics.median(single)
    for row in rows:
        row["speedup_over_eval_per_point"] = row["points_per_second"] * per_point
        print(
            f"  batch {row['points']:>9,} points: {row['points_per_second']:>10,.0f} points/s ({row['seconds']:.2f} s) = {row['speedup_over_eval_per_point']:,.0f}× eval per point",
            flush=True,
        )
    print(f"  eval once per point: {1 / per_point:,.1f} points/s (median of {singles} processes)", flush=True)
    return {"batch": rows, "eval_per_point_seconds": per_point}


def _time(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def versions() -> dict:
    found = {}
    for name in ["backprop", "lark", "typer", "rich", "numpy", "micrograd", "torch", "jax", "sympy"]:
        try:
            from importlib.metadata import version

            found[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing peer is reported as missing
            found[name] = None
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds (a minute or two)")
    parser.add_argument("--full", action="store_true", help="also 10^6-node programs and 10^6 batch points")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers to run")
    parser.add_argument("--cap", type=float, default=120.0, help="seconds one peer measurement may take")
    parser.add_argument(
        "--startup-against",
        metavar="BACKPROP",
        help="only measure start-up, ours against another install's backprop command (e.g. the last commit's)",
    )
    args = parser.parse_args()
    if args.startup_against:
        startup(20, against=args.startup_against)
        return

    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000] + ([1_000_000] if args.full else [])
    repeat = 3 if args.quick else 5
    wanted = [peer for peer in args.peers.split(",") if peer]
    missing = [peer for peer in wanted if importlib.util.find_spec(PEER_MODULES[peer]) is None]
    peers = [peer for peer in wanted if peer not in missing]
    for peer in missing:
        print(f"peer {peer}: not installed (pip install '.[bench]'); skipped")

    print(
        f"backprop benchmarks — {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("engine (ratio = ours / peer: lower is better)")
    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": versions(),
        "missing_peers": missing,
    }
    results["engine"] = engine(sizes, peers, repeat, args.cap)
    print("parse")
    results["parse"] = parse_speed(sizes, repeat)
    results["memory"] = memory(sizes[-1])
    print("tensors")
    results["tensors"] = tensors(1000, repeat)
    print("startup (whole process, paired)")
    results["startup"] = startup(10 if args.quick else 20)
    print("batch")
    results["batch"] = batch([1_000, 100_000] if args.quick else [1_000, 1_000_000], 5 if args.quick else 10)

    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    path = folder / f"{results['date'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
