"""Tables and long text at every width (issue 18): a number is never folded across lines, the
expression and then the op give way first, headers never split inside a word, a small matrix is
drawn one row per line, titles use the width there is, trace steps wrap between terms, node
letters keep clear of the user's names, and the --rows rule keeps a worksheet visible."""

from __future__ import annotations

import re

import numpy as np
import pytest

from backprop import evaluate, parse
from backprop.cli.render.lecture import wrapped
from backprop.cli.render.tables import DEFAULT_ROWS, cell_text, rows_to_show

LONG = "L = (a*x - y)**2 / 1000 + sin(a*b) * cos(x) - exp(-y*y)"
LONG_VALUES = ["--a", "1.234", "--b", "0.56789", "--x", "3.1", "--y", "2.7"]
WIDTHS = [40, 60, 80, 120, 200]
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


@pytest.fixture
def columns(monkeypatch):
    """columns(n): the terminal is n columns wide (Rich reads COLUMNS)."""
    return lambda width: monkeypatch.setenv("COLUMNS", str(width))


def numbers_in(evaluation) -> set[str]:
    """Every value and gradient of a scalar evaluation as the table writes it."""
    from backprop.graph.values import value_text

    texts = {value_text(value) for value in evaluation.values}
    return texts | {value_text(grad) for grad in evaluation.grads if grad is not None}


