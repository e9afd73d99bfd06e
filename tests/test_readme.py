"""The README says what the command prints: run its examples and compare, so the docs cannot drift."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from checks import strict_json

from backprop import BackpropError

README = Path(__file__).resolve().parent.parent / "README.md"


def error_table() -> list[tuple[str, str, str]]:
    """(type, command, message) from each row of the 'Errors and limits' table that has an example."""
    section = README.read_text(encoding="utf-8").split("## Errors and limits", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[2].startswith("`backprop "):
            kind, _, command, message = (cell.strip("`") for cell in cells)
            rows.append((kind, command, message))
    return rows


ROWS = error_table()


def test_the_table_has_a_row_for_every_error_type():
    kinds = {kind.kind for kind in BackpropError.__subclasses__()}
    assert sorted(kind for kind, _, _ in ROWS) == sorted(kinds)


@pytest.mark.parametrize(("kind", "command", "message"), ROWS, ids=[row[0] for row in ROWS])
def test_each_documented_error_is_what_the_command_prints(run, kind, command, message):
    words = shlex.split(command)
    assert words[0] == "backprop"
    code, out, err = run(*words[1:], "--json")
    assert code == 2
    error = strict_json(out)["error"]
    assert (error["type"], error["message"]) == (kind, message)
    assert re.match(r"error: ", err) and "Traceback" not in err
