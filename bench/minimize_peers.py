"""One training measurement in a fresh process, for bench/minimize.py:
`python bench/minimize_peers.py PEER PROBLEM ROWS STEPS REPEAT BUDGET THREADS` prints JSON.

Every peer trains the same model from the same seeded data and initial parameters with plain
gradient descent at a fixed learning rate, its data held fixed (no batches). First it runs
CHECK_STEPS steps and compares its losses and parameters with ours (read as JSON from standard
input; `null` for ours itself): a peer that disagrees is reported and not timed. Then it times
runs of STEPS steps from the initial parameters, REPEAT times or until BUDGET seconds have gone,
and reports each run's seconds per step.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import traceback
from pathlib import Path

# Measure the checkout beside this folder, not a copy installed into the environment.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHECK_STEPS = 3
TOLERANCE = 1e-9  # relative; the peers agree with ours to ~1e-15 (sums taken in another order)
SEED = 16
INPUTS, HIDDEN = 64, 16


def problem(name: str, rows: int) -> dict:
    """The program text, its data, its initial parameters (the inputs trained; float64) and lr."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    if name == "rosenbrock":
        text = "(1 - x)**2 + 100*(y - x**2)**2"
        return {"text": text, "data": {}, "params": {"x": -1.0, "y": 1.0}, "lr": 1e-3}
    if name == "linreg":
        X = rng.standard_normal((rows, 10))
        y = X @ rng.standard_normal(10) + 0.1 * rng.standard_normal(rows)
        return {
            "text": "mean((X @ w - y)**2)",
            "data": {"X": X, "y": y},
            "params": {"w": np.zeros(10)},
            "lr": 0.1,
        }
    if name == "mlp":
        X = rng.standard_normal((rows, INPUTS))
        y = (X @ rng.standard_normal((INPUTS, 1)) > 0.0).astype(np.float64)  # a 0/1 target
        params = {
            "W1": rng.standard_normal((INPUTS, HIDDEN)) / math.sqrt(INPUTS),
            "b1": np.zeros(HIDDEN),
            "W2": rng.standard_normal((HIDDEN, 1)) / math.sqrt(HIDDEN),
            "b2": np.zeros(1),
        }
        text = "h = sigmoid(X @ W1 + b1)\nyhat = sigmoid(h @ W2 + b2)\nL = mean((yhat - y)**2)"
        return {"text": text, "data": {"X": X, "y": y}, "params": params, "lr": 0.5}
    raise SystemExit(f"unknown problem {name!r}")


# Each peer is a function (problem) → a trainer: trainer(steps) resets the parameters to the
# initial ones, makes `steps` updates, and returns (each step's loss or None, the loss after the
# last update or None, the parameters as flat lists). Asked for no losses (timing), it computes
# none beyond what its own loop needs.


# -- ours ----------------------------------------------------------------------------------------


def ours(spec: dict):
    from backprop import parse
    from backprop.graph.minimize import minimize

    program = parse(spec["text"])  # parsed once: every run and step reuses its tape
    values, wrt = {**spec["data"], **spec["params"]}, list(spec["params"])

    def train(steps: int, losses: bool = False):
        done = minimize(program, values, wrt, lr=spec["lr"], steps=steps)
        return done.history, done.loss_final, {name: _flat(done.params[name]) for name in wrt}

    return train


# -- PyTorch: float64 tensors, torch.optim.SGD, the zero_grad / backward / step loop ---------------


def torch_peer(spec: dict):
    import torch

    data = {name: torch.tensor(value, dtype=torch.float64) for name, value in spec["data"].items()}
    loss_of = {
        "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        "linreg": lambda w: ((data["X"] @ w - data["y"]) ** 2).mean(),
        "mlp": lambda W1, b1, W2, b2: (
            (torch.sigmoid(torch.sigmoid(data["X"] @ W1 + b1) @ W2 + b2) - data["y"]) ** 2
        ).mean(),
    }[spec["name"]]

    def train(steps: int, losses: bool = False):
        params = [
            torch.tensor(value, dtype=torch.float64, requires_grad=True) for value in spec["params"].values()
        ]
        optimizer = torch.optim.SGD(params, lr=spec["lr"])
        history = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_of(*params)
            loss.backward()
            optimizer.step()
            if losses:
                history.append(loss.item())
        final = loss_of(*params).item() if losses else None
        return (
            history,
            final,
            {name: p.detach().numpy().ravel().tolist() for name, p in zip(spec["params"], params)},
        )

    return train


# -- micrograd: the demo's loop, the expression rebuilt from Values every step ---------------------
# Python's garbage collector stays on, as in the demo: each step's graph is reference cycles
# (closures holding their node), and collecting them is part of micrograd's step (with it off,
# a step at 32 rows of the mlp took 0.24 s instead of 1.5-3 s, measured).


