"""`backprop graph` as a picture people read: tensor labels of a few short lines, edges weighted with
the local derivatives (the lecture's sum over paths, checked against the gradients), Mermaid in
Markdown and HTML, LaTeX node definitions, a tree that fits the terminal, and no silent fallback to
DOT for a file name it does not know. Mermaid and LaTeX are checked by the real parsers (Mermaid's,
KaTeX) when they are installed under ~/.cache/backprop-tests, DOT by Graphviz's dot when on PATH;
otherwise those tests skip and say how to install them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.cells import cell_len
from test_graph_command import DOT_STRING, check_dot_structure, check_mermaid_structure

from backprop import parse
from backprop.cli.render.drawing import LABEL_WIDTH, _tree_lines, tree_text

LECTURE = ("(a + b) * b**3", "--a", "7", "--b", "3")
CACHE = Path.home() / ".cache" / "backprop-tests"
NETWORK = "h = W1 @ x; L = sum((W2 @ h - y)**2)"


def _matrix(rows: int, columns: int, seed: int) -> str:
    """A JSON matrix of small made-up numbers, different in every element."""
    return json.dumps([[((seed + 7 * i + 3 * j) % 19 - 9) / 4 for j in range(columns)] for i in range(rows)])


NETWORK_VALUES = (
    *("--W1", _matrix(30, 10, 1)),
    *("--x", json.dumps([(i % 5 - 2) / 3 for i in range(10)])),
    *("--W2", _matrix(2, 30, 2)),
    *("--y", "[0.5, -0.5]"),
)


def _dot_edges(text: str) -> dict[tuple[str, str], list[str | None]]:
    """Every edge child → parent of our DOT with its label (None: unlabelled), in order."""
    edges: dict[tuple[str, str], list[str | None]] = {}
    for child, parent, label in re.findall(
        rf"^  (n\d+) -> (n\d+)(?: \[label=({DOT_STRING})\])?;$", text, re.M
    ):
        edges.setdefault((child, parent), []).append(json.loads(label) if label else None)
    return edges


# -- tensors: a label of a few short lines --------------------------------------------------------


def test_a_tensor_label_is_its_shape_and_a_summary(run):
    code, out, _ = run("graph", NETWORK, *NETWORK_VALUES)
    assert code == 0
    labels = check_dot_structure(out)
    assert labels["n0"].splitlines()[0] == "Input W1 · shape (30, 10)"
    assert labels["n0"].splitlines()[1].startswith("value: min -2.25 · mean ")
    assert labels["n0"].splitlines()[2].startswith("grad: min ")
    # before: one line of value and gradient summaries of 203 characters; now every line is short
    assert max(len(line) for label in labels.values() for line in label.splitlines()) <= LABEL_WIDTH
    assert labels["n5"].startswith("Input y · shape (2,)\nvalue=[ 0.5, -0.5] grad=[")  # small: every element
    assert labels["n9"].endswith("grad=1") and "shape" not in labels["n9"]  # the scalar loss


def test_a_tensor_graph_renders_small_with_graphviz(run, tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not on PATH (apt-get install graphviz)")
    output = tmp_path / "network.svg"
    assert run("graph", NETWORK, *NETWORK_VALUES, "--edges", "--output", str(output))[0] == 0
    width = float(re.search(r'<svg width="([\d.]+)pt"', output.read_text()).group(1))
    assert width < 3000  # every element in a label drew it 4,400 pt wide (6,130 px as a PNG)


# -- edges weighted with the local derivatives -----------------------------------------------------


def test_edges_carry_the_local_derivatives_of_the_lecture_example(run):
    code, out, _ = run("graph", *LECTURE, "--edges")
    assert code == 0
    check_dot_structure(out)
    assert _dot_edges(out) == {
        ("n0", "n2"): ["1"],  # ∂c/∂a
        ("n1", "n2"): ["1"],  # ∂c/∂b
        ("n1", "n4"): ["27"],  # ∂d/∂b = 3·b²
        ("n3", "n4"): [None],  # the constant exponent gets no gradient, its edge no weight
        ("n2", "n5"): ["27"],  # ∂e/∂c = d
        ("n4", "n5"): ["10"],  # ∂e/∂d = c
    }


@pytest.mark.parametrize(
    ("program", "values"),
    [
        (*LECTURE[:1], LECTURE[1:]),
        ("u = a*b; v = u + a; w = u * v; tanh(w) + v", ("--a", "0.3", "--b", "-0.7")),
        ("x2 = x1 * x1; x3 = x2 + x2; x4 = x3 * x3; sigmoid(x4 / x1)", ("--x1", "0.9")),
        ("b * b + max(b, 2) - exp(-b) / b", ("--b", "1.5")),
    ],
)
def test_the_weighted_paths_sum_to_every_gradient(run, program, values):
    """The notes' Fact: ∂L/∂x is the sum over paths x → L of the product of the edge labels,
    read back from the drawing (an input used twice by one node is two edges, two paths)."""
    code, out, _ = run("graph", program, *values, "--edges")
    assert code == 0
    labels = check_dot_structure(out)
    edges = _dot_edges(out)
    out_edges: dict[str, list[tuple[str, float]]] = {}
    for (child, parent), weights in edges.items():
        for weight in weights:
            if weight is not None:
                out_edges.setdefault(child, []).append((parent, float(weight)))
    output = next(node for node, label in labels.items() if node not in out_edges and "Const" not in label)
    for node, label in labels.items():
        if not label.startswith("Input"):
            continue
        total, stack = 0.0, [(node, 1.0)]
        while stack:  # every path from the input to the output, explicitly
            here, product = stack.pop()
            if here == output:
                total += product
            stack.extend((parent, product * weight) for parent, weight in out_edges.get(here, []))
        grad = float(re.search(r"grad=(\S+)", label).group(1))
        assert total == pytest.approx(grad, rel=1e-5, abs=1e-9), (node, label)


def test_edges_without_values_are_the_formulas(run):
    code, out, _ = run("graph", "h = tanh(a*b); h*(1-h)", "--edges", "--format", "mermaid")
    assert code == 0
    check_mermaid_structure(out)
    lines = out.splitlines()
    assert '  n0 -->|"b"| n2' in lines and '  n1 -->|"a"| n2' in lines
    assert '  n2 -->|"1 - h²"| n3' in lines  # not bracketed as the trace's factor is
    assert "  n4 --> n5" in lines  # from the constant 1: no weight


def test_a_tensor_edge_is_named_not_numbered(run):
    code, out, _ = run("graph", NETWORK, *NETWORK_VALUES, "--edges")
    assert code == 0
    edges = _dot_edges(out)
    assert edges[("n0", "n2")] == ["∂h/∂W1"]  # a Jacobian, no number
    assert edges[("n6", "n8")] == ["2·b"]  # elementwise: the factor of b.grad ⊙ …


def test_an_edge_too_large_for_a_float64_is_written_not_inf(run):
    code, out, _ = run("graph", "0*log(x)", "--x", "5e-324", "--edges", "--format", "mermaid")
    assert code == 0
    assert '  n1 -->|"2.02402e+323"| n2' in out.splitlines()
    assert not re.search(r"\b(inf|nan)\b", out)


@pytest.mark.parametrize("chosen", ["tree", "latex"])
def test_edges_on_a_drawing_without_edges_is_an_error(run, chosen):
    code, out, err = run("graph", *LECTURE, "--edges", "--format", chosen)
    assert code == 2 and out == ""
    assert f"--format {chosen} draws none" in err and "--format dot, mermaid, markdown or html" in err


# -- files: Markdown, HTML, and no silent DOT --------------------------------------------------------


def test_markdown_is_the_mermaid_block_and_md_writes_it(run, tmp_path):
    code, out, _ = run("graph", *LECTURE, "--format", "markdown", "--edges")
    assert code == 0
    assert out.startswith("```mermaid\nflowchart LR\n") and out.endswith("\n```\n")
    check_mermaid_structure(out[len("```mermaid\n") : -len("```\n")])
    assert run("graph", *LECTURE, "--edges", "--output", str(tmp_path / "key.md"))[0] == 0
    assert (tmp_path / "key.md").read_text() == out


def test_html_with_graphviz_is_self_contained(run, tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not on PATH (apt-get install graphviz)")
    output = tmp_path / "g.html"
    code, _, err = run("graph", *LECTURE, "--edges", "--output", str(output))
    assert code == 0 and err == ""
    page = output.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "<?xml" not in page and "http" not in page.replace("http://www.w3.org", "")
    assert ">297<" not in page and "value=3 grad=297" in page  # the labels, drawn as SVG text


def test_html_without_graphviz_loads_mermaid_and_says_so(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot
    code, out, err = run("graph", *LECTURE, "--format", "html")
    assert code == 0
    assert "no Graphviz dot on PATH" in err and "online only" in err
    assert '<pre class="mermaid">\nflowchart LR\n' in out
    assert "n0([&quot;Input a&lt;br/&gt;value=7 grad=27&quot;])" in out  # the page's text is Mermaid's
    assert re.search(r'<script type="module">import mermaid from "https://[^"]+";', out)


@pytest.mark.parametrize("name", ["g.xyz", "graph", "g.json"])
def test_an_unknown_suffix_is_an_error_listing_the_known_ones(run, tmp_path, name):
    code, out, err = run("graph", *LECTURE, "--output", str(tmp_path / name))
    assert code == 2 and out == ""
    assert ".dot" in err and ".md" in err and ".html" in err and ".svg" in err and "--format" in err
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_a_regular_file_needs_no_suffix(run, tmp_path):
    assert run("graph", *LECTURE, "--output", "/dev/null") == (0, "", "")
    code, _, err = run("graph", *LECTURE, "--output", str(tmp_path))
    assert code == 2 and "Is a directory" in err  # the write's own reason, not the missing suffix


def test_an_unknown_suffix_with_a_format_is_written(run, tmp_path):
    output = tmp_path / "g.graphviz"
    assert run("graph", *LECTURE, "--format", "dot", "--output", str(output))[0] == 0
    check_dot_structure(output.read_text())


# -- LaTeX ----------------------------------------------------------------------------------------------


def test_latex_of_the_lecture_example(run):
    code, out, _ = run("graph", *LECTURE, "--format", "latex")
    assert code == 0
    assert out == (
        "% backprop graph: (a + b) * b**3\n"
        "\\begin{align*}\n"
        "a &= 7, & \\frac{\\partial e}{\\partial a} &= 27 \\\\\n"
        "b &= 3, & \\frac{\\partial e}{\\partial b} &= 297 \\\\\n"
        "c &= a + b = 10, & \\frac{\\partial e}{\\partial c} &= 27 \\\\\n"
        "d &= b^{3} = 27, & \\frac{\\partial e}{\\partial d} &= 10 \\\\\n"
        "e &= c \\cdot d = 270, & \\frac{\\partial e}{\\partial e} &= 1\n"
        "\\end{align*}\n"
    )
    code, out, _ = run("graph", "(a + b) * b**3", "--output", "-", "--format", "latex")
    assert out.splitlines()[2:5] == ["c &= a + b \\\\", "d &= b^{3} \\\\", "e &= c \\cdot d"]


LATEX_PROGRAMS = [
    (*LECTURE[:1], LECTURE[1:]),
    ("x = pi * 1e-7 * t; y = x ** -1.5; theta2 = y - 3*t + tanh(W1) - -2", ("--t", "1", "--W1", "0.5")),
    (NETWORK + " + tanh(mean(x)) + sqrt(abs(W1[0, 1])) - [[x[0], 1], [2, y[1]]][1, 1]", NETWORK_VALUES),
    ("u = [a, 2*b]; v = transpose(u); max(a, b) / relu(a) + sum(v) + log(exp(a))", ("--a", "2", "--b", "3")),
    ("q = softmax(z); sum(q * log_softmax(z))", ()),
    ("3", ()),  # no node to define but the number
    ("x", ()),  # an input, no value
]


def _katex() -> Path:
    folder = CACHE / "katex"
    if shutil.which("node") is None or not (folder / "node_modules" / "katex").is_dir():
        pytest.skip(f"KaTeX is not installed: npm install --prefix {folder} katex")
    return folder


@pytest.mark.parametrize(("program", "values"), LATEX_PROGRAMS)
def test_latex_renders_with_katex(run, program, values, tmp_path):
    folder = _katex()
    code, out, _ = run("graph", program, *values, "--format", "latex")
    assert code == 0
    script = tmp_path / "render.cjs"
    script.write_text(
        f"const katex = require({json.dumps(str(folder / 'node_modules' / 'katex'))});\n"
        "const text = require('fs').readFileSync(0, 'utf8');\n"
        "katex.renderToString(text, { displayMode: true, throwOnError: true });\n"
    )
    result = subprocess.run(["node", str(script)], input=out, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + out


# -- the tree fits the terminal ---------------------------------------------------------------------------

LONG_NAMES = (
    "loss_function_value = sigmoid(alpha_parameter * beta_parameter + gamma_parameter)"
    " * (alpha_parameter + beta_parameter)"
)


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_the_tree_fits_the_terminal_and_never_cuts_a_number(run, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    values = ("--alpha_parameter", "0.123456789", "--beta_parameter", "-2", "--gamma_parameter", "3e-9")
    code, out, _ = run("graph", LONG_NAMES, *values, "--format", "tree")
    assert code == 0
    assert all(cell_len(line) <= width for line in out.splitlines())
    dot = run("graph", LONG_NAMES, *values)[1]
    for number in set(re.findall(r'(?:value|grad)=([^\s\\",]+)', dot)):
        assert re.search(rf"=\s*{re.escape(number)}(\s|$)", out), number  # whole, never folded or cut
    assert ("◆ shared: 2 uses" if width >= 60 else "◆ ×2") in out


def test_the_tree_at_a_wide_terminal_is_one_line_a_node(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run("graph", LONG_NAMES, "--format", "tree")
    assert code == 0 and len(out.splitlines()) == 10
    assert out.splitlines()[0].startswith("Mul loss_function_value · c * d")


def test_a_caption_loses_its_formula_before_its_numbers():
    parts = ["Add c", "alpha_parameter + beta_parameter", "value=3.5 grad=27"]
    assert _tree_lines(parts, 80, formula=True) == [" · ".join(parts)]
    assert _tree_lines(parts, 30, formula=True) == ["Add c · alpha_para…a_parameter", "value=3.5 grad=27"]
    assert _tree_lines(parts, 14, formula=True) == ["Add c", "value=3.5", "grad=27"]


def test_a_deep_tree_in_a_narrow_terminal_says_where_it_stops(monkeypatch):
    program = "x"
    for _ in range(100):
        program = f"exp({program})"
    out = tree_text(parse(program), None, color=False, width=40)
    lines = out.splitlines()
    assert all(cell_len(line) <= 40 for line in lines)
    assert any("⋮ " in line for line in lines)
    assert "(drawn 6 levels deep: a wider terminal draws more" in " ".join(out.split())
    assert len(lines) < 15


# -- Mermaid, parsed by Mermaid itself ------------------------------------------------------------------

MERMAID_CHECK = """
const { createRequire } = require("module");
const { pathToFileURL } = require("url");
const from = createRequire(process.argv[2] + "/");
const { JSDOM } = from("jsdom");
const { window } = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = window;
globalThis.document = window.document;
(async () => {
  const mermaid = (await import(pathToFileURL(from.resolve("mermaid")).href)).default;
  const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const verdicts = [];
  for (const text of texts) {
    try { await mermaid.parse(text); verdicts.push("ok"); } catch (e) { verdicts.push(String(e.message)); }
  }
  console.log(JSON.stringify(verdicts));
})();
"""


def _mermaid_parse(texts: list[str], tmp_path: Path) -> list[str]:
    """Mermaid's own parser's verdict on each text ("ok" or its message), under node with jsdom."""
    folder = CACHE / "mermaid"
    if shutil.which("node") is None or not (folder / "node_modules" / "mermaid").is_dir():
        pytest.skip(f"Mermaid is not installed: npm install --prefix {folder} mermaid jsdom")
    if not (folder / "node_modules" / "jsdom").is_dir():
        pytest.skip(f"Mermaid's parser needs a DOM: npm install --prefix {folder} jsdom")
    script = tmp_path / "parse.cjs"
    script.write_text(MERMAID_CHECK)
    result = subprocess.run(
        ["node", str(script), str(folder)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mermaid_parses_with_mermaid(run, tmp_path):
    texts = [
        run("graph", *LECTURE, "--format", "mermaid")[1],
        run("graph", *LECTURE, "--format", "mermaid", "--edges")[1],
        run("graph", "h = tanh(a*b); h*(1-h)", "--format", "mermaid", "--edges")[1],
        run("graph", NETWORK, *NETWORK_VALUES, "--format", "mermaid", "--edges")[1],
        run("graph", 'a * b  # "quoted" <b> & `ticks` #1', "--format", "mermaid")[1],
        run("graph", "max(a, b) * relu(a) / abs(b)", "--format", "mermaid", "--edges")[1],  # [a > b], ½
    ]
    verdicts = _mermaid_parse([*texts, "flowchart LR\n  n0 --> [[x"], tmp_path)
    assert verdicts[:-1] == ["ok"] * len(texts)
    assert verdicts[-1] != "ok"  # the parser does refuse what is not Mermaid
