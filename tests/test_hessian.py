"""`backprop hessian`: exact second derivatives (the gradient of each first derivative), checked
against SymPy on random programs, and what they say about the point."""

from __future__ import annotations

import math

import pytest
import sympy
from checks import strict_json
from fuzzing import COMMON_VALUES, anything, assert_json_document, cli
from hypothesis import assume, given
from hypothesis import strategies as st
from oracles import oracle_budget
from strategies import cases
from test_differential import Converter, checkable

from backprop import BackpropError, DomainError, parse
from backprop.graph.hessian import hessian

BOWL = "(x - 1)**2 + 3*(y + 2)**2 + x*y"


def test_a_quadratic_has_its_constant_matrix():
    result = hessian(parse(BOWL), {"x": 1.0, "y": 2.0})
    assert result.matrix == [[2.0, 1.0], [1.0, 6.0]] and result.symmetry_error == 0.0
    assert result.kind is None  # the gradient (2, 25) is not zero: no kind
    assert [round(x, 12) for x in result.eigenvalues] == [
        round(4 - math.sqrt(5), 12),
        round(4 + math.sqrt(5), 12),
    ]


@pytest.mark.parametrize(
    ("text", "point", "kind"),
    [
        ("x**2 + y**2", {"x": 0.0, "y": 0.0}, "minimum"),
        ("-x**2 - 2*y**2 + x*y", {"x": 0.0, "y": 0.0}, "maximum"),
        ("x**2 - y**2", {"x": 0.0, "y": 0.0}, "saddle"),
        ("x**4 + y**2", {"x": 0.0, "y": 0.0}, "degenerate"),
        ("x**3 - y**2", {"x": 0.0, "y": 0.0}, "degenerate"),  # flat in x, falling in y: only one sign seen
        ("x**2 - y**2 + z**4", {"x": 0.0, "y": 0.0, "z": 0.0}, "saddle"),  # both signs, and a flat one
        ("cos(x) * cos(y)", {"x": 0.0, "y": math.pi}, "minimum"),  # -1, its lowest
        ("cos(x) * cos(y)", {"x": math.pi / 2, "y": math.pi / 2}, "saddle"),
        ("cos(x) + cos(y)", {"x": 0.0, "y": 0.0}, "maximum"),
    ],
)
def test_the_kind_of_a_stationary_point(text, point, kind):
    assert hessian(parse(text), point).kind == kind


def test_a_single_input_is_the_second_derivative():
    result = hessian(parse("sin(x) * x"), {"x": 0.7})
    assert math.isclose(result.matrix[0][0], 2 * math.cos(0.7) - 0.7 * math.sin(0.7), rel_tol=1e-14)


def test_an_input_missing_from_the_first_derivative_has_zero_rows():
    assert hessian(parse("3*x + y**2"), {"x": 1.0, "y": 2.0}).matrix == [[0.0, 0.0], [0.0, 2.0]]


@given(cases())
def test_random_programs_match_sympys_second_derivatives(case):
    generated, point = case
    program = parse(generated.text())
    if not program.inputs:
        with pytest.raises(BackpropError):
            hessian(program, point)
        return
    assume(checkable(generated, point))
    result = hessian(program, point)
    with oracle_budget():
        convert = Converter(point)
        output = convert(generated.output)
        symbols = [convert.symbols[name] for name in result.inputs]
        expected = [[convert.value(sympy.diff(output, a, b)) for b in symbols] for a in symbols]
    for row, exact_row in zip(result.matrix, expected, strict=True):
        for ours, exact in zip(row, exact_row, strict=True):
            assert math.isclose(ours, exact, rel_tol=1e-7, abs_tol=1e-7), (
                generated.text(),
                result.matrix,
                expected,
            )


def test_a_kink_at_the_point_is_an_error_naming_it():
    with pytest.raises(DomainError, match=r"relu\(x\) is at a kink") as caught:
        hessian(parse("y * relu(x)"), {"x": 0.0, "y": 2.0})
    assert (caught.value.line, caught.value.column) == (1, 5)


