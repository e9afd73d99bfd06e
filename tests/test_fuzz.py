"""Fuzzing the front door: whatever arrives, the outcome is a result or a clean BackpropError.

Through the library (for volume): random text, random bytes, token soup from the grammar's own
terminals and mutated valid programs; every outcome of parse/evaluate is a result with finite
numbers or a BackpropError with a known kind and a place inside the text — never another exception.
Through the command (Typer's runner, and a real process for a handful): exit 0, 1 or 2, no
traceback, and under --json one strict JSON object (no NaN, no Infinity) on stdout.
Then hostile numbers, hostile options and files, deep and large input, with bounded time.

Long run: HYPOTHESIS_PROFILE=long python -m pytest -m slow -s tests/test_fuzz.py (see test_differential).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from strategies import (
    INPUT_NAMES,
    KINDS,
    assert_clean_error,
    assert_finite_evaluation,
    programs,
    report_tally,  # noqa: F401 (an autouse fixture: prints what the module tried)
    strict_json,
    tally,
    time_limit,
)
from typer.testing import CliRunner

from backprop import BackpropError, evaluate, parse
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
    choices.append(st.sampled_from([*FUNCTIONS, "pi", *INPUT_NAMES]))
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
# Through the library: a result with finite numbers, or a clean BackpropError
# ------------------------------------------------------------------------------------------------


def library_outcome(text: str, values: list[float]) -> str:
    with time_limit(10), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = _library_outcome(text, values)
    # A NumPy RuntimeWarning would reach the user's terminal as `engine.py:277: RuntimeWarning: …`.
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    return outcome


def _library_outcome(text: str, values: list[float]) -> str:
    try:
        program = parse(text)
    except BackpropError as error:
        assert_clean_error(error, text)
        return f"{error.kind} error"
    point = {name: values[i % len(values)] for i, name in enumerate(program.inputs)}
    try:
        result = evaluate(program, point)
    except BackpropError as error:
        assert_clean_error(error, text)
        return f"{error.kind} error"
    assert_finite_evaluation(result)
    assert list(result.gradients) == list(program.inputs)
    return "result"


@settings(max_examples=300)
@given(token_soup, VALUES)
def test_token_soup(text, values):
    tally(f"library, token soup: {library_outcome(text, values)}")


@settings(max_examples=300)
@given(mutated_programs(), VALUES)
def test_mutated_programs(mutated, values):
    tally(f"library, mutated program: {library_outcome(mutated[0], values)}")


@settings(max_examples=200)
@given(st.one_of(language_text, any_text, decoded_bytes), VALUES)
def test_random_text_and_bytes(text, values):
    tally(f"library, random text: {library_outcome(text, values)}")


@pytest.mark.slow
@settings(max_examples=50_000)
@given(anything, VALUES)
def test_anything_long(text, values):
    """Volume: fifty thousand inputs through parse and evaluate (about 7 minutes)."""
    tally(f"library, long run: {library_outcome(text, values)}")


# ------------------------------------------------------------------------------------------------
# Through the command
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
    # Every rule is right (test_ops, the SymPy oracle), so a failed --check would be the check lying.
    assert code != 1, document.get("check")
    return document


def cli_json(*args: str, stdin: str | bytes | None = None, seconds: float = 30) -> tuple[int, dict, str]:
    code, stdout, stderr = cli(*args, stdin=stdin, seconds=seconds)
    return code, assert_json_outcome(code, stdout), stderr


COMMON_VALUES = ["--x", "0.5", "--y", "-1.5", "--a", "2", "--b", "1e-3"]
FLAGS = st.sampled_from([[], [], ["--check"], ["--all"], ["--rows", "3"], ["--check", "--eps", "1e-4"]])


@settings(max_examples=100)
@given(anything, FLAGS)
def test_command_with_json_on_anything(text, flags):
    code, _, _ = cli_json("eval", "--json", *flags, *COMMON_VALUES, "--", text)
    tally(f"command --json: exit {code}")


@settings(max_examples=100)
@given(mutated_programs(), VALUES, FLAGS)
def test_command_with_json_on_mutated_programs(mutated, values, flags):
    text, names = mutated
    given_values = [f"--var={name}={values[i % len(values)]!r}" for i, name in enumerate(names)]
    code, _, _ = cli_json("eval", "--json", *flags, *given_values, "--", text)
    tally(f"command --json, mutated program: exit {code}")


@settings(max_examples=100)
@given(anything, FLAGS)
def test_command_tables_on_anything(text, flags):
    """Without --json the tables are printed (by Rich): still exit 0, 1 or 2 and no traceback."""
    code, _, _ = cli("eval", *flags, *COMMON_VALUES, "--", text)
    tally(f"command tables: exit {code}")


@settings(max_examples=100)
@given(st.binary(max_size=80))
def test_command_reads_raw_bytes_from_stdin(raw):
    code, document, _ = cli_json("eval", "-", "--json", *COMMON_VALUES, stdin=raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert code == 2 and document["error"]["type"] == "input"  # not UTF-8: refused as input
    tally(f"command stdin bytes: exit {code}")


@pytest.mark.slow
@given(anything, FLAGS)
def test_command_on_anything_long(text, flags):
    code, _, _ = cli_json("eval", "--json", *flags, *COMMON_VALUES, "--", text)
    cli("eval", *flags, *COMMON_VALUES, "--", text)
    tally(f"command long run: exit {code}")


# -- the gradient check itself: never a failure of a right gradient ------------------------------

CHECKED_PROGRAMS = st.sampled_from(
    [
        "sin(x) * y",
        "exp(x / 1e3) * cos(y)",
        "tanh(x) * y**2",
        "log(1 + x**2) / y",
        "sqrt(x**2 + y**2)",
        "x**3 - y",
    ]
)
POINTS_OF_EVERY_SIZE = st.tuples(
    st.floats(-1e300, 1e300), st.floats(-1e6, 1e6).filter(lambda v: abs(v) > 1e-3)
)


def check_outcome(text: str, point: tuple[float, float]) -> str:
    """--check at points of every magnitude (sin at 1e18, where floats are 128 apart): it passes,
    or says an input is not checkable, or the program is undefined there; it never fails."""
    x, y = point
    code, document, _ = cli_json("eval", "--json", "--check", "--x", repr(x), "--y", repr(y), "--", text)
    if code == 2:
        return "check: a domain error at the point"
    checkable = [item["numeric"] is not None for item in document["check"]["inputs"].values()]
    return f"check: passed, {sum(checkable)} of {len(checkable)} inputs checkable"


@settings(max_examples=100)
@given(CHECKED_PROGRAMS, POINTS_OF_EVERY_SIZE)
def test_the_check_never_fails_a_right_gradient(text, point):
    tally(check_outcome(text, point))


@pytest.mark.slow
@given(CHECKED_PROGRAMS, POINTS_OF_EVERY_SIZE)
def test_the_check_never_fails_a_right_gradient_long(text, point):
    tally(f"{check_outcome(text, point)} (long run)")


# -- the other commands: trace, paths, graph and batch ---------------------------------------------


HOMEWORK = st.sampled_from(
    [
        ["trace", "--json"],
        ["trace"],
        ["paths", "--wrt", "x", "--json"],
        ["paths", "--wrt", "a", "--max-paths", "3"],
        ["graph", "--format", "dot"],
        ["graph", "--format", "mermaid"],
        ["graph", "--format", "tree"],
    ]
)


def homework_outcome(text: str, command: list[str]) -> str:
    """trace, paths and graph on any text: exit 0, 1 or 2, no traceback, strict JSON under --json."""
    code, stdout, _ = cli(*command, *COMMON_VALUES, "--", text)
    if "--json" in command:
        assert_json_document(code, stdout)
    return f"command {command[0]}: exit {code}"


@settings(max_examples=100)
@given(anything, HOMEWORK)
def test_homework_commands_on_anything(text, command):
    tally(homework_outcome(text, command))


@pytest.mark.slow
@given(anything, HOMEWORK)
def test_homework_commands_on_anything_long(text, command):
    tally(f"{homework_outcome(text, command)} (long run)")


POINT_LINES = st.one_of(
    st.fixed_dictionaries({"x": st.floats(), "y": st.floats()}).map(json.dumps),  # NaN and inf too
    st.dictionaries(st.sampled_from(["x", "y", "a", "exp"]), st.integers() | st.text(max_size=5)).map(
        json.dumps
    ),
    st.text(max_size=30).filter(lambda line: "\n" not in line and "\r" not in line),
)


BATCH_PROGRAMS = st.one_of(
    mutated_programs().map(lambda pair: pair[0]), st.sampled_from(["x * y", "sin(x) / y"])
)
BATCH_FLAGS = st.sampled_from([[], ["--check"], ["--chunk", "2"]])


def batch_outcome(text: str, lines: list[str], flags: list[str]) -> str:
    """batch: one strict JSON line out per line in (or one error object for a bad program)."""
    code, stdout, _ = cli("batch", *flags, "--", text, stdin="\n".join(lines) + "\n")
    documents = [strict_json(line) for line in stdout.splitlines()]
    if len(documents) == 1 and set(documents[0]) == {"error"}:
        assert code == 2  # the program itself, or an option, is wrong
    else:
        assert [document["line"] for document in documents] == list(range(1, len(lines) + 1))
        assert (code == 2) == any("error" in document for document in documents)
        assert code != 1, documents  # a failed --check would be the check lying (see assert_json_outcome)
    return f"command batch: exit {code}"


@settings(max_examples=100)
@given(BATCH_PROGRAMS, st.lists(POINT_LINES, min_size=1, max_size=6), BATCH_FLAGS)
def test_batch_on_random_points(text, lines, flags):
    tally(batch_outcome(text, lines, flags))


@pytest.mark.slow
@given(BATCH_PROGRAMS, st.lists(POINT_LINES, min_size=1, max_size=6), BATCH_FLAGS)
def test_batch_on_random_points_long(text, lines, flags):
    tally(f"{batch_outcome(text, lines, flags)} (long run)")


# -- a real process, for a handful ---------------------------------------------------------------


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


@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_no_python_warnings_reach_stderr(json_flag):
    """sum([x]) at 1e308 is finite; NumPy's "overflow encountered in add" is the engine's business."""
    code, _, _ = run_process("eval", "sum([x]) + x*0", "--x", "1e308", *json_flag)
    assert code == 0


PROCESS_STDIN = [
    b"(a + b) * c",
    b"\xff\xfe(a+b)",  # not UTF-8
    b"\xef\xbb\xbfa * 2",  # a UTF-8 byte-order mark
    b"a\x00b",
    b"",
    b"a +",
    b"\n".join(b"v%d = a * %d" % (i, i) for i in range(200)) + b"\nv199",
    "a * \u0663".encode(),  # an Arabic-Indic digit three: \d matches it, float() reads it
]


@pytest.mark.parametrize("stdin", PROCESS_STDIN, ids=[repr(raw[:20]) for raw in PROCESS_STDIN])
def test_real_process_on_stdin(stdin):
    code, stdout, stderr = run_process("eval", "-", "--json", "--a", "7", "--b", "3", "--c", "2", stdin=stdin)
    assert_json_outcome(code, stdout)
    if code == 2:
        assert stderr.startswith("error: ")


@settings(max_examples=5)
@given(st.binary(max_size=60) | anything.map(str.encode))
def test_real_process_on_random_stdin(raw):
    code, stdout, _ = run_process("eval", "-", "--json", "--a", "7", stdin=raw)
    assert_json_outcome(code, stdout)
    tally(f"real process: exit {code}")


@pytest.mark.slow
@settings(max_examples=1000)
@given(st.binary(max_size=200) | anything.map(str.encode), FLAGS)
def test_real_process_long(raw, flags):
    """The installed command itself, a thousand times (about 0.15 s a process): stdin, --json, flags."""
    code, stdout, _ = run_process("eval", "-", "--json", *flags, *COMMON_VALUES, stdin=raw)
    assert_json_outcome(code, stdout)
    tally(f"real process, long run: exit {code}")


# ------------------------------------------------------------------------------------------------
# Hostile numbers: a clean exit-2 error naming what went wrong, or a documented IEEE result
# ------------------------------------------------------------------------------------------------

HOSTILE_NUMBERS = [
    ("10**10**10", [], "domain"),
    ("exp(1000)", [], "domain"),
    ("1e308*10", [], "domain"),
    ("1e308 + 1e308", [], "domain"),
    ("0**-1", [], "domain"),
    ("log(0)", [], "domain"),
    ("0/0", [], "domain"),
    ("1" + "0" * 400, [], "domain"),  # a 400-digit integer literal
    ("(-8)**(1/3)", [], "domain"),
    ("x**-1", ["--x", "5e-324"], "domain"),  # 1/5e-324 overflows
    ("exp(x)", ["--x", "710"], "domain"),
    ("x*x", ["--x", "1e200"], "domain"),
    ("sqrt(x)", ["--x", "0"], "domain"),  # the value is 0, the derivative is not finite
    ("a*2", ["--a", "nan"], "input"),
    ("a*2", ["--a", "inf"], "input"),
    ("a*2", ["--a", "-inf"], "input"),
    ("a*2", ["--a=-inf"], "input"),
    ("a*2", ["--a", "1e999"], "input"),
    ("a*2", ["--var", "a=NaN"], "input"),
    ("a*2", ["--a", "0x10"], "input"),
]


@pytest.mark.parametrize(
    ("program", "values", "kind"), HOSTILE_NUMBERS, ids=[f"{p} {' '.join(v)}" for p, v, _ in HOSTILE_NUMBERS]
)
def test_hostile_numbers_are_clean_errors(program, values, kind):
    code, document, stderr = cli_json("eval", "--json", *values, "--", program, seconds=10)
    assert code == 2
    assert document["error"]["type"] == kind
    assert stderr.startswith("error: ")


IEEE_RESULTS = [
    ("exp(-1000)", 0.0),  # underflow to 0 is a value, not an error
    ("0." + "0" * 400 + "1", 0.0),
    ("2**-1074", 5e-324),
    ("sigmoid(-1000)", 0.0),
    ("tan(pi/2)", math.tan(math.pi / 2)),  # pi/2 is not exactly π/2: a large finite number
    ("1" + "0" * 300, 1e300),
]


@pytest.mark.parametrize(("program", "value"), IEEE_RESULTS, ids=[p[:30] for p, _ in IEEE_RESULTS])
def test_documented_ieee_results(program, value):
    code, document, _ = cli_json("eval", "--json", "--", program)
    assert code == 0 and document["value"] == value


def test_an_underflowing_product_has_a_zero_gradient():
    code, document, _ = cli_json("eval", "--json", "x*1e-300*1e-300", "--x", "1")
    assert code == 0 and document["value"] == 0.0 and document["gradients"] == {"x": 0.0}


def test_hostile_numbers_through_a_real_process():
    for program, values in [("10**10**10", []), ("1" + "0" * 400, []), ("a*2", ["--a", "nan"])]:
        code, stdout, stderr = run_process("eval", "--json", *values, "--", program, timeout=30)
        assert code == 2 and strict_json(stdout)["error"]["type"] in ("domain", "input")


def test_numpy_is_a_declared_dependency():
    """Tensors run on NumPy: a fresh `pip install .` must bring it, or `sum([x])` is a traceback."""
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    assert dependencies and "numpy" in dependencies.group(1)


def test_big_integers_through_the_library_are_input_errors():
    """evaluate(…, x=10**400): float() of the int overflows; that is the caller's input, not a crash."""
    for value in (10**400, -(2**1024)):
        with pytest.raises(BackpropError) as caught:
            evaluate("x * 2", x=value)
        assert caught.value.kind == "input"


