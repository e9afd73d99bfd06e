"""The conventions of the CLIs people already trust (issue 18): an option is never lost as an
input, --version, shell completion, --digits, and help that fits any terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from checks import strict_json

from backprop.cli.app import COMMANDS, VERSION, version
from backprop.cli.arguments import close_option
from backprop.graph.values import value_text

ROOT = Path(__file__).resolve().parent.parent

# -- a --WORD that is no input of the program but looks like an option --------------------------


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (["eval", "a*b", "--a", "1", "--b", "2", "--tolerance", "0.01"], "--tol"),
        (["eval", "a*b", "--a", "1", "--b", "2", "--precision", "10"], "--digits"),
        (["graph", "a*b", "--a", "1", "--b", "2", "--fmt", "3"], "--format"),
        (["paths", "a*b", "--a", "1", "--b", "2", "--wrt", "a", "--max-path", "1"], "--max-paths"),
        (["eval", "a*b", "--a", "1", "--b", "2", "--max-memroy", "1GB"], "--max-memory"),
        (["trace", "a*b", "--a", "1", "--b", "2", "--tolerance=0.1"], "--tol"),
        (["eval", "a*b", "--a", "1", "--b", "2", "--row", "3"], "--rows"),
        (["minimize", "x**2", "--x", "1", "--wrt", "x", "--learning-rate", "0.1"], "--lr"),
    ],
)
def test_a_misspelt_option_is_an_error_with_a_did_you_mean(run, args, meant):
    """Not a warning while the setting is lost: exit 2, and the option it most likely is."""
    code, out, err = run(*args)
    word = [arg for arg in args if arg.startswith("--")][-1]  # each case ends with the mistake
    assert code == 2 and out == ""
    assert f"unknown option {word.split('=')[0]}" in err
    assert f"did you mean {meant}?" in err and f"backprop {args[0]} --help" in err
    assert "Traceback" not in err


def test_the_mistake_is_a_json_error_under_json(run):
    code, out, err = run("eval", "a*b", "--a", "1", "--b", "2", "--tolerance", "0.01", "--json")
    assert code == 2
    error = strict_json(out)["error"]
    assert error["type"] == "input" and "--tolerance" in error["message"] and "--tol" in error["hint"]


@pytest.mark.parametrize(
    ("args", "owners", "instead"),
    [
        (
            ["graph", "a*b", "--a", "1", "--b", "2", "--json"],
            "eval, trace, paths, batch and minimize",
            "--format",
        ),
        (
            ["graph", "a*b", "--json", "--a", "1", "--b", "2"],
            "eval, trace, paths, batch and minimize",
            "--format",
        ),
        (["eval", "a*b", "--a", "1", "--b", "2", "--max-paths", "3"], "paths", "--rows"),
        (["eval", "a*b", "--a", "1", "--b", "2", "--lr", "0.1"], "minimize", None),
    ],
)
def test_an_option_of_another_command_says_which_has_it(run, args, owners, instead):
    """`graph --json`: which commands have --json, and what graph has in its place."""
    from backprop.cli.app import options_by_command

    code, out, err = run(*args)
    option = next(arg for arg in args[2:] if arg in ("--json", "--max-paths", "--lr"))
    assert code == 2 and out == ""
    have = [name for name in options_by_command()[option] if name != args[0]]
    assert set(owners.replace(" and", ",").split(", ")) <= set(have)  # the commands of the table's
    listed = ", ".join(have[:-1]) + " and " + have[-1] if len(have) > 1 else have[0]
    assert f"{option} is an option of {listed}, not of {args[0]}" in err
    assert f"see backprop {args[0]} --help" in err
    if instead:
        assert f"{args[0]} has {instead} instead" in err


def test_an_input_of_the_program_is_an_input_however_close_to_an_option(run_json):
    """A program may name its inputs tolerance, row or lr: they are taken as inputs."""
    code, document = run_json("eval", "tolerance * row + lr", "--tolerance", "2", "--row", "3", "--lr", "4")
    assert code == 0 and document["value"] == 10.0
    assert document["gradients"] == {"tolerance": 3.0, "row": 2.0, "lr": 1.0}


def test_a_spare_input_far_from_every_option_is_still_a_warning(run):
    code, out, err = run("eval", "a*b", "--a", "1", "--b", "2", "--z", "5")
    assert code == 0 and "warning: z is given a value but the program never uses it" in err


def test_an_input_without_its_value_is_still_told_so(run):
    code, _, err = run("eval", "a*b", "--a", "1", "--b")
    assert code == 2 and "--b needs a value" in err


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("tolerance", "--tol"),
        ("precision", "--digits"),
        ("fmt", "--format"),
        ("max-path", "--max-paths"),
        ("max-memroy", "--max-memory"),
        ("chek", "--check"),
        ("x", None),
        ("b1", None),
        ("val", None),
        ("weights", None),
    ],
)
def test_close_option(word, expected):
    options = ("--tol", "--digits", "--format", "--max-paths", "--max-memory", "--check", "--var", "--vars")
    assert close_option(word, options) == expected


# -- --digits --------------------------------------------------------------------------------------


def test_digits_in_the_table(run):
    """987654.321 is 987654 at the default 6 digits, itself at 9; the JSON keeps every digit."""
    _, out, _ = run("eval", "a*b", "--a", "987654.321", "--b", "2")
    assert "987654 " in out and "987654.321" not in out
    code, out, _ = run("eval", "a*b", "--a", "987654.321", "--b", "2", "--digits", "9")
    assert code == 0 and "987654.321" in out and "1975308.64" in out
    code, out, _ = run("eval", "a*b", "--a", "987654.321", "--b", "2", "--digits", "9", "--json")
    assert code == 0 and json.loads(out)["value"] == 1975308.642


def test_digits_in_trace_and_paths(run):
    _, out, _ = run("trace", "a*b", "--a", "1.23456789", "--b", "3", "--digits", "9")
    assert "a = 1.23456789" in out and "3.70370367" in out
    _, out, _ = run("paths", "a*b", "--a", "1.23456789", "--b", "3", "--wrt", "b", "--digits", "3")
    assert "1.23" in out and "1.2346" not in out


def test_digits_in_minimize(run):
    _, out, _ = run("minimize", "(x - 1/3)**2", "--x", "0", "--wrt", "x", "--steps", "200", "--digits", "9")
    assert "0.333333333" in out


def test_digits_in_batch_text_formats_not_in_json_lines(run):
    point = '{"a": 987654.321, "b": 2}\n'
    code, out, _ = run("batch", "a*b", "--format", "csv", "--digits", "9", input=point)
    assert code == 0 and "1975308.64,2,987654.321" in out
    code, out, _ = run("batch", "a*b", "--digits", "2", input=point)
    assert code == 0 and json.loads(out)["value"] == 1975308.642


def test_digits_lasts_one_run(run):
    run("eval", "a*b", "--a", "1", "--b", "2", "--digits", "12")
    assert value_text(1 / 3) == "0.333333"


@pytest.mark.parametrize("digits", ["0", "18", "-1"])
def test_digits_out_of_range(run, digits):
    code, out, err = run("eval", "a*b", "--a", "1", "--b", "2", f"--digits={digits}")
    assert code == 2 and out == "" and "--digits must be from 1 to 17" in err


# -- --version and completion ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(run, flag):
    code, out, err = run(flag)
    assert code == 0 and err == "" and out == f"backprop {version()}\n"
    assert version() in (VERSION, _installed_version())


def _installed_version() -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("backprop")
    except PackageNotFoundError:
        return None


def test_version_loads_no_command():
    """--version is cheap: no command module is imported for it."""
    code = (
        "import sys; sys.argv = ['backprop', '--version']\n"
        "from backprop.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('backprop.cli.commands.')))\n"
    )
    out = _python(code)
    assert out.splitlines()[-1] == "[]" and out.startswith("backprop ")


def test_show_completion_prints_a_script(run):
    code, out, _ = run("--show-completion", "bash")
    assert code == 0 and "complete" in out and "_COMPLETE" in out


@pytest.mark.parametrize(
    ("words", "index", "offered"),
    [
        ("backprop ev", 1, ["eval"]),
        ("backprop ", 1, list(COMMANDS)),
        ("backprop eval --ro", 2, ["--rows", "--rounded"]),
        ("backprop graph --format ", 3, ["dot", "mermaid", "tree"]),
    ],
)
def test_shell_completion(words, index, offered):
    """What bash asks of the console script: commands, options and choices, the lazy table loaded whole."""
    code = "import sys; sys.argv = ['backprop']\nfrom backprop.cli.app import main\nmain()\n"
    env = {"_BACKPROP_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(index)}
    out = _python(code, env)
    for word in offered:
        assert word in out.split()


def _python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


# -- help --------------------------------------------------------------------------------------------


def _help(run, monkeypatch, columns: int, *command: str) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, err = run(*command, "--help")
    assert code == 0 and err == ""
    return out


def _example_lines(command: str) -> list[str]:
    from importlib import import_module

    epilog = import_module(f"backprop.cli.commands.{COMMANDS[command]}").EXAMPLES
    return [line.strip() for line in epilog.splitlines() if line.strip() and not line.strip().endswith(":")]


@pytest.mark.parametrize("columns", [40, 60, 200])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_examples_print_whole_at_any_width(run, monkeypatch, command, columns):
    """Each example is one line as written, never cut inside a quoted argument."""
    lines = [line.strip() for line in _help(run, monkeypatch, columns, command).splitlines()]
    for example in _example_lines(command):
        assert example in lines


@pytest.mark.parametrize("command", list(COMMANDS))
def test_nothing_is_lost_at_40_columns(run, monkeypatch, command):
    """Every option's name and metavar whole, every line within the width but the examples."""
    import typer.main

    from backprop.cli.app import app

    out = _help(run, monkeypatch, 40, command)
    click_command = typer.main.get_command(app).commands[command]
    for param in click_command.params:
        for option in param.opts:
            assert option in out.split() or f"{option}," in out.split()
        if param.metavar and param.opts[0].startswith("--"):
            assert f"{param.opts[0]} {param.metavar}" in out
    examples = set(_example_lines(command))
    # longer: an example, or an option's name and metavar, which has no place to break
    long = [line for line in out.splitlines() if len(line) > 40 and line.strip() not in examples]
    assert all(line.startswith("  --") and len(line.split()) == 2 for line in long), long
    written = [click_command.help or ""] + [
        getattr(param, "help", None) or "" for param in click_command.params
    ]
    assert out.count("…") == sum(text.count("…") for text in written)  # the help's own, none cut


