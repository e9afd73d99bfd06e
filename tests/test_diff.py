"""`backprop diff`: the derivative as a program. It reads like the lecture's formula, it reads back
(`eval` of it gives `eval`'s gradient, on random programs), it stays the program's size where a tree
would swell, and `diff` of a `diff` is the second derivative."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from checks import strict_json
from fuzzing import anything, assert_json_document, cli
from hypothesis import given
from hypothesis import strategies as st
from strategies import cases

from backprop import InputError, ShapeError, evaluate, parse
from backprop.cli.render.formula import render
from backprop.graph.adjoint import derivative
from backprop.graph.engine import forward
from backprop.graph.ops import OPS


def diff(text: str, *wrt: str, form: str = "program") -> str:
    program = parse(text)
    return render(derivative(program, list(wrt) or list(program.inputs)), form)


def derivatives_at(text: str, wrt: list[str], point: dict[str, float]) -> dict[str, float]:
    """Evaluate the printed derivative program at `point`: the value of each d_<name> (the output
    for the last, or the only, one)."""
    program = parse(text)
    values = forward(program, {name: point[name] for name in program.inputs})
    found = {}
    for name in wrt:
        node = program.bindings.get(f"d_{name}", program.output if name == wrt[-1] else None)
        found[name] = values[node]
    return found


# -- the lecture ---------------------------------------------------------------------------------


def test_lecture_formula_reads_as_a_student_writes_it():
    assert diff("(a + b**3) * c", "b") == "3*b**2*c"
    assert diff("(a + b**3) * c", "b", form="latex") == r"\frac{\partial f}{\partial b} = 3 b^{2} c"


def test_lecture_dag_golden_formula_is_297():
    """∂/∂b (a + b)·b³ = b³ + 3b²(a + b): the slides' 270 + 27 at a = 7, b = 3."""
    text = diff("(a + b)*b**3", "b")
    assert text == "3*b**2*(a + b) + b**3"
    assert evaluate(text, {"a": 7.0, "b": 3.0}).value == 297.0


def test_named_nodes_keep_their_names_and_several_wrt_give_a_statement_each():
    text = diff("z = x + y; s = sigmoid(x); L = z * s", "x", "y")
    assert text.splitlines() == ["z = x + y", "s = sigmoid(x)", "d_x = s*(1 - s)*z + s", "d_y = s"]
    assert parse(text).output == parse(text).bindings["d_y"]  # the last statement is the output


def test_diff_of_a_diff_is_the_second_derivative():
    first = diff("x**3", "x")
    second = diff(first, "x")
    assert (first, second) == ("3*x**2", "6*x")
    assert evaluate(second, {"x": 2.0}).value == 12.0


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("pi*x**2", "pi*(2*x)"),  # pi stays pi, 2·pi would be a long number
        ("-pi*x + x/pi", "1/pi - pi"),  # x + (-c) is written x - c
        ("x**3*4", "12*x**2"),  # 4·3 folds: a whole number
        ("x/3", "1/3"),  # 0.333… would not read as a formula
        ("x - 2*x*y", "1 - 2*y"),
        ("sin(x)*1 + 0*y", "cos(x)"),
    ],
)
def test_exact_simplifications_read_like_a_formula(text, printed):
    assert diff(text, "x") == printed


def test_latex_writes_greek_names_as_letters():
    assert diff("alpha*x**2", "alpha", form="latex") == r"\frac{\partial f}{\partial \alpha} = x^{2}"


def test_an_input_the_output_does_not_depend_on_has_derivative_zero():
    assert diff("x*2 + 0*y", "y") == "0"


@pytest.mark.parametrize(
    ("text", "point", "expected"),
    [
        ("relu(x)", {"x": 0.0}, {"x": 0.0}),  # relu'(0) = 0, as eval takes it
        ("relu(x)", {"x": 2.0}, {"x": 1.0}),
        ("abs(x)", {"x": 0.0}, {"x": 0.0}),
        ("max(x, y)", {"x": 1.0, "y": 1.0}, {"x": 0.5, "y": 0.5}),  # a tie: ½ each
        ("min(x, y)", {"x": 1.0, "y": 3.0}, {"x": 1.0, "y": 0.0}),
        ("leaky_relu(x)", {"x": 0.0}, {"x": 0.01}),
    ],
)
def test_kinks_follow_evals_conventions(text, point, expected):
    printed = diff(text)
    assert derivatives_at(printed, list(point), point) == expected
    assert evaluate(text, point).gradients == expected


