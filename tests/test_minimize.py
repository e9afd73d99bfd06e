"""Training, as the notes end (§5.2): a bowl, least squares, Rosenbrock's valley, one gradient step
of the §3 network by hand, and the cat-versus-dog classifier on real digits — by the library and
by `backprop minimize`, whose JSON is strict and whose exit codes say how a run ended."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import numpy as np
import pytest
from checks import strict_json

from backprop import evaluate, parse
from backprop.graph.minimize import minimize

DATA = Path(__file__).resolve().parent / "data"

BOWL = "(x - 3)**2 + (y + 1)**2"
LEAST_SQUARES = "mean((X @ w - y)**2)"
ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"
NETWORK = "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2"  # notes §3.1
CLASSIFIER = "h = sigmoid(X/16 @ W1 + b1); yhat = sigmoid(h @ W2 + b2); L = mean((yhat - y)**2)"  # §5.1

NOTES_VALUES = "--W1 '[[2,1],[1,1]]' --W2 '[1,-1]' --x '[1,2]' --y 3"  # §3.1

# The line y = 1 + 2t through the points t = 0, 1, 2, 3: the README's least-squares example.
LINE_POINTS = "--X '[[1,0],[1,1],[1,2],[1,3]]' --y '[1,3,5,7]'"
FIT_LINE = f'minimize "{LEAST_SQUARES}" {LINE_POINTS}'

# The README's classifier: the digits 0 (cat) and 1 (dog), 4 hidden units, SGD on 32 images a step.
TRAIN_DIGITS = f"""minimize "{CLASSIFIER}"
    --X @tests/data/digits-0-1-X.npy --y @tests/data/digits-0-1-y.npy
    --W1 @tests/data/digits-init-W1.npy --b1 '[0,0,0,0]' --W2 @tests/data/digits-init-W2.npy --b2 0
    --wrt W1,b1,W2,b2 --lr 2 --steps 100 --batch-size 32 --data X,y --seed 0 --save digits-params.json"""
PREDICT_DIGITS = f"""eval "{CLASSIFIER}" --vars digits-params.json
    --X @tests/data/digits-0-1-X.npy --y @tests/data/digits-0-1-y.npy --json"""


def run_json(run, command: str) -> tuple[int, dict, str]:
    """`backprop COMMAND … --json`, written as in a shell: the exit code, the strict JSON and stderr."""
    code, out, err = run(*shlex.split(command), "--json")
    return code, strict_json(out), err


def numbers_in(document) -> list[float]:
    """Every number of a JSON document, however deep (1e999 parses to inf even in strict JSON)."""
    if isinstance(document, dict):
        return [n for value in document.values() for n in numbers_in(value)]
    if isinstance(document, list):
        return [n for value in document for n in numbers_in(value)]
    return [float(document)] if isinstance(document, int | float) and not isinstance(document, bool) else []


def seeded_least_squares() -> dict:
    """50 noisy points of y = 1.5·x₁ − 2·x₂ + 0.5·x₃, and w starting at 0."""
    rng = np.random.default_rng(170)
    X = rng.normal(size=(50, 3))
    return {"X": X, "y": X @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=50), "w": np.zeros(3)}


CLASSIFIER_ON_ROWS = "h = sigmoid(X @ W1 + b1); yhat = sigmoid(h @ W2 + b2); L = mean((yhat - y)**2)"


def regression_network(regression: dict) -> dict:
    """The regression's rows as the classifier's input, with seeded weights for 4 hidden units."""
    rng = np.random.default_rng(7)
    W1, W2 = rng.normal(size=(3, 4)), rng.normal(size=4)
    return {"X": regression["X"], "y": regression["y"], "W1": W1, "b1": np.zeros(4), "W2": W2, "b2": 0.0}


@pytest.fixture
def top_folder(tmp_path, monkeypatch):
    """A scratch folder that sees tests/data/ where the repository's top folder does, so the README's
    command lines run here as printed and what they write lands in tmp_path."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(DATA, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------------------------
# The library: minimize(program, values, wrt, …) → Training
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "lr"), [("gd", 0.1), ("momentum", 0.05), ("adam", 0.1)])
def test_a_quadratic_bowl_reaches_its_minimum(method, lr):
    """∇ = (2(x − 3), 2(y + 1)): a gradient below 1e-9 puts (x, y) within 5e-10 of (3, −1).
    Measured: gd stops after 102 updates, adam after 353, momentum (β 0.9) after 376."""
    start = {"x": 0.0, "y": 0.0}
    training = minimize(parse(BOWL), start, ["x", "y"], lr=lr, steps=2000, method=method, gtol=1e-9)
    assert training.stopped == "gtol"
    assert training.params["x"] == pytest.approx(3, abs=1e-9)
    assert training.params["y"] == pytest.approx(-1, abs=1e-9)
    assert training.loss_final < 1e-18


