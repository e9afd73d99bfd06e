"""Text that reaches a terminal: what a program, a name or a file name holds is shown, never obeyed
(escape sequences, bidi overrides and Rich markup print as written), long names are shortened in
the middle, and graph --output replaces a file whole or not at all."""

from __future__ import annotations

import json
import os
import re

import pytest
from checks import strict_json
from test_graph_command import check_dot_structure, check_mermaid_structure

HIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""What a terminal acts on instead of showing (a newline is a line break, and allowed)."""

RED = "a*b # \x1b[31mred \u202eevil\u202c"


def assert_nothing_hidden(*texts: str) -> None:
    for text in texts:
        assert not HIDDEN.search(text), ascii(HIDDEN.search(text).group())


@pytest.mark.parametrize(
    "args",
    [
        ["eval", RED, "--a", "1", "--b", "2", "--check"],
        ["trace", RED, "--a", "1", "--b", "2"],
        ["paths", RED, "--a", "1", "--b", "2", "--wrt", "a"],
        ["minimize", RED, "--a", "1", "--b", "2", "--wrt", "a", "--steps", "2"],
        ["graph", RED, "--format", "dot"],
    ],
    ids=["eval", "trace", "paths", "minimize", "graph-dot"],
)
def test_a_comment_s_escape_sequence_is_shown_not_obeyed(run, args):
    code, out, err = run(*args)
    assert code == 0, err
    assert_nothing_hidden(out, err)
    shown = out.replace("\\\\", "\\")  # DOT doubles the backslash of an escape
    assert "\\x1b[31mred" in shown and "\\u202eevil\\u202c" in shown  # a narrow title may wrap


def test_an_escape_inside_a_subexpression_is_shown_in_the_table_and_the_trace(run):
    program = "(a # \x1b]0;title\x07\n + b) * 2"
    for command in ("eval", "trace"):
        code, out, err = run(command, program, "--a", "1", "--b", "2")
        assert code == 0 and "\\x1b]0;title\\x07" in out
        assert_nothing_hidden(out, err)


def test_the_caret_stands_under_an_escaped_character(run):
    code, _, err = run("eval", "a \x1b b", "--a", "1")
    assert code == 2
    assert err.splitlines()[:5] == [
        "error: unexpected character '\\x1b'",
        "  --> line 1, column 3",
        "  |",
        "1 | a \\x1b b",
        "  |   ^^^^",
    ]


def test_the_caret_counts_the_columns_escapes_take(run):
    """A form feed and a carriage return are blanks of the language, so they may stand before the place."""
    code, _, err = run("eval", "a\x0c+ b\r + $", "--a", "1", "--b", "2")
    assert code == 2 and "column 10" in err
    shown, carets = err.splitlines()[3:5]
    assert shown == "1 | a\\x0c+ b\\r + $"
    assert carets.index("^") == shown.index("$") and carets.count("^") == 1


def test_a_long_line_of_escapes_is_cut_between_escapes(run):
    code, _, err = run("eval", "-", input="a+" * 100 + "$" + "\u202e" * 300)
    assert code == 2
    shown, carets = err.splitlines()[3:5]
    assert re.fullmatch(r"1 \| …(\+?a\+)+\$(\\u202e)+…", shown), shown
    assert carets.index("^") == shown.index("$")
    assert_nothing_hidden(err)


def test_a_crlf_program_s_window_has_no_stray_carriage_return(run):
    code, _, err = run("eval", "a\r\n+$\r\n", "--a", "1")
    assert code == 2
    assert err.split("\n")[3:5] == ["2 | +$", "  |  ^"]


def test_an_option_s_name_is_escaped_in_its_message(run):
    code, out, err = run("eval", "a", "--a", "1", "--ch\x1b[2Jek", "--json")
    assert code == 2
    assert "--ch\\x1b[2Jek" in err
    assert_nothing_hidden(err)
    assert "--ch\x1b[2Jek" in strict_json(out)["error"]["message"]  # JSON keeps the text, escaped


def test_json_keeps_the_program_exactly_and_stays_strict_ascii(run):
    code, out, _ = run("eval", RED, "--a", "1", "--b", "2", "--json")
    assert code == 0 and out.isascii()
    assert strict_json(out)["expression"] == RED


def test_undecodable_bytes_of_a_program_are_shown_as_escapes(run):
    """A byte that is not UTF-8 reaches Python as a lone surrogate, which no terminal should get."""
    code, out, err = run("eval", "a # \udc9b31m", "--a", "1")
    assert code == 0 and "\\udc9b31m" in out
    assert_nothing_hidden(out, err)


def test_rich_markup_in_a_program_prints_literally(run):
    program = "sum([bold]*a) # [/] [red]x :smile:"
    code, out, _ = run("eval", program, "--a", "1", "--bold", "2")
    assert code == 0 and "[/] [red]x :smile:" in out and "│ [bold]*a " in out
    code, out, _ = run("trace", program, "--a", "1", "--bold", "2")
    assert code == 0 and out.startswith(f"backprop trace · {program}  at ")
    code, out, _ = run("graph", program, "--format", "tree")
    assert code == 0 and "Array b · array(bold)" in out


def test_dot_and_mermaid_labels_escape_hidden_characters_for_their_syntax(run):
    code, out, _ = run("graph", 'a # "\x1b" \\ <b>', "--format", "dot")
    assert code == 0
    check_dot_structure(out)
    title = re.search(r'^  label=(".*");$', out, re.M).group(1)
    assert json.loads(title) == 'a # "\\x1b" \\ <b>'  # DOT's escapes are JSON's
    code, out, _ = run("graph", "a*b # \x1b", "--format", "mermaid")
    assert code == 0
    check_mermaid_structure(out)
    assert_nothing_hidden(out)


def test_a_megabyte_name_is_shortened_in_the_middle_of_its_message(run):
    name = "x" * 1_000_000
    code, _, err = run("eval", "-", input=f"{name} + 1")
    assert code == 2 and len(err) < 2_000
    assert re.match(r"error: no value for x{50,60}…x{50,60}$", err.splitlines()[0])


def test_a_message_naming_twenty_thousand_inputs_is_bounded(run):
    code, _, err = run("eval", "-", input="+".join(f"x{i}" for i in range(20_000)))
    assert code == 2 and len(err) < 3_000
    first = err.splitlines()[0]
    assert first.startswith("error: no value for x0, x1,") and " … " in first and first.endswith("x19999")


def test_a_long_name_in_tables_and_warnings_is_shortened(run):
    name, unused = "w" * 100_000, "v" * 100_000
    code, out, err = run("eval", "-", "--y", "1", f"--{unused}", "3", input=f"{name} = y*2; {name} * 3")
    assert code == 0 and len(out) < 5_000 and len(err) < 500
    assert "w…w" in out and f"warning: {'v' * 59}…{'v' * 60} is given a value" in err


# ------------------------------------------------------------------------------------------------
# graph --output: whole or not at all, - for standard output, no option taken for a file
# ------------------------------------------------------------------------------------------------


def test_output_dash_is_standard_output(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("graph", "a * b", "--output", "-", "--format", "mermaid")
    assert code == 0 and out.startswith("flowchart LR\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["-g.dot", "--format", "--json"])
def test_an_output_named_like_an_option_is_refused(run, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("graph", "a * b", f"--output={name}")
    assert code == 2
    assert f"--output {name!r} looks like an option, not a file name" in err
    assert f"hint: to write a file of that name, give --output ./{name}" in err
    assert list(tmp_path.iterdir()) == []


def test_dot_slash_writes_a_file_whose_name_starts_with_a_dash(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("graph", "a * b", "--output", "./-g.dot")[0] == 0
    assert (tmp_path / "-g.dot").read_text().startswith("digraph backprop {")


def test_a_failing_program_leaves_the_old_output_whole(run, tmp_path):
    output = tmp_path / "g.dot"
    output.write_text("the old drawing")
    assert run("graph", "a *", "--output", str(output))[0] == 2
    assert run("graph", "a * b", "--format", "mermaid", "--output", str(tmp_path / "g.svg"))[0] == 2
    assert output.read_text() == "the old drawing"
    assert [path.name for path in tmp_path.iterdir()] == ["g.dot"]


def test_an_output_that_cannot_be_written_is_one_clean_error(run, tmp_path):
    code, _, err = run("graph", "a * b", "--output", str(tmp_path / "no folder" / "g.dot"))
    assert code == 2 and err.startswith("error: cannot write --output ") and "No such file" in err
    code, _, err = run("graph", "a * b", "--output", str(tmp_path))
    assert code == 2 and "Is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_output_through_a_link_replaces_the_file_and_keeps_the_link(run, tmp_path):
    (tmp_path / "real.dot").write_text("old")
    (tmp_path / "link.dot").symlink_to("real.dot")
    assert run("graph", "a * b", "--output", str(tmp_path / "link.dot"))[0] == 0
    assert os.readlink(tmp_path / "link.dot") == "real.dot"
    assert (tmp_path / "real.dot").read_text().startswith("digraph backprop {")


def test_output_to_a_device_is_written_into_not_renamed_over(run, tmp_path):
    """/dev/null cannot be replaced by a rename (and must not be): it is written into."""
    (tmp_path / "null.dot").symlink_to(os.devnull)
    assert run("graph", "a * b", "--output", str(tmp_path / "null.dot"))[0] == 0
    assert os.readlink(tmp_path / "null.dot") == os.devnull
    assert [path.name for path in tmp_path.iterdir()] == ["null.dot"]