def table_rows(out: str) -> list[list[str]]:
    """The cells of every row of the first box table in `out`."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_no_value_or_gradient_is_folded_at_any_width(run, columns, width):
    columns(width)
    code, out, _ = run("eval", LONG, *LONG_VALUES)
    assert code == 0
    first = table_rows(out.split("gradients of")[0])
    evaluation = evaluate(LONG, {"a": 1.234, "b": 0.56789, "x": 3.1, "y": 2.7})
    assert len(first) == len(evaluation.values)  # one line a node: nothing wrapped onto a second
    expected = numbers_in(evaluation) | {"—"}
    for row in first:
        assert row[-1] in expected and row[-2] in expected, row  # value and grad whole
    assert all(len(line) <= width for line in out.splitlines()), "a line wider than the terminal"


def test_the_expression_gives_way_first_then_the_op(run, columns):
    columns(200)
    out = run("eval", LONG, *LONG_VALUES)[1]
    assert "┃ id ┃ name ┃ op    ┃ expression" in out
    columns(80)
    out = run("eval", LONG, *LONG_VALUES)[1]
    assert "expression" in out and "…" in out  # shortened, on one line a node
    columns(60)
    out = run("eval", LONG, *LONG_VALUES)[1]
    assert "expression" not in out and "┃ op " in out  # left out before the op
    columns(40)
    out = run("eval", LONG, *LONG_VALUES)[1]
    assert "expression" not in out and "┃ op " not in out and "┃ name ┃" in out and "grad" in out


@pytest.mark.parametrize("width", [40, 60])
def test_headers_never_split_inside_a_word(run, columns, width):
    columns(width)
    out = run("eval", "z = x + y; s = sigmoid(x); L = z * s", "--x", "1", "--y", "2", "--check")[1]
    headers = [cell.strip() for line in out.splitlines() if line.startswith("┃") for cell in line.split("┃")]
    words = {
        "id",
        "name",
        "op",
        "expression",
        "value",
        "grad",
        "input",
        "analytic",
        "numeric",
        "abs",
        "error",
    }
    words |= {"rel", "∂L/∂input", ""}
    assert {word for header in headers for word in header.split()} <= words


def test_a_small_matrix_is_drawn_one_row_per_line_even_at_200_columns(run, columns):
    columns(200)
    matrix = "[[1.5,2.25,3.125],[4,5,6],[7,8,9],[10,11,12.5]]"
    out = run("eval", "sum(W*W)", "--W", matrix)[1]
    lines = [line for line in out.splitlines() if "[" in line]
    assert "[[  1.5,  2.25, 3.125]," in lines[0] and "[   10,    11,  12.5]]" in lines[3]
    assert lines[1].index("[    4,") == lines[0].index("[[") + 1  # aligned under the first row
    assert cell_text(np.array([[1.0, -2.0], [3.0, 4.0]])) == "[[ 1, -2],\n [ 3,  4]]"
    assert cell_text(np.array([1.0, 2.0])) == "[1, 2]" and cell_text(2.5) == "2.5"


def test_a_three_dimensional_tensor_keeps_its_nesting():
    text = cell_text(np.arange(8.0).reshape(2, 2, 2))
    assert text.split("\n") == ["[[[0, 1],", "  [2, 3]],", " [[4, 5],", "  [6, 7]]]"]


@pytest.mark.parametrize("width", [100, 200])
def test_the_title_uses_the_width_there_is(run, columns, width):
    columns(width)
    program = " + ".join(f"x{i}*x{i}" for i in range(40))
    out = run("eval", program, *(f"--x{i}={i}" for i in range(40)))[1]
    title = out.splitlines()[0]
    assert title.startswith("backprop · x0*x0") and title.endswith("…") and len(title) == width


def test_trace_steps_wrap_between_terms_never_inside_a_number(run, columns):
    columns(200)
    wide = run("trace", LONG, *LONG_VALUES)[1]
    columns(40)
    narrow = run("trace", LONG, *LONG_VALUES)[1]
    steps = [line for line in narrow.splitlines() if line.startswith("  ")]  # not the headings
    assert all(len(line) <= 40 for line in steps)
    wide_numbers = sorted(NUMBER.findall(wide.split("forward pass")[1]))
    narrow_numbers = sorted(NUMBER.findall(narrow.split("forward pass")[1]))
    assert wide_numbers == narrow_numbers  # every number whole, none split over two lines
    assert "      → a.grad = " in narrow  # a hanging indent, broken before the arrow


def test_trace_gradients_one_input_a_line_when_they_do_not_fit(run, columns):
    columns(200)
    assert "gradients: ∂L/∂a = " in run("trace", LONG, *LONG_VALUES)[1]
    columns(40)
    out = run("trace", LONG, *LONG_VALUES)[1]
    assert "gradients:\n  ∂L/∂a = " in out and "\n  ∂L/∂b = " in out


def test_a_file_without_columns_keeps_a_step_on_one_line(run, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = run("trace", LONG, *LONG_VALUES)[1]
    steps = [line for line in out.splitlines() if line.startswith("  a.grad += c.grad · x = ")]
    assert steps and all("→ a.grad = " in line for line in steps)


def test_wrapped_breaks_at_the_arrow_first_and_outside_brackets():
    step = "a.grad += c.grad · x = 0.0022508 · 3.1 = 0.00697748 → a.grad = 0.434062 + 0.00697748 = 0.44104"
    assert wrapped(step, 60) == [
        "  a.grad += c.grad · x = 0.0022508 · 3.1 = 0.00697748",
        "      → a.grad = 0.434062 + 0.00697748 = 0.44104",
    ]
    assert wrapped(step, None) == ["  " + step]
    assert wrapped("h = [1 + 2, 3 · 4] = [3, 12]", 12) == ["  h", "      = [1 + 2, 3 · 4]", "      = [3, 12]"]


def test_paths_wrap_between_words_never_inside_a_number(run, columns):
    program = "h1 = tanh(a*b); h2 = tanh(h1*b + a); L = h1*h2 + b*b"
    columns(200)
    wide = run("paths", program, "--a", "0.5", "--b", "-1.25", "--wrt", "b")[1]
    columns(60)
    narrow = run("paths", program, "--a", "0.5", "--b", "-1.25", "--wrt", "b")[1]

    def table(out: str) -> list[str]:
        return sorted(NUMBER.findall("".join(line for line in out.splitlines() if line.startswith("│"))))

    assert table(wide) == table(narrow)
    assert all(len(line) <= 60 for line in narrow.splitlines() if line.startswith("│"))


# -- node letters -------------------------------------------------------------------------------


def test_letters_skip_a_letter_that_begins_a_numbered_name():
    labels = parse("h1 = tanh(b1*x + b2); h2 = h1*W_1; L = h2*h2").labels()
    letters = [label for label in labels if label not in ("b1", "x", "b2", "h1", "W_1", "h2", "L")]
    assert letters == ["a", "c"]  # not b (b1, b2), not h (h1, h2), not w (W_1)


def test_letters_continue_past_z_as_spreadsheet_columns():
    program = parse(" + ".join(["t"] * 30))
    letters = [label for label in program.labels() if label != "t"]
    assert letters[:3] == ["a", "b", "c"] and "t" not in letters
    assert letters[24:29] == ["z", "aa", "ab", "ac", "ad"]


# -- which rows are shown -----------------------------------------------------------------------


def chain(count: int) -> str:
    """A program of about `count` nodes with one input, and names every ten steps."""
    lines, previous = [], "x"
    for step in range(count // 2):
        name = f"n{step}" if step % 10 == 9 else None
        expression = f"sin({previous}) + 1"
        if name:
            lines.append(f"{name} = {expression}")
            previous = name
        else:
            previous = f"({expression})"
    lines.append(f"L = {previous} * 2")
    return "; ".join(lines)


def test_a_worksheet_sized_program_shows_every_node():
    program = chain(60)
    evaluation = evaluate(program, {"x": 0.5})
    assert 60 <= len(evaluation.program) <= DEFAULT_ROWS
    assert rows_to_show(evaluation, DEFAULT_ROWS, False) == list(range(len(evaluation.program)))


def test_past_the_limit_named_nodes_and_the_steps_before_them_fill_the_rows():
    evaluation = evaluate(chain(400), {"x": 0.5})
    program = evaluation.program
    shown = rows_to_show(evaluation, 60, False)
    named = set(program.inputs.values()) | set(program.bindings.values()) | {program.output}
    assert len(shown) == 60 and named <= set(shown) and shown == sorted(shown)
    for node_id in named - {program.inputs["x"]}:  # the step just before each named node is there
        step = max(i for i in range(node_id) if program.ops[i].name != "const")
        assert step in shown


def test_the_caption_says_the_rule(run, columns):
    columns(120)
    out = run("eval", chain(400), "--x", "0.5", "--rows", "30")[1]
    assert "30 of" in out and "rows not shown" in out and "--all shows every node" in out
