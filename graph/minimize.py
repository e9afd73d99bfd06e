"""Training, as the lectures end it: gradient descent on a program's output, the loss.

Each step is the notes' §5.2: a forward pass, a backward pass, and every parameter moved against
its gradient, `W ← W − η ∂L/∂W`. The program is parsed once; each step re-runs the same tape at the
new parameters. The other inputs (the data) are held fixed, or with a batch size, each step takes
that many rows of the named data inputs along their first axis, drawn with a seeded generator
(stochastic gradient descent: "repeat over many images").

The update rules, with g the gradient and t = 1, 2, … the step:
    gd        θ ← θ − η g
    momentum  v ← β v + g;  θ ← θ − η v                        (β = 0.9, heavy ball)
    adam      m ← β₁ m + (1 − β₁) g;  s ← β₂ s + (1 − β₂) g²;
              θ ← θ − η m̂ / (√ŝ + ε), m̂ = m / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ)
                                                              (β₁ = 0.9, β₂ = 0.999, ε = 1e-8)
Divergence is an outcome, not an error: when the loss or a gradient stops being finite, or a
value leaves its domain, training stops and keeps the last parameters whose loss was finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import kernels
from .engine import backward, evaluate_given, forward, needs_grad_of
from .errors import BackpropError, InputError
from .program import Program

METHODS = ("gd", "momentum", "adam")
MOMENTUM = 0.9
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class Step:
    """One step's numbers, as the progress bar and the log show them."""

    step: int  # 1 for the first update
    loss: float  # at the parameters before this step's update (on this step's rows)
    grad_norm: float  # the norm of every parameter's gradient together
    lr: float


@dataclass
class Training:
    """What a run of gradient descent did."""

    wrt: list[str]
    method: str
    lr: float
    start: dict[str, object]  # the parameters given
    params: dict[str, object]  # the last parameters whose loss was finite
    loss_start: float  # on all the data
    loss_final: float  # on all the data, at `params`
    steps: int  # updates made
    stopped: str  # "steps", "gtol", "diverged" or "interrupted"
    grad_norm: float | None  # at `params`, on all the data (None where it is not finite there)
    history: list[float] = field(default_factory=list)  # the losses of steps 1, 1 + n, … (history_every)
    reason: str | None = None  # why it diverged


def minimize(
    program: Program,
    values: Mapping[str, object],
    wrt: list[str],
    *,
    lr: float = 0.1,
    steps: int = 100,
    method: str = "gd",
    gtol: float = 0.0,
    batch_size: int | None = None,
    data: tuple[str, ...] = (),
    seed: int = 0,
    history_every: int = 1,
    on_step: Callable[[Step], None] | None = None,
) -> Training:
    """Move the inputs `wrt` against the gradient of the program's output, `steps` times or until
    the gradient's norm falls below `gtol`. `on_step` hears of every step; a KeyboardInterrupt
    raised in it (or during a step) stops training after the step in hand. The history keeps the
    loss of steps 1, 1 + n, 1 + 2n, … for n = `history_every`, so a long run's memory stays bounded."""
    _check_settings(program, wrt, lr, steps, method, gtol, data)
    if history_every < 1:
        raise InputError(f"--history-stride must be at least 1, not {history_every}")
    first, _unused = evaluate_given(program, values)  # every error of the values is raised here
    _check_batch(values, batch_size, data)
    rows = _RowSampler(values, data, batch_size, seed)
    descent = _Descent(program, values, wrt, _RULES[method](lr), history_every, first.value)
    outcome = ("steps", None)
    try:
        for step in range(1, steps + 1):
            outcome = descent.step(step, rows.draw(), lr, gtol, on_step) or outcome
            if outcome[0] != "steps":
                break
    except KeyboardInterrupt:
        outcome = ("interrupted", None)
    loss, norm = descent.at_the_end()
    stopped, reason = outcome
    start = {name: values[name] for name in wrt}
    return Training(
        wrt, method, lr, start, descent.params, first.value, loss, descent.updates, stopped, norm,
        descent.history, reason,
    )  # fmt: skip


