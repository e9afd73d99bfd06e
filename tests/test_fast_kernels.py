"""Issue 19's kernels: batch's fast path (NumPy's vectorised functions, whole powers as
multiplications) agrees with eval within FAST_ULPS; --exact is eval bit for bit; an input already
checked is neither copied nor scanned again; a side no wanted input flows into gets no vjp."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checks import strict_json
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop import BackpropError, evaluate, parse
from backprop.graph import kernels, values
from backprop.graph.batch import FAST_ULPS, evaluate_columns
from backprop.graph.engine import backward, forward
from backprop.graph.libm import libm_array
from backprop.graph.wanted import needs_grad_of

# Each function on a wide domain of its own: where it is defined, and past where it overflows.
DOMAINS = {
    "exp": (-745.0, 709.0),
    "log": (1e-300, 1e300),
    "sqrt": (0.0, 1e300),
    "sin": (-1e4, 1e4),
    "cos": (-1e4, 1e4),
    "tan": (-1e4, 1e4),
    "tanh": (-25.0, 25.0),
    "log2": (1e-300, 1e300),
    "log10": (1e-300, 1e300),
    "sinh": (-710.0, 710.0),
    "cosh": (-710.0, 710.0),
    "asin": (-1.0, 1.0),
    "acos": (-1.0, 1.0),
    "atan": (-1e10, 1e10),
    "sigmoid": (-745.0, 745.0),
    "softplus": (-745.0, 745.0),
}
POWERS = ["x**2", "x**3", "x**4", "x**(-2)", "x**(-3)", "x**(-4)", "x**5", "x**2.5", "x**(-1.5)"]


def _ulps(got: float, want: float, scale: float) -> float:
    """|got − want| in units in the last place of `scale`."""
    return abs(got - want) / math.ulp(abs(scale)) if got != want else 0.0


def _assert_close_to_eval(text: str, xs: list[float]) -> None:
    """The fast batch's value within FAST_ULPS ulp of eval's at every point; its gradient within
    FAST_ULPS ulp of the larger of |gradient| and |value| (tanh′ = 1 − tanh² cancels, so its own
    ulp would say nothing). A point eval refuses is refused alike, with eval's message."""
    program = parse(text)
    batch = evaluate_columns(program, {"x": np.array(xs)})
    for k, x in enumerate(xs):
        result = batch.result(k)
        try:
            single = evaluate(program, {"x": x})
        except BackpropError as error:
            assert result.error is not None and result.error.message == error.message
            continue
        assert result.error is None, (text, x, result.error.message)
        value, grad = single.value, single.gradients["x"]
        assert _ulps(result.value, value, value) <= FAST_ULPS, (text, x, result.value, value)
        scale = max(abs(grad), abs(value))
        assert _ulps(result.gradients["x"], grad, scale) <= FAST_ULPS, (text, x, result.gradients, grad)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(DOMAINS)), st.data())
def test_the_fast_functions_agree_with_eval_within_the_bound(name, data):
    low, high = DOMAINS[name]
    xs = data.draw(st.lists(st.floats(low, high, allow_nan=False), min_size=1, max_size=50))
    _assert_close_to_eval(f"{name}(x)", xs)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(POWERS), st.lists(st.floats(-1e60, 1e60, allow_nan=False), min_size=1, max_size=50))
def test_the_fast_powers_agree_with_eval_within_the_bound(text, xs):
    if "." in text:  # a fractional power: a positive base
        xs = [abs(x) for x in xs]
    _assert_close_to_eval(text, xs)


def test_the_bound_holds_over_many_wide_points():
    """The measurement behind FAST_ULPS, at 4,000 points a function (2·10⁶ in the report)."""
    rng = np.random.default_rng(19)
    for name, (low, high) in DOMAINS.items():
        if low > 0:  # logarithms: spread over the exponents, not the values
            xs = np.exp(rng.uniform(math.log(low), math.log(high), 4_000))
        else:
            xs = rng.uniform(low, high, 4_000)
        _assert_close_to_eval(f"{name}(x)", xs.tolist())
    for text in POWERS:
        xs = np.exp(rng.uniform(-60, 60, 4_000)) * rng.choice([-1.0, 1.0], 4_000)
        _assert_close_to_eval(text, (np.abs(xs) if "." in text else xs).tolist())


def test_fast_is_not_exact_but_exact_is_eval_bit_for_bit():
    """tanh: NumPy's differs from the C library's at about a third of these points; --exact's not at one."""
    program = parse("tanh(x) * y")
    rng = np.random.default_rng(3)
    columns = {"x": rng.uniform(-3, 3, 2_000), "y": rng.uniform(-2, 2, 2_000)}
    fast = evaluate_columns(program, columns)
    exact = evaluate_columns(program, columns, exact=True)
    singles = [evaluate(program, {"x": float(x), "y": float(y)}) for x, y in zip(*columns.values())]
    assert exact.value.tolist() == [single.value for single in singles]
    assert exact.gradients["x"].tolist() == [single.gradients["x"] for single in singles]
    differs = sum(f != s.value for f, s in zip(fast.value.tolist(), singles))
    assert 100 < differs < 2_000