# ------------------------------------------------------------------------------------------------
# Hostile options and files
# ------------------------------------------------------------------------------------------------


def vars_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "values.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_VARS = {
    "not JSON": "a = 7",
    "not an object": "[7]",
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": Infinity}',
    "overflowing number": '{"a": 1e999}',
    "400-digit integer": '{"a": 1' + "0" * 400 + "}",
    "a string": '{"a": "seven"}',
    "true": '{"a": true}',
    "null": '{"a": null}',
    "a ragged list": '{"a": [[1, 2], [3]]}',
    "a list with NaN": '{"a": [1, NaN]}',
    "a list of strings": '{"a": ["7"]}',
    "not a name": '{"1a": 7, "a": 7}',
    "nested 100,000 deep": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "objects nested 100,000 deep": '{"a":' * 100_000 + "7" + "}" * 100_000,
    "empty": "",
    "not UTF-8": "\udcff",
}


@pytest.mark.parametrize("content", list(BAD_VARS.values()), ids=list(BAD_VARS))
def test_bad_vars_files_are_input_errors(tmp_path, content):
    if content == "\udcff":
        path = tmp_path / "values.json"
        path.write_bytes(b'{"a": 7, "\xff": 1}')
        where = str(path)
    else:
        where = vars_file(tmp_path, content)
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=10)
    assert code == 2 and document["error"]["type"] == "input"
    assert "recursion" not in document["error"]["message"]  # Python's words, not the user's


