"""`batch --dask` and backprop.dask on a real cluster: two worker processes on this machine,
answering exactly what the single-process `batch` and evaluate_columns answer."""

from __future__ import annotations

import importlib
import json
import math
import socket
import sys
import time

import numpy as np
import pytest

try:
    import dask.dataframe as dd
    import distributed
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as missing:  # the [dask] extra (in [test] too): CI runs these
    pytest.skip(f"dask, distributed or pyarrow is not installed: {missing}", allow_module_level=True)

from backprop import parse
from backprop.cli import dask_batch
from backprop.graph.batch import evaluate_columns

PROGRAM = "log(a) * b * c + relu(b)"
# dask's own Parquet reader in this process (frame.compute()) uses a keyword pandas 3 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two worker processes of one thread each, for the module's tests."""
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as connected:
        yield connected


def students(count: int, start: int) -> dict:
    """Rows of inputs a and b and a text column: some a <= 0 (log's domain), a null, b at relu's kink."""
    a = [((start + k) % 7) - 2 + 0.25 * k for k in range(count)]
    b = [0.0 if (start + k) % 5 == 0 else 1.5 - 0.1 * k for k in range(count)]
    if start == 0:
        a[3] = None
    return {"a": a, "b": b, "student": [f"s{start + k}" for k in range(count)]}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Three Parquet files of 9, 14 and 5 rows in row groups of 4, and the same rows as JSON Lines."""
    folder = tmp_path_factory.mktemp("points")
    rows, start = [], 0
    for index, count in enumerate([9, 14, 5]):
        table = pa.table(students(count, start))
        pq.write_table(table, folder / f"part-{index}.parquet", row_group_size=4)
        rows += table.to_pylist()
        start += count
    plain = pa.table({"a": [0.5 + k for k in range(10)], "b": [1.0 - 0.3 * k for k in range(10)]})
    pq.write_table(plain, folder / "plain.pq", row_group_size=3)
    return folder, "".join(json.dumps(row) + "\n" for row in rows), plain.to_pylist()


@pytest.mark.parametrize("more", [[], ["--wrt", "b", "--exact"], ["--nodes", "--check"]])
def test_dask_with_options_writes_batchs_lines(run, cluster, files, more):
    folder, jsonl, _ = files
    pattern = str(folder / "part-*.parquet")
    on_cluster = run(
        "batch", PROGRAM, "--c", "2", *more, "--points", pattern, "--dask", cluster.scheduler_address
    )
    assert on_cluster == run("batch", PROGRAM, "--c", "2", *more, input=jsonl)
    assert on_cluster[1].count("\n") == 28


def test_dask_writes_batchs_lines_byte_for_byte(run, cluster, files):
    folder, jsonl, _ = files
    on_cluster = run(
        "batch",
        PROGRAM,
        "--c",
        "2",
        "--points",
        str(folder / "part-*.parquet"),
        "--dask",
        cluster.scheduler_address,
    )
    alone = run("batch", PROGRAM, "--c", "2", input=jsonl)
    assert on_cluster == alone  # exit code, stdout and stderr (failed points, kink warnings)
    assert (
        run("batch", PROGRAM, "--c", "2", "--points", str(folder), "--dask", cluster.scheduler_address)
        == alone
    )
    code, out, err = on_cluster
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and [line["line"] for line in lines] == list(range(1, 29))
    assert lines[3]["error"]["message"] == "line 4: the value of a must be a number, not null"
    assert lines[0]["error"]["type"] == "domain" and lines[0]["carried"] == {"student": "s0"}
    assert lines[27]["carried"] == {"student": "s27"} and "gradients" in lines[27]
    assert "kinks" in lines[5] and "at a kink" in err


def test_dask_columns_alone_with_fixed_value(run, cluster, files):
    """Files of exactly the inputs take the columnar path, in row groups of 3: the same lines."""
    folder, _, plain = files
    on_cluster = run(
        "batch",
        "a * b + c",
        "--c",
        "2",
        "--points",
        str(folder / "plain.pq"),
        "--dask",
        cluster.scheduler_address,
    )
    alone = run("batch", "a * b + c", "--c", "2", input="".join(json.dumps(row) + "\n" for row in plain))
    assert on_cluster == alone and on_cluster[0] == 0
    a, b = plain[9]["a"], plain[9]["b"]
    last = {"line": 10, "value": a * b + 2, "gradients": {"a": b, "b": a, "c": 1.0}}
    assert json.loads(on_cluster[1].splitlines()[9]) == last


def test_a_nan_in_parquet_fails_its_point_as_in_a_npy_file(run, cluster, tmp_path):
    pq.write_table(pa.table({"a": [1.0, math.nan, 3.0]}), tmp_path / "nan.parquet")
    code, out, _ = run(
        "batch", "a * 2", "--points", str(tmp_path / "nan.parquet"), "--dask", cluster.scheduler_address
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and [line.get("value") for line in lines] == [2.0, None, 6.0]
    assert lines[1]["error"]["message"] == "line 2: the value of a is not finite: 'nan'"


def test_frame_results_are_evaluate_columns_bit_for_bit(client, files):
    from backprop.dask import evaluate_frame

    folder, _, _ = files
    frame = dd.read_parquet(sorted(map(str, folder.glob("part-*.parquet"))), dtype_backend="pyarrow")
    results = client.compute(evaluate_frame(PROGRAM, frame, fixed={"c": 2.0})).result()
    points = frame.compute()
    a = points["a"].to_numpy(dtype=np.float64, na_value=np.nan)
    size = len(a)
    expected = evaluate_columns(
        parse(PROGRAM), {"a": a, "b": points["b"].to_numpy(np.float64), "c": np.full(size, 2.0)}
    )
    value, gradients, failed = expected.table(["a", "b", "c"])
    assert list(results.columns) == ["student", "value", "grad_a", "grad_b", "grad_c", "error"]
    assert results["student"].tolist() == points["student"].tolist()
    good = np.ones(size, dtype=bool)
    good[list(failed)] = False
    assert results["value"].isna().to_numpy().tolist() == (~good).tolist()
    assert np.array_equal(results["value"].to_numpy(np.float64, na_value=0.0)[good], value[good])
    for name in "abc":
        assert np.array_equal(
            results[f"grad_{name}"].to_numpy(np.float64, na_value=0.0)[good], gradients[name][good]
        )
    errors = results["error"].tolist()
    assert json.loads(errors[3]) == {
        "type": "input",
        "message": "the value of a is null",
        "line": None,
        "column": None,
        "hint": "give every point a number for every input",
    }
    for k, error in failed.items():
        if k != 3:
            assert json.loads(errors[k])["message"] == error.message
    assert results["error"].isna().tolist() == good.tolist()


def test_frame_gradients_wrt_and_refused_columns(client, files):
    from backprop import BackpropError
    from backprop.dask import evaluate_frame

    folder, _, plain = files
    frame = dd.read_parquet(str(folder / "plain.pq"))
    results = client.compute(evaluate_frame("a * b", frame, wrt=["b"])).result()
    assert list(results.columns) == ["value", "grad_b", "error"]
    assert results["grad_b"].tolist() == [row["a"] for row in plain]
    with pytest.raises(BackpropError, match="no column or fixed value for c"):
        evaluate_frame("a * b * c", frame)
    with pytest.raises(BackpropError, match="both fixed and a column"):
        evaluate_frame("a * b", frame, fixed={"a": 1.0})
    with pytest.raises(BackpropError, match="column value would be overwritten"):
        evaluate_frame("a", frame.rename(columns={"b": "value"}))
    with pytest.raises(TypeError, match="takes a Dask DataFrame, not DataFrame"):
        evaluate_frame("a * b", frame.compute())


@pytest.mark.parametrize("listening", [False, True], ids=["nothing on the port", "a silent server"])
def test_an_unreachable_scheduler_is_told_quickly(run, files, monkeypatch, listening):
    monkeypatch.setattr(dask_batch, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as port:
        port.bind(("127.0.0.1", 0))
        if listening:  # accepts connections (the kernel does) and never answers as a scheduler would
            port.listen()
        address = f"tcp://127.0.0.1:{port.getsockname()[1]}"
        if not listening:
            port.close()
        folder, _, _ = files
        started = time.monotonic()
        code, out, err = run("batch", "a * b", "--points", str(folder / "plain.pq"), "--dask", address)
    assert code == 2 and time.monotonic() - started < 8
    assert f"--dask {address}: cannot reach the scheduler" in out + err and "dask scheduler" in out + err
    assert "Traceback" not in out + err


def test_a_scheduler_without_workers_is_told(run, files, monkeypatch):
    monkeypatch.setattr(dask_batch, "CONNECT_TIMEOUT", 1.0)
    folder, _, _ = files
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as alone:
        address = alone.scheduler_address
        code, out, err = run("batch", "a * b", "--points", str(folder / "plain.pq"), "--dask", address)
    assert code == 2 and f"--dask {address}: the scheduler has no worker" in out + err
    assert f"dask worker {address}" in out + err


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--dask", "tcp://127.0.0.1:1"], "add --points 'data/*.parquet'"),
        (["--points", __file__, "--dask", "tcp://127.0.0.1:1"], "--dask reads Parquet files"),
        (["--points", "nothing-*.parquet", "--dask", "tcp://127.0.0.1:1"], "no such file"),
        (
            ["--points", "absent.parquet", "--dask", "tcp://127.0.0.1:1"],
            "--points absent.parquet: no such file",
        ),
        (["--points", "x.parquet", "--format", "csv", "--dask", "tcp://127.0.0.1:1"], "takes no --format"),
        (
            ["--points", "x.parquet", "--output", "o.jsonl", "--dask", "tcp://127.0.0.1:1"],
            "takes no --output",
        ),
    ],
)
def test_options_that_make_no_sense_with_dask(run, args, told):
    code, out, err = run("batch", "a * b", *args)
    assert code == 2 and told in out + err


def test_without_the_extra_dask_is_named(run, monkeypatch, files):
    folder, _, _ = files
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)  # as if not installed
    code, out, err = run(
        "batch", "a * b", "--points", str(folder / "plain.pq"), "--dask", "tcp://127.0.0.1:1"
    )
    assert code == 2 and "--dask needs dask: pip install 'backprop[dask]'" in out + err
    monkeypatch.delitem(sys.modules, "backprop.dask", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'backprop\[dask\]'"):
        importlib.import_module("backprop.dask")