# -- the round trip on random programs -----------------------------------------------------------


@given(cases())
def test_random_programs_round_trip_through_eval(case):
    generated, point = case
    text = generated.text()
    program = parse(text)
    if not program.inputs:
        with pytest.raises(InputError):
            derivative(program, [])
        return
    result = evaluate(program, point)
    wrt = list(program.inputs)
    printed = render(derivative(program, wrt), "program")
    got = derivatives_at(printed, wrt, point)
    for name, grad in result.gradients.items():
        assert math.isclose(got[name], grad, rel_tol=1e-9, abs_tol=1e-9), (text, printed, name)


def test_a_tensor_output_is_refused_with_the_fix():
    with pytest.raises(ShapeError, match="a derivative is of a scalar"):
        derivative(parse("[a, b] * a"), ["a"])


def test_every_op_has_an_adjoint_rule():
    missing = {name for name, op in OPS.items() if op.adjoint is None} - {"input", "const"}
    assert missing == set()


# -- size: linear, where a tree swells -------------------------------------------------------------


def squares(n: int) -> str:
    return "; ".join(["x1 = a*a", *(f"x{k + 1} = x{k}*x{k}" for k in range(1, n))])


def sines(n: int) -> str:
    return "; ".join(["x1 = sin(a)*a", *(f"x{k + 1} = sin(x{k})*x{k}" for k in range(1, n))])


@pytest.mark.parametrize("family", [squares, sines])
def test_output_grows_by_a_constant_number_of_statements_per_line(family):
    small, large = (diff(family(n), "a") for n in (40, 80))
    lines = len(large.splitlines()) - len(small.splitlines())
    assert lines <= 3 * 40  # at most 3 statements more per line of the program
    assert len(large) < 2.2 * len(small)  # characters: linear, not exponential
    assert len(small.splitlines()) >= 40  # each line's adjoint is written, not expanded


def test_the_squares_chain_evaluates_to_its_derivative():
    printed = diff(squares(5), "a")  # x5 = a**32
    assert math.isclose(evaluate(printed, {"a": 1.01}).value, 32 * 1.01**31, rel_tol=1e-12)


def test_a_program_five_thousand_statements_deep_differentiates_without_recursion():
    printed = diff(sines(5_000), "a")  # Python's recursion stops at 1,000 frames
    assert len(printed.splitlines()) <= 3 * 5_000 + 1


# -- the other formats --------------------------------------------------------------------------


