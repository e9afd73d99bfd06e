"""The engine: forward in id order, backward in reverse with accumulation, errors with places."""

from __future__ import annotations

import math

import pytest

from backprop import DomainError, InputError, NameError_, evaluate, parse
from backprop.graph.check import gradient_check


def test_ids_are_a_topological_order():
    program = parse("u = a*b; v = u + a; w = sin(v) * u; w / (1 + v)")
    for node_id in range(len(program)):
        assert all(i < node_id for i in program.inputs_of(node_id))


def test_a_node_with_two_parents_sums_both_contributions():
    # b feeds Add c and Pow d: 27 + 270 = 297, as on the slides.
    assert evaluate("(a + b) * b**3", a=7, b=3).gradients["b"] == 297


def test_a_node_used_twice_by_one_op():
    assert evaluate("x * x", x=3).gradients == {"x": 6}
    assert evaluate("x + x", x=3).gradients == {"x": 2}


def test_the_same_program_evaluates_at_many_points():
    program = parse("x**2 + y")
    assert [evaluate(program, x=x, y=1).gradients["x"] for x in (1, 2, 3)] == [2, 4, 6]


def test_nodes_that_do_not_reach_the_output_have_zero_gradient():
    result = evaluate("u = a*b; v = a + 1; v", a=2, b=3)
    by_name = {node.name: node for node in result.nodes}
    assert by_name["u"].grad == 0.0 and by_name["b"].grad == 0.0
    assert result.gradients == {"a": 1.0, "b": 0.0}


def test_constants_have_no_gradient():
    result = evaluate("x * 3", x=2)
    assert [node.grad for node in result.nodes] == [3.0, None, 1.0]


def test_a_program_without_inputs():
    result = evaluate("2 * 3")
    assert result.value == 6 and result.gradients == {}


def test_a_100_000_deep_chain():
    depth = 100_000
    text = "\n".join(["v0 = x"] + [f"v{i} = v{i - 1} * 1.00001" for i in range(1, depth)])
    result = evaluate(text, x=1.0)
    assert result.gradients["x"] == pytest.approx(1.00001 ** (depth - 1), rel=1e-9)


def test_20_000_nested_functions():
    depth = 20_000
    result = evaluate("tanh(" * depth + "x" + ")" * depth, x=0.5)
    value, slope = 0.5, 1.0
    for _ in range(depth):
        value = math.tanh(value)
        slope *= 1 - value * value
    assert result.value == pytest.approx(value, rel=1e-12)
    assert result.gradients["x"] == pytest.approx(slope, rel=1e-9)


def test_negative_base_whole_exponent():
    result = evaluate("x**3", x=-2)
    assert (result.value, result.gradients["x"]) == (-8.0, 12.0)


@pytest.mark.parametrize(
    ("text", "values", "words"),
    [
        ("log(x - 3)", {"x": 2}, "log(x - 3) is undefined: log needs its argument > 0 (here x - 3 = -1)"),
        ("sqrt(x)", {"x": -4}, "sqrt(x) is undefined"),
        ("1 / (x - 2)", {"x": 2}, "1 / (x - 2) is a division by zero"),
        ("0/0", {}, "0/0 is a division by zero"),
        ("0**-1", {}, "0**-1 is a division by zero"),
        ("exp(x)", {"x": 1000}, "exp(x) overflows"),
        ("1e308*10", {}, "1e308*10 overflows"),
        ("10**10**10", {}, "10**10**10 overflows"),
        ("log(0)", {}, "log(0) is undefined"),
        ("(-8)**(1/3)", {}, "(-8)**(1/3) is undefined"),
        ("x**y", {"x": -2, "y": 3}, "the derivative of x**y is not finite"),  # d/dy needs x > 0
        ("sqrt(x)", {"x": 0}, "the derivative of sqrt(x) is not finite"),
    ],
)
def test_domain_errors_name_the_subexpression(text, values, words):
    with pytest.raises(DomainError) as caught:
        evaluate(text, values)
    assert words in caught.value.message
    assert caught.value.line == 1 and caught.value.column is not None


def test_a_constant_exponent_of_a_negative_base_needs_no_slope():
    assert evaluate("(-2)**3 * x", x=1).gradients == {"x": -8.0}


def test_missing_inputs_are_listed_together():
    with pytest.raises(NameError_) as caught:
        evaluate("a * b * c", a=1)
    assert caught.value.message == "no value for b, c"
    assert (
        caught.value.hint == "give evaluate() b=…, c=…, or a mapping with them"
    )  # the command says --b VALUE --c VALUE
    assert caught.value.column == 5


