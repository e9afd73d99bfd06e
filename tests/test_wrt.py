"""Issue 19: only the gradients asked for — `evaluate(..., wrt=[...])`, `eval --wrt`, `batch --wrt`.

The gradients computed are those of the inputs named, equal bit for bit to the same gradients of a
full run; a node none of them flows into has no gradient, as a constant has none."""

from __future__ import annotations

import json

import numpy as np
import pytest
from checks import strict_json

from backprop import NameError_, evaluate, parse
from backprop.graph.batch import evaluate_columns

LECTURE = "(a + b**3) * c"
POINT = {"a": 7.0, "b": 3.0, "c": 2.0}


def test_only_the_gradients_asked_for_and_the_same_numbers():
    full = evaluate(LECTURE, POINT)
    only_b = evaluate(LECTURE, POINT, wrt=["b"])
    assert only_b.gradients == {"b": full.gradients["b"]} == {"b": 54.0}
    assert only_b.value == full.value == 68.0
    assert evaluate(LECTURE, POINT, wrt=["c", "a"]).gradients == {"a": 2.0, "c": 34.0}  # order of first use
    assert evaluate(LECTURE, POINT, wrt="b").gradients == {"b": 54.0}  # one name as a string


def test_nodes_no_wanted_input_flows_into_have_no_gradient():
    evaluation = evaluate(LECTURE, POINT, wrt=["b"])
    grads = {node.name: node.grad for node in evaluation.nodes}
    assert grads == {"a": None, "b": 54.0, "3": None, "d": 2.0, "e": 2.0, "c": None, "f": 1.0}


def test_tensors_with_wrt_are_the_full_runs_gradients():
    rng = np.random.default_rng(1)
    point = {"X": rng.standard_normal((40, 5)), "w": rng.standard_normal(5), "y": rng.standard_normal(40)}
    text = "mean((X @ w - y)**2)"
    full, only_w = evaluate(text, point), evaluate(text, point, wrt=["w"])
    assert list(only_w.gradients) == ["w"]
    assert only_w.gradients["w"].tolist() == full.gradients["w"].tolist()
    X = only_w.program.inputs["X"]
    assert only_w.grad_of(X) is None and full.grad_of(X) is not None


@pytest.mark.parametrize(
    ("text", "wrt", "hint"),
    [
        (LECTURE, "bb", "did you mean b? the inputs are: a, b, c"),
        ("u = a * 2; u + b", "u", "u is computed by the program; ask for the gradient of an input: a, b"),
        ("a + 1", "zzz", "the inputs are: a"),
    ],
)
def test_a_wrt_name_that_is_not_an_input(text, wrt, hint):
    with pytest.raises(NameError_) as refused:
        evaluate(text, {"a": 1.0, "b": 2.0, "c": 3.0}, wrt=[wrt])
    assert refused.value.message == f"no gradient of {wrt}: the program has no input named {wrt}"
    assert refused.value.hint == hint


def test_an_input_named_wrt_is_given_in_the_mapping():
    assert evaluate("wrt * x", {"wrt": 2.0}, x=3.0, wrt=["x"]).gradients == {"x": 2.0}


def test_batch_columns_with_wrt():
    program = parse("tanh(a * b) + c**2")
    rng = np.random.default_rng(2)
    columns = {name: rng.uniform(-2, 2, 100) for name in "abc"}
    full = evaluate_columns(program, columns)
    only = evaluate_columns(program, columns, wrt=["c", "a"])
    assert list(only.gradients) == ["a", "c"]
    for name in ("a", "c"):
        assert only.gradients[name].tolist() == full.gradients[name].tolist()
    alone = evaluate_columns(parse("sum([a, b]) * c"), columns, wrt=["b"])  # a literal: point by point
    assert alone.value is None
    assert [alone.result(k).gradients for k in range(3)] == [{"b": columns["c"][k]} for k in range(3)]
    with pytest.raises(NameError_):
        evaluate_columns(program, columns, wrt=["d"])


