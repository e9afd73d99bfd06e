"""`backprop diff` and `backprop hessian` of tensor programs: the derivative written with `@`, `.T`,
`sum(…, axis)` and the ops spread, sum_to and scatter reads back to `eval`'s gradient on random
tensor programs (test_differential_tensors' generator) and on the lecture's two-layer network; the
Hessian over tensor elements, and its products with a vector (--hvp), exact."""

from __future__ import annotations

import numpy as np
import pytest
from checks import strict_json
from hypothesis import given
from test_diff import derivatives_at
from test_differential_tensors import tensor_cases

from backprop import evaluate, parse
from backprop.cli.render.formula import render
from backprop.graph.adjoint import derivative
from backprop.graph.hessian import HessianVectorProduct, hessian, hvp, hvp_differences

TWO_LAYERS = "h = W1 @ x; L = (W2 @ h - y)**2"
NOTES = {  # the lecture notes' point (§3.3)
    "W1": np.array([[2.0, 1.0], [1.0, 1.0]]),
    "W2": np.array([1.0, -1.0]),
    "x": np.array([1.0, 2.0]),
    "y": 3.0,
}
NOTES_OPTIONS = ["--W1", "[[2, 1], [1, 1]]", "--W2", "[1, -1]", "--x", "[1, 2]", "--y", "3"]


def shapes_of(point: dict) -> dict:
    return {name: np.shape(value) for name, value in point.items()}


def diff(text: str, point: dict, *wrt: str) -> str:
    program = parse(text)
    return render(derivative(program, list(wrt) or list(program.inputs), shapes_of(point)))


def assert_same(got, expected, what: str) -> None:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, what
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12), (what, got, expected)


# -- the lecture's network -----------------------------------------------------------------------


def test_two_layer_network_reads_as_the_lecture_writes_its_backward_pass():
    printed = diff(TWO_LAYERS, NOTES, "W1", "W2")
    assert printed.splitlines() == [
        "h = W1 @ x",
        "d_b = 2*(W2 @ h - y)",
        "d_h = W2*d_b",  # the notes' W2ᵀ · ∂L/∂ŷ: a vector times a number
        "d_W1 = [d_h].T @ [x]",  # the outer product (∂L/∂h) xᵀ
        "d_W2 = h*d_b",
    ]


def test_two_layer_networks_w1_gradient_is_the_notes_numbers():
    got = derivatives_at(diff(TWO_LAYERS, NOTES, "W1", "W2"), ["W1", "W2"], NOTES)
    assert_same(got["W1"], [[-4.0, -8.0], [4.0, 8.0]], "dL/dW1 = (dL/dh) xᵀ, dL/dh = (-4, 4)")
    assert_same(got["W2"], [-16.0, -12.0], "dL/dW2 = -4·h, h = (4, 3)")
    x_only = derivatives_at(diff(TWO_LAYERS, NOTES, "x"), ["x"], NOTES)
    assert_same(x_only["x"], [-4.0, 0.0], "the notes' step 3")


# -- round trips ---------------------------------------------------------------------------------


@given(tensor_cases(depth=3))
def test_random_tensor_programs_round_trip_through_eval(case):
    text, point, _, _ = case
    expected = evaluate(text, point).gradients
    wrt = list(parse(text).inputs)
    got = derivatives_at(diff(text, point, *wrt), wrt, point)
    for name in wrt:
        assert_same(got[name], expected[name], f"d{name} of {text}")