def test_a_deeply_nested_value_file_says_so(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    code, document, _ = cli_json("eval", "sum(x)", "--json", "--x", f"@{path}", seconds=10)
    assert code == 2
    assert "is not valid JSON: it nests deeper than the JSON reader follows" in document["error"]["message"]
    assert "nested lists of numbers" in document["error"]["hint"]


@pytest.mark.slow
def test_vars_file_of_20_megabytes_of_values(tmp_path):
    """A million unused values beside the one needed: it finishes in seconds, with the right answer."""
    values = {f"k{i}": i * 0.5 for i in range(1_000_000)} | {"a": 1.5}
    where = vars_file(tmp_path, json.dumps(values))
    assert Path(where).stat().st_size > 20e6
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=60)
    assert code == 0 and document["value"] == 3.0
    assert time.perf_counter() - started < 20


def test_vars_file_of_20_megabytes_of_padding(tmp_path):
    """20 MB that json.loads must read through (the fast slice's big file)."""
    where = vars_file(tmp_path, '{"a": 1.5, "note": 0' + " " * 20_000_000 + "}")
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=30)
    assert code == 0 and document["value"] == 3.0
    assert time.perf_counter() - started < 10


@pytest.mark.slow
def test_vars_file_with_a_20_megabyte_vector(tmp_path):
    """A vector of 4 million elements: a result (or a clean limit error), within seconds."""
    where = vars_file(tmp_path, json.dumps({"a": [0.5] * 4_000_000}))
    started = time.perf_counter()
    code, document, _ = cli_json("eval", "sum(a * 2)", "--json", "--vars", where, seconds=120)
    if code == 0:
        assert document["value"] == 4e6
    else:
        assert document["error"]["type"] == "limit"
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_vars_file_of_100_megabytes(tmp_path):
    """12 million numbers the program never uses beside the one it does: read in seconds (about 3 s
    and 0.7 GB here), the right answer, and a warning about the unused value."""
    where = vars_file(tmp_path, '{"a": 1.5, "pad": ' + json.dumps(list(range(12_000_000))) + "}")
    assert Path(where).stat().st_size > 100e6
    started = time.perf_counter()
    code, document, stderr = cli_json("eval", "a * 2", "--json", "--vars", where, seconds=120)
    assert code == 0 and document["value"] == 3.0
    assert "pad is given a value but the program never uses it" in stderr
    assert time.perf_counter() - started < 60


