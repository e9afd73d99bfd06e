"""A class's answer keys from `backprop batch`: fixed values, carried columns, --nodes, CSV and Markdown.

The instructor's flow of the README: examples/students.csv → keys.csv (a row a student) and keys.md
(a key a student), one command each.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checks import strict_json

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ROOT / "examples" / "students.csv"
PROGRAM = "(a + b**3) * c"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, as the README's examples run it


def lines_of(out: str) -> list[dict]:
    return [strict_json(line) for line in out.splitlines()]


def students() -> list[dict]:
    with STUDENTS.open(newline="") as handle:
        return list(csv.DictReader(handle))


def lecture_key(a: float, b: float, c: float) -> dict:
    """Every node of (a + b**3) * c by hand, as the lecture computes it: d = b³, e = a + d, f = e·c."""
    d = b**3
    e = a + d
    return {
        "a": (a, c),
        "b": (b, 3 * b**2 * c),
        "d": (d, c),
        "e": (e, c),
        "c": (c, e),
        "f": (e * c, 1.0),
    }


# -- fixed values and carried columns ---------------------------------------------------------------


def test_fixed_values_complete_every_point(run):
    code, out, err = run("batch", PROGRAM, "--c", "2", input='{"a": 7, "b": 3}\n{"a": 1, "b": 2}\n')
    assert code == 0 and err == ""
    assert [(r["value"], r["gradients"]) for r in lines_of(out)] == [
        (68.0, {"a": 2.0, "b": 54.0, "c": 34.0}),
        (18.0, {"a": 2.0, "b": 24.0, "c": 9.0}),
    ]


def test_var_and_vars_fix_values_too(run, tmp_path):
    given = tmp_path / "fixed.json"
    given.write_text('{"c": 2}')
    _, by_var, _ = run("batch", PROGRAM, "--var", "c=2", input='{"a": 7, "b": 3}\n')
    _, by_file, _ = run("batch", PROGRAM, "--vars", str(given), input='{"a": 7, "b": 3}\n')
    assert by_var == by_file and lines_of(by_var)[0]["value"] == 68.0


def test_a_point_that_gives_a_fixed_value_again_is_an_input_error_on_its_line(run):
    code, out, err = run("batch", PROGRAM, "--c", "2", input='{"a": 7, "b": 3, "c": 5}\n{"a": 1, "b": 2}\n')
    first, second = lines_of(out)
    assert first["error"]["type"] == "input" and "c is fixed on the command line" in first["error"]["message"]
    assert second["value"] == 18.0
    assert code == 2 and "1 of 2 points failed" in err


def test_a_tensor_cannot_be_fixed(run):
    code, _, err = run("batch", "a * W", "--W", "[1, 2]", input='{"a": 1}\n')
    assert code == 2 and "W is a tensor" in err


def test_a_fixed_value_the_program_never_uses_is_warned_about(run):
    code, out, err = run("batch", "a * 2", "--z", "1", input='{"a": 1}\n')
    assert code == 0 and lines_of(out)[0]["value"] == 2.0
    assert "z is given a value but the program never uses it" in err


def test_columns_that_are_not_inputs_are_carried_not_warned_about(run):
    code, out, err = run(
        "batch", "a * 2", input='{"a": 1, "student": "Ada", "id": 7}\n{"a": 2}\n{"b": 1, "student": "Bo"}\n'
    )
    first, second, third = lines_of(out)
    assert first == {"line": 1, "carried": {"student": "Ada", "id": 7}, "value": 2.0, "gradients": {"a": 2.0}}
    assert second == {"line": 2, "value": 4.0, "gradients": {"a": 2.0}}  # nothing to carry: as before
    assert (
        third["carried"] == {"b": 1, "student": "Bo"} and third["error"]["type"] == "name"
    )  # b is no input: carried
    assert "ignoring" not in err and code == 2


def test_csv_columns_are_carried_as_written(run):
    code, out, _ = run("batch", PROGRAM, "--points", str(STUDENTS), "--c", "2")
    results = lines_of(out)
    assert code == 0 and [r["carried"] for r in results] == [{"student": s["student"]} for s in students()]


def test_a_carried_number_too_large_for_a_float64_is_an_error_not_infinity(run):
    code, out, _ = run("batch", "a", input='{"a": 1, "id": 1e400}\n')
    assert code == 2 and "too large for a float64" in lines_of(out)[0]["error"]["message"]


# -- every node ----------------------------------------------------------------------------------------


def test_nodes_gives_every_node_by_its_table_name(run):
    code, out, _ = run("batch", PROGRAM, "--nodes", "--c", "2", input='{"a": 7, "b": 3}\n')
    (line,) = lines_of(out)
    assert code == 0
    assert {name: (n["value"], n["grad"]) for name, n in line["nodes"].items()} == lecture_key(7, 3, 2)
    _, table, _ = run("eval", PROGRAM, "--a", "7", "--b", "3", "--c", "2", "--json")
    names = [node["name"] for node in json.loads(table)["nodes"] if node["op"] != "const"]
    assert list(line["nodes"]) == names  # the names, in the order, of eval's table


def test_nodes_on_a_program_that_is_evaluated_point_by_point(run):
    """A tensor literal makes batch evaluate each point alone: the nodes are there all the same."""
    code, out, _ = run("batch", "sum([a, 2] * b)", "--nodes", input='{"a": 1, "b": 3}\n')
    nodes = lines_of(out)[0]["nodes"]
    assert (
        code == 0 and nodes["a"] == {"value": 1.0, "grad": 3.0} and nodes["b"] == {"value": 3.0, "grad": 3.0}
    )


# -- CSV and Markdown ----------------------------------------------------------------------------------


def test_keys_csv_has_a_row_a_student_with_every_node(run):
    code, out, _ = run("batch", PROGRAM, "--points", str(STUDENTS), "--c", "2", "--nodes", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["student"] for row in rows] == [s["student"] for s in students()]
    for row, student in zip(rows, students(), strict=True):
        for node, (value, grad) in lecture_key(float(student["a"]), float(student["b"]), 2.0).items():
            assert float(row[node]) == pytest.approx(value, rel=1e-5)
            assert float(row[f"∂f/∂{node}"]) == pytest.approx(grad, rel=1e-5)
        assert row["error"] == ""


def test_csv_without_nodes_is_the_value_and_the_gradients(run):
    code, out, _ = run("batch", PROGRAM, "--format", "csv", input='{"a": 7, "b": 3, "c": 2, "who": "x,y"}\n')
    assert code == 0
    assert out.splitlines() == [
        "line,who,f,∂f/∂a,∂f/∂b,∂f/∂c,error",
        '1,"x,y",68,2,54,34,',
    ]  # RFC 4180 quoting


def test_csv_failed_points_are_rows_with_the_message_and_exit_2(run):
    code, out, err = run("batch", "log(a)", "--format", "csv", input='{"a": 1}\n{"a": -1}\nnot json\n')
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["line"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["error"] == "" and rows[1]["error"].startswith("domain: log(a) is undefined")
    assert rows[2]["error"].startswith("input: line 3 is not JSON") and rows[2]["b"] == ""
    assert code == 2 and "2 of 3 points failed" in err and "{" not in out


def test_csv_with_the_check_has_its_verdict(run):
    code, out, _ = run("batch", "a * a", "--check", "--format", "csv", input='{"a": 3}\n')
    assert code == 0 and list(csv.DictReader(io.StringIO(out)))[0]["check"] == "passed"


def test_keys_markdown_has_a_heading_and_a_table_a_student(run):
    code, out, _ = run(
        "batch", PROGRAM, "--points", str(STUDENTS), "--c", "2", "--nodes", "--format", "markdown"
    )
    assert code == 0 and out.startswith(
        "# backprop batch · `(a + b**3) * c`\n\nFixed for every point: c = 2."
    )
    sections = out.split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == [f"student: {s['student']}" for s in students()]
    ada = sections[0]
    assert "| node | expression | value | ∂f/∂node |" in ada
    assert (
        "| b | `b` | 3 | 54 |" in ada
        and "| d | `b**3` | 27 | 2 |" in ada
        and "| f | `(a + b**3) * c` | 68 | 1 |" in ada
    )


def test_markdown_without_nodes_shows_the_inputs_and_the_output(run):
    code, out, _ = run("batch", "x * y", "--format", "markdown", input='{"x": 2, "y": 5}\n')
    assert code == 0 and "## line 1" in out
    assert [
        line.split(" | ")[0] for line in out.splitlines() if line.startswith("| ") and "---" not in line
    ] == [
        "| node",
        "| x",
        "| y",
        "| a",
    ]


def test_markdown_failed_point_says_why(run):
    code, out, _ = run("batch", "log(a)", "--format", "markdown", input='{"a": -1, "student": "Bo"}\n')
    assert code == 2 and "## student: Bo\n\n**error** (domain): log(a) is undefined" in out


def test_json_and_another_format_is_a_conflict(run):
    code, out, err = run("batch", "a", "--json", "--format", "csv", input='{"a": 1}\n')
    assert code == 2 and out == "" and "--json and --format csv" in err


# -- the README's flow, as a reader runs it ----------------------------------------------------------


def test_the_instructors_flow_from_students_csv_to_keys(tmp_path):
    shutil.copy(STUDENTS, tmp_path / "students.csv")
    for kind in ("csv", "md"):
        format_ = "csv" if kind == "csv" else "markdown"
        command = f'{sys.executable} -m backprop batch "{PROGRAM}" --points students.csv --c 2 --nodes --format {format_} > keys.{kind}'
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=ENV, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and done.stderr == ""
    rows = list(csv.DictReader((tmp_path / "keys.csv").open(newline="", encoding="utf-8")))
    assert [row["student"] for row in rows] == [s["student"] for s in students()]
    assert (tmp_path / "keys.csv").read_bytes().count(b"\r\n") == len(rows) + 1  # RFC 4180's line ends
    keys = (tmp_path / "keys.md").read_text(encoding="utf-8")
    assert keys.count("\n## student: ") == len(students())


@pytest.mark.parametrize(
    "words", [["--format", "csv", "--chunk", "x"], ["--format=markdown", "--chunk", "x"]]
)
def test_an_option_error_writes_no_json_into_a_spreadsheet(run, words):
    code, out, err = run("batch", "a", *words, input='{"a": 1}\n')
    assert code == 2 and out == "" and "--chunk" in err
