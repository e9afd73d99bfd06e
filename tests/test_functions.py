"""The functions students type (issue 15): other names for our ops (ln, pow), the constant e in every
position, the new functions at the edges of their domains, leaky_relu's convention at its kink, and
a did-you-mean that offers only a near-typo or our spelling of another tool's name, never a
different function. Each new op's vjp, oracle and bounds are in op_cases.py with every other op's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checks import strict_json

from backprop import BackpropError, evaluate, parse
from backprop.graph.batch import evaluate_batch
from backprop.graph.errors import ArityError, DomainError, NameError_
from backprop.graph.ops import FUNCTIONS, OPS


def error_of(text: str, kind=BackpropError, **values) -> BackpropError:
    with pytest.raises(kind) as caught:
        evaluate(text, {name: float(value) for name, value in values.items()})
    return caught.value


# -- Other names for our ops: the same op, so the same numbers and the same errors -----------------


def test_ln_is_log():
    assert FUNCTIONS["ln"] is OPS["log"]
    ours, theirs = evaluate("ln(x)", {"x": 2.0}), evaluate("log(x)", {"x": 2.0})
    assert (ours.value, ours.gradients) == (theirs.value, theirs.gradients) == (math.log(2.0), {"x": 0.5})
    assert [op.name for op in parse("ln(x)").ops] == ["input", "log"]  # tables and trace say log


def test_ln_has_logs_domain_error_at_its_own_place():
    error = error_of("1 + ln(x)", DomainError, x=-1)
    assert error.message == "ln(x) is undefined: log needs its argument > 0 (here x = -1)"
    assert (error.line, error.column, error.width) == (1, 5, 5)


def test_pow_is_the_power_operator():
    assert FUNCTIONS["pow"] is OPS["pow"]
    ours, theirs = evaluate("pow(x, y)", {"x": 2.0, "y": 3.0}), evaluate("x**y", {"x": 2.0, "y": 3.0})
    assert (ours.value, ours.gradients) == (theirs.value, theirs.gradients)
    assert ours.gradients == {"x": 12.0, "y": 8.0 * math.log(2.0)}


def test_pow_has_the_power_operators_domain_error():
    error = error_of("pow(x, 0.5)", DomainError, x=-8)
    assert "x**y needs x > 0, or a whole-number y" in error.message
    assert error.message.startswith("pow(x, 0.5) is undefined")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("ln(x, 2)", "ln takes 1 argument, but 2 were given"),
        ("pow(x)", "pow takes 2 arguments, but 1 was given"),
        ("leaky_relu(x, 1, 2)", "leaky_relu takes 1 or 2 arguments, but 3 were given"),
    ],
)
def test_arity_errors_use_the_name_written(text, said):
    error = error_of(text, ArityError, x=1)
    assert error.message == said and error.hint.startswith(f"call it as {text.split('(')[0]}(")


# -- The constant e ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "gradient"),
    [
        ("e**x", math.e, math.e),
        ("e^x", math.e, math.e),
        ("x * log(e)", 1.0, 1.0),
        ("ln(e) + x", 2.0, 1.0),
        ("2*e*x", 2 * math.e, 2 * math.e),
        ("-e + x", 1 - math.e, 1.0),
        ("x**e", 1.0, math.e),
        ("exp(x) - e**x", 0.0, 0.0),
    ],
)
def test_e_is_the_constant_in_every_position(text, value, gradient):
    result = evaluate(text, {"x": 1.0})
    assert result.value == pytest.approx(value, abs=1e-15) and result.gradients["x"] == pytest.approx(
        gradient
    )


def test_e_is_the_lectures_node_name_once_bound():
    """`e = c * d` as the lecture names its nodes: from there on e is the program's own."""
    result = evaluate("c = a + b; d = b + 1; e = c * d; e", {"a": 2.0, "b": -3.0})
    assert result.value == 2.0 and result.gradients == {"a": -2.0, "b": -3.0}
    assert evaluate("y = e * a; y", {"a": 1.0}).value == math.e  # not bound: the constant
    error = error_of("y = e * a; e = y + 1; e", NameError_, a=1)  # the constant, then bound: ambiguous
    assert error.message.startswith("e is used as the constant e = 2.718281828459045 (at line 1, column 5)")


def test_e_cannot_be_given_a_value(run):
    code, _, err = run("eval", "e**x", "--x", "1", "--e", "2")
    assert code == 2 and "e is a constant of the language, not an input" in err


def test_a_capital_e_points_at_the_constant_and_exp(run):
    code, _, err = run("eval", "E^x", "--x", "1")
    assert code == 2 and "no value for E" in err
    assert "for Euler's number write e (e**x) or exp(x); else pass --E VALUE" in err


def test_calling_e_points_at_exp():
    error = error_of("e(x)", NameError_, x=1)
    assert error.hint == "e is the constant 2.718…, not a function: write exp(x), or e**x"


