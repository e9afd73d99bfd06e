"""Hostile input through the command: numbers that overflow or are not numbers, options and value
files that are wrong in every way. Each is a clean exit-2 error naming what went wrong (one strict
JSON error object under --json), or a documented IEEE result — never a traceback."""

from __future__ import annotations

import math

import pytest
from checks import assert_clean_error
from fuzzing import cli, cli_json, vars_file

from backprop import BackpropError, evaluate

# ------------------------------------------------------------------------------------------------
# Hostile numbers: a clean exit-2 error naming what went wrong, or a documented IEEE result
# ------------------------------------------------------------------------------------------------

HOSTILE_NUMBERS = [
    ("10**10**10", [], "domain"),
    ("exp(1000)", [], "domain"),
    ("1e308*10", [], "domain"),
    ("1e308 + 1e308", [], "domain"),
    ("0**-1", [], "domain"),
    ("log(0)", [], "domain"),
    ("0/0", [], "domain"),
    ("1" + "0" * 400, [], "domain"),  # a 400-digit integer literal
    ("(-8)**(1/3)", [], "domain"),
    ("x**-1", ["--x", "5e-324"], "domain"),  # 1/5e-324 overflows
    ("exp(x)", ["--x", "710"], "domain"),
    ("x*x", ["--x", "1e200"], "domain"),
    ("sqrt(x)", ["--x", "0"], "domain"),  # the value is 0, the derivative is not finite
    ("a*2", ["--a", "nan"], "input"),
    ("a*2", ["--a", "inf"], "input"),
    ("a*2", ["--a", "-inf"], "input"),
    ("a*2", ["--a=-inf"], "input"),
    ("a*2", ["--a", "1e999"], "input"),
    ("a*2", ["--var", "a=NaN"], "input"),
    ("a*2", ["--a", "0x10"], "input"),
]


@pytest.mark.parametrize(
    ("program", "values", "kind"), HOSTILE_NUMBERS, ids=[f"{p} {' '.join(v)}" for p, v, _ in HOSTILE_NUMBERS]
)
def test_hostile_numbers_are_clean_errors(program, values, kind):
    code, document, stderr = cli_json("eval", "--json", *values, "--", program, seconds=10)
    assert code == 2
    assert document["error"]["type"] == kind
    assert stderr.startswith("error: ")


IEEE_RESULTS = [
    ("exp(-1000)", 0.0),  # underflow to 0 is a value, not an error
    ("0." + "0" * 400 + "1", 0.0),
    ("2**-1074", 5e-324),
    ("sigmoid(-1000)", 0.0),
    ("tan(pi/2)", math.tan(math.pi / 2)),  # pi/2 is not exactly π/2: a large finite number
    ("1" + "0" * 300, 1e300),
]


@pytest.mark.parametrize(("program", "value"), IEEE_RESULTS, ids=[p[:30] for p, _ in IEEE_RESULTS])
def test_documented_ieee_results(program, value):
    code, document, _ = cli_json("eval", "--json", "--", program)
    assert code == 0 and document["value"] == value


def test_an_underflowing_product_has_a_zero_gradient():
    code, document, _ = cli_json("eval", "--json", "x*1e-300*1e-300", "--x", "1")
    assert code == 0 and document["value"] == 0.0 and document["gradients"] == {"x": 0.0}


# ------------------------------------------------------------------------------------------------
# Hostile options and files
# ------------------------------------------------------------------------------------------------


BAD_VARS = {
    "not JSON": "a = 7",
    "not an object": "[7]",
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": Infinity}',
    "overflowing number": '{"a": 1e999}',
    "400-digit integer": '{"a": 1' + "0" * 400 + "}",
    "a string": '{"a": "seven"}',
    "true": '{"a": true}',
    "null": '{"a": null}',
    "a ragged list": '{"a": [[1, 2], [3]]}',
    "a list with NaN": '{"a": [1, NaN]}',
    "a list of strings": '{"a": ["7"]}',
    "not a name": '{"1a": 7, "a": 7}',
    "nested 100,000 deep": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "objects nested 100,000 deep": '{"a":' * 100_000 + "7" + "}" * 100_000,
    "empty": "",
    "not UTF-8": "\udcff",
}