# A value for a function or a constant can never be used: giving one is a mistake to report (exit 2),
# the command-line form of assigning to a function name or to pi, which the README makes an error.
RESERVED = [
    ("exp(x)", ["--x", "1", "--exp", "3"], "exp"),
    ("exp(x)", ["--x", "1", "--var", "exp=3"], "exp"),
    ("sin(x) + max(x, 1)", ["--x", "1", "--max", "2"], "max"),
    ("2 * pi * x", ["--x", "1", "--pi", "3"], "pi"),
]


@pytest.mark.parametrize(
    ("program", "values", "name"), RESERVED, ids=[" ".join(v[2:]) for _, v, _ in RESERVED]
)
def test_values_for_functions_and_constants_are_errors(program, values, name):
    code, document, _ = cli_json("eval", program, "--json", *values)
    assert code == 2, f"--{name} was accepted: {document}"
    assert document["error"]["type"] in ("name", "input") and name in document["error"]["message"]


def test_function_names_in_a_vars_file_are_errors(tmp_path):
    code, document, _ = cli_json(
        "eval", "exp(x)", "--json", "--vars", vars_file(tmp_path, '{"x": 1, "exp": 3}')
    )
    assert code == 2 and "exp" in document["error"]["message"]


def test_an_input_named_like_an_option_works_through_var():
    code, document, _ = cli_json("eval", "eps * 2", "--json", "--var", "eps=3")
    assert code == 0 and document["value"] == 6.0