def test_batch_exact_on_the_command_line(run):
    points = "".join(f'{{"x": {x}}}\n' for x in (0.3, 0.7, 1.9, -2.2, 19.0))
    code, out, _ = run("batch", "tanh(x)**3", "--exact", input=points)
    assert code == 0
    for line, x in zip(out.splitlines(), (0.3, 0.7, 1.9, -2.2, 19.0)):
        single = evaluate("tanh(x)**3", x=x)
        got = strict_json(line)
        assert (got["value"], got["gradients"]["x"]) == (single.value, single.gradients["x"])


# -- whole powers -----------------------------------------------------------------------------------


def test_a_whole_power_of_an_array_is_multiplications():
    x = np.random.default_rng(5).uniform(-3, 3, 10_000)
    assert kernels.power(x, 3.0).tolist() == (x * x * x).tolist()
    assert kernels.power(x, -2.0).tolist() == (1.0 / (x * x)).tolist()
    assert kernels.power_slope(x, 3.0).tolist() == (3.0 * (x * x)).tolist()
    assert kernels.power_slope(x, -2.0).tolist() == (-2.0 * (1.0 / (x * x * x))).tolist()
    assert (kernels.power(x, 3.0) != np.power(x, 3.0)).any()  # not np.power: it rounds once
    assert kernels.whole_exponent(float(kernels.WHOLE_POWERS + 1)) is None
    assert kernels.whole_exponent(2.5) is None and kernels.whole_exponent(1.0) is None


def test_scalars_and_the_exact_path_keep_the_power_function():
    """eval keeps Python's ** (micrograd's values bit for bit); --exact keeps math.pow."""
    xs = np.random.default_rng(6).uniform(-3, 3, 2_000)
    assert [kernels.power(x, 3.0) for x in xs.tolist()] == [x**3.0 for x in xs.tolist()]
    exact = xs.view(libm_array())
    assert kernels.power(exact, 3.0).tolist() == [math.pow(x, 3.0) for x in xs.tolist()]


def test_a_whole_power_at_zero_is_refused_as_eval_refuses_it():
    program = parse("x**(-2)")
    batch = evaluate_columns(program, {"x": np.array([0.0, 2.0])})
    with pytest.raises(BackpropError) as refused:
        evaluate(program, {"x": 0.0})
    assert batch.result(0).error.message == refused.value.message
    assert batch.result(1).value == 0.25 and batch.result(1).gradients == {"x": -0.25}


# -- one scan, no copy; no vjp for a side that needs none ------------------------------------------


def test_a_float64_input_is_scanned_once_and_not_copied(monkeypatch):
    X = np.random.default_rng(8).standard_normal((300, 20))
    scanned = []
    real = kernels.is_finite
    spy = lambda x: scanned.append(x is X) or real(x)  # noqa: E731
    monkeypatch.setattr(kernels, "is_finite", spy)
    monkeypatch.setattr(values, "is_finite", spy)
    result = evaluate("sum(X**2)", X=X)
    assert scanned.count(True) == 1 and result.inputs["X"] is X


def test_is_finite_in_one_pass_with_overflow_checked_element_by_element():
    assert kernels.is_finite(np.array([1e308, 1e308]))  # the sum overflows: the elements do not
    assert not kernels.is_finite(np.array([1.0, np.nan])) and not kernels.is_finite(
        np.array([np.inf, -np.inf])
    )
    assert not kernels.is_finite(np.array([[1.0], [-np.inf]])) and kernels.is_finite(np.zeros((2, 3)))


def test_the_needs_mask_is_the_nodes_the_wanted_inputs_flow_into():
    program = parse("u = a * b; v = sin(c) + u; w = max(v, a); w * [1, 2] @ [c, 3]")
    for wanted in (["a"], ["b"], ["c"], ["a", "c"], []):
        needs = needs_grad_of(program, wanted)
        for node_id in range(len(program)):
            inputs = program.inputs_of(node_id)
            flows = (program.names.get(node_id) in wanted and not inputs) or any(needs[i] for i in inputs)
            assert needs[node_id] == flows


def test_no_vjp_for_a_data_matrix_when_only_the_weights_are_wanted(monkeypatch):
    """matmul's g @ wᵀ for X is the step's largest product: with wrt=w it is never computed."""
    asked = []
    real = kernels.matmul_vjp
    monkeypatch.setattr(
        kernels, "matmul_vjp", lambda g, x, y, wants=(True, True): asked.append(wants) or real(g, x, y, wants)
    )
    rng = np.random.default_rng(9)
    point = {"X": rng.standard_normal((50, 4)), "w": rng.standard_normal(4), "y": rng.standard_normal(50)}
    every = evaluate("mean((X @ w - y)**2)", point)
    only_w = evaluate("mean((X @ w - y)**2)", point, wrt=["w"])
    assert asked == [(True, True), (False, True)]
    assert only_w.gradients["w"].tolist() == every.gradients["w"].tolist() and only_w.value == every.value


def test_backward_leaves_unwanted_nodes_without_a_gradient():
    program = parse("(a + b**3) * c")
    values = forward(program, {"a": 7.0, "b": 3.0, "c": 2.0})
    grads = backward(program, values, needs=needs_grad_of(program, ["b"]))
    labels = program.labels()
    assert {labels[i]: g for i, g in enumerate(grads) if g is not None} == {
        "b": 54.0,
        "d": 2.0,
        "e": 2.0,
        "f": 1.0,
    }
