"""`batch`'s columnar path writes exactly the bytes the point-by-point path wrote.

tests/data/batch_columnar.json.gz holds the output (stdout, stderr, exit status) of every case below
as the point-by-point `batch` wrote it, before the columnar path (regenerated once since, when the
check at a kink became eval's: `"at_kink": true` for the input at it, where the vectorised check had
said false; nothing else changed); each case is run again here and must give the same bytes. Regenerate it from a copy of a tree (a folder holding backprop/) with
    .venv/bin/python tests/test_batch_columnar.py --regenerate DIR
Another check compares the columns' text (render/json.py's batch_lines) with json's, float by float.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "batch_columnar.json.gz"  # gzip: 1.9 MB of JSON, 0.3 MB stored


def _numbers(rng: random.Random, count: int) -> list[str]:
    """Numbers as JSON text of every kind that reads as a finite float: tiny, huge, whole, -0."""
    kinds = [
        lambda: repr(rng.uniform(-3, 3)),
        lambda: repr(rng.uniform(-1, 1) * 10 ** rng.randint(-12, 20)),
        lambda: str(rng.randint(-(10**6), 10**6)),
        lambda: f"{rng.randint(1, 9)}e{rng.randint(-8, 8)}",
        lambda: rng.choice(["0", "-0", "0.0", "-0.0", "1E2", "2.5e-300", "12345678901234567890"]),
    ]
    return [rng.choice(kinds)() for _ in range(count)]


def _plain_jsonl(count: int, names: str = "abc", seed: int = 1) -> str:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        values = _numbers(rng, len(names))
        lines.append("{" + ", ".join(f'"{n}": {v}' for n, v in zip(names, values, strict=True)) + "}")
    return "\n".join(lines) + "\n"


BAD_LINES = [
    "not json",
    "",
    "   ",
    '{"a": 1, "b": 2, "a": 3, "c": 1}',  # a key twice
    '{"a": 1, "b": 2}',  # c missing
    '{"a": true, "b": 2, "c": 3}',
    '{"a": "2.5", "b": 2, "c": 3}',  # a number as text: read
    '{"a": "1_000", "b": 2, "c": 3}',
    '{"a": null, "b": 2, "c": 3}',
    '{"a": NaN, "b": 2, "c": 3}',
    '{"a": Infinity, "b": 2, "c": 3}',
    '{"a": 1e400, "b": 2, "c": 3}',
    '{"a": ' + "9" * 400 + ', "b": 2, "c": 3}',
    '{"a": [1], "b": 2, "c": 3}',
    '{"a": {"x": 1}, "b": 2, "c": 3}',
    "[1, 2, 3]",
    "5",
    '{"a": 1, "b": 2, "c": 3, "student": "Ada", "id": 7}',  # carried
    '{"a": 1, "b": 2, "c": 3, "big": 1e400}',
    '{"\\u0061": 1, "b": 2, "c": 3}',
    '{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}',
    '{"a": 1, "b": 2',
    '"c": 3}',
    '{"a": 1, "b": 2, "c": 3}   ',
    '{"a": 1, "b": 2, "c": ' + "1" * 200 + "}",  # past --max-line-bytes 150
]


def _mixed_jsonl() -> str:
    plain = _plain_jsonl(40, seed=2).splitlines()
    lines = []
    for i, bad in enumerate(BAD_LINES):
        lines += [plain[i % len(plain)], bad]
    return "\ufeff" + "\n".join(lines) + "\n" + '{"a": 1, "b": 2, "c": 3}'  # a BOM; no last newline


def _inputs(folder: Path) -> dict[str, Path]:
    files = {
        "plain.jsonl": _plain_jsonl(600),
        "one.jsonl": _plain_jsonl(50, "x", seed=3),
        "ab.jsonl": _plain_jsonl(500, "ab", seed=10),
        "none.jsonl": "{}\n{}\n{}\n",
        "mixed.jsonl": _mixed_jsonl(),
        "kinks.jsonl": "".join(
            f'{{"a": {a}, "b": {b}, "c": {c}}}\n' for a, b, c in [(0, 1, 2), (1, 0, 0), (0, 0, 0)] * 5
        )
        + _plain_jsonl(20, seed=4),
        "domain.jsonl": _plain_jsonl(100, seed=5) + '{"a": 0, "b": 0, "c": 0}\n{"a": -1, "b": 1, "c": 1}\n',
        "points.csv": "a,b,c\n"
        + "".join(
            f"{a},{b},{c}\n"
            for a, b, c in zip(*[_numbers(random.Random(k), 200) for k in (6, 7, 8)], strict=True)
        )
        + "\n1,2\n1,x,3\n1_0,2,3\n nan,1,1\n1e400,1,1\n 2.5 ,1,1\n",
        "students.csv": "student,a,b\nAda,1,2\nBob,3,-1\n\nCy,0,0\nDee,nan,1\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(text.encode("utf-8"))
    (folder / "bad.jsonl").write_bytes(
        b'{"a": 1, "b": 2, "c": 3}\n{"a": \xff, "b": 2, "c": 3}\n{"a": 2, "b": 2, "c": 2}\n'
    )
    paths["bad.jsonl"] = folder / "bad.jsonl"
    grid = np.random.default_rng(9).uniform(-2, 2, size=(500, 3))
    grid[7, 1], grid[9, 0], grid[11, 2] = np.nan, np.inf, -0.0
    np.save(folder / "grid.npy", grid)
    named = np.zeros(40, dtype=[("a", "f8"), ("b", "i4"), ("c", "f4"), ("w", "f8")])
    named["a"], named["b"], named["c"], named["w"] = np.linspace(-1, 1, 40), np.arange(40), 0.5, 3.0
    np.save(folder / "named.npy", named)
    paths["grid.npy"], paths["named.npy"] = folder / "grid.npy", folder / "named.npy"
    return paths


LECTURE = "(a + b**3) * c"
CASES = {
    "plain": [LECTURE, "--points", "plain.jsonl"],
    "plain chunk 7": [LECTURE, "--points", "plain.jsonl", "--chunk", "7"],
    "plain chunk 1": [LECTURE, "--points", "plain.jsonl", "--chunk", "1"],
    "plain libm": ["tanh(a) * exp(b / 10) + sin(c) * a**0.5 + log(1 + a*a)", "--points", "plain.jsonl"],
    "plain check": [LECTURE, "--points", "plain.jsonl", "--check", "--chunk", "500"],
    "plain nodes": ["u = a*b; u * c + u", "--points", "plain.jsonl", "--nodes", "--chunk", "1000"],
    "plain csv format": [LECTURE, "--points", "plain.jsonl", "--format", "csv"],
    "one input": ["x * x - 3", "--points", "one.jsonl"],
    "no input": ["2 + 3", "--points", "none.jsonl"],
    "mixed": [LECTURE, "--points", "mixed.jsonl", "--max-line-bytes", "150"],
    "mixed chunk 3": [LECTURE, "--points", "mixed.jsonl", "--max-line-bytes", "150", "--chunk", "3"],
    "mixed check": [LECTURE, "--points", "mixed.jsonl", "--max-line-bytes", "150", "--check"],
    "plain fixed c": [LECTURE, "--points", "ab.jsonl", "--c", "2"],
    "mixed fixed c": ["(a + b**3) * c", "--points", "mixed.jsonl", "--max-line-bytes", "150", "--c", "2"],
    "mixed fixed b": ["a * b - c", "--points", "mixed.jsonl", "--max-line-bytes", "150", "--b", "-1.5"],
    "mixed markdown": [LECTURE, "--points", "mixed.jsonl", "--max-line-bytes", "150", "--format", "markdown"],
    "not utf-8": [LECTURE, "--points", "bad.jsonl"],
    "kinks": ["relu(a) * b + abs(c) + max(a, b)", "--points", "kinks.jsonl"],
    "kinks chunk 2": ["relu(a) * b + abs(c) + max(a, b)", "--points", "kinks.jsonl", "--chunk", "2"],
    "kinks check": ["relu(a) * b + abs(c)", "--points", "kinks.jsonl", "--check"],
    "domain": ["log(a) / b + sqrt(c)", "--points", "domain.jsonl"],
    "domain chunk 4096": ["1 / (a - b) + c", "--points", "domain.jsonl", "--chunk", "4096"],
    "csv": [LECTURE, "--points", "points.csv"],
    "csv chunk 9": [LECTURE, "--points", "points.csv", "--chunk", "9"],
    "csv carried": ["a * b + c", "--points", "students.csv", "--c", "2"],
    "csv carried markdown": ["a * b + c", "--points", "students.csv", "--c", "2", "--format", "markdown"],
    "csv carried latex": ["a * b + c", "--points", "students.csv", "--c", "2", "--format", "latex"],
    "csv carried csv": ["a * b + c", "--points", "students.csv", "--c", "2", "--nodes", "--format", "csv"],
    "npy": [LECTURE, "--points", "grid.npy", "--columns", "a,b,c"],
    "npy chunk 64": ["a / b + exp(c)", "--points", "grid.npy", "--columns", "a,b,c", "--chunk", "64"],
    "npy fixed": [LECTURE, "--points", "grid.npy", "--columns", "a,b,d", "--c", "3"],
    "npy named": ["a * b + c", "--points", "named.npy"],
    "npy named clash": ["a * b + c", "--points", "named.npy", "--w", "1"],
}
STDIN = {
    "stdin mixed": ([LECTURE, "--max-line-bytes", "150"], "mixed.jsonl"),
    "stdin plain": ([LECTURE], "plain.jsonl"),
}


WITHOUT_ORJSON = (
    "import runpy, sys; sys.modules['orjson'] = None; runpy.run_module('backprop', run_name='__main__')"
)


def _run(
    arguments: list[str], folder: Path, pythonpath: str, stdin: Path | None = None, orjson: bool = True
) -> dict:
    env = {**os.environ, "PYTHONPATH": pythonpath, "COLUMNS": "100", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, *(["-m", "backprop"] if orjson else ["-c", WITHOUT_ORJSON]), "batch", *arguments],
        cwd=folder,
        env=env,
        input=stdin.read_bytes() if stdin else b"",
        capture_output=True,
        timeout=600,
    )
    return {"code": done.returncode, "stdout": done.stdout.decode(), "stderr": done.stderr.decode()}


def _outputs(pythonpath: str, exact: tuple[str, ...] = ()) -> dict[str, dict]:
    """Every case's output; `exact`: ("--exact",) for this tree, whose fast path (NumPy's kernels)
    is not bit for bit the point-by-point path's (a tree before --exact takes no such option)."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        paths = _inputs(folder)
        found = {case: _run([*arguments, *exact], folder, pythonpath) for case, arguments in CASES.items()}
        for case, (arguments, source) in STDIN.items():
            found[case] = _run([*arguments, *exact], folder, pythonpath, stdin=paths[source])
        return found