def test_rich_help_keeps_brackets(run, monkeypatch):
    """Rich reads help as markup; `backprop[plot]` and `(default: …)` must survive it."""
    out = _help(run, monkeypatch, 250, "minimize")
    assert 'pip install "backprop[plot]"' in out
    out = _help(run, monkeypatch, 250, "eval")
    assert "quarter of this machine's memory" in out


def test_batch_help_says_json_lines_and_program(run, monkeypatch):
    out = _help(run, monkeypatch, 120, "batch")
    assert "JSON Lines" in out and "batch PROGRAM" in " ".join(out.split())


@pytest.mark.parametrize("columns", [40, 200])
def test_top_level_help_in_readme_order_with_an_example_each(run, monkeypatch, columns):
    out = _help(run, monkeypatch, columns)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = [name for name in COMMANDS if f"`backprop {name} " in readme]
    in_readme = sorted(documented, key=lambda name: readme.find(f"`backprop {name} "))
    listed = [word for line in out.splitlines() for word in line.strip("│ ").split()[:1] if word in COMMANDS]
    assert listed[: len(COMMANDS)] == list(COMMANDS)  # the table's order, which is the README's:
    assert [name for name in listed if name in documented] == in_readme
    examples = out.split("Examples")[1]
    for name in COMMANDS:
        assert sum(f"backprop {name} " in line for line in examples.splitlines()) == 1
    assert "--version" in out and "--install-completion" in out


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["eval", "a*b", "--tol", "x"], "eval"),
        (["trace", "a*b", "--tol"], "trace"),
        (["paths", "a", "--a", "1"], "paths"),
    ],
)
def test_a_usage_error_names_the_command_whose_help_to_read(run, args, command):
    code, _, err = run(*args)
    assert code == 2 and f"see backprop {command} --help" in err and "COMMAND" not in err


def test_an_option_of_another_command_misspelt_is_named(run):
    """`eval --max-path 1` cannot be an input (no name has a dash): the nearest option, and whose it is."""
    code, _, err = run("eval", "a * b", "--a", "1", "--b", "2", "--max-path", "1")
    assert code == 2
    assert "unknown option --max-path" in err and "did you mean --max-paths (an option of paths)?" in err
    code, _, err = run("eval", "a * b", "--a", "1", "--b", "2", "--zz-top", "1")
    assert code == 2 and "unknown option --zz-top" in err and "did you mean" not in err


def test_a_misspelt_option_whose_value_is_no_number_is_named_not_its_value(run):
    """`--outptu out.npy` is told as the option it misspells, not as an input whose value is no
    number; an input the program really has keeps its own error."""
    code, _, err = run("batch", "a * b", "--outptu", "out.npy", input='{"a": 1, "b": 2}\n')
    assert code == 2
    assert "unknown option --outptu" in err and "did you mean --output?" in err
    code, _, err = run("eval", "a * outptu", "--a", "1", "--outptu", "x")
    assert code == 2 and "the value of outptu (--outptu) is not a number: 'x'" in err