# -- The edges of the domains ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "x", "said"),
    [
        ("log2(x)", 0, "log2(x) is undefined: log2 needs its argument > 0 (here x = 0)"),
        ("log10(x)", -1, "log10(x) is undefined: log10 needs its argument > 0 (here x = -1)"),
        ("asin(x)", 1.5, "asin(x) is undefined: asin needs its argument in [-1, 1]"),
        ("acos(x)", -2, "acos(x) is undefined: acos needs its argument in [-1, 1]"),
        ("sinh(x)", 800, "sinh(x) overflows: the result is too large for a float64 (here x = 800)"),
        ("cosh(x)", -800, "cosh(x) overflows"),
    ],
)
def test_outside_the_domain_is_a_domain_error_at_the_node(text, x, said):
    error = error_of(f"1 + {text}", DomainError, x=x)
    assert error.message.startswith(said) and (error.line, error.column) == (1, 5)


@pytest.mark.parametrize(("name", "x"), [("asin", 1), ("asin", -1), ("acos", 1), ("acos", -1)])
def test_at_plus_or_minus_one_the_value_exists_but_the_slope_is_refused(run, name, x):
    assert evaluate(f"{name}({x}) + y", {"y": 0.0}).value == getattr(math, name)(x)  # a constant: no slope
    code, out, err = run("eval", f"{name}(x)", "--x", str(x), "--json")
    error = strict_json(out)["error"]
    assert code == 2 and error["type"] == "domain"
    assert error["message"] == f"the derivative of {name}(x) is not finite here (x = {x})"
    assert "asin or acos at ±1" in error["hint"]


def test_the_new_functions_agree_with_their_definitions():
    x = 0.3
    for text, value, slope in [
        ("log2(x)", math.log2(x), 1 / (x * math.log(2))),
        ("log10(x)", math.log10(x), 1 / (x * math.log(10))),
        ("sinh(x)", math.sinh(x), math.cosh(x)),
        ("cosh(x)", math.cosh(x), math.sinh(x)),
        ("asin(x)", math.asin(x), 1 / math.sqrt(1 - x * x)),
        ("acos(x)", math.acos(x), -1 / math.sqrt(1 - x * x)),
        ("atan(x)", math.atan(x), 1 / (1 + x * x)),
        ("softplus(x)", math.log(1 + math.exp(x)), 1 / (1 + math.exp(-x))),
    ]:
        result = evaluate(text, {"x": x})
        assert result.value == pytest.approx(value, rel=1e-15), text
        assert result.gradients["x"] == pytest.approx(slope, rel=1e-14), text


def test_log2_and_log10_are_exact_at_powers_of_their_base():
    assert [evaluate("log2(x)", {"x": 2.0**n}).value for n in (-3, 0, 10, 50)] == [-3.0, 0.0, 10.0, 50.0]
    assert [evaluate("log10(x)", {"x": 10.0**n}).value for n in (-2, 0, 3, 22)] == [-2.0, 0.0, 3.0, 22.0]


@pytest.mark.parametrize(
    ("x", "value", "slope"),
    [
        (1000.0, 1000.0, 1.0),
        (-1000.0, 0.0, 0.0),
        (-700.0, math.exp(-700.0), math.exp(-700.0)),
        (0.0, math.log(2), 0.5),
    ],
)
def test_softplus_never_overflows_and_keeps_tiny_values(x, value, slope):
    result = evaluate("softplus(x)", {"x": x})
    assert result.value == pytest.approx(value, rel=1e-15) and result.gradients["x"] == pytest.approx(
        slope, rel=1e-15
    )


# -- leaky_relu: slope 0.01 unless given; at 0 the slope is the left side's, as relu′(0) = 0 ----------


@pytest.mark.parametrize(
    ("text", "point", "value", "gradients"),
    [
        ("leaky_relu(x)", {"x": -2.0}, -0.02, {"x": 0.01}),
        ("leaky_relu(x)", {"x": 3.0}, 3.0, {"x": 1.0}),
        ("leaky_relu(x)", {"x": 0.0}, 0.0, {"x": 0.01}),
        ("leaky_relu(x, s)", {"x": -2.0, "s": 0.2}, -0.4, {"x": 0.2, "s": -2.0}),
        ("leaky_relu(x, s)", {"x": 3.0, "s": 0.2}, 3.0, {"x": 1.0, "s": 0.0}),
        ("leaky_relu(x, s)", {"x": 0.0, "s": 0.2}, 0.0, {"x": 0.2, "s": 0.0}),
        ("leaky_relu(x, 0.5)", {"x": -1.0}, -0.5, {"x": 0.5}),
    ],
)
def test_leaky_relu(text, point, value, gradients):
    result = evaluate(text, point)
    assert result.value == pytest.approx(value) and result.gradients == pytest.approx(gradients)


@pytest.mark.parametrize("point", [(0.0,), (0.0, 0.2), (0.0, -3.0), (0.0, 1.5)])
def test_leaky_relus_sides_are_the_one_sided_slopes(point):
    """Each input moved alone by h below and above the kink: forward's slope is `sides`'s, and the
    convention taken (the vjp) is the left one."""
    op, h = OPS["leaky_relu"], 1e-3
    assert op.kink(*point) is True
    taken = op.vjp(1.0, op.forward(*point), *point)
    for position, (left, right) in enumerate(op.sides(*point)):

        def moved(step, position=position):
            return op.forward(*[x + step if i == position else x for i, x in enumerate(point)])

        assert math.isclose((moved(0.0) - moved(-h)) / h, left, abs_tol=1e-12)
        assert math.isclose((moved(h) - moved(0.0)) / h, right, abs_tol=1e-12)
        assert taken[position] == left


