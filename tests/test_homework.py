"""Homework mode: `trace`, `eval --expect`, `graph` and `paths`, number for number against the lecture."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop import evaluate, parse
from backprop.cli.render_homework import _mermaid_string, dot_text, mermaid_text
from backprop.graph.paths import count_paths, enumerate_paths, parent_edges, path_report
from backprop.graph.trace import local_derivatives, trace


def backward(run_json, program: str, *values: str) -> list[str]:
    code, document = run_json("trace", program, *values)
    assert code == 0, document
    return [step["text"] for step in document["backward"]]


# -- trace: the lecture's examples, step by step ----------------------------------------------


def test_trace_lecture_dag_accumulates_two_contributions(run_json):
    """Slides, (a + b) * b³ at a=7, b=3: b receives 10·27 = 270 through d, then 27 through c: 297."""
    code, document = run_json("trace", "(a + b) * b**3", "--a", "7", "--b", "3")
    assert code == 0
    assert [step["text"] for step in document["forward"] if step["op"] != "const"] == [
        "a = 7",
        "b = 3",
        "c = a + b = 7 + 3 = 10",
        "d = b ** 3 = 3 ** 3 = 27",
        "e = c * d = 10 * 27 = 270",
    ]
    assert document["seed"] == {"name": "e", "grad": 1.0, "text": "∂e/∂e = 1"}
    assert [step["text"] for step in document["backward"]] == [
        "c.grad += e.grad · d = 1 · 27 = 27 → c.grad = 27",
        "d.grad += e.grad · c = 1 · 10 = 10 → d.grad = 10",
        "b.grad += d.grad · 3·b² = 10 · 27 = 270 → b.grad = 270",
        "a.grad += c.grad · 1 = 27 · 1 = 27 → a.grad = 27",
        "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297",
    ]
    numbers = [
        (
            s["parent"],
            s["child"],
            s["local"],
            s["local_value"],
            s["parent_grad"],
            s["contribution"],
            s["previous"],
            s["total"],
        )
        for s in document["backward"]
    ]
    assert numbers == [
        ("e", "c", "d", 27, 1, 27, None, 27),
        ("e", "d", "c", 10, 1, 10, None, 10),
        ("d", "b", "3·b²", 27, 10, 270, None, 270),
        ("c", "a", "1", 1, 27, 27, None, 27),
        ("c", "b", "1", 1, 27, 27, 270, 297),
    ]
    assert document["gradients"] == {"a": 27, "b": 297}


def test_trace_lecture_add_mul(run_json):
    """Slides, (a + b) * c at a=7, b=3, c=2: Add d = 10, Mul e = 20."""
    assert backward(run_json, "(a + b) * c", "--a", "7", "--b", "3", "--c", "2") == [
        "d.grad += e.grad · c = 1 · 2 = 2 → d.grad = 2",
        "c.grad += e.grad · d = 1 · 10 = 10 → c.grad = 10",
        "a.grad += d.grad · 1 = 2 · 1 = 2 → a.grad = 2",
        "b.grad += d.grad · 1 = 2 · 1 = 2 → b.grad = 2",
    ]


def test_trace_lecture_power_node(run_json):
    """Slides, (a + b³) * c: Pow3 d, Add e, Mul f; b.grad = 2·3·9 = 54."""
    assert backward(run_json, "(a + b**3) * c", "--a", "7", "--b", "3", "--c", "2") == [
        "e.grad += f.grad · c = 1 · 2 = 2 → e.grad = 2",
        "c.grad += f.grad · e = 1 · 34 = 34 → c.grad = 34",
        "a.grad += e.grad · 1 = 2 · 1 = 2 → a.grad = 2",
        "d.grad += e.grad · 1 = 2 · 1 = 2 → d.grad = 2",
        "b.grad += d.grad · 3·b² = 2 · 27 = 54 → b.grad = 54",
    ]


@pytest.mark.parametrize(
    ("b", "last"),
    [
        ("3", "b.grad += d.grad · [b > 0] = 2 · 1 = 2 → b.grad = 2"),
        ("-3", "b.grad += d.grad · [b > 0] = 2 · 0 = 0 → b.grad = 0"),
    ],
)
def test_trace_lecture_relu_passes_or_blocks(run_json, b, last):
    """Slides, (a + relu(b)) * c: the relu edge carries 1 for b = 3 and 0 for b = −3."""
    code, document = run_json("trace", "(a + relu(b)) * c", "--a", "7", "--b", b, "--c", "2")
    assert code == 0
    assert document["backward"][-1]["text"] == last
    assert [step["text"] for step in document["forward"]][2] == f"d = relu(b) = relu({b}) = {max(int(b), 0)}"


def test_trace_lecture_notes_sigmoid(run_json):
    """Notes §1.2: L = z·b with z = x + y, b = σ(x); x receives σ'(x)·3 through b, then σ(x) through z."""
    code, document = run_json("trace", "z = x + y; b = sigmoid(x); L = z * b", "--x", "1", "--y", "2")
    assert code == 0
    s = 1 / (1 + math.exp(-1.0))
    assert [step["text"] for step in document["forward"]] == [
        "x = 1",
        "y = 2",
        "z = x + y = 1 + 2 = 3",
        "b = sigmoid(x) = sigmoid(1) = 0.731059",
        "L = z * b = 3 * 0.731059 = 2.19318",
    ]
    steps = document["backward"]
    assert [(step["parent"], step["child"], step["local"]) for step in steps] == [
        ("L", "z", "b"),
        ("L", "b", "z"),
        ("b", "x", "b·(1 - b)"),
        ("z", "x", "1"),
        ("z", "y", "1"),
    ]
    assert steps[2]["text"] == "x.grad += b.grad · b·(1 - b) = 3 · 0.196612 = 0.589836 → x.grad = 0.589836"
    assert (
        steps[3]["text"]
        == "x.grad += z.grad · 1 = 0.731059 · 1 = 0.731059 → x.grad = 0.589836 + 0.731059 = 1.32089"
    )
    assert steps[2]["local_value"] == pytest.approx(s * (1 - s), rel=1e-15)
    assert steps[3]["total"] == pytest.approx(3 * s * (1 - s) + s, rel=1e-15)


