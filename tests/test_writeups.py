"""Write-ups: `--format markdown|latex|csv` of eval, trace and paths.

The LaTeX is rendered by a real renderer, KaTeX (from the npm registry, installed once into
~/.cache/backprop-tests/katex), with throwOnError and strict mode: every `align*` block and every
display-math array the commands print must render. Without node, npm or the network the tests
that render skip, saying so; the others check the structure and the numbers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from backprop import parse
from backprop.cli.render.latex import latex_expression, latex_name, latex_number
from backprop.cli.render.markdown import cell, code
from backprop.graph.ops import FUNCTIONS
from backprop.graph.values import value_text

KATEX_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "backprop-tests" / "katex"
KATEX = KATEX_DIR / "node_modules" / "katex"

RENDER = """
const katex = require(process.argv[1]);
const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
const failures = texts.map((text) => {
  try { katex.renderToString(text, {throwOnError: true, displayMode: true, strict: "error"}); return null; }
  catch (error) { return String(error.message); }
});
process.stdout.write(JSON.stringify(failures));
"""


@pytest.fixture(scope="session")
def katex():
    """render(texts) -> the KaTeX error of each text (None where it renders); skips without KaTeX."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        pytest.skip("KaTeX not available: no node on PATH")
    if not KATEX.exists():
        if npm is None:
            pytest.skip("KaTeX not available: no npm on PATH to install it")
        try:
            done = subprocess.run(
                [npm, "install", "--prefix", str(KATEX_DIR), "katex@0.16"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("KaTeX not available: npm install katex@0.16 took longer than 5 minutes")
        if done.returncode != 0 or not KATEX.exists():
            pytest.skip(f"KaTeX not available: npm install katex@0.16 failed: {done.stderr.strip()[-300:]}")

    def render(texts: list[str]) -> list[str | None]:
        done = subprocess.run(
            [node, "-e", RENDER, str(KATEX)],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)

    return render


def math_of(latex: str) -> list[str]:
    """The math a write-up holds: each `\\[ … \\]` body and each `align*` block, whole."""
    blocks, lines = [], latex.splitlines()
    for start, line in enumerate(lines):
        if line == "\\[":
            blocks.append("\n".join(lines[start + 1 : lines.index("\\]", start)]))
        elif line == "\\begin{align*}":
            blocks.append("\n".join(lines[start : lines.index("\\end{align*}", start) + 1]))
    return blocks


VALUES = ["--a", "1.5", "--b", "-2", "--c", "3", "--x", "0.5", "--y", "2"]
PROGRAMS = [
    "(a + b**3) * c",
    "z = x + y; s = sigmoid(x); L = z * s",
    "relu(a) - abs(b) / sqrt(c) + exp(-a) * log(c) + max(a, b) * min(b, c)",
    "tanh(a)**2 + sin(a) * cos(b) / tan(c) - -b + c**b + 1e-07 * a + pi * a",
    "alpha = a * 2; x_hat = alpha - b; W1 = x_hat / c; W1 * x_hat",
    "sum([a, b] * c) + mean([a, c])",
    "softmax([a, b, c])[0] * logsumexp([a, b])",
]
if {"softplus", "leaky_relu", "log10", "atan", "sinh"} <= FUNCTIONS.keys():  # issue 15's functions
    PROGRAMS.append(
        "softplus(a) + leaky_relu(b, 0.1) + log10(c) + log2(c) + atan(a) + sinh(b) + cosh(b) + asin(x) * acos(x) + ln(c)"
    )
TENSORS = [
    "h = W1 @ x; yhat = W2 @ h; L = (yhat - y)**2",
    "--W1",
    "[[2, 1], [1, 1]]",
    "--W2",
    "[1, -1]",
    "--x",
    "[1, 2]",
    "--y",
    "3",
]


def values_for(program: str) -> list[str]:
    names = set(parse(program).inputs)
    pairs = zip(VALUES[::2], VALUES[1::2], strict=True)
    return [word for option, value in pairs if option[2:] in names for word in (option, value)]


def write_up(
    run, command: str, program: str, format_: str, *extra: str, values: list[str] | None = None
) -> str:
    code_, out, err = run(
        command, program, *(values_for(program) if values is None else values), *extra, "--format", format_
    )
    assert code_ == 0, err
    return out


# -- LaTeX renders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_latex_write_up_renders_in_katex(run, katex, program):
    blocks = []
    for command, extra in (("eval", ()), ("trace", ())):
        blocks += math_of(write_up(run, command, program, "latex", *extra))
    if "[" not in program:  # paths multiplies numbers: scalar programs only
        first_input = next(iter(parse(program).inputs))
        blocks += math_of(write_up(run, "paths", program, "latex", "--wrt", first_input))
    assert len(blocks) == (2 if "[" in program else 3)
    assert katex(blocks) == [None] * len(blocks), blocks


def test_tensor_write_ups_render_in_katex(run, katex):
    program, *values = TENSORS
    blocks = math_of(write_up(run, "eval", program, "latex", values=values))
    blocks += math_of(write_up(run, "trace", program, "latex", values=values))
    assert "\\begin{pmatrix}" in blocks[0] and "W_{1} \\, x" in blocks[0]
    assert katex(blocks) == [None, None], blocks


def test_katex_catches_what_does_not_render(katex):
    """The renderer is really asked: broken LaTeX fails."""
    assert katex(["\\frac{1}{", "\\notacommand x", "b^{3}"])[:2] != [None, None]


# -- LaTeX notation ---------------------------------------------------------------------------------


def test_latex_expression_is_written_from_the_graph():
    program = parse("(a + b**3) * c")
    labels = program.labels()
    assert latex_expression(program, program.output, labels) == "\\left(a + b^{3}\\right) \\cdot c"
    program = parse("sigmoid(x) / (1 - relu(y)) - -x")
    assert latex_expression(program, program.output, program.labels()) == (
        "\\frac{\\sigma\\left(x\\right)}{1 - \\operatorname{relu}\\left(y\\right)} - \\left(-x\\right)"
    )


def test_named_nodes_are_referred_to_by_name():
    program = parse("z = x + y; s = sigmoid(x); L = z * s")
    assert latex_expression(program, program.output, program.labels()) == "z \\cdot s"


@pytest.mark.parametrize(
    ("label", "latex"),
    [
        ("x", "x"),
        ("W1", "W_{1}"),
        ("alpha", "\\alpha"),
        ("yhat", "\\mathit{yhat}"),
        ("x_hat", "x_{\\mathit{hat}}"),
        ("h2", "h_{2}"),
    ],
)
def test_names_in_math(label, latex):
    assert latex_name(label) == latex


def test_numbers_as_the_tables_write_them():
    import numpy as np

    assert (
        latex_number(68.0) == "68"
        and latex_number(1.5e-7) == "1.5 \\times 10^{-7}"
        and latex_number(1e20) == "10^{20}"
    )
    assert (
        latex_number(np.array([[1.0, 2.0], [3.0, 4.5]]))
        == "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4.5 \\end{pmatrix}"
    )
    assert latex_number(np.zeros(100)).startswith("\\text{shape (100,)}")


def test_trace_latex_is_the_lecture_line_by_line(run):
    out = write_up(run, "trace", "(a + b) * b**3", "latex", values=["--a", "7", "--b", "3"])
    lines = out.splitlines()
    assert lines[0] == "% backprop trace · (a + b) * b**3 at a = 7, b = 3"
    assert "c &= a + b = 7 + 3 = 10 \\\\" in lines and "d &= b^{3} = 3^{3} = 27 \\\\" in lines
    db = "\\frac{\\partial e}{\\partial b}"
    assert (
        f"{db} &\\mathrel{{+}}= \\frac{{\\partial e}}{{\\partial d}} \\cdot 3 b^{{2}} = 10 \\cdot 27 = 270 && {db} = 270 \\\\"
        in lines
    )
    assert lines[-2].endswith(f"&& {db} = 270 + 27 = 297")  # the second contribution, with the running total
    assert lines[-1] == "\\end{align*}"


def test_paths_latex_sums_the_products(run):
    out = write_up(run, "paths", "(a + b) * b**3", "latex", "--wrt", "b", values=["--a", "7", "--b", "3"])
    assert "b \\to c \\to e:&\\quad 1 \\cdot d = 1 \\cdot 27 = 27 \\\\" in out
    assert "b \\to d \\to e:&\\quad 3 b^{2} \\cdot c = 27 \\cdot 10 = 270 \\\\" in out
    assert "\\frac{\\partial e}{\\partial b} &= 297" in out


# -- Markdown and CSV -------------------------------------------------------------------------------


def pipe_rows(markdown: str) -> list[list[str]]:
    return [
        [part.strip() for part in line.strip("|").split(" | ")]
        for line in markdown.splitlines()
        if line.startswith("| ") and "---" not in line
    ]


def test_eval_markdown_has_the_table_s_numbers(run):
    out = write_up(run, "eval", "(a + b**3) * c", "markdown", values=["--a", "7", "--b", "3", "--c", "2"])
    _, document, _ = run("eval", "(a + b**3) * c", "--a", "7", "--b", "3", "--c", "2", "--json")
    nodes = json.loads(document)["nodes"]
    rows = pipe_rows(out)
    assert rows[0] == ["id", "name", "op", "expression", "value", "grad"]
    for row, node in zip(rows[1 : len(nodes) + 1], nodes, strict=True):
        grad = "—" if node["grad"] is None else value_text(float(node["grad"]))
        assert row == [
            str(node["id"]),
            node["name"],
            node["op"],
            code(node["expr"]),
            value_text(float(node["value"])),
            grad,
        ]
    assert ["b", "3", "54"] in rows  # the gradients' table


def test_eval_markdown_with_the_check_and_the_answers(run):
    words = ["a * b", "--a", "2", "--b", "3", "--check", "--expect", "a=3", "--expect", "b=5"]
    code_, out, _ = run("eval", *words, "--format", "markdown")
    assert code_ == 1  # an answer is off: the exit status is eval's, whatever the format
    assert "**gradient check** (central differences" in out and ": passed" in out
    assert "**answers**: 1 of 2 off" in out and ["∂c/∂a", "3", "3", "0", "✓"] in pipe_rows(out)


def test_markdown_cells_escape_pipes_and_code_spans_fence_backticks():
    assert cell("a | b") == "a \\| b" and cell("two\nlines") == "two lines"
    assert code("a * b") == "`a * b`" and code("x`y") == "``x`y``"


def test_trace_markdown_is_the_trace_s_lines(run):
    out = write_up(run, "trace", "(a + b) * b**3", "markdown", values=["--a", "7", "--b", "3"])
    assert "- `c = a + b = 7 + 3 = 10`" in out
    assert "- `b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297`" in out


def test_paths_markdown_and_csv_are_the_paths_table(run):
    values = ["--a", "7", "--b", "3"]
    markdown = write_up(run, "paths", "(a + b) * b**3", "markdown", "--wrt", "b", values=values)
    assert ["2", "b → d → e", "`3·b² × c`", "27 × 10", "270"] in pipe_rows(markdown)
    assert "sum over the 2 paths: 297; ∂e/∂b by backprop: 297" in markdown
    rows = list(
        csv.reader(io.StringIO(write_up(run, "paths", "(a + b) * b**3", "csv", "--wrt", "b", values=values)))
    )
    assert rows == [
        ["#", "path", "local derivatives", "values", "product"],
        ["1", "b → c → e", "1 × d", "1 × 27", "27"],
        ["2", "b → d → e", "3·b² × c", "27 × 10", "270"],
    ]


def test_eval_csv_is_the_node_table(run):
    out = write_up(run, "eval", "a * b + 1", "csv", values=["--a", "2", "--b", "3"])
    assert list(csv.reader(io.StringIO(out))) == [
        ["id", "name", "op", "expression", "value", "grad"],
        ["0", "a", "input", "a", "2", "3"],
        ["1", "b", "input", "b", "3", "2"],
        ["2", "c", "mul", "a * b", "6", "1"],
        ["3", "1", "const", "1", "1", ""],
        ["4", "d", "add", "a * b + 1", "7", "1"],
    ]


@pytest.mark.parametrize("command", ["eval", "trace", "paths"])
def test_json_and_format_together_are_an_error_naming_the_conflict(run, command):
    wrt = ["--wrt", "a"] if command == "paths" else []
    code_, out, err = run(command, "a * 2", "--a", "1", *wrt, "--json", "--format", "latex")
    assert code_ == 2 and "--json and --format latex ask for two kinds of output" in err
    assert json.loads(out)["error"]["type"] == "input"  # --json still gets its error object


def test_batch_latex_keys_render_and_escape_the_heading(run, katex):
    points = '{"a": 7, "b": 3, "student": "O\'Neil & Co_1 50%"}\n{"a": 0, "b": 1}\n'
    code_, out, _ = run(
        "batch", "(a + b**3) * c / a", "--c", "2", "--nodes", "--format", "latex", input=points
    )
    assert code_ == 2  # the second point divides by zero: its key says so, and the exit status is batch's
    assert "\\subsection*{student: O'Neil \\& Co\\_1 50\\%}" in out
    assert "\\subsection*{line 2}\n\\textbf{error} (domain): " in out
    blocks = math_of(out)
    assert len(blocks) == 1 and "\\left(a + b^{3}\\right) \\cdot c" in blocks[0]
    assert katex(blocks) == [None]


def test_a_partial_listing_of_paths_says_so_and_renders(run, katex):
    doubling = "; ".join(f"x{i + 1} = x{i} + x{i}" for i in range(140)).replace("x0", "a") + "; x140 * 1"
    out = write_up(run, "paths", doubling, "latex", "--wrt", "a", "--max-paths", "1", values=["--a", "1"])
    assert "\\text{(partial: } \\text{more than } 10^{40} \\text{ paths in all; }" in out
    twice = write_up(run, "paths", "b * b", "latex", "--wrt", "b", values=["--b", "3"])
    assert "b \\overset{1}{\\to} a:&" in twice and "b \\overset{2}{\\to} a:&" in twice  # which input of b * b
    assert katex(math_of(out) + math_of(twice)) == [None, None]


def test_a_program_without_inputs_in_markdown(run):
    out = write_up(run, "eval", "2 * 3", "markdown", values=[])
    assert out.endswith("\na = 6 (the program has no inputs)\n")
