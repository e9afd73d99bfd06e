"""The `backprop eval` command: tables, strict JSON, values in every form, exit codes, errors."""

from __future__ import annotations

import pytest
from checks import strict_json
from typer.testing import CliRunner

from backprop.cli.app import load_commands


def test_lecture_example_table(run):
    code, out, err = run("eval", "(a + b**3) * c", "--a", "7", "--b", "3", "--c", "2")
    assert code == 0 and err == ""
    assert "(a + b**3) * c" in out and "68" in out
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.count("│") >= 7}
    assert rows["d"].split("│")[5].strip() == "27" and rows["d"].split("│")[6].strip() == "2"  # Pow3 d
    assert rows["b"].split("│")[6].strip() == "54"
    assert "gradients of f = 68" in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


NODE_KEYS = ["id", "name", "op", "expr", "inputs", "shape", "value", "grad"]
LECTURE_NODES = [  # the slides' (a + b)*b³ at a = 7, b = 3, as its JSON nodes
    (0, "a", "input", "a", [], [], 7.0, 27.0),
    (1, "b", "input", "b", [], [], 3.0, 297.0),
    (2, "c", "add", "a + b", [0, 1], [], 10.0, 27.0),
    (3, "3", "const", "3", [], [], 3.0, None),  # a constant has no gradient
    (4, "d", "pow", "b^3", [1, 3], [], 27.0, 10.0),
    (5, "e", "mul", "(a + b)*b^3", [2, 4], [], 270.0, 1.0),
]
LECTURE_DOCUMENT = {
    "expression": "(a + b)*b^3",
    "output": "e",
    "value": 270.0,
    "gradients": {"a": 27.0, "b": 297.0},
    "kinks": [],  # no node at a kink (tests/test_kinks.py has the ones that are)
    "nodes": [dict(zip(NODE_KEYS, row, strict=True)) for row in LECTURE_NODES],
}


def test_json_for_jq(run):
    """The whole document, its keys in this order at every level; a scalar's shape is []."""
    code, out, err = run("eval", "(a + b)*b^3", "--a", "7", "--b", "3", "--json")
    assert code == 0 and err == ""
    document = strict_json(out)
    assert document == LECTURE_DOCUMENT and list(document) == list(LECTURE_DOCUMENT)
    assert [list(node) for node in document["nodes"]] == [NODE_KEYS] * len(LECTURE_NODES)


def test_program_from_stdin_with_var(run_json):
    code, document = run_json("eval", "-", "--var", "a=7", "--var", "b=3", "--var", "c=2", input="(a+b)*c\n")
    assert code == 0 and document["gradients"] == {"a": 2.0, "b": 2.0, "c": 10.0}


@pytest.mark.parametrize(
    "args",
    [
        ["--b", "-3"],
        ["--b=-3"],
        ["--var", "b=-3"],
        ["--var", "b = -3"],
    ],
)
def test_negative_values_in_every_form(run_json, args):
    code, document = run_json("eval", "a * b", "--a", "2", *args)
    assert code == 0 and document["value"] == -6.0


def test_vars_file(run_json, tmp_path):
    values = tmp_path / "values.json"
    values.write_text('{"a": 7, "b": 3}')
    code, document = run_json("eval", "(a + b) * b**3", "--vars", str(values))
    assert code == 0 and document["gradients"]["b"] == 297.0


def test_program_starting_with_minus_after_double_dash(run):
    code, out, _ = run("eval", "--json", "--x", "3", "--", "-x**2")
    assert code == 0 and strict_json(out)["value"] == -9.0


def test_program_starting_with_minus_without_double_dash(run_json):
    code, document = run_json("eval", "-x**2", "--x", "3")
    assert code == 0 and document["gradients"] == {"x": -6.0}


def test_unused_input_is_a_warning(run):
    code, out, err = run("eval", "a * 2", "--a", "1", "--z", "5", "--json")
    assert code == 0
    assert "warning: z is given a value but the program never uses it" in err
    assert strict_json(out)["gradients"] == {"a": 2.0}


