"""Defaults per course or project (issue 18): --tol, --rows and --digits from a [tool.backprop]
table in pyproject.toml or from BACKPROP_* variables; the command line over the environment over
the file, and a bad value is an error that names where it came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checks import strict_json

from backprop.cli.config import ENVIRONMENT, _plain_table, _read_table, defaults, find_table

ROOT = Path(__file__).resolve().parent.parent

BIG = ["eval", "a*b", "--a", "987654.321", "--b", "2"]  # 987654 at 6 digits, 987654.321 at 9


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with a subfolder as the current directory, and no BACKPROP_* set."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "week3").mkdir()
    monkeypatch.chdir(tmp_path / "week3")

    def write(text: str):
        path = tmp_path / "pyproject.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_no_table_no_change(project, run):
    project('[project]\nname = "course"\n')
    assert defaults() == {}
    _, out, _ = run(*BIG)
    assert "987654 " in out and "987654.321" not in out


def test_the_table_is_found_from_a_subfolder(project, run):
    project('[project]\nname = "course"\n\n[tool.backprop]\ndigits = 9  # the course writes 9\ntol = 1e-3\n')
    assert defaults() == {"digits": 9, "tol": 1e-3}
    code, out, _ = run(*BIG)
    assert code == 0 and "987654.321" in out


def test_tol_from_the_file_grades_answers(project, run):
    """--expect value=2.01 is off by 0.5 %: wrong at the default 1e-4, right with tol = 0.01 set."""
    args = ["eval", "a*b", "--a", "1", "--b", "2", "--expect", "value=2.01"]
    project("[tool.backprop]\n")
    assert run(*args)[0] == 1
    project("[tool.backprop]\ntol = 0.01\n")
    assert run(*args)[0] == 0


def test_rows_from_the_environment(project, run, monkeypatch):
    program = "; ".join(f"v{i} = x * {i}" for i in range(30)) + "; " + " + ".join(f"v{i}" for i in range(30))
    _, out, _ = run("eval", program, "--x", "1")
    assert "rows not shown" not in out
    monkeypatch.setenv("BACKPROP_ROWS", "5")
    _, out, _ = run("eval", program, "--x", "1")
    assert "rows not shown" in out


def test_precedence_command_line_then_environment_then_file(project, run, monkeypatch):
    project("[tool.backprop]\ndigits = 2\n")
    assert "9.9e+05" in run(*BIG)[1]
    monkeypatch.setenv("BACKPROP_DIGITS", "9")
    assert "987654.321" in run(*BIG)[1]
    _, out, _ = run(*BIG, "--digits", "4")
    assert "9.877e+05" in out and "987654.321" not in out


def test_the_help_shows_the_default_in_force(project, run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    project("[tool.backprop]\ntol = 0.25\n")
    _, out, _ = run("eval", "--help")
    assert "[default: 0.25]" in out


def test_json_is_unaffected(project, run):
    project("[tool.backprop]\ndigits = 2\n")
    code, out, _ = run(*BIG, "--json")
    assert code == 0 and strict_json(out)["value"] == 1975308.642


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ("digits = 0", "[tool.backprop] digits must be from 1 to 17, not 0"),
        ("digits = 6.5", "[tool.backprop] digits must be a whole number"),
        ("rows = 0", "[tool.backprop] rows must be at least 1, not 0"),
        ('rows = "many"', "[tool.backprop] rows must be a whole number"),
        ("tol = -1", "[tool.backprop] tol must be a positive, finite number"),
        ("tol = nan", "[tool.backprop] tol must be a positive, finite number"),
        ("tol = true", "[tool.backprop] tol must be a number"),
        ("tolerance = 0.1", "[tool.backprop] has no setting 'tolerance'"),
    ],
)
def test_a_bad_value_in_the_file_names_the_file_and_key(project, run, table, words):
    path = project(f"[tool.backprop]\n{table}\n")
    code, out, err = run(*BIG)
    assert code == 2 and out == ""
    assert str(path) in err and words in err and "Traceback" not in err


def test_a_misspelt_key_gets_a_did_you_mean(project, run):
    project("[tool.backprop]\ntolerance = 0.1\n")
    assert "did you mean tol?" in run(*BIG)[2]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("BACKPROP_TOL", "tight", "BACKPROP_TOL must be a number"),
        ("BACKPROP_TOL", "0", "BACKPROP_TOL must be a positive, finite number"),
        ("BACKPROP_TOL", "inf", "BACKPROP_TOL must be a positive, finite number"),
        ("BACKPROP_ROWS", "4.5", "BACKPROP_ROWS must be a whole number"),
        ("BACKPROP_DIGITS", "99", "BACKPROP_DIGITS must be from 1 to 17, not 99"),
    ],
)
def test_a_bad_variable_names_the_variable(project, run, monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    code, out, err = run(*BIG, "--json")
    assert code == 2
    error = strict_json(out)["error"]  # under --json, the error object too
    assert words in error["message"] and words in err and f"{variable}=" in error["hint"]


def test_an_empty_variable_is_unset(project, monkeypatch):
    monkeypatch.setenv("BACKPROP_DIGITS", "")
    assert defaults() == {}


def test_a_broken_pyproject_with_the_table_is_an_error(project, run):
    path = project("[tool.backprop]\ndigits = = 3\n")
    code, _, err = run(*BIG)
    assert code == 2 and f"{path} is not valid TOML" in err


def test_the_nearest_table_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.backprop]\ndigits = 3\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "no table here"\n')
    assert find_table(inner) == (tmp_path / "pyproject.toml", {"digits": 3})
    (inner / "pyproject.toml").write_text("[tool.backprop]\nrows = 12\n")
    assert find_table(inner) == (inner / "pyproject.toml", {"rows": 12})


@pytest.mark.parametrize(
    "text",
    [
        "[tool.backprop]\ntol = 1e-3\nrows = 40\ndigits = 8\n",
        '[project]\nname = "x"\n\n[tool.backprop]  # defaults of the course\ntol = 0.000_1 # small\n\n[tool.ruff]\nline-length = 100\n',
        "[tool.other]\nx = 1\n[ tool.backprop ]\ndigits = 3\n",
        '[project]\nname = "x"\n',
    ],
)
def test_the_python_310_reader_agrees_with_tomllib(tmp_path, text):
    """Python 3.10 has no tomllib: the reader of this one table must read it as tomllib does."""
    path = tmp_path / "pyproject.toml"
    assert _plain_table(path, text) == _read_table(path, text)


def test_a_current_directory_that_is_gone_has_no_file_and_no_error(tmp_path):
    """A shell left in a removed folder: the defaults hold, the run goes on (it was exit 74)."""
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]);"
        "sys.argv = ['backprop', 'eval', 'a * 2', '--a', '3', '--json'];"
        "from backprop.cli.app import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(gone)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["value"] == 6.0