TWICE = [
    ["--a", "1", "--a", "2"],
    ["--a", "1", "--a", "1"],
    ["--a", "1", "--var", "a=2"],
    ["--a=1", "--a", "1"],
    ["--var", "a=1", "--var", "a=1"],
]


@pytest.mark.parametrize("values", TWICE, ids=[" ".join(v) for v in TWICE])
def test_a_value_given_twice_is_an_input_error(values):
    code, document, _ = cli_json("eval", "a * 2", "--json", *values)
    assert code == 2 and document["error"]["type"] == "input"


def test_a_value_given_twice_across_a_vars_file(tmp_path):
    code, document, _ = cli_json(
        "eval", "a * 2", "--json", "--a", "1", "--vars", vars_file(tmp_path, '{"a": 2}')
    )
    assert code == 2 and document["error"]["type"] == "input"


GARBLED = [
    ["--rows", "abc"],
    ["--rows", "1.5"],
    ["--eps", "x"],
    ["--tol"],
    ["--check=1"],
    ["--json=yes"],
    ["-z"],
    ["---a", "3"],
    ["--=3"],
    ["--1a", "3"],
    ["--a="],
    ["--b"],
    ["--var"],
    ["--var", "novalue"],
    ["--var", "=3"],
    ["--vars", "/nonexistent/values.json"],
    ["--eps", "0"],
    ["--eps", "-1"],
    ["--eps", "nan"],
    ["--tol", "-0"],
    ["--rows", "0"],
    ["--rows", "-5"],
    ["a"],  # a second program
]


