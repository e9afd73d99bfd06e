"""Defaults per course or project: --tol, --rows and --digits from the environment or a file.

Precedence, as ruff and pytest have it: the command line, then the BACKPROP_TOL, BACKPROP_ROWS and
BACKPROP_DIGITS environment variables, then a `[tool.backprop]` table in the nearest pyproject.toml
that has one (looked for from the current directory upwards), then the built-in defaults. A bad
value is an error that names where it came from. The file is parsed only when it holds the table,
so a run without one pays for a few `stat` calls (start-up time is measured).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..graph.errors import InputError
from ..graph.values import MAX_DIGITS

TABLE = "tool.backprop"
FILE = "pyproject.toml"
ENVIRONMENT = {"tol": "BACKPROP_TOL", "rows": "BACKPROP_ROWS", "digits": "BACKPROP_DIGITS"}
"""Each setting → its environment variable; the keys are the table's keys and the options' names."""


def defaults(environ: dict[str, str] | None = None, start: Path | None = None) -> dict[str, float | int]:
    """The settings that replace the built-in defaults: the file's, then the environment's over them."""
    environ = os.environ if environ is None else environ
    settings: dict[str, float | int] = {}
    found = find_table(start if start is not None else _here())
    if found is not None:
        path, table = found
        for key, raw in table.items():
            if key not in ENVIRONMENT:
                raise _unknown_key(path, key)
            settings[key] = setting(key, raw, f"{path}, [{TABLE}] {key}")
    for key, variable in ENVIRONMENT.items():
        text = environ.get(variable)
        if text is not None and text.strip():  # an empty variable is as good as unset, as shells mean it
            settings[key] = setting(key, text.strip(), f"the environment variable {variable}")
    return settings


def _here() -> Path | None:
    """The current directory, or None when it no longer exists (removed under a shell that is in it)."""
    try:
        return Path.cwd()
    except OSError:
        return None


def setting(key: str, raw: object, where: str) -> float | int:
    """A value of `key` as given (a TOML number, or the text of a variable), checked as the option
    checks it; an InputError that names `where` otherwise."""
    option = f"--{key}"
    if isinstance(raw, str):
        try:
            raw = float(raw) if key == "tol" else int(raw)
        except ValueError:
            kind = "a number" if key == "tol" else "a whole number"
            raise InputError(
                f"{where} must be {kind} (as {option} takes), not {raw[:40]!r}", hint=_fix(key, where)
            ) from None
    if (
        isinstance(raw, bool)
        or not isinstance(raw, (int, float))
        or (key != "tol" and isinstance(raw, float))
    ):
        kind = "a number" if key == "tol" else "a whole number"
        raise InputError(f"{where} must be {kind} (as {option} takes), not {raw!r}", hint=_fix(key, where))
    if key == "tol" and not (math.isfinite(raw) and raw > 0):
        raise InputError(f"{where} must be a positive, finite number, not {raw}", hint=_fix(key, where))
    if key == "rows" and raw < 1:
        raise InputError(f"{where} must be at least 1, not {raw}", hint=_fix(key, where))
    if key == "digits" and not 1 <= raw <= MAX_DIGITS:
        raise InputError(f"{where} must be from 1 to {MAX_DIGITS}, not {raw}", hint=_fix(key, where))
    return float(raw) if key == "tol" else raw


_EXAMPLE = {"tol": "1e-4", "rows": "40", "digits": "6"}


def _fix(key: str, where: str) -> str:
    if where.startswith("the environment"):
        return f"set it as e.g. {ENVIRONMENT[key]}={_EXAMPLE[key]}, or unset it"
    return f"write e.g. {key} = {_EXAMPLE[key]} under [{TABLE}]"


def _unknown_key(path: Path, key: str) -> InputError:
    """A key the table cannot have (`tolerance`): an error, as a misspelt option is, never ignored."""
    from .arguments import close_option  # the options' own did-you-mean: synonyms, prefixes, typos

    close = close_option(key, tuple(f"--{name}" for name in ENVIRONMENT))
    hint = f"did you mean {close[2:]}? " if close else ""
    return InputError(
        f"{path}: [{TABLE}] has no setting {key!r}", hint=f"{hint}the settings are {', '.join(ENVIRONMENT)}"
    )


def find_table(start: Path | None) -> tuple[Path, dict] | None:
    """The nearest pyproject.toml from `start` upwards that has a [tool.backprop] table, and the table
    (None from None: no current directory)."""
    for folder in () if start is None else (start, *start.parents):
        path = folder / FILE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # none here (or unreadable): look further up
            continue
        if "[tool.backprop]" not in text.replace(" ", ""):  # no table: not parsed (most projects)
            continue
        table = _read_table(path, text)
        if table is not None:
            return path, table
    return None


def _read_table(path: Path, text: str) -> dict | None:
    """The [tool.backprop] table of a TOML file (tomllib on Python 3.11+, else a reader of this
    one table's `key = number` lines); None when the file has none."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return _plain_table(path, text)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as failure:
        raise InputError(f"{path} is not valid TOML: {failure}", hint="fix the file, or unset it") from None
    table = document.get("tool", {}).get("backprop")
    if table is not None and not isinstance(table, dict):
        raise InputError(f"{path}: {TABLE} must be a table", hint=f"write [{TABLE}] and key = value lines")
    return table


def _plain_table(path: Path, text: str) -> dict | None:
    """The one table, read line by line: `key = 1e-4`, comments after `#` (its values are numbers)."""
    table: dict[str, object] | None = None
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            inside = line.replace(" ", "") == f"[{TABLE}]"
            table = {} if inside and table is None else table
            continue
        if not inside or not line:
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise InputError(f"{path}, line {number}: {line[:40]!r} is not key = value")
        table[key.strip()] = _plain_number(value.strip())
    return table


def _plain_number(text: str) -> object:
    """A TOML integer or float as Python's; any other text as itself (refused by `setting`)."""
    for kind in (int, float):
        try:
            return kind(text.replace("_", ""))
        except ValueError:
            pass
    return text.strip("\"'")