def test_trace_skips_constants_and_nodes_computed_from_constants():
    result = trace(evaluate("k = 2 * 3; pi * k * a", a=-2))
    assert [(step.parent_name, step.child_name) for step in result.backward] == [("c", "a")]
    assert result.backward[0].local == "b" and result.backward[0].local_value == pytest.approx(6 * math.pi)


def test_trace_text_shows_both_passes(run):
    code, out, _ = run("trace", "(a + b) * b**3", "--a", "7", "--b", "3")
    assert code == 0
    assert "forward pass" in out and "backward pass" in out and "∂e/∂e = 1" in out
    assert "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297" in out
    assert "∂e/∂a = 27, ∂e/∂b = 297" in out


def test_trace_needs_values(run):
    code, out, err = run("trace", "(a + b) * c", "--a", "1", "--json")
    assert code == 2
    assert json.loads(out)["error"]["type"] == "name" and "no value for b, c" in err


# -- trace against the engine, on random programs ---------------------------------------------

BINARY = ("+", "-", "*")
UNARY = ("sin", "tanh", "sigmoid", "relu")


@st.composite
def dags(draw) -> tuple[str, dict[str, float]]:
    """A random program whose names are reused, so nodes have several parents (and `v * v` two edges)."""
    inputs = ["a", "b", "c"][: draw(st.integers(1, 3))]
    names = list(inputs)
    statements = []
    for i in range(draw(st.integers(1, 7))):
        left, right = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if draw(st.booleans()):
            expr = f"{left} {draw(st.sampled_from(BINARY))} {right}"
        else:
            expr = f"{draw(st.sampled_from(UNARY))}({left})"
        statements.append(f"v{i} = {expr}")
        names.append(f"v{i}")
    values = {
        name: draw(st.floats(-1.5, 1.5, allow_nan=False).filter(lambda x: abs(x) > 1e-3)) for name in inputs
    }
    return "; ".join(statements), values