def test_a_value_for_a_name_the_program_defines():
    with pytest.raises(NameError_):
        evaluate("a = 2; a * x", a=1, x=2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_inputs_are_refused(bad):
    with pytest.raises(InputError):
        evaluate("x + 1", x=bad)


def test_gradient_check_agrees_on_the_lecture_examples():
    for text, values in [
        ("(a + b**3) * c", dict(a=7, b=3, c=2)),
        ("z = x + y; s = sigmoid(x); z * s", dict(x=1, y=2)),
    ]:
        report = gradient_check(evaluate(text, values))
        assert report.passed and report.max_rel_error < 1e-6


def test_gradient_check_at_a_kink_warns_instead_of_failing():
    report = gradient_check(evaluate("relu(b) * c", b=0, c=2))
    by_name = {item.name: item for item in report.inputs}
    assert not by_name["b"].passed and by_name["b"].at_kink and report.passed
    assert report.kink_nodes == [1]


@pytest.mark.parametrize("x", [0.3, 33816.0, 1e7])
def test_gradient_check_catches_a_wrong_rule(monkeypatch, x):
    """Also where the step h = eps·|x| is large for sin (0.034, 10): smaller steps settle the slope."""
    from backprop.graph import ops

    wrong = ops.Op("sin", 1, ops.OPS["sin"].forward, lambda g, out, x: (g * 2.0 * math.cos(x),))
    monkeypatch.setitem(ops.FUNCTIONS, "sin", wrong)
    report = gradient_check(evaluate("sin(x)", x=x))
    assert not report.passed and report.inputs[0].rel_error > 0.1 and report.inputs[0].note is None


def test_gradient_check_is_exact_enough_where_the_step_is_large_for_the_curvature():
    """Found by the fuzzer: at x = 33816, h = 0.034 and the plain central difference of sin is off
    by h²/6 ≈ 2e-4, a spurious failure; Richardson's estimate is off by ~3e-9."""
    report = gradient_check(evaluate("sin(x) / y", x=33816.0, y=1.0))
    assert report.passed and report.max_rel_error < 1e-7


@pytest.mark.parametrize("x", [1e7, 1895732067.0, 1e12])
def test_gradient_check_takes_smaller_steps_where_the_first_is_too_large(x):
    """h = eps·|x| spans periods of sin; h/10, h/100, … find the slope (the fuzzer found 1.9e9)."""
    report = gradient_check(evaluate("sin(x) / y", x=x, y=2.0))
    assert report.passed and report.inputs[0].numeric is not None and report.max_rel_error < 1e-5


def test_gradient_check_is_not_checkable_where_the_float_grid_is_too_coarse():
    """At x = 1e18 floats are 128 apart, more than a period of sin: no numeric slope means anything."""
    report = gradient_check(evaluate("sin(x) + y", x=1e18, y=1.0))
    by_name = {item.name: item for item in report.inputs}
    assert by_name["x"].numeric is None and "does not settle from h = 1e+12" in by_name["x"].note
    assert by_name["y"].passed and report.passed


def test_a_slope_that_never_settles_is_not_checkable():
    """The rule itself, with a slope that jumps at every step and never meets the gradient."""
    from backprop.graph.check import Slope, _compare

    jumps = iter(range(1, 100))
    numeric, *_, passed, note, _step = _compare(
        "x", 0.0, 1.0, 1e-6, 1e-4, lambda h: Slope(float(next(jumps)), 1e-10)
    )
    assert numeric is None and not passed and "does not settle from h = 1e-06" in note


def test_gradient_check_where_the_program_is_undefined_nearby():
    report = gradient_check(evaluate("sqrt(x) + y", x=1e-12, y=1), eps=1e-6)
    item = report.inputs[0]
    assert item.numeric is None and "not defined" in item.note and report.passed


def test_check_inputs_tells_a_clash_then_the_missing_then_a_bad_value_and_returns_the_unused():
    """One pass over the given names and one over the inputs, in the order the errors were told
    before: a name of the language or a binding, then every input without a value, then the first
    input whose value is not finite or too large."""
    from backprop.graph.engine import check_inputs
    from backprop.graph.errors import LimitError

    program = parse("u = x * y\nu + z")
    nan = float("nan")
    with pytest.raises(NameError_, match="u"):
        check_inputs(program, {"x": nan, "u": 1.0})
    with pytest.raises(NameError_) as missing:
        check_inputs(program, {"x": nan, "w": 1.0})
    assert "--y VALUE --z VALUE" in missing.value.hint
    with pytest.raises(InputError, match="the value of y is not a finite number"):
        check_inputs(program, {"x": 1.0, "y": nan, "z": math.inf})
    assert check_inputs(program, {"q": 1.0, "x": 1.0, "y": 2.0, "p": 0.0, "z": nan}, checked=True) == [
        "q",
        "p",
    ]
    small = parse("x * y", max_elements=0)
    with pytest.raises(LimitError):
        check_inputs(small, {"x": 1.0, "y": 2.0})