def test_leaky_relu_broadcasts_a_scalar_against_a_vector_slope():
    result = evaluate("sum(leaky_relu(x, s))", {"x": -2.0, "s": np.array([0.1, 0.5])})
    assert result.value == pytest.approx(-1.2) and result.gradients["x"] == pytest.approx(0.6)
    assert result.gradients["s"].tolist() == [-2.0, -2.0]
    kinked = evaluate("sum(leaky_relu(x, s))", {"x": 0.0, "s": np.array([0.1, 0.5])})
    assert kinked.gradients["x"] == pytest.approx(0.6)


def test_the_kink_warning_names_the_slope_taken(run):
    code, _, err = run("eval", "leaky_relu(x, s)", "--x", "0", "--s", "0.2")
    assert code == 0
    assert err.startswith(
        "warning: leaky_relu(x, s) is at a kink (x = 0): ∂leaky_relu/∂x is 0.2 from the left and 1 from "
        "the right, ∂leaky_relu/∂s is 0 from the left and 0 from the right; the lectures' convention "
        "takes ∂leaky_relu/∂x = 0.2 and ∂leaky_relu/∂s = 0"
    )


# -- batch answers exactly what eval answers -------------------------------------------------------

NEW = ["ln", "log2", "log10", "sinh", "cosh", "asin", "acos", "atan", "softplus", "leaky_relu"]


@pytest.mark.parametrize("name", NEW)
def test_batch_and_eval_agree_to_the_last_bit_for(name):
    rng = np.random.default_rng(15)
    x = rng.uniform(-1.0, 1.0, 2_000) * 10.0 ** rng.uniform(-3, 3, 2_000)
    if name in ("asin", "acos"):
        x = np.tanh(x)
    program = parse(f"{name}(x) * y")
    y = rng.uniform(-2.0, 2.0, x.size)
    compared = 0
    for k, result in enumerate(evaluate_batch(program, {"x": x, "y": y}, exact=True)):
        try:
            single = evaluate(program, {"x": float(x[k]), "y": float(y[k])})
        except BackpropError as error:
            assert result.error is not None and result.error.message == error.message
            continue
        assert (result.value, result.gradients) == (single.value, single.gradients)
        compared += 1
    assert compared > 1_000


# -- did you mean: a near-typo, or our spelling of another tool's name; never a different function --


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("arctan", "did you mean atan?"),
        ("arcsin", "did you mean asin?"),
        ("arccos", "did you mean acos?"),
        ("sine", "did you mean sin?"),
        ("logistic", "did you mean sigmoid?"),
        ("Sin", "did you mean sin? (names are lower case)"),
        ("ReLU", "did you mean relu? (names are lower case)"),
        ("LeakyReLU", "did you mean leaky_relu?"),
        ("logsoftmax", "did you mean log_softmax?"),
        ("sigmod", "did you mean sigmoid?"),
        ("tanhh", "did you mean tanh?"),
        ("sotfplus", "did you mean softplus?"),  # two neighbours swapped
        ("leaky_rleu", "did you mean leaky_relu?"),
        ("exps", "did you mean exp?"),
        ("tah", "did you mean tan or tanh?"),
        (
            "sqr",
            "sqr is the square root in some languages and the square in others: write sqrt(x) for the root, x**2 for the square",
        ),
        ("lg", "lg is log10 in some books and log2 in others: write log10(x) or log2(x)"),
    ],
)
def test_did_you_mean(typed, hint):
    error = error_of(f"{typed}(x)", NameError_, x=0.5)
    assert error.message == f"unknown function {typed}" and error.hint == hint


@pytest.mark.parametrize(
    ("typed", "not_it"),
    [
        ("atanh", "tanh and atan are different functions"),
        ("asinh", "sinh and asin are different functions"),
        ("acosh", "cosh and acos are different functions"),
        ("log1p", "log10 is a different function"),
        ("cot", "cos is a different function"),
        ("coth", "cosh is a different function"),
        ("softmin", "softmax is a different function"),
        ("gelu", "relu is a different function"),
        ("expm1", None),
        ("arcsinh", None),
        ("frobnicate", None),
    ],
)
def test_a_different_function_is_never_offered(typed, not_it):
    """Today's function names were offered for these (`cosh` → cos, `log10` → log, `softplus` →
    softmax): taken as written, each would silently change the maths."""
    hint = error_of(f"{typed}(x)", NameError_, x=0.5).hint
    assert "did you mean" not in hint and hint.endswith(f"the functions are: {', '.join(FUNCTIONS)}")
    if not_it is not None:
        assert hint.startswith(f"{typed} is not available ({not_it}); ")


@pytest.mark.parametrize("name", ["cosh", "softplus", "log10", "log2", "atan", "ln", "pow"])
def test_the_issues_examples_are_functions_now(name):
    assert name in FUNCTIONS
