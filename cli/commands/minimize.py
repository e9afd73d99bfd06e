"""`backprop minimize`: gradient descent on a program's output, as the lectures end (notes §5.2)."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ...graph.errors import InputError
from ...graph.limits import DEFAULT_EPS, DEFAULT_SAMPLES, DEFAULT_TOL
from ..options import PROGRAM_SETTINGS, Eps, ProgramInputs, require_positive, takes_program
from ..render.text import output_path, warn, warn_about_check

EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 130
HISTORY_POINTS = 10_000
"""Every step's loss is kept up to this many steps; a longer run keeps every Nth (`history_stride`),
so its memory stays bounded however many steps are asked for."""

EXAMPLES = """
Examples:

  backprop minimize "(x - 3)**2 + (y + 1)**2" --x 0 --y 0 --wrt x,y

  backprop minimize "(1 - x)**2 + 100*(y - x**2)**2" --x -1 --y 1 --wrt x,y --method adam --lr 0.01 --steps 5000

  backprop minimize "mean((X @ w - y)**2)" --X @X.csv --y @y.csv --w '[0, 0]' --wrt w --save w.json --json

  backprop minimize "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2" --W1 '[[2,1],[1,1]]' --W2 '[1,-1]' --x '[1,2]' --y 3 --wrt W1,W2 --steps 1
"""

SETTINGS = {**PROGRAM_SETTINGS, "epilog": EXAMPLES}


class Method(str, Enum):
    gd = "gd"
    momentum = "momentum"
    adam = "adam"


Wrt = Annotated[
    str,
    typer.Option(
        "--wrt", metavar="NAME[,NAME...]", help="The parameters to train; every other input is held."
    ),
]
Lr = Annotated[float, typer.Option("--lr", metavar="η", help="The learning rate η: θ ← θ − η·∂L/∂θ.")]
Steps = Annotated[int, typer.Option("--steps", metavar="N", help="The most steps to take.")]
MethodOption = Annotated[
    Method,
    typer.Option(
        "--method",
        case_sensitive=False,
        help="gd (the lectures' update), momentum (β 0.9) or adam (β₁ 0.9, β₂ 0.999, ε 1e-8).",
    ),
]
Gtol = Annotated[float, typer.Option("--gtol", metavar="G", help="Stop once the gradient's norm is below G.")]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size", metavar="B", help="Stochastic gradient descent: each step uses B rows of --data."
    ),
]
Data = Annotated[
    str | None,
    typer.Option(
        "--data", metavar="NAME[,NAME...]", help="The data inputs whose rows (first axis) --batch-size draws."
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the batches' draw: the same seed, the same run.")]
Check = Annotated[
    bool, typer.Option("--check", help="A gradient check at the starting point first; exit 1 if it fails.")
]
Log = Annotated[
    str | None, typer.Option("--log", metavar="FILE", help="Write one JSON line per step (tail -f works).")
]
Save = Annotated[
    str | None,
    typer.Option("--save", metavar="FILE", help="Write the final parameters as a --vars JSON file."),
]
Plot = Annotated[
    str | None,
    typer.Option(
        "--plot",
        metavar="FILE",
        help='Draw the loss curve to .png, .svg or .pdf (pip install "backprop[plot]").',
    ),
]
Tol = Annotated[
    float,
    typer.Option(help="Tolerance of --check, as eval's: |numeric − analytic| ≤ tol·max(1, |analytic|)."),
]
HistoryStride = Annotated[
    int | None,
    typer.Option(
        "--history-stride",
        metavar="N",
        help=f"Keep every Nth step's loss, for --json, the curve and --plot (default: every one, up to {HISTORY_POINTS:,} steps).",
    ),
]


@takes_program()
def command(
    given: ProgramInputs,
    wrt: Wrt,
    lr: Lr = 0.1,
    steps: Steps = 100,
    method: MethodOption = Method.gd,
    gtol: Gtol = 0.0,
    batch_size: BatchSize = None,
    data: Data = None,
    seed: Seed = 0,
    check: Check = False,
    eps: Eps = DEFAULT_EPS,
    tol: Tol = DEFAULT_TOL,
    log: Log = None,
    save: Save = None,
    plot: Plot = None,
    history_stride: HistoryStride = None,
) -> None:
    """Train: move the inputs --wrt against the gradient of PROGRAM's output (the loss), step by step.

    Each step is a forward pass, a backward pass and the update θ ← θ − η·∂L/∂θ (notes §5.2); the program is parsed once. The other inputs (data such as X and y) are held, or with --batch-size each step draws that many of their rows. Divergence (a loss or gradient that stops being finite) stops training and keeps the last finite parameters; Ctrl-C stops after the step in hand and still prints and saves.

    Exit codes: 0 trained (all steps, or --gtol reached), 1 diverged or a failed --check, 2 an error in the program, the values or the options, 130 interrupted.
    """
    from ...graph.minimize import minimize

    names, held = _names(wrt, "--wrt"), _names(data, "--data") if data else ()
    stride = _stride(history_stride, steps)
    save, plot, log = (
        None if name is None else output_path(name, option)  # a str: Path would read ./-x as -x
        for name, option in ((save, "--save"), (plot, "--plot"), (log, "--log"))
    )
    _check_outputs(save, plot)
    program = given.parse()
    report = _check_first(given, program, eps, tol) if check else None
    if report is not None and not report.passed:
        _show(given, None, stride, report)
        raise typer.Exit(EXIT_DIVERGED)
    with _Steps(log, steps) as on_step:
        training = minimize(
            program, given.values, names, lr=lr, steps=steps, method=method.value, gtol=gtol,
            batch_size=batch_size, data=held, seed=seed, history_every=stride, on_step=on_step,
        )  # fmt: skip
    if save is not None:
        _save(training.params, save)
    if plot is not None:
        from ..render.curve import save_plot

        save_plot(
            training.history, plot, title=f"backprop minimize · {method.value}, η = {lr:g}", stride=stride
        )
    _show(given, training, stride, report)
    if training.stopped == "diverged":
        warn(f"training diverged ({training.reason}); try a smaller --lr than {lr:g}")
    raise typer.Exit({"diverged": EXIT_DIVERGED, "interrupted": EXIT_INTERRUPTED}.get(training.stopped, 0))


def _check_outputs(save: Path | None, plot: Path | None) -> None:
    """Where the results go, judged before training rather than after it."""
    for option, path in (("--save", save), ("--plot", plot)):
        if path is not None and not path.parent.is_dir():
            raise InputError(f"cannot write {option} {str(path)!r}: there is no folder {str(path.parent)!r}")
    if plot is not None:
        import importlib.util

        from ..render.curve import INSTALL_PLOT, PLOT_SUFFIXES

        if plot.suffix.lower() not in PLOT_SUFFIXES:
            raise InputError(
                f"--plot {plot.name}: cannot draw a {plot.suffix or 'suffix-less'} file",
                hint=f"give a {', '.join(PLOT_SUFFIXES)} file",
            )
        if importlib.util.find_spec("matplotlib") is None:
            raise InputError("--plot needs matplotlib, which is not installed", hint=INSTALL_PLOT)


def _names(text: str, option: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise InputError(f"{option} names no input", hint=f"e.g. {option} w,b")
    return names


def _stride(history_stride: int | None, steps: int) -> int:
    if history_stride is None:  # minimize itself refuses a stride below 1
        return max(1, -(-steps // HISTORY_POINTS))  # ceil: at most HISTORY_POINTS losses
    return history_stride


def _check_first(given: ProgramInputs, program, eps: float, tol: float):
    """The gradient check at the starting point, warning as eval's does."""
    from ...graph.check import gradient_check

    require_positive(("--eps", eps), ("--tol", tol))
    evaluation = given.evaluate(program)
    report = gradient_check(evaluation, eps=eps, tol=tol, samples=DEFAULT_SAMPLES)
    warn_about_check(report, program)
    return report