def micrograd_peer(spec: dict):
    from micrograd.engine import Value

    data = {name: value.tolist() for name, value in spec["data"].items()}
    name, lr = spec["name"], spec["lr"]

    def sigmoid(v):
        """σ as a micrograd op (it has none): forward value and local chain rule side by side."""
        z = math.exp(-abs(v.data))
        s = 1.0 / (1.0 + z) if v.data >= 0.0 else z / (1.0 + z)
        out = Value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def loss_of(p):
        if name == "rosenbrock":
            x, y = p["x"], p["y"]
            return (1 - x) ** 2 + 100 * (y - x**2) ** 2
        if name == "linreg":
            rows = zip(data["X"], data["y"])
            total = sum(
                ((sum(w * x for w, x in zip(p["w"], row)) - target) ** 2 for row, target in rows), Value(0.0)
            )
            return total * (1.0 / len(data["y"]))
        W1 = list(zip(*p["W1"]))  # the columns: one weight vector per hidden unit
        W2 = [row[0] for row in p["W2"]]
        total = Value(0.0)
        for row, (target,) in zip(data["X"], data["y"]):
            h = [sigmoid(sum((w * x for w, x in zip(column, row)), b)) for column, b in zip(W1, p["b1"])]
            yhat = sigmoid(sum((w * hk for w, hk in zip(W2, h)), p["b2"][0]))
            total = total + (yhat - target) ** 2
        return total * (1.0 / len(data["y"]))

    def train(steps: int, losses: bool = False):
        p = {key: _values(Value, value) for key, value in spec["params"].items()}
        leaves = [leaf for value in p.values() for leaf in _leaves(value)]
        history = []
        for _ in range(steps):
            for leaf in leaves:
                leaf.grad = 0.0
            loss = loss_of(p)
            loss.backward()
            for leaf in leaves:
                leaf.data -= lr * leaf.grad
            history.append(loss.data)
        final = loss_of(p).data if losses else None
        return history, final, {key: [leaf.data for leaf in _leaves(value)] for key, value in p.items()}

    return train


def _values(Value, value):
    """Nested lists of Values in the shape of a float or an array."""
    value = value.tolist() if hasattr(value, "tolist") else value
    return [_values(Value, element) for element in value] if isinstance(value, list) else Value(value)


def _leaves(nested):
    if isinstance(nested, list):
        return [leaf for element in nested for leaf in _leaves(element)]
    return [nested]


def _flat(value) -> list[float]:
    return [value] if isinstance(value, float) else value.ravel().tolist()


PEERS = {"ours": ours, "torch": torch_peer, "micrograd": micrograd_peer}


def differences(reference: dict, check: dict) -> dict:
    """The largest relative difference from ours after CHECK_STEPS steps: in the losses (each
    step's and the one after the last update) and in the parameters."""

    def relative(a: float, b: float) -> float:
        return abs(a - b) / max(1.0, abs(a), abs(b))

    ours_losses, their_losses = (
        [*reference["losses"], reference["loss_after"]],
        [*check["losses"], check["loss_after"]],
    )
    return {
        "losses": max(relative(a, b) for a, b in zip(ours_losses, their_losses, strict=True)),
        "params": max(
            relative(a, b)
            for name, values in reference["params"].items()
            for a, b in zip(values, check["params"][name], strict=True)
        ),
    }


def measure(peer: str, spec: dict, steps: int, repeat: int, budget: float, reference: dict | None) -> dict:
    train = PEERS[peer](spec)
    losses, after, params = train(CHECK_STEPS, losses=True)
    check = {"losses": losses[:CHECK_STEPS], "loss_after": after, "params": params}
    result: dict = {"check": check}
    if reference is not None:
        result["differences"] = differences(reference, check)
        if not all(difference <= TOLERANCE for difference in result["differences"].values()):  # NaN too
            return {**result, "error": "disagrees with ours: not timed"}
    train(1)  # a warm-up step: lazy imports and first-call set-up are not a step's cost
    seconds, began = [], time.perf_counter()
    while len(seconds) < repeat and (not seconds or time.perf_counter() - began < budget):
        start = time.perf_counter()
        train(steps)
        seconds.append((time.perf_counter() - start) / steps)
    return {**result, "per_step_seconds": seconds}


def main() -> None:
    peer, name, rows, steps, repeat, budget, threads = sys.argv[1:8]
    reference = json.loads(sys.stdin.read() or "null")
    spec = {"name": name, **problem(name, int(rows))}
    if peer == "torch" and int(threads) > 0:  # NumPy's BLAS takes its count from the environment
        import torch

        torch.set_num_threads(int(threads))
    result: dict = {}

    def run() -> None:
        try:
            result.update(measure(peer, spec, int(steps), int(repeat), float(budget), reference))
        except Exception as failure:  # noqa: BLE001 - a peer's failure (RecursionError…) is its result
            traceback.print_exc()
            result.update(error=f"{type(failure).__name__}: {failure}"[:120])

    # micrograd's recursive topological sort goes as deep as its longest chain (a sum over 1000
    # rows is ~1000 deep): raise the limit, on a thread with a big stack, so that it runs at all.
    sys.setrecursionlimit(10**6)
    threading.stack_size(1 << 29)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