@given(dags())
def test_trace_totals_are_the_engines_gradients(case):
    source, values = case
    program = parse(source)
    evaluation = evaluate(program, {name: values[name] for name in program.inputs})
    result = trace(evaluation)
    last_total = {}
    for step in result.backward:
        assert program.nodes[step.parent].inputs[step.position] == step.child
        assert step.local_value == local_derivatives(program, evaluation.values, step.parent)[step.position]
        assert step.contribution == pytest.approx(step.parent_grad * step.local_value, rel=1e-12, abs=1e-300)
        last_total[step.child] = step.total
    for node_id, total in last_total.items():
        # The same additions as the engine; only a node taking one input twice may add them in
        # the other order, which can move the last bit of a third or later contribution.
        assert total == pytest.approx(evaluation.grads[node_id], rel=1e-12, abs=1e-300)
    for name, node_id in program.inputs.items():
        assert last_total.get(node_id, 0.0) == pytest.approx(
            evaluation.gradients[name], rel=1e-12, abs=1e-300
        )


# -- eval --expect -----------------------------------------------------------------------------

LECTURE = ("eval", "(a + b) * b**3", "--a", "7", "--b", "3")


def test_expect_right_answers_exit_0(run):
    code, out, _ = run(
        *LECTURE, "--expect", "a=27", "--expect", "b=297", "--expect", "value=270", "--expect", "c=27"
    )
    assert code == 0
    assert out.count("✓") == 4 and "✗" not in out


def test_expect_a_wrong_answer_exits_1_with_both_numbers(run, run_json):
    code, out, _ = run(*LECTURE, "--expect", "a=27", "--expect", "b=290")
    assert code == 1
    assert "✗" in out and "290" in out and "297" in out
    code, document = run_json(*LECTURE, "--expect", "a=27", "--expect", "b=290")
    assert code == 1
    assert document["expect"] == {
        "passed": False,
        "tolerance": 1e-4,
        "items": {
            "a": {"expected": 27.0, "got": 27.0, "abs_error": 0.0, "passed": True},
            "b": {"expected": 290.0, "got": 297.0, "abs_error": 7.0, "passed": False},
        },
    }
    assert document["gradients"] == {"a": 27, "b": 297}  # the rest of the document is unchanged


@pytest.mark.parametrize(
    ("answer", "tol", "code"),
    [
        ("a=27.001", "1e-4", 0),  # |0.001| ≤ 1e-4 · 27.001
        ("a=27.01", "1e-4", 1),
        ("a=27.01", "1e-3", 0),
        ("d=10.002", "1e-4", 1),  # 0.002 > 1e-4 · 10.002
        ("d=10.0005", "1e-4", 0),
        ("value=270.02", "1e-4", 0),
    ],
)
def test_expect_tolerance_is_relative(run, answer, tol, code):
    assert run(*LECTURE, "--expect", answer, "--tol", tol)[0] == code


def test_expect_tolerance_has_an_absolute_floor(run):
    """Near 0 the tolerance is tol itself: relu blocks b at −3, and 5e-5 is close enough to 0."""
    args = ("eval", "(a + relu(b)) * c", "--a", "7", "--b", "-3", "--c", "2")
    assert run(*args, "--expect", "b=5e-5")[0] == 0
    assert run(*args, "--expect", "b=5e-4")[0] == 1


