"""What the user typed → the program text and the input values. Reads stdin and files; no math."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from ..graph.errors import InputError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def split_arguments(args: list[str]) -> tuple[str | None, list[tuple[str, str, str]]]:
    """Split the words Typer did not recognise into the program and `--NAME VALUE` pairs.

    Every `--NAME` takes exactly one value (`--b -3` and `--b=-3` both work), so any other word is
    the program, even one that starts with `-`. Returns (program or None, [(name, text, how)]).
    """
    program: str | None = None
    pairs: list[tuple[str, str, str]] = []
    words = iter(args)
    for word in words:
        if word.startswith("--") and len(word) > 2:
            name, equals, value = word[2:].partition("=")
            if not equals:
                value = next(words, None)
                if value is None:
                    raise InputError(f"--{name} needs a value", hint=f"write --{name} VALUE or --{name}=VALUE")
            pairs.append((name, value, f"--{name}"))
        elif program is None:
            program = word
        else:
            raise InputError(
                f"more than one program given: {program!r} and {word!r}",
                hint="quote the program as one argument; give values as --NAME VALUE",
            )
    return program, pairs


def parse_var_option(text: str, option: str = "--var") -> tuple[str, str, str]:
    """`--var NAME=VALUE` (or another `option` of that form) → (name, value text, how it was given)."""
    name, equals, value = text.partition("=")
    if not equals:
        raise InputError(f"{option} {text!r} is not NAME=VALUE", hint=f"write {option} a=7")
    return name.strip(), value.strip(), option


def read_vars_file(path: Path, option: str = "--vars") -> list[tuple[str, object, str]]:
    """A JSON object of values by name, {"a": 7, "b": -3}, given with `option` (--vars, --expect-file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise InputError(f"cannot read {option} file {str(path)!r}: {failure}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as failure:
        raise InputError(f"{option} file {str(path)!r} is not valid JSON: {failure}") from None
    if not isinstance(data, dict):
        raise InputError(f"{option} file {str(path)!r} must hold a JSON object such as {{\"a\": 7}}")
    return [(str(name), value, f"{option} {path}") for name, value in data.items()]


def collect_values(given: list[tuple[str, object, str]]) -> dict[str, float]:
    """Validate names and turn every given value into a float; a name given twice is an error."""
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name, raw, how in given:
        if not _NAME.match(name):
            raise InputError(f"{how}: {name!r} is not a variable name", hint="names are letters, digits and _, not starting with a digit")
        if name in values:
            raise InputError(f"{name} is given twice ({sources[name]} and {how})", hint="give each input once")
        values[name] = _number(name, raw, how)
        sources[name] = how
    return values


def _number(name: str, raw: object, how: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise InputError(f"the value of {name} ({how}) must be a number, not {json.dumps(raw)[:40]}")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (ValueError, OverflowError):
        raise InputError(f"the value of {name} ({how}) is not a number: {str(raw)[:40]!r}", hint=f"write e.g. --{name} 2.5") from None
    if not math.isfinite(value):
        raise InputError(f"the value of {name} ({how}) is not finite: {str(raw)[:40]!r}", hint="NaN and infinity are refused; give a finite number")
    return value


def read_program(text: str | None) -> str:
    """The program argument, or standard input when it is `-`."""
    if text is None:
        raise InputError(
            "no program given",
            hint='write e.g. backprop eval "(a + b) * c" --a 7 --b 3 --c 2, or pipe it in with -',
        )
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise InputError(f"standard input is not valid UTF-8 (byte {failure.start})") from None