def test_least_squares_reaches_the_normal_equations_answer():
    """The Hessian 2XᵀX/n has eigenvalues 1.35 … 2.56, so lr 0.3 shrinks the error by ≥ 0.6 a step,
    and a gradient below gtol 1e-9 leaves ‖w − w*‖ ≤ 1e-9/1.35. Measured: 40 steps, off by 4e-10."""
    values = seeded_least_squares()
    best, *_ = np.linalg.lstsq(values["X"], values["y"], rcond=None)
    training = minimize(parse(LEAST_SQUARES), values, ["w"], lr=0.3, steps=1000, gtol=1e-9)
    assert training.stopped == "gtol"
    np.testing.assert_allclose(training.params["w"], best, rtol=0, atol=1e-6)


def test_adam_walks_rosenbrocks_valley_to_1_1():
    """From (−1, 1), Adam at lr 0.01 is within 0.0028 of (1, 1) after 1000 steps, 1e-4 after 1300
    and 6.8e-6 after 1500 (measured): the bound 1e-4 at 1500 steps leaves a margin of 15."""
    start = {"x": -1.0, "y": 1.0}
    training = minimize(parse(ROSENBROCK), start, ["x", "y"], lr=0.01, steps=1500, method="adam")
    assert training.steps == 1500
    assert math.hypot(training.params["x"] - 1, training.params["y"] - 1) < 1e-4


def test_one_gradient_step_of_the_notes_network_is_the_hand_worked_update():
    """§3.3 by hand: ∂L/∂ŷ = −4; ∂L/∂W2 = ŷ.grad·hᵀ = −4·[4, 3]; h.grad = W2ᵀ·(−4) = [−4, 4] and
    ∂L/∂W1 = h.grad·xᵀ. One step of §5.2, W ← W − η ∂L/∂W, is exactly that, element for element."""
    W1, W2, x = np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([1.0, -1.0]), np.array([1.0, 2.0])
    eta = 0.01
    training = minimize(parse(NETWORK), {"W1": W1, "W2": W2, "x": x, "y": 3.0}, ["W1", "W2"], lr=eta, steps=1)
    assert training.history == [4.0]  # L = (1 − 3)² at the start
    assert np.array_equal(training.params["W2"], W2 - eta * (-4 * np.array([4.0, 3.0])))
    assert np.array_equal(training.params["W1"], W1 - eta * np.outer([-4.0, 4.0], x))


@pytest.mark.parametrize("batch_size", [None, 10], ids=["full-batch", "sgd"])
def test_the_same_seed_gives_the_same_run_bit_for_bit(batch_size):
    batches = {"batch_size": batch_size, "data": ("X", "y")} if batch_size else {}
    first, second = (
        minimize(parse(LEAST_SQUARES), seeded_least_squares(), ["w"], lr=0.1, steps=50, seed=7, **batches)
        for _ in range(2)
    )
    assert first.params["w"].tobytes() == second.params["w"].tobytes()
    assert first.history == second.history


def test_another_seed_draws_other_minibatches():
    batches = {"batch_size": 10, "data": ("X", "y")}
    first, second = (
        minimize(parse(LEAST_SQUARES), seeded_least_squares(), ["w"], lr=0.1, steps=50, seed=seed, **batches)
        for seed in (0, 1)
    )
    assert first.loss_start == second.loss_start  # the same start, on all the data
    assert first.history != second.history  # each step's loss is on that step's rows
    assert not np.array_equal(first.params["w"], second.params["w"])


def test_divergence_keeps_the_last_parameters_whose_loss_was_finite():
    """lr 10 is past 2/λ_max = 0.78: the loss grows ~500-fold a step until it overflows at step 112."""
    program, values = parse(LEAST_SQUARES), seeded_least_squares()
    training = minimize(program, values, ["w"], lr=10, steps=1000)
    assert training.stopped == "diverged" and training.reason
    assert np.isfinite(training.params["w"]).all() and math.isfinite(training.loss_final)
    assert evaluate(program, {**values, **training.params}).value == training.loss_final


