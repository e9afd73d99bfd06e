"""`backprop paths`: backprop as weighted path counting — every path from an input to the output, the
product of its local derivatives, their sum the gradient; counts exact even when there are 2^60."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import dags

from backprop import evaluate, parse
from backprop.graph.paths import count_paths, enumerate_paths, parent_edges, path_report
from backprop.graph.trace import local_derivatives


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
