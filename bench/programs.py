"""The benchmark programs, as plain step lists that every peer turns into its own graph.

A program is a list of steps in topological order; step i is one of
    ("input", name)        an input variable
    ("const", value)       a constant
    (op, a)  or (op, a, b) an op over earlier steps, op in OPS below
All three shapes use only what every peer has (micrograd's Value has add, mul, sub and relu):
    chain   a long dependency chain  v_i = relu(v_{i-1}) * 0.999 + y  (depth ~ n)
    wide    a wide sum of squares    x_0² + x_1² + … over many inputs (depth ~ n, fan-in at the top)
    dag     a random DAG with sharing: each node combines two earlier nodes, mostly recent ones
"""

from __future__ import annotations

import random

OPS = ("add", "sub", "mul", "relu")
SYMBOL = {"add": "+", "sub": "-", "mul": "*"}


def chain(n: int) -> list[tuple]:
    steps: list[tuple] = [("input", "x"), ("input", "y"), ("const", 0.999)]
    previous = 0
    while len(steps) < n:
        steps.append(("relu", previous))
        steps.append(("mul", len(steps) - 1, 2))
        steps.append(("add", len(steps) - 1, 1))
        previous = len(steps) - 1
    return steps


def wide(n: int) -> list[tuple]:
    count = max(1, n // 3)
    steps: list[tuple] = [("input", f"x{i}") for i in range(count)]
    total = None
    for i in range(count):
        steps.append(("mul", i, i))  # x_i²
        if total is None:
            total = len(steps) - 1
        else:
            steps.append(("add", total, len(steps) - 1))
            total = len(steps) - 1
    return steps


def dag(n: int, seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    steps: list[tuple] = [("input", f"w{i}") for i in range(8)] + [("const", 0.5)]
    half = len(steps) - 1
    while len(steps) < n:
        size = len(steps)
        a = size - 1 - min(int(rng.expovariate(0.3)), size - 1)  # mostly recent: shared, deep
        b = rng.randrange(size)
        kind = rng.random()
        if kind < 0.4:  # a/2 + b/2: every node, intermediates too, stays within the inputs' range
            steps.append(("mul", a, half))
            steps.append(("mul", b, half))
            steps.append(("add", len(steps) - 2, len(steps) - 1))
        elif kind < 0.7:
            steps.append(("mul", a, b))
        else:
            steps.append(("sub", a, b))
            steps.append(("relu", len(steps) - 1))
    return steps


SHAPES = {"chain": chain, "wide": wide, "dag": dag}


def inputs_of(steps: list[tuple]) -> dict[str, float]:
    """The point every peer is evaluated at: inputs spread over (0.1, 0.9)."""
    names = [step[1] for step in steps if step[0] == "input"]
    return {name: 0.1 + 0.8 * (i * 0.618034 % 1.0) for i, name in enumerate(names)}


def to_text(steps: list[tuple]) -> str:
    """The same program in backprop's language, one statement per op."""
    names: list[str] = []
    lines = []
    for i, step in enumerate(steps):
        kind = step[0]
        if kind == "input":
            names.append(step[1])
        elif kind == "const":
            names.append(repr(step[1]))
        else:
            name = f"v{i}"
            args = [names[j] for j in step[1:]]
            if kind in SYMBOL:
                expr = f"{args[0]} {SYMBOL[kind]} {args[1]}"
            else:
                expr = f"{kind}({args[0]})"
            lines.append(f"{name} = {expr}")
            names.append(name)
    return "\n".join(lines)
