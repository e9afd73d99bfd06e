"""Value files (`--NAME @FILE`, --vars) are measured before they are parsed: a .npy by what its header
claims, a .json by a count of its commas and brackets, a .csv by its running element count; and they
are read as every other value is (a BOM, a key given twice, `1_000`, a million-digit integer).
Issue 13, "Bounded by design"."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import files
from backprop.cli.files import read_value_file
from backprop.graph.errors import InputError, LimitError

ROOT = Path(__file__).resolve().parent.parent


def npy_claiming(path: Path, shape: tuple[int, ...], data: bytes = b"\0" * 80) -> Path:
    """A .npy file whose header claims `shape` of float64, followed by only `data`."""
    with path.open("wb") as stream:
        header = {"descr": "<f8", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(stream, header)
        stream.write(data)
    return path


def error_of(run, *args: str) -> dict:
    code, out, err = run("eval", *args, "--json")
    assert code == 2 and "Traceback" not in err, err
    return json.loads(out)["error"]


# ------------------------------------------------------------------------------------------------
# .npy: the header is judged before the data is read
# ------------------------------------------------------------------------------------------------


def test_a_npy_header_claiming_more_than_the_limit_is_refused_before_its_data(run, tmp_path):
    """A 208-byte file claiming 10¹⁰ elements (an 80 GB allocation, or 27 s and 1.7 GB for a real
    file of 10⁸ elements, before the limit was judged)."""
    path = npy_claiming(tmp_path / "huge.npy", (100_000, 100_000))
    error = error_of(run, "sum(a)", "--a", f"@{path}")
    assert error["type"] == "limit" and "would have 10,000,000,000 elements" in error["message"]
    assert "--max-elements" in error["hint"]


def test_the_limit_is_judged_without_loading(tmp_path, monkeypatch):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(100))
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: pytest.fail("the data was read"))
    with pytest.raises(LimitError, match="would have 100 elements, more than the limit of 99"):
        read_value_file("a", str(path), "--a", max_elements=99)
    with pytest.raises(
        LimitError, match="would take about 800 bytes to read, more than the limit of 799 bytes"
    ):
        read_value_file("a", str(path), "--a", max_elements=1000, max_memory=799)


def test_a_npy_file_shorter_than_its_header_says_is_an_input_error(run, tmp_path):
    path = npy_claiming(tmp_path / "short.npy", (1000,))
    error = error_of(run, "sum(a)", "--a", f"@{path}")
    assert error["type"] == "input"
    assert "the file ends early: its header promises 8,000 bytes, it holds 80" in error["message"]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(2, dtype=[("a", "f8")]), "is a structured array (named fields), not an array of numbers"),
        (np.array([1 + 2j]), "is an array of complex128, not of numbers"),
        (np.array([True]), "is an array of bool, not of numbers"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "is an array of datetime64[D], not of numbers"),
        (np.array(["1"]), "is an array of <U1, not of numbers"),
        (None, "is a .npz archive (numpy.savez), not a .npy file"),
    ],
)
def test_npy_values_that_are_not_numbers_are_input_errors(run, tmp_path, array, message):
    path = tmp_path / "v.npy"
    if array is None:
        np.savez(tmp_path / "v.npz", a=np.zeros(2))
        (tmp_path / "v.npz").rename(path)
    else:
        np.save(path, array)
    error = error_of(run, "sum(a)", "--a", f"@{path}")
    assert error["type"] == "input" and message in error["message"]


# ------------------------------------------------------------------------------------------------
# .json: counted before json.loads builds a Python object per number
# ------------------------------------------------------------------------------------------------


def test_a_json_value_is_counted_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(list(range(100))))
    monkeypatch.setattr(files, "JSON", None)  # json.loads is never reached
    with pytest.raises(LimitError, match="would have 99 elements, more than the limit of 50"):
        read_value_file("a", str(path), "--a", max_elements=50)
    path.write_text("[" + ",".join(["[0]"] * 10_000) + "]")  # few numbers, many lists
    with pytest.raises(
        LimitError, match=r"would take about [\d,]+ bytes to read, more than the limit of 1,000,000 bytes"
    ):
        read_value_file("a", str(path), "--a", max_elements=10_000, max_memory=1_000_000)


def test_a_json_value_within_the_limits_is_read(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps([[0.5 * i for i in range(100)] for _ in range(100)]))
    assert read_value_file("a", str(path), "--a", max_elements=10_000).shape == (100, 100)


def _capped(memory: int):
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return cap


def test_running_out_of_memory_while_reading_is_a_limit_error_in_a_capped_process(tmp_path):
    """12 MB of [[0],[0],…] takes 0.4 GB to parse: under a 300 MB address space that was a
    MemoryError and exit 70; it is a limit error, exit 2."""
    path = tmp_path / "nested.json"
    path.write_text("[" + ",".join(["[0]"] * 3_000_000) + "]")
    done = subprocess.run(
        [sys.executable, "-m", "backprop", "eval", "sum(a)", "--a", f"@{path}", "--json"],
        cwd=ROOT,
        capture_output=True,
        preexec_fn=_capped(300 * 2**20),
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "limit" and "ran out of memory reading the file" in error["message"]


# ------------------------------------------------------------------------------------------------
# .csv: counted as it streams, in float64s rather than Python floats
# ------------------------------------------------------------------------------------------------


def test_a_csv_value_is_refused_once_its_count_passes_the_limit(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("0.5,0.25\n" * 1_000_000)
    started = time.perf_counter()
    with pytest.raises(LimitError, match="read up to line 501, would have 1,002 elements"):
        read_value_file("a", str(path), "--a", max_elements=1_000)
    assert time.perf_counter() - started < 1  # the other 999,500 lines are never read


def test_a_csv_line_past_the_line_limit_is_a_limit_error(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"1,2\n" + b"12," * (files.MAX_LINE_BYTES // 3 + 1) + b"1\n")
    with pytest.raises(LimitError, match="line 2 is longer than the limit of 16,777,216 bytes"):
        read_value_file("a", str(path), "--a")


def test_a_memory_error_while_reading_is_a_limit_error(run, tmp_path, monkeypatch):
    (tmp_path / "v.csv").write_text("1,2\n")

    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(files, "_csv_value", exhausted)
    error = error_of(run, "sum(a)", "--a", f"@{tmp_path / 'v.csv'}")
    assert error["type"] == "limit" and "ran out of memory reading the file" in error["message"]


# ------------------------------------------------------------------------------------------------
# Read as every value is read
# ------------------------------------------------------------------------------------------------


def test_a_bom_is_read_past_in_value_and_vars_files(run, tmp_path):
    (tmp_path / "v.json").write_bytes(b"\xef\xbb\xbf[1, 2]")
    (tmp_path / "vars.json").write_bytes(b'\xef\xbb\xbf{"b": 3}')
    (tmp_path / "v.csv").write_bytes(b"\xef\xbb\xbfx\n4\n")
    code, out, _ = run(
        "eval", "sum(a) * b + sum(c)", "--a", f"@{tmp_path / 'v.json'}", "--c", f"@{tmp_path / 'v.csv'}",
        "--vars", str(tmp_path / "vars.json"), "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["value"] == 13.0


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("vars.json", '{"a": 1, "a": 2}', "--vars file '{}': 'a' is given twice"),
        (
            "vars.json",
            '{"a": 1' + "0" * 1_000_000 + "}",
            "an integer of 1,000,001 digits is too large for a float64",
        ),
        ("v.json", "[1" + "0" * 400 + "]", "an integer of 401 digits is too large for a float64"),
        ("v.csv", "1\n 1_000 \n", "line 2, column 1 is not a finite number: '1_000'"),
        ("v.csv", "1\n١٢\n", "line 2, column 1 is not a finite number"),
    ],
)
def test_values_in_files_are_read_as_values_are(run, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    given = ["--vars", str(path)] if name == "vars.json" else ["--a", f"@{path}"]
    error = error_of(run, "sum(a)", *given)
    assert error["type"] == "input" and message.format(path) in error["message"]


@pytest.mark.parametrize("value", [" 1_000 ", "[1_000]", "1_0e3", "١٢"])
def test_digit_separators_and_other_scripts_are_not_numbers(run, value):
    error = error_of(run, "sum(a)", "--a", value)
    assert error["type"] == "input" and "not a number" in error["message"]


def test_read_value_file_keeps_its_input_errors():
    with pytest.raises(InputError, match="no file name after @"):
        read_value_file("a", "", "--a")