@pytest.mark.parametrize(
    "text",
    [
        "sum(A * u)",  # u broadcast over A's rows: summed back with sum_to (here sum(…, 0))
        "sum(c * r)",  # a column against a row: both summed back
        "sum(s * A)",  # a scalar against a matrix: summed to a number
        "sum(A, 1) @ w",  # a gradient spread back along axis 1
        "mean(A, 0) @ u + mean(B)",
        "logsumexp(A) @ w + sum(softmax(B) * B) + sum(log_softmax(u))",
        "A[1, 2] * A[0] @ u + sum([u, u] * A)",  # subscripts scattered back; a literal taken apart
        "sum(B.T * A) + u @ B @ w + w @ A @ u",  # transposes; vector·matrix and matrix·vector
        "sum(tanh(A @ B)) + sum(T * c)",
        "sum(A * [[1, 2, 3], [4, 5, 6]])",  # a literal of numbers stays one
        "sum(relu(A - 1) + abs(u) + max(A, u))",
    ],
)
def test_named_patterns_round_trip(text):
    rng = np.random.default_rng(3)
    point = {
        "A": rng.uniform(0.5, 2, (2, 3)),
        "B": rng.uniform(0.5, 2, (3, 2)),
        "T": rng.uniform(0.5, 2, (2, 1, 3)),
        "c": rng.uniform(0.5, 2, (2, 1)),
        "r": rng.uniform(0.5, 2, (1, 3)),
        "u": rng.uniform(0.5, 2, (3,)),
        "w": rng.uniform(0.5, 2, (2,)),
        "s": 1.5,
    }
    program = parse(text)
    point = {name: point[name] for name in program.inputs}
    wrt = list(program.inputs)
    got = derivatives_at(diff(text, point, *wrt), wrt, point)
    expected = evaluate(text, point).gradients
    for name in wrt:
        assert_same(got[name], expected[name], f"d{name} of {text}")


def test_an_input_the_output_does_not_reach_has_zeros_of_its_shape():
    point = {"W": np.ones((2, 2)), "x": np.ones(2)}
    printed = diff("sum(x) + 0*sum(W)", point, "W")
    assert printed == "spread(0, W)"
    assert_same(derivatives_at(printed, ["W"], point)["W"], np.zeros((2, 2)), "zeros")


def test_a_broadcast_is_undone_only_where_shapes_differ():
    point = {"A": np.ones((2, 3)), "u": np.ones(3)}
    assert diff("sum(A * u)", point, "u") == "sum_to(A, u)"
    assert diff("sum(A * A)", point, "A") == "2*A"


def test_diff_of_a_tensor_diff_is_the_hessian_vector_product():
    # d/dw of sum(d_w * v) is H·v: diff's output read back through diff again
    point = {"w": np.array([0.5, -1.0, 2.0]), "v": np.array([1.0, 2.0, 3.0])}
    first = diff("sum(w**3)", point, "w")
    second = diff(f"sum(({first}) * v)", point, "w")
    assert_same(derivatives_at(second, ["w"], point)["w"], 6 * point["w"] * point["v"], "H·v of Σw³")


def test_a_whole_exponent_at_base_zero_reads_back_as_evals_zero():
    # d(x**y)/dy = x**y·ln x, which eval takes as 0 at x = 0 (x**y is flat in y there)
    for point in ({"x": 0.0, "y": 2.0}, {"x": 0.0, "y": 3.0}, {"x": 2.0, "y": 3.0}):
        printed = diff("x**y", point, "y")
        expected = evaluate("x**y", point).gradients["y"]
        assert derivatives_at(printed, ["y"], point)["y"] == expected
    assert diff("2**y", {"y": 1.0}, "y") == "2**y*log(2)"  # a positive base is written plainly


# -- hessian -------------------------------------------------------------------------------------


def test_hessian_of_a_sum_of_squares_is_twice_the_identity():
    result = hessian(parse("sum(w**2)"), {"w": np.array([1.0, -2.0, 3.0])})
    assert result.inputs == ["w[0]", "w[1]", "w[2]"]
    assert result.matrix == (2 * np.eye(3)).tolist() and result.eigenvalues == [2.0, 2.0, 2.0]


