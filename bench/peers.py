"""One measurement in a fresh process: `python bench/peers.py PEER SHAPE SIZE REPEAT` prints JSON.

Each peer builds the same step list (bench/programs.py) into its own graph, runs forward and
backward, and reports the median time over REPEAT runs, its output value and its gradients (so
the caller can check them against ours before trusting the time). A fresh process per
measurement keeps peers from sharing caches, memory or recursion limits.
"""

from __future__ import annotations

import json
import operator
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from programs import SHAPES, inputs_of  # noqa: E402


def timed(run, repeat: int):
    """Median seconds of run() over `repeat` calls, with the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# -- ours ----------------------------------------------------------------------------------------


def ours(steps, point, repeat):
    import tracemalloc

    from backprop.graph.engine import backward, forward
    from backprop.graph.ops import OPS
    from backprop.graph.program import Program

    ops = [None if step[0] in ("input", "const") else OPS[step[0]] for step in steps]

    def build():
        program = Program("")
        add1, add2 = program.add1, program.add2
        for op, step in zip(ops, steps):
            if len(step) == 3:
                add2(op, step[1], step[2], 0, 0)
            elif op is not None:
                add1(op, step[1], 0, 0)
            elif step[0] == "input":
                program.variable(step[1], 0, 0)
            else:
                program.add_constant(step[1], 0, 0)
        program.output = len(program) - 1
        return program

    build_time, program = timed(build, repeat)
    forward_time, values = timed(lambda: forward(program, point), repeat)
    backward_time, grads = timed(lambda: backward(program, values), repeat)
    tracemalloc.start()
    program = build()
    values = forward(program, point)
    grads = backward(program, values)
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    gradients = {
        name: 0.0 if grads[i] is None else grads[i] for name, i in program.inputs.items()
    }  # unreached: 0
    return {
        "seconds": build_time + forward_time + backward_time,
        "build": build_time,
        "forward": forward_time,
        "backward": backward_time,
        "bytes_per_node": retained / len(steps),
        "value": values[-1],
        "gradients": gradients,
    }


ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


def replay(steps, make_input, make_const, relu):
    """Build a peer's graph from the steps: (the value of every step, the inputs by name).
    Each peer's own types do the work (operator overloading), so this loop is the same for all."""
    apply = {**ARITHMETIC, "relu": relu}
    values, inputs = [], {}
    for step in steps:
        kind = step[0]
        if kind == "input":
            inputs[step[1]] = make_input(step[1])
            values.append(inputs[step[1]])
        elif kind == "const":
            values.append(make_const(step[1]))
        else:
            values.append(apply[kind](*[values[i] for i in step[1:]]))
    return values, inputs


# -- micrograd -------------------------------------------------------------------------------------


def micrograd(steps, point, repeat):
    from micrograd.engine import Value

    def run():
        values, inputs = replay(steps, lambda name: Value(point[name]), Value, Value.relu)
        values[-1].backward()
        return values[-1].data, {name: v.grad for name, v in inputs.items()}

    try:
        run()  # at the default recursion limit, as users meet it
        default_limit = "ok"
    except RecursionError:
        default_limit = "RecursionError"
    # Then with the limit raised on a big stack, to time it where it would otherwise fail.
    sys.setrecursionlimit(10**7)
    threading.stack_size(1 << 30)
    box = {}
    worker = threading.Thread(target=lambda: box.update(result=timed(run, repeat)))
    worker.start()
    worker.join()
    seconds, (value, gradients) = box["result"]
    return {
        "seconds": seconds,
        "value": value,
        "gradients": gradients,
        "default_recursion_limit": default_limit,
    }


# -- PyTorch (0-dim tensors) -----------------------------------------------------------------------


def torch_peer(steps, point, repeat):
    import torch

    def run():
        values, inputs = replay(
            steps,
            lambda name: torch.tensor(point[name], dtype=torch.float64, requires_grad=True),
            lambda c: torch.tensor(c, dtype=torch.float64),
            torch.relu,
        )
        values[-1].backward()
        return values[-1].item(), {
            name: 0.0 if v.grad is None else v.grad.item() for name, v in inputs.items()
        }

    seconds, (value, gradients) = timed(run, repeat)
    return {"seconds": seconds, "value": value, "gradients": gradients}


# -- JAX ------------------------------------------------------------------------------------------


def jax_peer(steps, point, repeat, jit: bool):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    names = [step[1] for step in steps if step[0] == "input"]

    def f(*args):
        given = dict(zip(names, args))
        values, _ = replay(steps, given.__getitem__, jnp.float64, jax.nn.relu)
        return values[-1]

    args = [jnp.float64(point[name]) for name in names]
    value_and_grad = jax.value_and_grad(f, argnums=tuple(range(len(names))))
    compile_seconds = None
    if jit:
        value_and_grad = jax.jit(value_and_grad)
        start = time.perf_counter()
        jax.block_until_ready(value_and_grad(*args))
        compile_seconds = time.perf_counter() - start

    def run():
        value, grads = value_and_grad(*args)
        jax.block_until_ready(grads)
        return float(value), {name: float(g) for name, g in zip(names, grads)}

    seconds, (value, gradients) = timed(run, repeat)
    return {"seconds": seconds, "compile_seconds": compile_seconds, "value": value, "gradients": gradients}


# -- SymPy ----------------------------------------------------------------------------------------


def sympy_peer(steps, point, repeat):
    import sympy

    def run():
        values, inputs = replay(steps, sympy.Symbol, sympy.Float, lambda v: sympy.Max(v, 0))
        symbols = list(inputs.values())
        derivatives = [sympy.diff(values[-1], symbol) for symbol in symbols]
        evaluate = sympy.lambdify(symbols, [values[-1], *derivatives], modules="math")
        numbers = evaluate(*[point[name] for name in inputs])
        return float(numbers[0]), {name: float(g) for name, g in zip(inputs, numbers[1:])}

    seconds, (value, gradients) = timed(run, repeat)
    return {"seconds": seconds, "value": value, "gradients": gradients}


PEERS = {
    "ours": ours,
    "micrograd": micrograd,
    "torch": torch_peer,
    "jax": lambda s, p, r: jax_peer(s, p, r, jit=False),
    "jax-jit": lambda s, p, r: jax_peer(s, p, r, jit=True),
    "sympy": sympy_peer,
}


def main() -> None:
    peer, shape, size, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # Small graphs run in about a millisecond: repeat them more (every peer alike) so the
    # median is not a warm-up.
    repeat = max(repeat, min(50, 100_000 // max(size, 1)))
    steps = SHAPES[shape](size)
    point = inputs_of(steps)
    try:
        result = PEERS[peer](steps, point, repeat)
    except (RecursionError, MemoryError) as failure:  # a peer's limit: reported, not a crash
        result = {"error": type(failure).__name__}
    result["nodes"] = len(steps)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