class _Descent:
    """A run's state: the parameters, the ones before the last update (whose loss was finite), the
    updates made and the losses kept."""

    def __init__(self, program: Program, values: Mapping, wrt: list[str], update, every: int, loss: float):
        self.program, self.values, self.wrt, self.update, self.every = program, values, wrt, update, every
        self.needs = needs_grad_of(program, wrt)  # no gradient for the data, nor for constants
        self.params, self.previous, self.updates = {name: values[name] for name in wrt}, None, 0
        self.history, self.last_loss = [], loss

    def step(self, step: int, rows: dict, lr: float, gtol: float, on_step) -> tuple | None:
        """One step: None to go on, or (stopped, reason)."""
        point = {**self.values, **self.params, **rows}
        loss, grads = _loss_and_gradients(self.program, point, self.wrt, self.needs)
        if loss is None:  # back to the parameters whose loss was finite
            if self.previous is not None:
                self.params, self.updates = self.previous, self.updates - 1
            return "diverged", f"step {step}: {grads}"
        self.last_loss = loss
        if (step - 1) % self.every == 0:
            self.history.append(loss)
        norm = _norm(grads.values())
        if not math.isfinite(norm):
            return "diverged", f"step {step}: the gradient's norm is past the largest float"
        if on_step is not None:
            on_step(Step(step, loss, norm, lr))
        if norm < gtol:
            return "gtol", None
        moved = self.update(self.params, grads, step)
        if not all(kernels.is_finite(value) for value in moved.values()):
            return "diverged", f"step {step}: a parameter stopped being finite"
        self.previous, self.params, self.updates = self.params, moved, self.updates + 1
        return None

    def at_the_end(self) -> tuple[float, float | None]:
        """The loss and the gradient's norm at the final parameters, on all the data (the norm None
        where it is not finite; the last loss seen where the loss itself is not)."""
        loss, grads = _loss_and_gradients(self.program, {**self.values, **self.params}, self.wrt, self.needs)
        if loss is None:  # the last finite parameters may still fail on every row of the data
            return self.last_loss, None
        norm = _norm(grads.values())
        return loss, norm if math.isfinite(norm) else None


def _loss_and_gradients(program: Program, point: dict, wrt: list[str], needs: bytearray):
    """(loss, {name: gradient}) at the point, or (None, why) where they are not finite."""
    try:
        values = forward(program, point)
        loss = values[program.output]
        if type(loss) is not float:
            raise InputError("the loss must be a scalar")
        grads = backward(program, values, needs=needs, give_back=True)  # only the inputs' gradients are read
    except BackpropError as failure:
        return None, _why(program, point, needs, failure)
    return loss, {name: _gradient(program, grads, name, point) for name in wrt}


def _why(program: Program, point: dict, needs: bytearray, failure: BackpropError) -> str:
    """The failure's message; for a gradient that is not finite, from a pass that keeps every value,
    so that it names the subexpression at fault (a pass that gave memory back cannot)."""
    try:
        backward(program, forward(program, point), needs=needs)
    except BackpropError as precise:
        return precise.message
    return failure.message


def _gradient(program: Program, grads: list, name: str, point: dict):
    grad = grads[program.inputs[name]]
    return 0.0 * point[name] if grad is None else grad  # an input that does not reach the loss


def _norm(gradients) -> float:
    """√(Σ g²) over every element of every gradient, without overflow in the squares (inf only
    where the norm itself is past the largest float): math.hypot for scalars (5× faster, measured),
    the sum scaled by the largest |g| for arrays."""
    gradients = list(gradients)
    if all(type(grad) is float for grad in gradients):
        return math.hypot(*gradients)
    largest = max(float(abs(g)) if type(g) is float else float(abs(g).max()) for g in gradients)
    if largest == 0.0:
        return 0.0
    total = 0.0
    for grad in gradients:
        scaled = grad / largest
        total += scaled * scaled if type(grad) is float else float((scaled * scaled).sum())
    return largest * math.sqrt(total)


# -- the update rules: each a function of (params, grads, step) → new params ----------------------


def _gd(lr: float):
    def update(params: dict, grads: dict, step: int) -> dict:
        return {name: params[name] - lr * grads[name] for name in params}

    return update