# -- the command ---------------------------------------------------------------------------------


def test_command_json_is_the_documented_object(run):
    code, out, err = run("hessian", "x**2 - y**2", "--x", "0", "--y", "0", "--json")
    document = strict_json(out)
    assert code == 0 and err == ""
    assert list(document)[:5] == ["inputs", "hessian", "eigenvalues", "kind", "gradient"]
    assert document["inputs"] == ["x", "y"] and document["hessian"] == [[2.0, 0.0], [0.0, -2.0]]
    assert document["eigenvalues"] == [-2.0, 2.0] and document["kind"] == "saddle"
    assert document["gradient"] == {"x": 0.0, "y": 0.0} and document["symmetry_error"] == 0.0


def test_command_table_labels_rows_and_columns_with_the_inputs(run):
    code, out, _ = run("hessian", BOWL, "--x", "1", "--y", "2")
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") == 4
    ]
    assert code == 0 and rows == [["x", "2", "1"], ["y", "1", "6"]]
    assert "not a stationary point" in out and "eigenvalues 1.76393, 6.23607" in out


def test_command_check_compares_with_central_differences(run):
    code, out, _ = run("hessian", "sin(x)*exp(y) + x**3*y", "--x", "0.5", "--y", "2", "--check", "--json")
    document = strict_json(out)
    assert code == 0 and document["check"]["passed"] and document["check"]["max_error"] < 1e-6
    assert len(document["check"]["numeric"]) == 2


def test_command_check_failing_exits_1(run):
    """A step too large for x**6's curvature: the numeric Hessian is off, and says so."""
    code, out, _ = run("hessian", "x**6", "--x", "1", "--check", "--eps", "0.1", "--json")
    assert code == 1 and not strict_json(out)["check"]["passed"]


@pytest.mark.parametrize(
    ("args", "kind", "said"),
    [
        (["relu(x) * x", "--x", "0"], "domain", "kink"),
        (["max(x, y)**2", "--x", "1", "--y", "1"], "domain", "kink"),
        (["W @ x", "--W", "[[1, 2]]", "--x", "[1, 2]"], "shape", "scalar output"),
        (["sum(x * x)", "--x", "[1, 2]", "--hvp", "x=[1]"], "input", "the vector has shape (1,)"),
        (["sum(x * x)", "--x", "[1, 2]", "--hvp", "y=[1, 2]"], "input", "no input named y"),
        (["sum(x * x)", "--x", "[1, 2]", "--hvp", "x"], "input", "not NAME=VALUE"),
        (["sum(x * x)", "--x", "[1, 2]", "--hvp", "x=1", "--hvp", "x=2"], "input", "given twice"),
        (["sum(x * x)", "--x", "[" + ", ".join(["1"] * 401) + "]"], "input", "at most 400 input elements"),
        (["x * y", "--x", "1"], "name", "no value for y"),
        (["x", "--x", "1", "--gtol", "-1"], "input", "--gtol"),
        (["", "--x", "1"], "syntax", "empty"),
    ],
)
def test_command_errors_exit_2(run, args, kind, said):
    code, out, err = run("hessian", *args, "--json")
    document = strict_json(out)["error"]
    assert code == 2 and document["type"] == kind and said in document["message"], document
    assert "Traceback" not in err


def test_help_has_examples(run):
    code, out, _ = run("hessian", "--help")
    assert code == 0 and "Examples" in out and "--check" in out


@given(anything, st.sampled_from([[], ["--check"], ["--gtol", "1e-3"]]))
def test_command_on_anything(text, flags):
    """Any text: exit 0, 1 or 2, no traceback, one strict JSON object under --json."""
    code, stdout, _ = cli("hessian", *flags, *COMMON_VALUES, "--json", "--", text)
    assert_json_document(code, stdout)