# -- the command line -----------------------------------------------------------------------------


def test_eval_wrt_json_and_check(run):
    code, out, _ = run(
        "eval", LECTURE, "--a", "7", "--b", "3", "--c", "2", "--wrt", "b,a", "--check", "--json"
    )
    document = strict_json(out)
    assert code == 0
    assert document["gradients"] == {"a": 2.0, "b": 54.0}
    assert list(document["check"]["inputs"]) == ["a", "b"]
    grads = {node["name"]: node["grad"] for node in document["nodes"]}
    assert grads["c"] is None and grads["e"] == 2.0


def test_eval_wrt_table_shows_no_gradient_off_the_path(run):
    code, out, _ = run("eval", LECTURE, "--a", "7", "--b", "3", "--c", "2", "--wrt", "b")
    assert code == 0
    gradients = out.split("gradients of f")[1]
    assert "│ b " in gradients and "│ a " not in gradients and "│ c " not in gradients


def test_eval_wrt_an_unknown_name(run):
    code, _, err = run("eval", LECTURE, "--a", "7", "--b", "3", "--c", "2", "--wrt", "bb")
    assert code == 2
    assert "no gradient of bb: the program has no input named bb" in err and "did you mean b?" in err


def test_eval_wrt_an_answer_for_a_gradient_it_leaves_out(run):
    """--expect b.grad with --wrt a: told that --wrt left it out, not that b has no gradient."""
    code, _, err = run("eval", "a*b", "--a", "1", "--b", "2", "--wrt", "a", "--expect", "b.grad=1")
    assert code == 2 and "an expectation names b.grad, a gradient that --wrt a leaves out" in err
    assert "add the inputs that flow into it to --wrt, or drop --wrt" in err
    code, _, _ = run(
        "eval", "a*b", "--a", "1", "--b", "2", "--wrt", "a", "--expect", "a.grad=2", "--expect", "c.grad=1"
    )
    assert code == 0


def test_batch_wrt(run):
    points = '{"a": 1, "b": 2, "c": 3}\n{"a": 0.5, "b": -1, "c": 2}\n'
    code, out, _ = run("batch", LECTURE, "--wrt", "c", input=points)
    assert code == 0
    lines = [strict_json(line) for line in out.splitlines()]
    assert [line["gradients"] for line in lines] == [{"c": 9.0}, {"c": -0.5}]
    code, out, _ = run("batch", LECTURE, "--wrt", "c,b", "--check", input=points)
    assert code == 0
    assert [list(json.loads(line)["check"]["inputs"]) for line in out.splitlines()] == [["b", "c"]] * 2


def test_batch_wrt_in_every_format(run, tmp_path):
    """CSV rows, .npy columns and answer keys hold the gradients of --wrt only."""
    points = '{"a": 1, "b": 2, "c": 3}\n{"a": 0.5, "b": -1, "c": 2}\n'
    code, out, _ = run("batch", LECTURE, "--wrt", "c", "--format", "csv", input=points)
    assert code == 0 and out.splitlines()[:2] == ["line,f,∂f/∂c,error", "1,27,9,"]
    code, out, _ = run("batch", LECTURE, "--wrt", "c", "--format", "markdown", input=points)
    assert code == 0 and "| a | `a` | 1 | — |" in out and "| c | `c` | 3 | 9 |" in out
    target = tmp_path / "out.npy"
    code, _, _ = run("batch", LECTURE, "--wrt", "b", "--output", str(target), input=points)
    table = np.load(target)
    assert code == 0 and table.dtype.names == ("line", "value", "grad_b")
    assert table["grad_b"].tolist() == [36.0, 6.0]


def test_batch_wrt_an_unknown_name(run):
    code, out, _ = run("batch", LECTURE, "--wrt", "q", input='{"a": 1, "b": 2, "c": 3}\n')
    assert code == 2 and "no input named q" in out