@pytest.mark.parametrize("garbled", GARBLED, ids=[" ".join(g) for g in GARBLED])
def test_garbled_options_are_exit_2_with_a_json_error(garbled):
    """Every usage error is exit 2 with the JSON error object on stdout, as the README promises."""
    code, document, stderr = cli_json("eval", "a * 2", "--json", "--a", "7", *garbled)
    assert code == 2, document
    assert stderr.strip()


EXTREME_CHECKS = [
    ["--check", "--eps", "inf"],
    ["--check", "--eps", "1e308"],
    ["--check", "--eps", "1e-320"],
    ["--check", "--tol", "inf"],
    ["--check", "--tol", "1e308"],
    ["--check", "--eps", "1e10", "--tol", "1e-300"],
]


@pytest.mark.parametrize("options", EXTREME_CHECKS, ids=[" ".join(o) for o in EXTREME_CHECKS])
def test_extreme_check_options_never_break_json(options):
    """Accepted or refused, but never a traceback or a number that is not strict JSON."""
    for program in ("a * 2", "a * 1e300", "sqrt(a)"):
        code, document, _ = cli_json("eval", program, "--json", "--a", "7", *options)
        if code != 2:
            assert all(
                item["passed"] is False or item["numeric"] is not None
                for item in document["check"]["inputs"].values()
            )
        cli("eval", program, "--a", "7", *options)  # and the tables


def test_a_program_that_starts_with_double_dash_comes_from_stdin():
    """README: a program starting with `--` (such as `--x`, i.e. -(-x)) is read from stdin."""
    code, document, _ = cli_json("eval", "-", "--json", "--x", "3", stdin="--x")
    assert code == 0 and document["value"] == 3.0


def test_rich_markup_in_a_comment_is_printed_not_interpreted():
    """A comment inside an expression is part of its source text; Rich must not read it as markup."""
    code, stdout, _ = cli("eval", "x + # [/b] [red]\n y", "--x", "1", "--y", "2")
    assert code == 0
    assert "[/b]" in stdout