def _momentum(lr: float):
    velocity: dict = {}

    def update(params: dict, grads: dict, step: int) -> dict:
        for name in params:
            velocity[name] = MOMENTUM * velocity.get(name, 0.0) + grads[name]
        return {name: params[name] - lr * velocity[name] for name in params}

    return update


def _adam(lr: float):
    first: dict = {}
    second: dict = {}

    def update(params: dict, grads: dict, step: int) -> dict:
        moved = {}
        for name, g in grads.items():
            first[name] = ADAM_BETA1 * first.get(name, 0.0) + (1.0 - ADAM_BETA1) * g
            second[name] = ADAM_BETA2 * second.get(name, 0.0) + (1.0 - ADAM_BETA2) * g * g
            m_hat = first[name] / (1.0 - ADAM_BETA1**step)
            s_hat = second[name] / (1.0 - ADAM_BETA2**step)
            moved[name] = params[name] - lr * m_hat / (kernels.sqrt(s_hat) + ADAM_EPSILON)
        return moved

    return update


_RULES = {"gd": _gd, "momentum": _momentum, "adam": _adam}


# -- minibatches ---------------------------------------------------------------------------------


class _RowSampler:
    """Each step's rows of the data inputs: all of them, or `batch_size` drawn without replacement
    by a generator seeded once, so that the same seed gives the same run."""

    def __init__(self, values: Mapping, data: tuple[str, ...], batch_size: int | None, seed: int) -> None:
        self.values, self.data, self.batch_size = values, data, batch_size
        if batch_size is not None:
            self.count = kernels.shape(values[data[0]])[0]
            self.random = kernels.numpy().random.default_rng(seed)

    def draw(self) -> dict:
        if self.batch_size is None:
            return {}
        chosen = self.random.choice(self.count, size=self.batch_size, replace=False)
        return {name: self.values[name][chosen] for name in self.data}


def _check_settings(program, wrt, lr, steps, method, gtol, data) -> None:
    """Settings that cannot work, refused before the first step with what to write instead."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", hint=f"the methods are: {', '.join(METHODS)}")
    if not 0 < lr < math.inf:
        raise InputError(f"--lr must be a positive, finite number, not {lr}", hint="e.g. --lr 0.01")
    if steps < 1:
        raise InputError(f"--steps must be at least 1, not {steps}", hint="e.g. --steps 100")
    if not 0 <= gtol < math.inf:
        raise InputError(
            f"--gtol must be 0 or a positive, finite number, not {gtol}", hint="e.g. --gtol 1e-8"
        )
    if not wrt:
        raise InputError("no parameter to train", hint="name them with --wrt, e.g. --wrt w,b")
    for name in [*wrt, *data]:
        if name not in program.inputs:
            raise InputError(
                f"{name} is not an input of the program",
                hint=f"the inputs are: {', '.join(program.inputs) or 'none'}",
            )
    for name in data:
        if name in wrt:
            raise InputError(f"{name} is named both by --wrt and by --data", hint="data is held, not trained")


def _check_batch(values, batch_size, data) -> None:
    if batch_size is None:
        if data:
            raise InputError("--data goes with --batch-size", hint="e.g. --batch-size 32 --data X,y")
        return
    if not data:
        raise InputError(
            "--batch-size needs --data: the inputs whose rows make the batches", hint="e.g. --data X,y"
        )
    counts = {name: kernels.shape(values[name])[:1] for name in data}
    for name, count in counts.items():
        if not count:
            raise InputError(
                f"--data {name} is a scalar: it has no rows to draw from", hint="name the inputs with rows"
            )
    rows = {count[0] for count in counts.values()}
    if len(rows) > 1:
        listed = ", ".join(f"{name} {count[0]}" for name, count in counts.items())
        raise InputError(
            f"the --data inputs have different numbers of rows: {listed}", hint="give each one row a point"
        )
    total = rows.pop()
    if not 1 <= batch_size <= total:
        raise InputError(
            f"--batch-size {batch_size} is not between 1 and the {total} rows of the data",
            hint=f"e.g. --batch-size {min(32, total)}",
        )
