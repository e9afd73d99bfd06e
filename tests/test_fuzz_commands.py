"""Fuzzing the commands through Typer's runner: whatever arrives, exit 0, 1 or 2, no traceback, and
under --json one strict JSON object (no NaN, no Infinity) on stdout — for eval (tables and JSON, a
program on stdin), its gradient check at points of every magnitude, trace, paths, graph and batch.
Thousands of each in the long run (profiles.py); a real process for a handful is test_process.
"""

from __future__ import annotations

import json

from checks import strict_json, tally
from fuzzing import (
    COMMON_VALUES,
    FLAGS,
    VALUES,
    anything,
    assert_json_document,
    cli,
    cli_json,
    mutated_programs,
)
from hypothesis import given
from hypothesis import strategies as st


@given(anything, FLAGS)
def test_command_on_anything(text, flags):
    """eval with --json (one strict JSON object) and without (the tables, printed by Rich)."""
    code, _, _ = cli_json("eval", "--json", *flags, *COMMON_VALUES, "--", text)
    tally(f"command --json: exit {code}")
    code, _, _ = cli("eval", *flags, *COMMON_VALUES, "--", text)
    tally(f"command tables: exit {code}")


@given(mutated_programs(), VALUES, FLAGS)
def test_command_with_json_on_mutated_programs(mutated, values, flags):
    text, names = mutated
    given_values = [f"--var={name}={values[i % len(values)]!r}" for i, name in enumerate(names)]
    code, _, _ = cli_json("eval", "--json", *flags, *given_values, "--", text)
    tally(f"command --json, mutated program: exit {code}")


@given(st.binary(max_size=80))
def test_command_reads_raw_bytes_from_stdin(raw):
    code, document, _ = cli_json("eval", "-", "--json", *COMMON_VALUES, stdin=raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert code == 2 and document["error"]["type"] == "input"  # not UTF-8: refused as input
    tally(f"command stdin bytes: exit {code}")


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


@given(CHECKED_PROGRAMS, POINTS_OF_EVERY_SIZE)
def test_the_check_never_fails_a_right_gradient(text, point):
    """--check at points of every magnitude (sin at 1e18, where floats are 128 apart): it passes,
    or says an input is not checkable, or the program is undefined there; it never fails."""
    x, y = point
    code, document, _ = cli_json("eval", "--json", "--check", "--x", repr(x), "--y", repr(y), "--", text)
    if code == 2:
        tally("check: a domain error at the point")
    else:
        checkable = [item["numeric"] is not None for item in document["check"]["inputs"].values()]
        tally(f"check: passed, {sum(checkable)} of {len(checkable)} inputs checkable")


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


@given(anything, HOMEWORK)
def test_homework_commands_on_anything(text, command):
    """trace, paths and graph on any text: exit 0, 1 or 2, no traceback, strict JSON under --json."""
    code, stdout, _ = cli(*command, *COMMON_VALUES, "--", text)
    if "--json" in command:
        assert_json_document(code, stdout)
    tally(f"command {command[0]}: exit {code}")


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


@given(BATCH_PROGRAMS, st.lists(POINT_LINES, min_size=1, max_size=6), BATCH_FLAGS)
def test_batch_on_random_points(text, lines, flags):
    """batch: one strict JSON line out per line in (or one error object for a bad program)."""
    code, stdout, _ = cli("batch", *flags, "--", text, stdin="\n".join(lines) + "\n")
    documents = [strict_json(line) for line in stdout.splitlines()]
    if len(documents) == 1 and set(documents[0]) == {"error"}:
        assert code == 2  # the program itself, or an option, is wrong
    else:
        assert [document["line"] for document in documents] == list(range(1, len(lines) + 1))
        assert (code == 2) == any("error" in document for document in documents)
        # A failed --check would be the check lying (see assert_json_outcome): exit 1 may only come
        # from lines whose check could compare nothing (every input "not checkable").
        for document in documents:
            if not document.get("check", {"passed": True})["passed"]:
                statuses = {item["status"] for item in document["check"]["inputs"].values()}
                assert statuses == {"not checkable"}, document
    tally(f"command batch: exit {code}")
