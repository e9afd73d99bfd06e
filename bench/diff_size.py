"""The size of a derivative, ours against SymPy's, at two sizes of two programs: `python bench/diff_size.py`.

The two families of issue 17, each line using the previous one twice:
  squares  x1 = a*a; x2 = x1*x1; …; xn = x(n-1)*x(n-1)
  sines    x1 = sin(a)*a; x2 = sin(x1)*x1; …; xn = sin(x(n-1))*x(n-1)
Ours is `backprop diff PROGRAM --wrt a` (graph/adjoint.py, printed by cli/render/formula.py): its
statement count and characters, and the time to build and print it. SymPy's is sympy.diff of the
same function built as one expression (a SymPy expression is itself shared, but its text and
count_ops are the tree a reader sees): len(str(derivative)), count_ops, and the time of the diff
and the printing, in a fresh process capped at --cap seconds per size (a size past it is reported
as such). Prints each size and the ratios size(2n)/size(n): a constant 2 is linear growth.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = {
    "squares": ("x1 = a*a", "x{k1} = x{k}*x{k}"),
    "sines": ("x1 = sin(a)*a", "x{k1} = sin(x{k})*x{k}"),
}

SYMPY = """
import json, sys, time
import sympy
family, n = sys.argv[1], int(sys.argv[2])
a = sympy.Symbol("a", real=True)
x = a * a if family == "squares" else sympy.sin(a) * a
for _ in range(n - 1):
    x = x * x if family == "squares" else sympy.sin(x) * x
started = time.perf_counter()
d = sympy.diff(x, a)
text = str(d)
seconds = time.perf_counter() - started
print(json.dumps({"chars": len(text), "ops": int(sympy.count_ops(d)), "seconds": seconds}))
"""


def program(family: str, n: int) -> str:
    first, step = FAMILIES[family]
    return "; ".join([first, *(step.format(k=k, k1=k + 1) for k in range(1, n))])


def ours(family: str, n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from backprop import parse
    from backprop.cli.render.formula import render
    from backprop.graph.adjoint import derivative

    parsed = parse(program(family, n))
    started = time.perf_counter()
    text = render(derivative(parsed, ["a"]))
    seconds = time.perf_counter() - started
    return {"statements": len(text.splitlines()), "chars": len(text), "seconds": seconds}


def sympy(family: str, n: int, cap: float) -> dict | None:
    """SymPy's size and time in a fresh process; None past the cap."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", SYMPY, family, str(n)], capture_output=True, text=True, timeout=cap
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout)


def ratio(large, small, key: str) -> str:
    if large is None or small is None:
        return "—"
    return f"{large[key] / max(small[key], 1e-9):.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,10", help="two program lengths n, 2n (default 5,10)")
    parser.add_argument("--cap", type=float, default=60.0, help="SymPy's seconds per size (default 60)")
    options = parser.parse_args()
    sizes = [int(n) for n in options.sizes.split(",")]
    for family in FAMILIES:
        mine = {n: ours(family, n) for n in sizes}
        theirs = {n: sympy(family, n, options.cap) for n in sizes}
        print(f"{family}:")
        for n in sizes:
            m, s = mine[n], theirs[n]
            sympy_text = (
                f"past the {options.cap:g} s cap"
                if s is None
                else f"{s['chars']:,} chars, {s['ops']:,} ops, {s['seconds']:.3f} s"
            )
            print(
                f"  n={n:<4} ours {m['statements']:,} statements, {m['chars']:,} chars, "
                f"{m['seconds']:.3f} s · sympy {sympy_text}"
            )
        small, large = sizes[0], sizes[-1]
        print(
            f"  n={small}→{large}: ours chars {ratio(mine[large], mine[small], 'chars')}, "
            f"sympy chars {ratio(theirs[large], theirs[small], 'chars')}, "
            f"sympy ops {ratio(theirs[large], theirs[small], 'ops')}"
        )


if __name__ == "__main__":
    main()