def _golden() -> dict[str, dict]:
    """The saved outputs of the point-by-point path."""
    return json.loads(gzip.decompress(GOLDEN.read_bytes()).decode("utf-8"))


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict]:
    return _outputs(str(ROOT), exact=("--exact",))


@pytest.mark.parametrize("case", [*CASES, *STDIN])
def test_the_same_bytes_as_point_by_point(outputs, case):
    expected = _golden()[case]
    got = outputs[case]
    assert got["code"] == expected["code"]
    assert got["stderr"] == expected["stderr"]
    if got["stdout"] != expected["stdout"]:  # the first line that differs, not a wall of text
        pairs = zip(got["stdout"].splitlines(), expected["stdout"].splitlines(), strict=False)
        first = next(((i, g, e) for i, (g, e) in enumerate(pairs) if g != e), None)
        pytest.fail(f"output differs at line {first}" if first else "output lengths differ")


@pytest.mark.parametrize("case", ["plain", "mixed", "csv", "npy"])
def test_the_same_bytes_without_orjson(case):
    """orjson is a dependency, but without it (the standard library's json and repr) the bytes are the same."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        _inputs(folder)
        got = _run([*CASES[case], "--exact"], folder, str(ROOT), orjson=False)
    assert got == _golden()[case]


def test_the_cases_cover_every_path(outputs):
    """The golden cases hold bad lines, carried columns, kinks and failed points, not only plain ones."""
    mixed = outputs["mixed"]["stdout"]
    assert '"error"' in mixed and '"carried"' in mixed
    assert '"kinks"' in outputs["kinks"]["stdout"] and '"error"' in outputs["domain"]["stdout"]
    assert outputs["plain"]["code"] == 0 and outputs["mixed"]["code"] == 2


def test_column_text_is_json_text_float_by_float():
    from backprop.cli.render.json import json_line
    from backprop.cli.render.jsonl import batch_lines

    rng = random.Random(11)
    numbers = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20000)]
    numbers += [rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30) for _ in range(20000)]
    numbers += [0.0, -0.0, 1e-4, 1e-5, 9.999999999999999e-05, 1e16, 9999999999999998.0, 5e-324, 1e22, 2.0**53]
    numbers = [x for x in numbers if math.isfinite(x)]
    value = np.array(numbers)
    gradient = np.array(numbers[::-1])
    lines = list(range(1, len(numbers) + 1))
    expected = "".join(
        json_line({"line": n, "value": v + 0.0, "gradients": {"a": g + 0.0, "b": v + 0.0}})
        for n, v, g in zip(lines, numbers, numbers[::-1], strict=True)
    )
    assert batch_lines(lines, value, {"a": gradient, "b": value}) == expected


def _read(data: bytes, size: int, fixed: frozenset[str], quick: bool, monkeypatch) -> list[tuple]:
    """Every chunk of JSON Lines `data` as plain values: lines, errors, carried, columns."""
    import io

    from backprop.cli import points

    with monkeypatch.context() as patch:
        if not quick:  # every row read one by one, as before the columnar path
            patch.setattr(points, "quick_chunk", lambda rows, names: None)
            patch.setattr(points, "quick_text_chunk", lambda rows, names, needed: None)
            patch.setattr(points, "quick_points", lambda rows, names, needed: [None] * len(rows))
        rows = points._jsonl_rows(io.BytesIO(data), 150, close=False)
        return [
            (
                piece.lines,
                {i: (error.kind, error.message, error.hint) for i, error in piece.errors.items()},
                piece.carried,
                {name: [repr(x) for x in column] for name, column in piece.columns.items()},
            )
            for piece in points.chunks(rows, size, {"a", "b", "c"} - fixed, fixed)
        ]


@pytest.mark.parametrize("seed", range(12))
def test_chunks_read_at_once_hold_what_lines_read_one_by_one_hold(seed, monkeypatch):
    rng = random.Random(seed)
    plain = _plain_jsonl(200, seed=seed).splitlines()
    lines = [rng.choice(BAD_LINES) if rng.random() < rng.choice([0, 0.01, 0.2]) else line for line in plain]
    data = "\n".join(lines).encode() + b"\n"
    size, fixed = rng.choice([1, 5, 64, 4096]), rng.choice([frozenset(), frozenset({"c"})])
    assert _read(data, size, fixed, True, monkeypatch) == _read(data, size, fixed, False, monkeypatch)


def test_plain_chunks_take_the_quick_way(monkeypatch):
    """The comparison above compares two ways, not one way twice: plain lines are read at once."""
    import io

    from backprop.cli import points

    taken = []
    quick = points.quick_chunk
    monkeypatch.setattr(
        points, "quick_chunk", lambda rows, names: taken.append(quick(rows, names)) or taken[-1]
    )
    rows = points._jsonl_rows(io.BytesIO(_plain_jsonl(100).encode()), 150, close=False)
    pieces = list(points.chunks(rows, 30, {"a", "b", "c"}))
    assert sum(len(piece) for piece in pieces) == 100
    assert len(taken) == 4 and all(columns is not None for columns in taken)
    assert not any(piece.scalar for piece in pieces)  # the last 10: columns too, as the rest


if __name__ == "__main__" and sys.argv[1:2] == ["--regenerate"]:
    text = json.dumps(_outputs(sys.argv[2]), indent=1, ensure_ascii=False) + "\n"
    GOLDEN.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(f"wrote {GOLDEN}")