def test_an_interrupt_stops_after_the_step_in_hand():
    def interrupt_at_step_3(step):
        if step.step == 3:
            raise KeyboardInterrupt

    training = minimize(parse(BOWL), {"x": 0.0, "y": 0.0}, ["x", "y"], on_step=interrupt_at_step_3)
    assert (training.stopped, training.steps, len(training.history)) == ("interrupted", 2, 3)
    two_steps = {"x": 3 - 3 * 0.8**2, "y": -1 + 0.8**2}  # x − 3 ← 0.8·(x − 3) and y + 1 ← 0.8·(y + 1)
    assert training.params == pytest.approx(two_steps)


# ------------------------------------------------------------------------------------------------
# The command: backprop minimize PROGRAM [--NAME VALUE]... --wrt NAME[,NAME...] [OPTIONS]
# ------------------------------------------------------------------------------------------------


def test_the_command_fits_a_line_and_prints_the_contracts_keys(run):
    code, document, _ = run_json(run, f"{FIT_LINE} --w '[0,0]' --wrt w --lr 0.2 --steps 1000 --gtol 1e-9")
    assert code == 0
    assert list(document) == [
        "program", "wrt", "method", "lr", "steps", "stopped", "loss", "grad_norm", "params", "history",
        "history_stride", "reason",
    ]  # fmt: skip
    assert [document[key] for key in ("wrt", "method", "lr", "stopped")] == [["w"], "gd", 0.2, "gtol"]
    assert document["loss"]["start"] == 21.0 == document["history"][0]  # the mean of 1², 3², 5², 7²
    assert document["params"]["w"] == pytest.approx([1, 2], abs=1e-8)
    assert document["grad_norm"] < 1e-9 and document["reason"] is None


def test_the_command_takes_the_notes_network_one_step(run):
    code, document, _ = run_json(run, f"minimize '{NETWORK}' {NOTES_VALUES} --wrt W1,W2 --lr 0.01 --steps 1")
    assert code == 0
    assert document["params"] == {"W1": [[2.04, 1.08], [0.96, 0.92]], "W2": [1.16, -0.88]}
    assert document["loss"]["start"] == 4.0
    assert document["loss"]["final"] == pytest.approx((2.408 - 3) ** 2, rel=1e-12)  # ŷ = 2.408 after the step


def test_check_first_reports_what_eval_check_reports(run):
    code, document, _ = run_json(run, f"{FIT_LINE} --w '[0.5,-1]' --wrt w --check")
    _, checked, _ = run_json(run, f"eval '{LEAST_SQUARES}' {LINE_POINTS} --w '[0.5,-1]' --check")
    assert code == 0
    assert document["check"] == checked["check"]
    assert document["check"]["passed"] is True


