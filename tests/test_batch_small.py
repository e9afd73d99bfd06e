"""A `batch` of a few lines (one line, lines typed one at a time) runs point by point on eval's scalar
path and never imports NumPy; its lines are those the columnar path writes for the same points."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
# + − × ÷ and max/relu round the same way on floats and on arrays, so the two paths must agree bit for bit
PROGRAM = "max(a, b) * relu(c) - (a + b**2) / (1 + c*c)"


def _batch(*arguments: str, stdin: str, importtime: bool = False) -> subprocess.CompletedProcess:
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "backprop", "batch", *arguments],
        input=stdin.encode(),
        capture_output=True,
        env=ENV,
        timeout=60,
    )


def _imported(stderr: bytes) -> set[str]:
    """The modules `python -X importtime` reports."""
    lines = stderr.decode().splitlines()
    return {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}


def test_one_line_never_imports_numpy():
    done = _batch("(a + b**3) * c", stdin='{"a": 7, "b": 3, "c": 2}\n', importtime=True)
    assert done.returncode == 0
    assert done.stdout == b'{"line": 1, "value": 68.0, "gradients": {"a": 2.0, "b": 54.0, "c": 34.0}}\n'
    modules = _imported(done.stderr)
    assert "backprop.graph.batch" in modules  # the measurement sees our modules…
    assert not any(name.split(".")[0] == "numpy" for name in modules)  # …and not NumPy's


def test_a_few_lines_with_errors_carried_columns_and_fixed_values_never_import_numpy():
    lines = '{"a": 7, "b": 3, "student": "Ada"}\n{"a": -1}\nnot json\n{"a": 1, "b": 2, "c": 5}\n'
    done = _batch("(a + b**3) * c", "--c", "2", stdin=lines, importtime=True)
    assert done.returncode == 2
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert out[0] == {
        "line": 1,
        "carried": {"student": "Ada"},
        "value": 68.0,
        "gradients": {"a": 2.0, "b": 54.0, "c": 34.0},
    }
    assert [sorted(line) for line in out[1:]] == [["error", "line"]] * 3
    assert not any(name.split(".")[0] == "numpy" for name in _imported(done.stderr))


def _points(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        a, b, c = (rng.choice([0.0, -0.0, rng.uniform(-3, 3), rng.uniform(-1, 1) * 1e-6]) for _ in range(3))
        lines.append(json.dumps({"a": a, "b": b, "c": c}))
    lines.insert(5, '{"a": 1, "b": 2, "c": 3, "id": 9}')
    lines.insert(8, '{"a": 1, "b": "two", "c": 3}')
    return lines


@pytest.mark.parametrize("check", [False, True])
def test_the_scalar_path_writes_the_columnar_path_lines(check):
    """Each of the first 12 of 200 points alone (one-line runs, point by point) gives the line it gets
    among the 200 (columns): zeros, -0.0, tiny and plain numbers, a bad value, carried columns."""
    lines = _points(200, seed=3)
    options = ["--check"] if check else []
    together = _batch(PROGRAM, *options, stdin="\n".join(lines) + "\n").stdout.decode().splitlines()
    alone = []
    for number, line in enumerate(lines[:12], 1):
        text = _batch(PROGRAM, *options, stdin=line + "\n").stdout.decode().strip()
        text = text.replace('{"line": 1', f'{{"line": {number}', 1)  # its line number among them
        alone.append(text.replace('"message": "line 1:', f'"message": "line {number}:', 1))
    assert alone == together[:12]


def test_only_the_points_before_any_columns_go_one_by_one():
    """A few points alone (or flushed before any chunk filled) go point by point; the tail of a
    file after full chunks goes as columns, evaluated as the rest of the file was."""
    import io

    from backprop.cli import points

    def pieces(count: int, size: int) -> list:
        text = "".join(f'{{"a": {k}, "b": 1, "c": 2}}\n' for k in range(count)).encode()
        rows = points._jsonl_rows(io.BytesIO(text), 1000, close=False)
        return list(points.chunks(rows, size, {"a", "b", "c"}))

    few = pieces(10, 4096)
    assert [piece.scalar for piece in few] == [True]
    assert all(type(column) is list and len(column) == 10 for column in few[0].columns.values())
    assert [piece.scalar for piece in pieces(100, 30)] == [False] * 4
    assert [piece.scalar for piece in pieces(100, 4096)] == [False]  # 100 ≥ SCALAR_POINTS
