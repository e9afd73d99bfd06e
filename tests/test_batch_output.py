"""`batch --output FILE` (.jsonl, .csv, .npy, .parquet) and `--points FILE.parquet`, through the CLI
as a user runs it (a subprocess of `python -m backprop`).

The JSONL on stdout is the reference: every other output holds the same numbers bit for bit, the
failed points left out (.npy, their error lines on stderr) or null with their error (.parquet).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from checks import strict_json

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
PROGRAM = "(a + b**3) * c"

# 5 points in 3 chunks (--chunk 2): a bad line, a point that overflows, a carried id on every line
POINTS = [
    '{"a": 1, "b": 2, "c": 3, "id": 1}',
    '{"a": 2, "b": 1, "c": -1, "id": 7}',
    '{"a": "x", "b": 1, "c": 1, "id": 8}',
    '{"a": 1, "b": 1e200, "c": 2, "id": 9}',
    '{"a": 0.1, "b": 0.3, "c": 4.7, "id": 10}',
]


def batch(*args: str, input: str | None = None, env: dict | None = None, text: bool = True) -> tuple:
    """(exit code, stdout, stderr) of `python -m backprop batch PROGRAM ARGS` (bytes unless `text`)."""
    done = subprocess.run(
        [sys.executable, "-m", "backprop", "batch", PROGRAM, *args],
        input=input,
        capture_output=True,
        text=text,
        env=env or ENV,
        cwd=ROOT,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def points(tmp_path) -> Path:
    path = tmp_path / "points.jsonl"
    path.write_text("\n".join(POINTS) + "\n")
    return path


def reference(points: Path, *args: str) -> list[dict]:
    """The JSONL batch prints on stdout for these points."""
    code, out, _ = batch("--points", str(points), "--chunk", "2", *args)
    assert code == 2
    return [strict_json(line) for line in out.splitlines()]


def error_lines(err: str) -> list[dict]:
    return [strict_json(line) for line in err.splitlines() if line.startswith("{")]


def leftovers(folder: Path) -> list[str]:
    """Temporary files left beside an output (none may be)."""
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


# -- .npy ------------------------------------------------------------------------------------------


def test_npy_output_holds_the_jsonl_numbers_of_the_points_that_succeeded(points, tmp_path):
    expected = reference(points)
    out = tmp_path / "out.npy"
    code, stdout, err = batch("--points", str(points), "--chunk", "2", "--output", str(out))
    assert (code, stdout) == (2, "") and "2 of 5 points failed" in err
    array = np.load(out, allow_pickle=False)
    assert array.dtype.names == ("line", "id", "value", "grad_a", "grad_b", "grad_c")
    assert array.dtype["line"] == np.int64 and array.dtype["id"] == np.int64
    good = [line for line in expected if "value" in line]
    assert array["line"].tolist() == [line["line"] for line in good] == [1, 2, 5]
    assert array["id"].tolist() == [line["carried"]["id"] for line in good]
    for field, key in (("value", None), ("grad_a", "a"), ("grad_b", "b"), ("grad_c", "c")):
        want = [line["value"] if key is None else line["gradients"][key] for line in good]
        assert array[field].tobytes() == np.array(want, dtype=np.float64).tobytes()  # bit for bit
    # the failed points' lines, as JSONL has them, on stderr
    assert error_lines(err) == [line for line in expected if "error" in line]
    assert leftovers(tmp_path) == []


def test_npy_in_npy_out_many_chunks_without_failures(tmp_path):
    rng = np.random.default_rng(19)
    given = np.zeros(10_000, dtype=[("a", "<f8"), ("b", "<f8"), ("c", "<f8")])
    for name in "abc":
        given[name] = rng.uniform(-2, 2, len(given))
    source, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(source, given)
    code, _, err = batch("--points", str(source), "--chunk", "999", "--output", str(out))
    assert (code, err) == (0, "")
    array = np.load(out, allow_pickle=False)
    a, b, c = given["a"], given["b"], given["c"]
    assert array["line"].tolist() == list(range(1, len(given) + 1))
    assert np.allclose(array["value"], (a + b**3) * c, rtol=1e-15, atol=1e-15)
    assert np.allclose(array["grad_b"], 3 * b**2 * c, rtol=1e-15, atol=1e-15)
    assert np.array_equal(array["grad_a"], c)


def test_no_points_gives_an_empty_array(tmp_path):
    out = tmp_path / "out.npy"
    code, _, _ = batch("--output", str(out), input="")
    assert code == 0
    array = np.load(out, allow_pickle=False)
    assert array.shape == (0,) and array.dtype.names == ("line", "value", "grad_a", "grad_b", "grad_c")


def test_a_carried_text_column_is_refused_by_npy_with_the_formats_that_carry_it(tmp_path):
    source, out = tmp_path / "p.jsonl", tmp_path / "out.npy"
    source.write_text('{"a": 1, "b": 2, "c": 3, "student": "ada"}\n')
    code, stdout, err = batch("--points", str(source), "--output", str(out))
    assert code == 2 and stdout == ""
    assert "student holds text" in err and ".parquet" in err and ".csv" in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_run_that_fails_half_way_leaves_no_file_and_the_old_one_whole(tmp_path):
    """The fifth point has no id: the .npy cannot hold it, after two chunks were written."""
    source, out = tmp_path / "p.jsonl", tmp_path / "out.npy"
    source.write_text("\n".join([*POINTS[:4], '{"a": 1, "b": 1, "c": 1}']) + "\n")
    out.write_bytes(b"the old results")
    code, _, err = batch("--points", str(source), "--chunk", "2", "--output", str(out))
    assert code == 2 and "line 5 gives no id" in err
    assert out.read_bytes() == b"the old results" and leftovers(tmp_path) == []


# -- .parquet --------------------------------------------------------------------------------------


def test_parquet_output_has_a_row_a_point_with_nulls_and_errors(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra (pyarrow) is not installed")
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(POINTS).replace('"id": 7', '"id": "seven"') + "\n")  # a text column
    expected = reference(source)
    out = tmp_path / "out.parquet"
    code, stdout, err = batch("--points", str(source), "--chunk", "2", "--output", str(out))
    assert (code, stdout) == (2, "") and "2 of 5 points failed" in err and error_lines(err) == []
    file = pq.ParquetFile(out)
    assert file.metadata.num_row_groups == 3  # a row group a chunk
    table = file.read()
    assert table.column_names == ["line", "id", "value", "grad_a", "grad_b", "grad_c", "error"]
    assert str(table.schema.field("id").type) == "string"  # text among the first chunk's ids
    rows = table.to_pylist()
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5]
    for row, line in zip(rows, expected, strict=True):
        assert row["id"] == str(line["carried"]["id"])
        if "error" in line:
            assert row["value"] is None and row["grad_b"] is None
            assert row["error"] == f"{line['error']['type']}: {line['error']['message']}"
        else:
            assert row["error"] is None
            numbers = [row["value"], row["grad_a"], row["grad_b"], row["grad_c"]]
            assert (
                np.array(numbers).tobytes()
                == np.array([line["value"], *line["gradients"].values()]).tobytes()
            )
    assert leftovers(tmp_path) == []


def test_parquet_keeps_numeric_carried_columns_as_numbers(points, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="the parquet extra (pyarrow) is not installed")
    out = tmp_path / "out.parquet"
    code, _, _ = batch("--points", str(points), "--output", str(out))
    table = pq.read_table(out)
    assert code == 2 and str(table.schema.field("id").type) == "int64"
    assert table.column("id").to_pylist() == [1, 7, 8, 9, 10]


# -- .jsonl and .csv: stdout's bytes ---------------------------------------------------------------


@pytest.mark.parametrize("suffix, format_", [(".jsonl", "jsonl"), (".csv", "csv")])
def test_text_outputs_are_stdouts_bytes(points, tmp_path, suffix, format_):
    code, stdout, err = batch("--points", str(points), "--chunk", "2", "--format", format_, text=False)
    out = tmp_path / f"out{suffix}"
    written = batch("--points", str(points), "--chunk", "2", "--output", str(out), text=False)
    assert written == (code, b"", err) and b"2 of 5 points failed" in err
    assert out.read_bytes() == stdout


# -- Parquet in ------------------------------------------------------------------------------------


def test_parquet_points_give_the_jsonl_of_the_same_points(tmp_path):
    """Two files by a pattern, line numbers running on; a NaN (JSON has none: the twin gives it as
    text, as a CSV field would), a null (a missing value), an extra text column (carried)."""
    pa = pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    (tmp_path / "data").mkdir()
    first = {"a": [1.0, 2.0, math.nan], "b": [2, 1, 3], "c": [3.0, None, 1.0], "who": ["x", "y", "z"]}
    second = {"a": [0.1, -2.0], "b": [2, 7], "c": [3.0, 0.5]}
    pq.write_table(pa.table(first), tmp_path / "data" / "part-0.parquet")
    pq.write_table(pa.table(second), tmp_path / "data" / "part-1.parquet")
    twin = tmp_path / "twin.jsonl"
    twin.write_text(
        '{"a": 1.0, "b": 2, "c": 3.0, "who": "x"}\n{"a": 2.0, "b": 1, "who": "y"}\n'
        '{"a": "nan", "b": 3, "c": 1.0, "who": "z"}\n{"a": 0.1, "b": 2, "c": 3.0}\n{"a": -2.0, "b": 7, "c": 0.5}\n'
    )
    from_parquet = batch("--points", str(tmp_path / "data" / "*.parquet"))
    assert from_parquet == batch("--points", str(twin))
    lines = [strict_json(line) for line in from_parquet[1].splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3, 4, 5] and from_parquet[0] == 2
    assert "no value for c" in lines[1]["error"]["message"] and lines[0]["carried"] == {"who": "x"}


def test_parquet_of_exactly_the_inputs_is_read_as_columns(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    columns = {name: rng.uniform(-3, 3, 5000) for name in "abc"}
    pq.write_table(pa.table(columns), tmp_path / "in.parquet", row_group_size=1500)
    np.save(tmp_path / "in.npy", np.rec.fromarrays(list(columns.values()), names="a,b,c"))
    from_parquet = batch("--points", str(tmp_path / "in.parquet"), "--chunk", "700")
    assert from_parquet[0] == 0 and from_parquet == batch(
        "--points", str(tmp_path / "in.npy"), "--chunk", "700"
    )
    out = tmp_path / "out.parquet"
    assert batch("--points", str(tmp_path / "in.parquet"), "--output", str(out))[0] == 0
    values = pq.read_table(out).column("value").to_numpy()
    assert (
        values.tobytes()
        == np.array([strict_json(x)["value"] for x in from_parquet[1].splitlines()]).tobytes()
    )


# -- judged before any point is read ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args, said",
    [
        ("out.txt", (), "unknown kind of file .txt"),
        ("missing/out.npy", (), "there is no directory"),
        ("out.npy", ("--format", "csv"), "--format csv and --output out.npy"),
        ("out.csv", ("--json",), "--format jsonl and --output out.csv"),
        ("out.parquet", ("--nodes",), "write --output out.jsonl or out.csv"),
        ("out.npy", ("--check",), "not --check's"),
    ],
)
def test_output_errors_before_any_point(tmp_path, name, args, said):
    code, stdout, err = batch("--output", str(tmp_path / name), *args, input='{"a": 1, "b": 2, "c": 3}\n')
    assert (code, stdout) == (2, "") and said in err and "hint:" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_the_output_cannot_be_the_points(points):
    code, _, err = batch("--points", str(points), "--output", str(points))
    assert code == 2 and "is the --points file" in err
    assert points.read_text() == "\n".join(POINTS) + "\n"


def test_a_carried_column_named_as_a_result_column_is_refused(tmp_path):
    source = tmp_path / "p.jsonl"
    source.write_text('{"a": 1, "b": 2, "c": 3, "grad_a": 5}\n')
    code, _, err = batch("--points", str(source), "--output", str(tmp_path / "out.npy"))
    assert code == 2 and "'grad_a' has the name of a column of the results" in err


def test_a_pattern_that_matches_nothing_is_named(tmp_path):
    pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    code, _, err = batch("--points", str(tmp_path / "nothing-*.parquet"))
    assert code == 2 and "nothing-*.parquet' matches no file" in err


@pytest.mark.parametrize("option", ["--output", "--points"])
def test_without_pyarrow_parquet_names_the_extra(tmp_path, option):
    """pyarrow made unimportable in the child (a sitecustomize that blocks it), as without the extra."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    env = {**ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    code, stdout, err = batch(
        option, str(tmp_path / "x.parquet"), input='{"a": 1, "b": 2, "c": 3}\n', env=env
    )
    assert code == 2 and (
        stdout == "" if option == "--output" else "pyarrow" in strict_json(stdout)["error"]["message"]
    )
    assert f"{option} x.parquet needs pyarrow: pip install 'backprop[parquet]'" in err
    assert "Traceback" not in err and not (tmp_path / "x.parquet").exists()