def test_matmul_on_scalars_is_a_clean_error():
    """`@` is in the grammar for tensors; on scalars it must be a BackpropError, not a KeyError."""
    with pytest.raises(BackpropError) as caught:
        evaluate("x @ y", x=1.0, y=2.0)
    assert_clean_error(caught.value, "x @ y")
    code, document, _ = cli_json("eval", "x @ y", "--json", "--x", "1", "--y", "2")
    assert code == 2


def test_an_axis_on_a_scalar_is_a_clean_error():
    """sum(x, 0) with a scalar x: there is no axis 0 (README: `sum(x, 2)` is a shape error)."""
    with pytest.raises(BackpropError) as caught:
        evaluate("sum(x, 0)", x=2.0)
    assert_clean_error(caught.value, "sum(x, 0)")
    code, document, _ = cli_json("eval", "sum(x, 0)", "--json", "--x", "2")
    assert code == 2 and document["error"]["type"] == "shape"


@pytest.mark.parametrize("program", ["2*3", "pi", "u = 2*3\nu", "sin(1) + 1"])
def test_output_computed_from_constants_has_no_gradient(program):
    """README: grad is null for constants and nodes computed only from constants — the output too."""
    code, document, _ = cli_json("eval", program, "--json")
    assert code == 0 and document["gradients"] == {}
    output = next(node["id"] for node in document["nodes"] if node["name"] == document["output"])
    # every node but the output (∂L/∂L = 1 always) has no gradient
    assert [node["grad"] for node in document["nodes"] if node["id"] != output] == [None] * (
        len(document["nodes"]) - 1
    )
    assert [node["grad"] for node in document["nodes"] if node["id"] == output] == [1.0]


# ------------------------------------------------------------------------------------------------
# Deep and large input: bounded time, linear parsing
# ------------------------------------------------------------------------------------------------


def test_hundred_thousand_deep_parentheses_through_the_command():
    depth = 100_000
    started = time.perf_counter()
    code, document, _ = cli_json(
        "eval", "--json", "--x", "0.5", "--", "(" * depth + "x" + ")" * depth, seconds=60
    )
    assert time.perf_counter() - started < 30
    if code == 0:
        assert document["value"] == 0.5 and document["gradients"] == {"x": 1.0}
    else:
        assert document["error"]["type"] in ("limit", "syntax")


def test_hundred_thousand_unclosed_parentheses_is_a_syntax_error():
    code, document, _ = cli_json("eval", "--json", "--x", "0.5", "--", "(" * 100_000 + "x", seconds=60)
    assert code == 2 and document["error"]["type"] == "syntax"


STATEMENT = "u{i} = sin(x) * {i}.5 + max(y, u{j}) / (1 + x**2)  # a comment\n"


def generated_program(size: int) -> str:
    """About `size` characters of statements, each using the one before: u1 = … u0 …; the last is the output."""
    lines, total, i = ["u0 = x\n"], 7, 1
    while total < size:
        line = STATEMENT.format(i=i, j=i - 1)
        lines.append(line)
        total += len(line)
        i += 1
    lines.append(f"u{i - 1} * 2\n")
    return "".join(lines)


def parse_seconds(text: str, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - started)
    return best


def test_parsing_time_is_linear_100k_to_1m():
    small, large = generated_program(100_000), generated_program(1_000_000)
    ratio = parse_seconds(large, 1) / parse_seconds(small, 3)
    assert ratio < 20, f"10× the text took {ratio:.1f}× the time"


@pytest.mark.slow
def test_parsing_time_is_linear_1m_to_10m():
    small, large = generated_program(1_000_000), generated_program(10_000_000)
    small_seconds, large_seconds = parse_seconds(small, 2), parse_seconds(large, 1)
    ratio = large_seconds / small_seconds
    print(f"\n[parse] 1 MB in {small_seconds:.2f} s, 10 MB in {large_seconds:.2f} s: {ratio:.1f}× the time")
    assert ratio < 20, f"10× the text took {ratio:.1f}× the time"