def test_latex_of_a_longer_program_is_an_align_block():
    text = diff("z = x + y; s = sigmoid(x); L = z * s", "x", form="latex")
    assert text.startswith("\\begin{align*}\n") and text.endswith("\\end{align*}")
    assert r"\frac{\partial f}{\partial x} &= s (1 - s) z + s" in text and r"\sigma\left(x\right)" in text


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("(a + b)*b**3", {"a": 7.0, "b": 3.0}),
        ("z = x + y; s = sigmoid(x); L = z * s", {"x": 0.3, "y": -2.0}),
        ("relu(a) + abs(b) * max(a, b) + min(a, 1) + leaky_relu(b) + softplus(a)", {"a": 0.5, "b": -2.0}),
        ("u = exp(a)/sqrt(b) - log(b)*tan(a) + tanh(a)**b; u*cos(u) + sin(u)", {"a": 0.5, "b": 2.0}),
        ("lambda = a*2; math = lambda**2; math - a", {"a": 1.5}),  # Python's words, renamed
    ],
)
def test_python_output_runs_as_plain_python_and_returns_the_gradient(tmp_path, text, point):
    """The printed function runs in a separate Python (no backprop imported) and returns the gradient."""
    wrt = list(point)
    code = diff(text, *wrt, form="python")
    assert "backprop" not in code.replace("∂", "")
    arguments = ", ".join(repr(point[name]) for name in parse(text).inputs)
    script = tmp_path / "gradient.py"
    script.write_text(code + f"\nimport json\nprint(json.dumps(gradient({arguments})))\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    got = json.loads(out.stdout)
    got = got if isinstance(got, dict) else {wrt[0]: got}
    expected = evaluate(text, point).gradients
    for name in wrt:
        assert math.isclose(got[name], expected[name], rel_tol=1e-12, abs_tol=1e-12)


def test_every_scalar_op_has_a_python_spelling():
    from backprop.cli.render.formula import PYTHON_FUNCTIONS

    infix = {"add", "sub", "mul", "div", "neg", "pow"}
    scalar = {name for name, op in OPS.items() if op.elementwise}
    assert scalar - infix <= set(PYTHON_FUNCTIONS)


def test_python_returns_the_last_statement_rather_than_computing_it_again():
    code = diff("x1 = sin(a)*a; x2 = sin(x1)*x1", "a", form="python")
    assert code.endswith("    d_a = t * d_x1 + math.cos(a) * (a * d_x1)\n    return d_a\n")


# -- the command ---------------------------------------------------------------------------------


def test_command_prints_the_program(run):
    code, out, err = run("diff", "(a + b**3) * c", "--wrt", "b")
    assert (code, out, err) == (0, "3*b**2*c\n", "")


def test_command_json(run):
    code, out, _ = run("diff", "(a + b)*b**3", "--wrt", "a,b", "--json")
    document = strict_json(out)
    assert code == 0 and document["wrt"] == ["a", "b"] and document["format"] == "program"
    assert document["derivative"].splitlines() == ["d_a = b**3", "d_b = 3*b**2*(a + b) + d_a"]


def test_command_default_wrt_is_every_input(run):
    code, out, _ = run("diff", "x*y")
    assert code == 0 and out.splitlines() == ["d_x = y", "d_y = x"]


def test_command_round_trip_through_eval(run):
    _, printed, _ = run("diff", "(a + b)*b**3", "--wrt", "b")
    code, out, _ = run("eval", printed, "--a", "7", "--b", "3", "--json")
    assert code == 0 and strict_json(out)["value"] == 297.0


@pytest.mark.parametrize(
    ("args", "kind", "said"),
    [
        (["x**3", "--wrt", "y"], "input", "no input named y"),
        (["x**3 + xx", "--wrt", "xy"], "input", "no input named xy"),
        (["c = a*b; c + 1", "--wrt", "c"], "input", "no input named c"),
        (["3*4"], "input", "no inputs"),
        (["x", "--wrt", ","], "input", "names no input"),
        ([""], "syntax", "empty"),
        (["W @ x", "--W", "[[1, 2]]", "--x", "[1, 2]"], "shape", "a derivative is of a scalar"),
        (["sum(W @ x)"], "shape", "not a scalar"),
        (["sum(x**3)", "--x", "[1, 2]", "--format", "python"], "input", "scalar programs only"),
    ],
)
def test_command_errors_exit_2_with_the_fix(run, args, kind, said):
    code, out, err = run("diff", *args, "--json")
    document = strict_json(out)["error"]
    assert code == 2 and document["type"] == kind and said in document["message"], document
    assert document["hint"] and "Traceback" not in err


def test_command_suggests_the_input_meant(run):
    code, _, err = run("diff", "alpha * beta", "--wrt", "alpah")
    assert code == 2 and "did you mean alpha?" in err


def test_help_has_examples(run):
    code, out, _ = run("diff", "--help")
    assert code == 0 and "Examples" in out and "--format" in out and "--wrt" in out


@given(
    anything,
    st.sampled_from([[], ["--wrt", "x"], ["--wrt", "a,b"], ["--format", "latex"], ["--format", "python"]]),
)
def test_command_on_anything(text, flags):
    """Any text: exit 0 or 2, no traceback, one strict JSON object under --json."""
    code, stdout, _ = cli("diff", *flags, "--json", "--", text)
    assert_json_document(code, stdout)
    assert code in (0, 2)