def _show(given: ProgramInputs, training, stride: int, report) -> None:
    if given.json:
        from ..render.json import print_json, training_json

        print_json(training_json(training, given.source, stride, report))
        return
    from ..render.tables import print_check, print_training

    if report is not None:
        from ..render.text import stdout_console

        print_check(stdout_console(highlight=False), report, limit=None)
    if training is not None:
        print_training(training, given.source, stride)


def _save(params: dict, path: Path) -> None:
    """The parameters as a --vars file, written whole or not at all (a temporary file, renamed)."""
    from ..render.json import json_line, number
    from ..render.text import write_atomically

    document = {name: number(value) for name, value in params.items()}
    write_atomically(path, json_line(document).encode("utf-8"), "--save")


class _Steps:
    """What hears of each step: the --log file (a line a step, flushed) and, when stderr is a
    terminal, a progress bar with the step, the loss, the gradient's norm and the rate."""

    def __init__(self, log: Path | None, steps: int) -> None:
        self.log_path, self.steps = log, steps
        self.log = self.progress = None

    def __enter__(self):
        from ..render.json import json_line

        if self.log_path is not None:
            try:
                self.log = self.log_path.open("w", encoding="utf-8")
            except OSError as failure:
                raise InputError(f"cannot write --log {str(self.log_path)!r}: {failure.strerror}") from None
        if sys.stderr.isatty():
            self._start_progress()

        def on_step(step) -> None:
            if self.log is not None:
                self.log.write(
                    json_line(
                        {"step": step.step, "loss": step.loss, "grad_norm": step.grad_norm, "lr": step.lr}
                    )
                )
                self.log.flush()
            if self.progress is not None:
                rate = step.step / max(time.perf_counter() - self.started, 1e-9)
                self.progress.update(
                    self.task, completed=step.step, loss=step.loss, norm=step.grad_norm, rate=rate
                )

        return on_step

    def _start_progress(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("step"), MofNCompleteColumn(), BarColumn(),
            TextColumn("loss {task.fields[loss]:.6g} · ‖∇‖ {task.fields[norm]:.3g} · {task.fields[rate]:,.0f} steps/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self.progress.__enter__()
        self.task = self.progress.add_task("", total=self.steps, loss=0.0, norm=0.0, rate=0.0)
        self.started = time.perf_counter()

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
        if self.log is not None:
            self.log.close()