@pytest.mark.parametrize("content", list(BAD_VARS.values()), ids=list(BAD_VARS))
def test_bad_vars_files_are_input_errors(tmp_path, content):
    if content == "\udcff":
        path = tmp_path / "values.json"
        path.write_bytes(b'{"a": 7, "\xff": 1}')
        where = str(path)
    else:
        where = vars_file(tmp_path, content)
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=10)
    assert code == 2 and document["error"]["type"] == "input"
    assert "recursion" not in document["error"]["message"]  # Python's words, not the user's


def test_a_deeply_nested_value_file_says_so(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, document, _ = cli_json("eval", "sum(x)", "--json", "--x", f"@{path}", seconds=10)
    assert code == 2
    assert "is not valid JSON: it nests deeper than the JSON reader follows" in document["error"]["message"]
    assert "nested lists of numbers" in document["error"]["hint"]


# A value for a function or a constant can never be used: giving one is a mistake to report (exit 2),
# the command-line form of assigning to a function name or to pi, which the README makes an error.
RESERVED = [
    ("exp(x)", ["--x", "1", "--exp", "3"], "exp"),
    ("exp(x)", ["--x", "1", "--var", "exp=3"], "exp"),
    ("sin(x) + max(x, 1)", ["--x", "1", "--max", "2"], "max"),
    ("2 * pi * x", ["--x", "1", "--pi", "3"], "pi"),
]


@pytest.mark.parametrize(
    ("program", "values", "name"), RESERVED, ids=[" ".join(v[2:]) for _, v, _ in RESERVED]
)
def test_values_for_functions_and_constants_are_errors(program, values, name):
    code, document, _ = cli_json("eval", program, "--json", *values)
    assert code == 2, f"--{name} was accepted: {document}"
    assert document["error"]["type"] in ("name", "input") and name in document["error"]["message"]


def test_function_names_in_a_vars_file_are_errors(tmp_path):
    code, document, _ = cli_json(
        "eval", "exp(x)", "--json", "--vars", vars_file(tmp_path, '{"x": 1, "exp": 3}')
    )
    assert code == 2 and "exp" in document["error"]["message"]


def test_an_input_named_like_an_option_works_through_var():
    code, document, _ = cli_json("eval", "eps * 2", "--json", "--var", "eps=3")
    assert code == 0 and document["value"] == 6.0


TWICE = [
    ["--a", "1", "--a", "2"],
    ["--a", "1", "--a", "1"],
    ["--a", "1", "--var", "a=2"],
    ["--a=1", "--a", "1"],
    ["--var", "a=1", "--var", "a=1"],
]


@pytest.mark.parametrize("values", TWICE, ids=[" ".join(v) for v in TWICE])
def test_a_value_given_twice_is_an_input_error(values):
    code, document, _ = cli_json("eval", "a * 2", "--json", *values)
    assert code == 2 and document["error"]["type"] == "input"


def test_a_value_given_twice_across_a_vars_file(tmp_path):
    code, document, _ = cli_json(
        "eval", "a * 2", "--json", "--a", "1", "--vars", vars_file(tmp_path, '{"a": 2}')
    )
    assert code == 2 and document["error"]["type"] == "input"


GARBLED = [
    ["--rows", "abc"],
    ["--rows", "1.5"],
    ["--eps", "x"],
    ["--tol"],
    ["--check=1"],
    ["--json=yes"],
    ["-z"],
    ["---a", "3"],
    ["--=3"],
    ["--1a", "3"],
    ["--a="],
    ["--b"],
    ["--var"],
    ["--var", "novalue"],
    ["--var", "=3"],
    ["--vars", "/nonexistent/values.json"],
    ["--eps", "0"],
    ["--eps", "-1"],
    ["--eps", "nan"],
    ["--tol", "-0"],
    ["--rows", "0"],
    ["--rows", "-5"],
    ["a"],  # a second program
]


@pytest.mark.parametrize("garbled", GARBLED, ids=[" ".join(g) for g in GARBLED])
def test_garbled_options_are_exit_2_with_a_json_error(garbled):
    """Every usage error is exit 2 with the JSON error object on stdout, as the README promises."""
    code, document, stderr = cli_json("eval", "a * 2", "--json", "--a", "7", *garbled)
    assert code == 2, document
    assert stderr.strip()


EXTREME_CHECKS = [
    ["--check", "--eps", "inf"],
    ["--check", "--eps", "1e308"],
    ["--check", "--eps", "1e-320"],
    ["--check", "--tol", "inf"],
    ["--check", "--tol", "1e308"],
    ["--check", "--eps", "1e10", "--tol", "1e-300"],
]


@pytest.mark.parametrize("options", EXTREME_CHECKS, ids=[" ".join(o) for o in EXTREME_CHECKS])
def test_extreme_check_options_never_break_json(options):
    """Accepted or refused, but never a traceback or a number that is not strict JSON."""
    for program in ("a * 2", "a * 1e300", "sqrt(a)"):
        code, document, _ = cli_json("eval", program, "--json", "--a", "7", *options)
        if code != 2:  # a pass has a number; no number is "not checkable", and all of those is exit 1
            inputs = document["check"]["inputs"].values()
            assert all(item["passed"] is None or item["numeric"] is not None for item in inputs)
            assert (code == 1) == (not document["check"]["passed"])
            assert document["check"]["passed"] == any(item["passed"] for item in inputs)
        cli("eval", program, "--a", "7", *options)  # and the tables


def test_a_program_that_starts_with_double_dash_comes_from_stdin():
    """README: a program starting with `--` (such as `--x`, i.e. -(-x)) is read from stdin."""
    code, document, _ = cli_json("eval", "-", "--json", "--x", "3", stdin="--x")
    assert code == 0 and document["value"] == 3.0


def test_rich_markup_in_a_comment_is_printed_not_interpreted():
    """A comment inside an expression is part of its source text; Rich must not read it as markup."""
    code, stdout, _ = cli("eval", "x + # [/b] [red]\n y", "--x", "1", "--y", "2")
    assert code == 0
    assert "[/b]" in stdout


def test_matmul_on_scalars_is_a_clean_error():
    """`@` is in the grammar for tensors; on scalars it must be a BackpropError, not a KeyError."""
    with pytest.raises(BackpropError) as caught:
        evaluate("x @ y", x=1.0, y=2.0)
    assert_clean_error(caught.value, "x @ y")
    code, document, _ = cli_json("eval", "x @ y", "--json", "--x", "1", "--y", "2")
    assert code == 2


def test_an_axis_on_a_scalar_is_a_clean_error():
    """sum(x, 0) with a scalar x: there is no axis 0 (README: `sum(x, 2)` is a shape error)."""
    with pytest.raises(BackpropError) as caught:
        evaluate("sum(x, 0)", x=2.0)
    assert_clean_error(caught.value, "sum(x, 0)")
    code, document, _ = cli_json("eval", "sum(x, 0)", "--json", "--x", "2")
    assert code == 2 and document["error"]["type"] == "shape"


@pytest.mark.parametrize("program", ["2*3", "pi", "u = 2*3\nu", "sin(1) + 1"])
def test_output_computed_from_constants_has_no_gradient(program):
    """README: grad is null for constants and nodes computed only from constants — the output too."""
    code, document, _ = cli_json("eval", program, "--json")
    assert code == 0 and document["gradients"] == {}
    output = next(node["id"] for node in document["nodes"] if node["name"] == document["output"])
    # every node but the output (∂L/∂L = 1 always) has no gradient
    assert [node["grad"] for node in document["nodes"] if node["id"] != output] == [None] * (
        len(document["nodes"]) - 1
    )
    assert [node["grad"] for node in document["nodes"] if node["id"] == output] == [1.0]