@pytest.mark.parametrize(
    ("args", "kind", "words"),
    [
        (["eval", "(a + $b)", "--a", "1"], "syntax", "unexpected character"),
        (["eval", "sine(a)", "--a", "1"], "name", "unknown function sine"),
        (["eval", "a * b"], "name", "no value for a, b"),
        (["eval", "log(a)", "--a", "-1"], "domain", "log(a) is undefined"),
        (["eval", "a", "--a", "nan"], "input", "not finite"),
        (["eval", "a", "--a", "1", "--a", "2"], "input", "given twice"),
        (["eval", "a", "--a", "seven"], "input", "not a number"),
        (["eval", "a", "--var", "a"], "input", "not NAME=VALUE"),
        (["eval", "a", "b"], "input", "more than one program"),
        (["eval", "a", "--a", "1", "--chek"], "input", "unknown option --chek"),
        (["eval", "a", "--a", "1", "-j"], "input", "unknown option -j"),
        (["trace", "-j", "a", "--a", "1"], "input", "unknown option -j"),
    ],
)
def test_errors_exit_2_with_a_json_error_object(run, args, kind, words):
    code, out, err = run(*args, "--json")
    assert code == 2
    error = strict_json(out)["error"]
    assert error["type"] == kind and words in error["message"]
    assert set(error) == {"type", "message", "line", "column", "hint"}  # the same keys, hint or not
    assert err.startswith("error: ") and "Traceback" not in err


def test_a_misspelt_option_gets_a_did_you_mean(run_json):
    code, document = run_json("eval", "a", "--a", "1", "--chek")
    assert code == 2
    assert (
        document["error"]["hint"] == "did you mean --check? (an input named chek needs a value: --chek VALUE)"
    )


def test_error_message_shows_the_line_and_a_caret(run):
    code, _, err = run("eval", "x = 1\ny = log(x - 2)\ny")
    assert code == 2
    assert err.splitlines()[:5] == [
        "error: log(x - 2) is undefined: log needs its argument > 0 (here x - 2 = -1)",
        "  --> line 2, column 5",
        "  |",
        "2 | y = log(x - 2)",
        "  |     ^^^^^^^^^^",
    ]


def test_no_program(run):
    code, _, err = run("eval")
    assert code == 2 and "no program given" in err


def test_stdin_that_is_not_utf8(run):
    code, _, err = run("eval", "-", input=b"\xff\xfe(a)")
    assert code == 2 and "not valid UTF-8" in err


def test_check_passes(run_json):
    code, document = run_json(
        "eval", "z = x + y; s = sigmoid(x); L = z * s", "--x", "1", "--y", "2", "--check"
    )
    assert code == 0
    check = document["check"]
    assert check["passed"] is True and check["eps"] == 1e-6 and check["tolerance"] == 1e-4
    assert set(check["inputs"]) == {"x", "y"}
    assert set(check["inputs"]["x"]) >= {"numeric", "analytic", "abs_error", "rel_error", "passed"}
    assert check["max_rel_error"] < 1e-6


def test_check_that_fails_exits_1(run, monkeypatch):
    """A wrong derivative rule (exp' = 2·exp) is caught: ✗, FAILED, exit 1."""
    from backprop.graph import ops

    wrong = ops.Op("exp", 1, ops.OPS["exp"].forward, lambda g, out, x: (2.0 * g * out,), elementwise=True)
    monkeypatch.setitem(ops.FUNCTIONS, "exp", wrong)
    code, out, _ = run("eval", "exp(x)", "--x", "1", "--check")
    assert code == 1 and "FAILED" in out and "✗" in out


def test_rounding_noise_alone_does_not_fail_a_check(run):
    """The numeric slope of a huge L carries ~ε·|L|/h of rounding: not a failure of the rule."""
    code, out, _ = run("eval", "exp(x) + 1e9", "--x", "1", "--check", "--json")
    assert code == 0 and strict_json(out)["check"]["passed"] is True


def test_check_warns_at_a_kink(run):
    code, out, err = run("eval", "(a + relu(b)) * c", "--a", "7", "--b", "0", "--c", "2", "--check")
    assert code == 0 and "kink" in err and "⚠ kink" in out


def test_long_programs_show_inputs_named_nodes_and_output(run):
    text = "s = x * 2\n" + "y = " + " + ".join(f"x*{i}" for i in range(60))
    code, out, _ = run("eval", text, "--x", "1", "--rows", "10")
    assert code == 0 and "rows not shown" in out and "--all shows every node" in out
    shown = [line for line in out.splitlines() if line.startswith("│")]
    assert len(shown) < 20
    code, out, _ = run("eval", text, "--x", "1", "--all")
    assert "rows not shown" not in out