def test_hessian_over_matrix_elements_is_labelled_by_element():
    result = hessian(parse("sum((W @ x)**2)"), {"W": np.eye(2), "x": np.array([1.0, 2.0])})
    assert result.inputs == ["W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "x[0]", "x[1]"]
    assert result.symmetry_error == 0.0 and result.gradient["x[1]"] == 4.0


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("sum(tanh(W @ x))", {"W": [[1.0, 0.5], [-0.5, 0.2]], "x": [0.3, -0.7]}),
        ("logsumexp(A @ u) * s", {"A": [[0.1, 0.2, 0.3], [0.4, -0.5, 0.6]], "u": [1.0, 2.0, -1.0], "s": 0.7}),
        (TWO_LAYERS, NOTES),
    ],
)
def test_hvp_is_the_full_matrix_times_v_and_central_differences(text, point):
    program = parse(text)
    point = {
        name: np.asarray(value, dtype=float) if np.ndim(value) else float(value)
        for name, value in point.items()
    }
    rng = np.random.default_rng(11)
    vectors = {
        n: rng.standard_normal(np.shape(p)) if np.ndim(p) else float(rng.standard_normal())
        for n, p in point.items()
    }
    product, evaluation = hvp(program, point, vectors)
    matrix = np.array(hessian(program, point).matrix)
    names = list(program.inputs)
    flat = np.concatenate([np.ravel(vectors[n]) for n in names])
    expected = matrix @ flat
    got = np.concatenate([np.ravel(product[n]) for n in names])
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-12)
    numeric = hvp_differences(program, evaluation.inputs, vectors, 1e-5)
    assert np.allclose(np.concatenate([np.ravel(numeric[n]) for n in names]), got, rtol=1e-5, atol=1e-6)


def test_hvp_of_one_input_leaves_the_others_zero():
    program = parse("sum(w**2) * s")
    point = {"w": np.array([1.0, 2.0]), "s": 3.0}
    product = HessianVectorProduct(program, point)({"w": np.array([1.0, 0.0]), "s": 0.0})
    assert_same(product["w"], [6.0, 0.0], "2s·v")
    assert product["s"] == 2.0  # ∂²f/∂s∂w · v = 2w·v


# -- the commands --------------------------------------------------------------------------------


def test_command_diff_of_the_notes_network(run):
    code, out, err = run("diff", TWO_LAYERS, "--wrt", "W1", *NOTES_OPTIONS)
    assert code == 0 and err == "" and out.endswith("\nd_W1 = [d_h].T @ [x]\n")


def test_command_hessian_of_a_vector_input(run):
    code, out, _ = run("hessian", "sum(w**2)", "--w", "[1, 2, 3]", "--json")
    document = strict_json(out)
    assert code == 0 and document["inputs"] == ["w[0]", "w[1]", "w[2]"]
    assert document["hessian"] == (2 * np.eye(3)).tolist() and document["gradient"]["w[2]"] == 6.0


def test_command_hvp_json(run):
    code, out, _ = run(
        "hessian", "sum(w**3) + s*w[0]", "--w", "[1, 2]", "--s", "1", "--hvp", "w=[1, 1]", "--json", "--check"
    )
    document = strict_json(out)
    assert code == 0 and list(document)[:3] == ["inputs", "hvp", "gradient"]
    assert document["hvp"] == {"w": [6.0, 12.0], "s": 1.0} and document["check"]["passed"]
    assert document["gradient"] == {"w": [4.0, 12.0], "s": 1.0}


def test_command_hvp_text(run):
    code, out, _ = run("hessian", "sum(w**3)", "--w", "[1, 2]", "--hvp", "w=[1, 0]", "--check")
    assert code == 0 and "(H·v) for w: [6, 0]" in out and "passed" in out


@pytest.mark.parametrize(
    ("command", "args", "kind", "said"),
    [
        ("diff", ["sum(W @ x)", "--W", "[[1, 2]]", "--x", "[1, 2, 3]"], "shape", "inner sizes"),
        ("diff", ["W @ x", "--W", "[[1, 2]]", "--x", "[1, 2]"], "shape", "a derivative is of a scalar"),
        ("diff", ["sum(T @ B)", "--T", "[[[1, 2]]]", "--B", "[[1], [2]]"], "shape", "vectors and matrices"),
        ("hessian", ["sum(w**2)", "--w", "[1, 2]", "--hvp", "w=[1, 2, 3]"], "input", "shape (3,)"),
        ("hessian", ["sum(relu(w))", "--w", "[0, 2]", "--hvp", "w=[1, 1]"], "domain", "kink"),
    ],
)
def test_command_errors_exit_2(run, command, args, kind, said):
    code, out, err = run(command, *args, "--json")
    document = strict_json(out)["error"]
    assert code == 2 and document["type"] == kind and said in document["message"], document
    assert document["hint"] and "Traceback" not in err