def test_parquet_columns_are_set_by_the_first_chunk(tmp_path):
    """An id of whole numbers in the first chunk that turns to text later: told, and no file."""
    pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    source, out = tmp_path / "p.jsonl", tmp_path / "out.parquet"
    source.write_text("\n".join(POINTS).replace('"id": 8', '"id": "eight"') + "\n")
    code, _, err = batch("--points", str(source), "--chunk", "2", "--output", str(out))
    assert (
        code == 2 and "line 3: id is 'eight', but the first points made it a column of whole numbers" in err
    )
    assert "Traceback" not in err and "Exception" not in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_kink_is_told_once_and_its_gradient_written(tmp_path):
    out = tmp_path / "out.npy"
    given = '{"a": 0, "b": 1}\n{"a": 0, "b": 2}\n{"a": 1, "b": 2}\n'
    done = subprocess.run(
        [sys.executable, "-m", "backprop", "batch", "relu(a) * b", "--output", str(out)],
        input=given,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr.count("at a kink") == 1
    assert "line 1: relu(a) is at a kink" in done.stderr
    assert np.load(out)["grad_a"].tolist() == [0.0, 0.0, 2.0]  # the lectures' relu'(0) = 0


def test_ctrl_c_leaves_no_file(tmp_path):
    """Points still coming on a pipe when Ctrl-C comes: exit 130, and neither file is left."""
    out = tmp_path / "out.npy"
    child = subprocess.Popen(
        [sys.executable, "-m", "backprop", "batch", PROGRAM, "--output", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    child.stdin.write(b'{"a": 1, "b": 2, "c": 3}\n')
    child.stdin.flush()
    for _ in range(600):  # the temporary file appears once the run starts (at most 60 s)
        if leftovers(tmp_path):
            break
        time.sleep(0.1)
    assert leftovers(tmp_path), "the run never started"
    time.sleep(0.5)  # the first point read and written
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert not out.exists() and leftovers(tmp_path) == []


def test_npy_carries_a_column_of_numbers_under_any_name(tmp_path):
    """A name beyond Latin-1 (a CSV header may hold any) takes the .npy format 3.0; a float among
    the first chunk's values makes the column float64."""
    out = tmp_path / "out.npy"
    given = '{"a": 1, "b": 2, "c": 3, "€uro": 2.5}\n{"a": 1, "b": 2, "c": 3, "€uro": 3}\n'
    code, _, err = batch("--output", str(out), input=given)
    assert (code, err) == (0, "") and out.read_bytes()[6:8] == b"\x03\x00"
    array = np.load(out, allow_pickle=False)
    assert array.dtype["€uro"] == np.float64 and array["€uro"].tolist() == [2.5, 3.0]


def test_a_parquet_file_that_names_a_column_twice_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    import pyarrow.parquet as pq

    columns = [pa.array([1.0]), pa.array([2.0]), pa.array([3.0]), pa.array([4.0])]
    pq.write_table(pa.Table.from_arrays(columns, names=["a", "b", "c", "a"]), tmp_path / "twice.parquet")
    code, _, err = batch("--points", str(tmp_path / "twice.parquet"))
    assert code == 2 and "twice.parquet has two columns named 'a'" in err