@pytest.mark.parametrize("command", ["eval", "trace", "graph", "paths"])
def test_help_has_examples(run, command):
    code, out, _ = run(command, "--help")
    assert code == 0 and "Examples:" in out and f"backprop {command} " in out


def test_eval_help_names_the_check(run):
    assert "--check" in run("eval", "--help")[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["eval", "a+a+a+a", "--a", "1", "--max-nodes", "3"], "the program has more than 3 nodes"),
        (
            ["eval", "sum(x*x)", "--x", "[1,2,3]", "--max-elements", "2"],
            "the value of x would have 3 elements",
        ),
        (["eval", "sum(x * [[1],[2]])", "--x", "[1,2]", "--max-elements", "3"], "would have 4 elements"),
        (["trace", "a+a+a", "--a", "1", "--max-nodes", "2"], "more than 2 nodes"),
        (["graph", "a+a+a", "--max-nodes", "2"], "more than 2 nodes"),
        (["paths", "a*a*a", "--a", "1", "--wrt", "a", "--max-nodes", "2"], "more than 2 nodes"),
        (["batch", "a+a+a", "--max-nodes", "2"], "more than 2 nodes"),
    ],
)
def test_limits_are_clear_errors_that_say_how_to_raise_them(run, args, words):
    code, out, err = run(*args, input='{"a": 1}\n')
    assert code == 2 and words in err and ("--max-nodes" in err or "--max-elements" in err)
    assert "Traceback" not in err


def test_a_long_text_is_stopped_while_it_is_parsed():
    from backprop import LimitError, parse

    with pytest.raises(LimitError):
        parse("a" + "+a" * 50_000, max_nodes=1_000)
    assert len(parse("a" + "+a" * 999, max_nodes=1_000)) == 1_000


def test_a_bug_of_ours_is_reported_in_two_lines_not_a_traceback(run, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a stand-in for a bug")

    monkeypatch.setattr("backprop.cli.options.ProgramInputs.evaluate", broken)
    code, out, err = run("eval", "a", "--a", "1", "--json")
    assert code == 70
    assert err.splitlines()[0] == "error: internal error: ZeroDivisionError: a stand-in for a bug"
    assert "Traceback" not in err and "please report it" in err
    assert strict_json(out)["error"]["type"] == "internal"
    monkeypatch.setenv("BACKPROP_TRACEBACK", "1")  # for a developer: the exception itself
    result = CliRunner().invoke(load_commands(), ["eval", "a", "--a", "1"])
    assert isinstance(result.exception, ZeroDivisionError)


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--x", "abc"], "write e.g. --x 2.5 or --x pi/2 or --x '[1, 2]' or --x @FILE"),
        (["--var", "x=abc"], "write e.g. --var x=2.5 or --var x=pi/2 or --var x='[1, 2]' or --var x=@FILE"),
        (
            ["--x", "1", "--expect", "x=abc"],
            "write e.g. --expect x=2.5 or --expect x=pi/2 or --expect x='[1, 2]' or --expect x=@FILE",
        ),
        (["--var", "x=[1,"], "write e.g. --var x='[[2, 1], [1, 1]]'"),
    ],
)
def test_a_bad_value_hint_is_spelled_the_way_the_value_was_given(run_json, args, hint):
    code, document = run_json("eval", "x", *args)
    assert code == 2 and document["error"]["hint"] == hint


def test_a_bad_value_in_a_vars_file_hints_in_json(run_json, tmp_path):
    path = tmp_path / "values.json"
    path.write_text('{"x": "abc"}')
    code, document = run_json("eval", "x", "--vars", str(path))
    assert (
        code == 2
        and document["error"]["hint"] == 'write e.g. "x": 2.5 or "x": "pi/2" or "x": [1, 2] or "x": "@FILE"'
    )


def test_a_long_line_is_shown_as_a_window_around_the_error(run):
    """100,000 open brackets: the caret line must not be 100,000 spaces long."""
    code, _, err = run("eval", "-", "--x", "1", input="(" * 100_000 + "x")
    assert code == 2
    shown, carets = err.splitlines()[3:5]
    assert shown == "1 | …" + "(" * 99 + "x" and carets == "  | " + " " * 101 + "^"  # just past the end
    assert max(map(len, err.splitlines())) < 200