def test_expect_file(run_json, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text('{"a": 27, "b": 297, "value": 270}')
    code, document = run_json(*LECTURE, "--expect-file", str(answers))
    assert code == 0
    assert list(document["expect"]["items"]) == ["a", "b", "value"] and document["expect"]["passed"]


def test_expect_unknown_name_lists_the_names(run_json, run):
    code, document = run_json(*LECTURE, "--expect", "q=1")
    assert code == 2
    assert document["error"]["type"] == "input"
    assert document["error"]["hint"] == "the names are: value, a, b, c, d, e"
    assert run(*LECTURE, "--expect", "3=1")[0] == 2  # a constant has no gradient to expect


def test_expect_errors_in_the_option_itself(run, tmp_path):
    assert run(*LECTURE, "--expect", "a")[0] == 2
    assert run(*LECTURE, "--expect", "a=x")[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[27]")
    code, _, err = run(*LECTURE, "--expect-file", str(bad))
    assert code == 2 and "--expect-file" in err
    bad.write_text('{"a": 27}')
    code, _, err = run(*LECTURE, "--expect-file", str(bad), "--expect", "a=27")
    assert code == 2 and "given twice" in err


def test_expect_and_check_together(run_json):
    code, document = run_json(*LECTURE, "--check", "--expect", "b=297")
    assert code == 0 and document["check"]["passed"] and document["expect"]["passed"]


# -- graph -------------------------------------------------------------------------------------

DOT_STRING = r'"(?:[^"\\]|\\.)*"'


def check_dot_structure(text: str) -> dict[str, str]:
    """Parse the DOT we write: balanced braces outside strings, node statements, edges between them.
    Returns every node's label, unescaped."""
    outside = re.sub(DOT_STRING, '""', text)
    assert outside.count("{") == outside.count("}") == 1
    assert outside.strip().startswith("digraph") and outside.strip().endswith("}")
    labels, edges = {}, []
    for line in text.splitlines()[1:-1]:
        line = line.strip()
        node = re.fullmatch(rf"(n\d+) \[label=({DOT_STRING}), [^\[\]]*\];", line)
        edge = re.fullmatch(r"(n\d+) -> (n\d+);", line)
        if node:
            labels[node.group(1)] = json.loads(node.group(2))  # DOT's \" \\ \n are JSON's too
        elif edge:
            edges.append(edge.groups())
        else:
            assert re.fullmatch(
                rf'(rankdir=LR|labelloc=t|fontname="Helvetica"|label={DOT_STRING}|node \[fontname="Helvetica"\]);',
                line,
            ), line
    assert all(a in labels and b in labels for a, b in edges)
    return labels


def test_dot_lecture_example_has_values_and_grads(run):
    code, out, _ = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--format", "dot")
    assert code == 0
    labels = check_dot_structure(out)
    assert labels["n2"] == "Add c\na + b\nvalue=10 grad=27"
    assert labels["n1"] == "Input b\nvalue=3 grad=297"
    assert labels["n3"] == "Const 3\nvalue=3"
    output_line = next(line for line in out.splitlines() if line.strip().startswith("n5 "))
    assert "peripheries=2" in output_line
    assert out.count("->") == 6


def test_dot_without_values_is_structure_only(run):
    code, out, _ = run("graph", "u = a*b; v = u + a; u * v")
    assert code == 0
    labels = check_dot_structure(out)
    assert labels["n2"] == "Mul u\na * b" and not any("value=" in label for label in labels.values())


def test_dot_escapes_quotes_and_backslashes():
    source = 'a * b  # the "key" \\ answer'
    text = dot_text(parse(source), None, source)
    check_dot_structure(text)
    title = re.search(rf"^  label=({DOT_STRING});$", text, re.M).group(1)
    assert title == '"a * b # the \\"key\\" \\\\ answer"'
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=True)


def test_dot_renders_with_graphviz_when_present(run, tmp_path):
    output = tmp_path / "g.svg"
    code, _, err = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--output", str(output))
    if shutil.which("dot") is None:
        assert code == 2 and "needs Graphviz's dot" in err
    else:
        assert code == 0 and "<svg" in output.read_text()


def test_graph_image_without_dot_is_an_error(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run("graph", "(a + b) * c", "--output", str(tmp_path / "g.png"))
    assert code == 2
    assert "needs Graphviz's dot program, which is not on PATH" in err


def test_graph_image_runs_dot_with_a_list_of_arguments(run, tmp_path, monkeypatch):
    """A stand-in `dot` records its arguments and copies the DOT text it reads to the -o file."""
    fake = tmp_path / "dot"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys\n"
        "pathlib.Path(sys.argv[0]).with_name('args').write_text(repr(sys.argv[1:]))\n"
        "pathlib.Path(sys.argv[3]).write_bytes(sys.stdin.buffer.read())\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    output = tmp_path / "my graph.png"
    code, _, _ = run("graph", "(a + b) * c", "--a", "7", "--b", "3", "--c", "2", "--output", str(output))
    assert code == 0
    assert (tmp_path / "args").read_text() == repr(["-Tpng", "-o", str(output)])
    check_dot_structure(output.read_text())


def test_graph_output_text_file_by_suffix(run, tmp_path):
    output = tmp_path / "g.mmd"
    assert run("graph", "(a + b) * c", "--output", str(output))[0] == 0
    assert output.read_text().startswith("flowchart LR\n")
    assert run("graph", "(a + b) * c", "--format", "mermaid", "--output", str(tmp_path / "g.svg"))[0] == 2


def check_mermaid_structure(text: str) -> None:
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    declared = set()
    for line in lines[1:]:
        line = line.strip()
        node = re.fullmatch(r'(n\d+)(\(\[|\[\[|\[|\()"([^"]*)"(\]\)|\]\]|\]|\))', line)
        edge = re.fullmatch(r"(n\d+) --> (n\d+)", line)
        if node:
            assert {"([": "])", "[[": "]]", "[": "]", "(": ")"}[node.group(2)] == node.group(4)
            declared.add(node.group(1))
        elif edge:
            assert set(edge.groups()) <= declared
        else:
            assert re.fullmatch(r"classDef \w+ [\w:#,-]+|class (n\d+,)*n\d+ \w+", line), line


def test_mermaid_lecture_example(run):
    code, out, _ = run("graph", "(a + b) * b**3", "--a", "7", "--b", "3", "--format", "mermaid")
    assert code == 0
    check_mermaid_structure(out)
    assert '  n2["Add c<br/>a + b<br/>value=10 grad=27"]' in out.splitlines()
    assert '  n0(["Input a<br/>value=7 grad=27"])' in out.splitlines()
    assert "  class n5 output" in out.splitlines()


def test_mermaid_escapes_what_it_would_read():
    assert (
        _mermaid_string('say "hi" <b> #1 & `x`\nnext')
        == "say #quot;hi#quot; #lt;b#gt; #35;1 #amp; #96;x#96;<br/>next"
    )
    check_mermaid_structure(mermaid_text(parse("max(a, b) / -c"), None))


def test_tree_draws_a_shared_node_once(run):
    code, out, _ = run("graph", "u = a*b; v = u + a; u * v", "--a", "2", "--b", "5", "--format", "tree")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Mul c · u * v · value=120 grad=1"
    assert sum("Mul u" in line for line in lines) == 1
    assert sum("Input a" in line for line in lines) == 1
    assert "◆ shared: 2 uses" in next(line for line in lines if "Mul u" in line)
    assert sum("(shared, drawn above)" in line for line in lines) == 2


def test_tree_of_a_deep_chain_stops_at_a_depth(run):
    program = "x"
    for _ in range(500):
        program = f"tanh({program})"
    code, out, _ = run("graph", program, "--format", "tree")
    assert code == 0
    assert "deeper than 60 levels" in out and len(out.splitlines()) < 70


# -- paths: backprop as weighted path counting ------------------------------------------------


def test_paths_lecture_example(run_json):
    code, document = run_json("paths", "(a + b) * b**3", "--a", "7", "--b", "3", "--wrt", "b")
    assert code == 0
    assert (document["count"], document["listed"], document["complete"]) == (2, 2, True)
    assert [(path["nodes"], path["locals"], path["product"]) for path in document["paths"]] == [
        (["b", "c", "e"], ["1", "d"], 27.0),
        (["b", "d", "e"], ["3·b²", "c"], 270.0),
    ]
    assert document["sum"] == document["gradient"] == 297


def test_paths_text(run):
    code, out, _ = run("paths", "u = a*b; v = u + a; u * v", "--a", "2", "--b", "5", "--wrt", "a")
    assert code == 0
    assert "sum over the 3 paths: 120; ∂c/∂a by backprop: 120" in out
    assert "3 by the recurrence" in out


def test_paths_exponential_count_is_exact_and_the_list_stops(run_json):
    """x1 = a + a; x2 = x1 + x1; … doubles the paths at every line: 2^60 of them, 5 listed."""
    lines = ["x1 = a + a"] + [f"x{i} = x{i - 1} + x{i - 1}" for i in range(2, 61)]
    code, document = run_json("paths", "; ".join(lines), "--a", "1", "--wrt", "a", "--max-paths", "5")
    assert code == 0
    assert document["count"] == 2**60
    assert (document["listed"], document["complete"]) == (5, False)
    assert document["gradient"] == 2.0**60


def test_paths_errors(run):
    assert run("paths", "a * 2", "--a", "3", "--wrt", "q")[0] == 2
    assert run("paths", "a * 2", "--a", "3", "--wrt", "a", "--max-paths", "-1")[0] == 2
    assert run("paths", "a * 2", "--a", "3")[0] == 2  # --wrt is required


def walks(adjacency: list[list], start: int, end: int, zero):
    """Σ_k (A^k)[start][end] by repeated vector-matrix products: an independent path count (or sum)."""
    size = len(adjacency)
    row = [zero] * size
    row[start] = zero + 1
    total = row[end]
    for _ in range(size):
        row = [sum((row[i] * adjacency[i][j] for i in range(size)), zero) for j in range(size)]
        total += row[end]
    return total


@given(dags())
def test_path_counts_match_brute_force(case):
    source, values = case
    program = parse(source)
    evaluation = evaluate(program, {name: values[name] for name in program.inputs})
    size = len(program.nodes)
    counts_matrix = [[0] * size for _ in range(size)]
    weights = [[0.0] * size for _ in range(size)]
    for node in program.nodes:
        if node.inputs:
            local = local_derivatives(program, evaluation.values, node.id)
            for position, child in enumerate(node.inputs):
                counts_matrix[child][node.id] += 1
                weights[child][node.id] += local[position]
    counts = count_paths(program)
    for name, start in program.inputs.items():
        assert counts[start] == walks(counts_matrix, start, program.output, 0)
        listed = list(enumerate_paths(evaluation, start))
        assert len(listed) == counts[start]
        assert len({(path.nodes, path.positions) for path in listed}) == len(listed)  # each one once
        assert sum(p.product for p in listed) == pytest.approx(evaluation.gradients[name], rel=1e-9, abs=1e-9)
        assert walks(weights, start, program.output, 0.0) == pytest.approx(
            evaluation.gradients[name], rel=1e-9, abs=1e-9
        )


def test_path_report_caps_the_list():
    evaluation = evaluate("x1 = a * a; x2 = x1 * x1; x3 = x2 * x2; x3", a=1.5)
    report = path_report(evaluation, evaluation.program.inputs["a"], 3)
    assert (report.count, len(report.paths), report.complete) == (8, 3, False)
    full = path_report(evaluation, evaluation.program.inputs["a"], 100)
    assert full.complete and full.total == pytest.approx(8 * 1.5**7)
    assert len(parent_edges(evaluation.program)[0]) == 2  # a * a: two edges from a


# -- the installed command ---------------------------------------------------------------------


def test_help_of_every_homework_command_has_examples(run):
    for command in ("trace", "graph", "paths"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "Examples:" in out and f"backprop {command} " in out


def test_installed_command_in_a_real_process():
    command = Path(sys.executable).with_name("backprop")
    assert command.exists(), command
    done = subprocess.run(
        [str(command), "trace", "(a + b) * b**3", "--a", "7", "--b", "3", "--json"],
        capture_output=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["backward"][-1]["text"] == "b.grad += c.grad · 1 = 27 · 1 = 27 → b.grad = 270 + 27 = 297"
