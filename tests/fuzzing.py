"""What the fuzzers feed the program and how they run it: random text, token soup from the grammar's
own terminals and mutated valid programs; the command in-process (Typer's runner) or as a real
process, each outcome held to exit 0, 1 or 2, no traceback, and one strict JSON object under --json."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from checks import KINDS, strict_json, time_limit
from hypothesis import strategies as st
from lark import Lark
from strategies import INPUT_NAMES, programs
from typer.testing import CliRunner

from backprop.cli.app import load_commands
from backprop.graph.ops import FUNCTIONS
from backprop.parser.generate import GRAMMAR

# ------------------------------------------------------------------------------------------------
# What arrives
# ------------------------------------------------------------------------------------------------


def grammar_tokens() -> st.SearchStrategy[str]:
    """Any terminal of parser/grammar.lark (regex terminals drawn from their own pattern), plus the
    function names, `pi` and the names the generator likes."""
    grammar = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr")  # only to list its terminals
    choices = []
    for terminal in grammar.terminals:
        pattern = terminal.pattern
        if pattern.type == "str":
            choices.append(st.just(pattern.value))
        else:
            choices.append(st.from_regex(pattern.to_regexp(), fullmatch=True).filter(lambda t: len(t) < 40))
    choices.append(st.sampled_from([*FUNCTIONS, "pi", "e", *INPUT_NAMES]))
    return st.one_of(choices)


TOKENS = grammar_tokens()
SPACING = st.sampled_from(["", "", " ", "\n", "\t"])

token_soup = st.lists(st.tuples(TOKENS, SPACING), max_size=30).map(
    lambda pairs: "".join(a + b for a, b in pairs)
)
language_text = st.text(alphabet="xyab01239.eE+-*/^@()=,;#_ \t\n\rpisnexqrtlogmaxbcuh", max_size=60)
any_text = st.text(max_size=60)
decoded_bytes = st.binary(max_size=80).map(lambda raw: raw.decode("utf-8", errors="replace"))


@st.composite
def mutated_programs(draw) -> tuple[str, tuple[str, ...]]:
    """A valid generated program with a few edits: deleted, inserted, replaced, repeated or reversed spans."""
    program = draw(programs(max_statements=3, depth=3))
    text = program.text()
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 8)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "repeat", "reverse"]))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + draw(TOKENS | st.text(max_size=3)) + text[start:]
        elif kind == "replace":
            text = text[:start] + draw(TOKENS) + text[end:]
        elif kind == "repeat":
            text = text[:end] + text[start:end] + text[start:]
        else:
            text = text[:start] + text[start:end][::-1] + text[end:]
    return text, program.inputs


anything = st.one_of(
    token_soup, language_text, any_text, decoded_bytes, mutated_programs().map(lambda pair: pair[0])
)

# Finite floats of every size: overflow must come out as a domain error, never as inf.
VALUES = st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=4)


# ------------------------------------------------------------------------------------------------
# The command, in-process and as a real process
# ------------------------------------------------------------------------------------------------

RUNNER = CliRunner()
APP = load_commands()  # every command, as the console script sees them


def cli(*args: str, stdin: str | bytes | None = None, seconds: float = 30) -> tuple[int, str, str]:
    """Run `backprop ARGS` in-process: exit 0, 1 or 2, and no exception escaped (no traceback)."""
    with time_limit(seconds):
        result = RUNNER.invoke(APP, list(args), input=stdin)
    escaped = result.exception
    assert escaped is None or isinstance(escaped, SystemExit), (
        f"{type(escaped).__name__}: {escaped} escaped for {args!r}"
    )
    assert result.exit_code in (0, 1, 2), (result.exit_code, args, result.stderr[-2000:])  # 70: a bug
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def assert_json_document(code: int, stdout: str) -> dict:
    """Under --json: exactly one strict JSON object, an error object exactly when the exit is 2."""
    document = strict_json(stdout)
    assert isinstance(document, dict)
    assert (set(document) == {"error"}) == (code == 2), (code, document)
    return document


def assert_json_outcome(code: int, stdout: str) -> dict:
    """eval --json: a document as above, with a well-formed error or the evaluation's keys."""
    document = assert_json_document(code, stdout)
    if code == 2:
        error = document["error"]
        assert error["type"] in KINDS and error["message"]
        assert (error["line"] is None) == (error["column"] is None)
    else:
        assert {"expression", "output", "value", "gradients", "nodes"} <= set(document)
    # Every rule is right (test_ops, the SymPy oracle), so a failed --check would be the check lying;
    # exit 1 may only mean a check that could compare nothing (every input "not checkable").
    if code == 1:
        statuses = {item["status"] for item in document["check"]["inputs"].values()}
        assert statuses == {"not checkable"}, document["check"]  # and so never empty
    return document


def cli_json(*args: str, stdin: str | bytes | None = None, seconds: float = 30) -> tuple[int, dict, str]:
    code, stdout, stderr = cli(*args, stdin=stdin, seconds=seconds)
    return code, assert_json_outcome(code, stdout), stderr


COMMON_VALUES = ["--x", "0.5", "--y", "-1.5", "--a", "2", "--b", "1e-3"]
FLAGS = st.sampled_from([[], [], ["--check"], ["--all"], ["--rows", "3"], ["--check", "--eps", "1e-4"]])


def backprop_command() -> list[str]:
    """The installed `backprop` script beside this Python (a venv's bin/), else `python -m backprop`."""
    script = shutil.which("backprop", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "backprop"]


def run_process(*args: str, stdin: bytes = b"", timeout: float = 60) -> tuple[int, str, str]:
    done = subprocess.run([*backprop_command(), *args], input=stdin, capture_output=True, timeout=timeout)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", errors="replace")
    assert done.returncode in (0, 1, 2), (done.returncode, args, stderr[-2000:])
    assert "Traceback" not in stderr, stderr[-2000:]
    assert not PYTHON_WARNING.search(stderr), stderr[-2000:]
    return done.returncode, stdout, stderr


PYTHON_WARNING = re.compile(r"\.py:\d+: \w*Warning")


def vars_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "values.json"
    path.write_text(text, encoding="utf-8")
    return str(path)