def test_log_writes_one_strict_json_line_per_step(run, tmp_path):
    log = tmp_path / "steps.jsonl"
    code, document, _ = run_json(run, f"minimize '{BOWL}' --x 0 --y 0 --wrt x,y --steps 5 --log {log}")
    lines = [strict_json(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert code == 0
    assert [list(line) for line in lines] == [["step", "loss", "grad_norm", "lr"]] * 5
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5]
    assert [line["loss"] for line in lines] == document["history"]
    assert (lines[0]["grad_norm"], lines[0]["lr"]) == (math.hypot(-6, 2), 0.1)  # ∇ = (2(0 − 3), 2(0 + 1))


def test_gtol_stops_early_once_the_gradient_is_small(run):
    code, document, _ = run_json(run, f"minimize '{BOWL}' --x 0 --y 0 --wrt x,y --steps 1000 --gtol 1e-6")
    assert code == 0
    assert document["stopped"] == "gtol"
    assert document["steps"] < 1000 and document["grad_norm"] < 1e-6


def test_history_stride_lists_every_nth_loss(run, tmp_path):
    log = tmp_path / "steps.jsonl"
    code, document, _ = run_json(
        run, f"minimize '{BOWL}' --x 0 --y 0 --wrt x,y --steps 10 --history-stride 3 --log {log}"
    )
    every_loss = [json.loads(line)["loss"] for line in log.read_text(encoding="utf-8").splitlines()]
    assert code == 0
    assert document["history_stride"] == 3
    assert document["history"] == every_loss[::3]  # steps 1, 4, 7 and 10


def test_a_long_run_keeps_at_most_ten_thousand_losses(run):
    code, document, _ = run_json(run, f"minimize '{BOWL}' --x 0 --y 0 --wrt x,y --steps 25000 --lr 1e-5")
    assert code == 0 and document["steps"] == 25_000
    assert document["history_stride"] == 3 and len(document["history"]) == 8_334  # steps 1, 4, …, 24,999


def test_only_the_trained_inputs_gradients_are_computed_and_they_are_the_full_ones():
    from backprop.graph.engine import backward, forward, needs_grad_of

    program = parse(CLASSIFIER_ON_ROWS)
    values = forward(program, regression_network(seeded_least_squares()))
    full = backward(program, values)
    needs = needs_grad_of(program, ["W1", "b2"])
    trained = backward(program, values, needs=needs)
    assert trained[program.inputs["X"]] is None and full[program.inputs["X"]] is not None  # data: none
    for name in ("W1", "b2"):
        assert np.array_equal(trained[program.inputs[name]], full[program.inputs[name]])


@pytest.mark.parametrize("batches", ["", "--batch-size 2 --data X,y"], ids=["full-batch", "sgd"])
def test_the_same_seed_prints_the_same_json_bit_for_bit(run, batches):
    words = shlex.split(f"{FIT_LINE} --w '[0,0]' --wrt w --steps 50 --seed 3 {batches} --json")
    (first_code, first, _), (second_code, second, _) = run(*words), run(*words)
    assert first_code == second_code == 0
    assert first == second
    assert strict_json(first)["steps"] == 50


def test_divergence_is_an_outcome_with_finite_numbers_and_saved_parameters(run, tmp_path):
    """lr 10 on the line fit is past 2/λ_max = 0.24: the loss grows ~7000-fold a step until it overflows."""
    saved = tmp_path / "w.json"
    code, document, err = run_json(run, f"{FIT_LINE} --w '[0,0]' --wrt w --lr 10 --save {saved}")
    assert code == 1
    assert document["stopped"] == "diverged" and document["reason"]
    assert all(math.isfinite(number) for number in numbers_in(document))
    assert strict_json(saved.read_text(encoding="utf-8")) == document["params"]
    assert "smaller --lr" in err


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ("--w '[0,0]' --wrt w --lr -1", "--lr"),
        ("--w '[0,0]' --wrt v", "v is not an input"),
        ("--wrt w", "no value for w"),
        ("--w '[0,0]' --wrt w --batch-size 5 --data X,y", "--batch-size 5"),
        ("--w '[0,0]' --wrt w --method sideways", "sideways"),
    ],
    ids=["negative-lr", "wrt-not-an-input", "no-starting-value", "batch-larger-than-data", "unknown-method"],
)
def test_bad_options_are_errors_with_a_hint(run, options, said):
    code, document, err = run_json(run, f"{FIT_LINE} {options}")
    assert code == 2
    assert list(document) == ["error"]
    assert list(document["error"]) == ["type", "message", "line", "column", "hint"]
    assert said in document["error"]["message"] and document["error"]["hint"]
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.mark.usefixtures("top_folder")
def test_the_notes_classifier_learns_cats_from_dogs(run):
    """§5: σ(X/16·W1 + b1) → σ(h·W2 + b2), squared error, 100 SGD steps of 32 images from small
    seeded weights; then eval reads ŷ from the nodes. Measured: 100% of the 360 images, in ~0.5 s."""
    train_code, _, train_err = run(*shlex.split(TRAIN_DIGITS))
    assert train_code == 0, train_err
    predict_code, out, predict_err = run(*shlex.split(PREDICT_DIGITS))
    assert predict_code == 0, predict_err
    yhat = next(node["value"] for node in strict_json(out)["nodes"] if node["name"] == "yhat")
    labels = np.load(DATA / "digits-0-1-y.npy", allow_pickle=False)
    assert np.mean((np.array(yhat) > 0.5) == (labels == 1)) >= 0.95


def test_the_digits_files_are_what_their_readme_says():
    X, y = (np.load(DATA / f"digits-0-1-{name}.npy", allow_pickle=False) for name in "Xy")
    W1, W2 = (np.load(DATA / f"digits-init-{name}.npy", allow_pickle=False) for name in ("W1", "W2"))
    rng = np.random.default_rng(170)
    assert (X.shape, X.dtype, X.min(), X.max()) == ((360, 64), np.uint8, 0, 16)
    assert (y.shape, y.dtype, np.bincount(y).tolist()) == ((360,), np.uint8, [178, 182])
    assert np.array_equal(W1, rng.normal(0, 0.1, (64, 4))) and np.array_equal(W2, rng.normal(0, 0.1, 4))
