"""What the user typed → the program text and the input values. Reads stdin and files; no math."""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable

from ..graph.errors import InputError
from ..graph.limits import MAX_ELEMENTS
from ..graph.values import NOT_FINITE, as_value
from .files import read_number_text, read_value_file

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SHORT_OPTION = re.compile(r"-[A-Za-z]\Z")


def split_arguments(
    args: list[str], options: tuple[str, ...] = (), command: str = "", elsewhere: Elsewhere | None = None
) -> tuple[str | None, list[tuple[str, str, str]]]:
    """Split the words Typer did not recognise into the program and `--NAME VALUE` pairs.

    Every `--NAME` takes exactly one value (`--b -3` and `--b=-3` both work), so any other word is
    the program, even one that starts with `-`. `options` are the command's own and `elsewhere`
    gives every command's, for the error of a misspelt or misplaced one (`command` names this
    one). Returns (program or None, [(name, text, how)]).
    """
    program: str | None = None
    pairs: list[tuple[str, str, str]] = []
    words = iter(args)
    for word in words:
        if word.startswith("--") and len(word) > 2:
            name, equals, value = word[2:].partition("=")
            if not equals:
                value = next(words, None)
                if value is None or value.startswith("--"):  # no value is written so: a flag's place
                    raise _value_missing(word, options, command, elsewhere)
            pairs.append((name, value, f"--{name}"))
        elif program is None:
            program = word
        else:
            raise _second_program(program, word)
    return program, pairs


def _value_missing(
    word: str, options: tuple[str, ...], command: str, elsewhere: Elsewhere | None
) -> InputError:
    """`--NAME` with no value: an option of another command (`graph --json`), a misspelt option,
    or an input without its value."""
    wrong = None if elsewhere is None else other_command_option(word[2:], command, options, elsewhere())
    close = close_option(word[2:], options)
    if wrong is None and close is not None:
        wrong = InputError(f"unknown option {word}", hint=f"did you mean {close}?")
    if wrong is None:
        return InputError(f"{word} needs a value", hint=f"write {word} VALUE or {word}=VALUE")
    if is_name(word[2:]):
        wrong.hint += f" (an input named {word[2:]} needs a value: {word} VALUE)"
    return wrong


def _second_program(program: str, word: str) -> InputError:
    """A second program word; one shaped like a short option (`-j`) is reported as that."""
    for candidate in (word, program):
        if _SHORT_OPTION.match(candidate):
            return InputError(
                f"unknown option {candidate}",
                hint="options are spelled out (--json, --check; see --help); "
                "a program that starts with - goes last, after --",
            )
    return InputError(
        f"more than one program given: {program!r} and {word!r}",
        hint="quote the program as one argument; give values as --NAME VALUE",
    )


def parse_var_option(text: str, option: str = "--var") -> tuple[str, str, str]:
    """`--var NAME=VALUE` (or another `option` of that form) → (name, value text, how it was given)."""
    name, equals, value = text.partition("=")
    if not equals:
        raise InputError(f"{option} {text!r} is not NAME=VALUE", hint=f"write {option} a=7")
    return name.strip(), value.strip(), option


def collect_values(
    given: list[tuple[str, object, str]], *, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
) -> dict[str, object]:
    """Validate names and turn every given value into a value (a float, or an array for a list or
    an @FILE, measured against the limits before it is read); a name given twice is an error."""
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name, raw, how in given:
        if not _NAME.match(name):
            raise InputError(
                f"{how}: {name!r} is not a variable name",
                hint="names are letters, digits and _, not starting with a digit",
            )
        if name in values:
            raise InputError(
                f"{name} is given twice ({sources[name]} and {how})", hint="give each input once"
            )
        values[name] = typed_value(name, raw, how, max_elements, max_memory)
        sources[name] = how
    return values


def typed_value(
    name: str, raw: object, how: str, max_elements: int = MAX_ELEMENTS, max_memory: int | None = None
):
    """A value as typed (`2.5`, `[[2, 1], [1, 1]]`, `@W.csv`) or as found in a --vars file."""
    if not isinstance(raw, str):
        return as_value(name, raw, how)
    text = raw.strip()
    if text.startswith("@"):
        return read_value_file(name, text[1:], how, max_elements=max_elements, max_memory=max_memory)
    try:
        if text.startswith("["):
            return as_value(name, _parse_list(name, text, how), how)
        return read_number_text(text)
    except (ValueError, InputError) as failure:
        exact = None if str(failure) == NOT_FINITE else constant_expression(name, text, how)
        if exact is not None:
            return exact
        if isinstance(failure, InputError):
            raise
        if str(failure) == NOT_FINITE:
            hint = "NaN and infinity are refused; give a finite number"
        else:
            hint = "write e.g. " + " or ".join(
                _spelled(name, how, each) for each in ("2.5", "pi/2", "'[1, 2]'", "@FILE")
            )
        raise InputError(f"the value of {name} ({how}) {failure}: {text[:40]!r}", hint=hint) from None


EXPRESSION_NODES = 10_000
"""The most nodes a value written as an expression may have (a value, not a program)."""


def constant_expression(name: str, text: str, how: str):
    """A value written as a constant expression of the language, computed exactly as a program
    would (`pi/2`, `1/3`, `sqrt(2)/2`, `[pi, e]`); None when the text is not one (it does not
    parse, or it names an input)."""
    from ..graph.engine import forward
    from ..graph.errors import BackpropError
    from ..parser import parse  # the command's own words for a fix (backprop.parse gives Python's)

    try:
        program = parse(text, max_nodes=EXPRESSION_NODES)
    except BackpropError:
        return None
    if program.inputs:
        return None
    try:
        return forward(program, {})[program.output]
    except BackpropError as failure:
        raise InputError(f"the value of {name} ({how}) is undefined: {failure.message}") from None


def _spelled(name: str, how: str, value: str) -> str:
    """How to give `name` this value the way it was given (`how`): --x 2.5, --var x=2.5, "x": 2.5."""
    if " " in how:  # from a file: --vars FILE, --expect-file FILE, where a file name is a string
        value = value.strip("'")
        return f'"{name}": {value}' if value[0] in "[-0123456789" else f'"{name}": "{value}"'
    return f"--{name} {value}" if how == f"--{name}" else f"{how} {name}={value}"


# -- lists typed on the command line -----------------------------------------------------------

_LIST_TOKEN = re.compile(r"[\[\],]|[^\s\[\],]+")


def _parse_list(name: str, text: str, how: str) -> list:
    """`[[2, 1], [1, 1]]` → nested lists of floats. JSON's brackets and commas; each number is
    written as a scalar value is (`1.`, `.5` and `1e-3` are fine), so no JSON parser is used."""
    stack: list[list] = [[]]  # stack[0] receives the finished value
    want_value = True  # a number or `[` may come next (or `]` right after `[`)

    def fail(column: int, what: str) -> InputError:
        return InputError(
            f"the value of {name} ({how}) is not a list of numbers: {what} at column {column}: {text[:60]!r}",
            hint="write e.g. " + _spelled(name, how, "'[[2, 1], [1, 1]]'"),
        )

    for match in _LIST_TOKEN.finditer(text):
        token, column = match.group(), match.start() + 1
        if stack[0]:
            raise fail(column, f"{token!r} comes after the end of the list")
        if token == "[":
            if not want_value:
                raise fail(column, "a comma is missing")
            stack.append([])
        elif token == "]":
            if len(stack) == 1:
                raise fail(column, "this ] closes no [")
            if want_value and stack[-1]:
                raise fail(column, "a number is missing before ]")
            finished = stack.pop()
            stack[-1].append(finished)
            want_value = False
        elif token == ",":
            if want_value:
                raise fail(column, "a number is missing before ,")
            want_value = True
        else:
            if not want_value:
                raise fail(column, "a comma is missing")
            try:
                stack[-1].append(read_number_text(token, finite=False))
            except (ValueError, OverflowError):
                raise fail(column, f"{token[:40]!r} is not a number") from None
            want_value = False
    if len(stack) > 1:
        open_count = len(stack) - 1
        raise fail(
            len(text) + 1, "a [ is not closed" if open_count == 1 else f"{open_count} [ are not closed"
        )
    return stack[0][0]


def read_program(text: str | None) -> str:
    """The program argument, or standard input when it is `-`."""
    if text is None:
        raise InputError(
            "no program given",
            hint='write e.g. backprop eval "(a + b) * c" --a 7 --b 3 --c 2, or pipe it in with -',
        )
    if text != "-":
        return text
    if sys.stdin is None:  # started with standard input closed (`<&-`)
        raise InputError("standard input is closed: there is no program to read", hint=_PIPE_IT_IN)
    try:
        data = sys.stdin.buffer.read()
    except OSError as failure:  # a directory, a device that refuses reads
        raise InputError(
            f"cannot read the program from standard input: {failure.strerror or failure}"
        ) from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark, as editors write one
    except UnicodeDecodeError as failure:
        raise InputError(f"standard input is not valid UTF-8 (byte {failure.start})") from None


_PIPE_IT_IN = (
    'give the program as an argument, or pipe it in: echo "(a + b) * c" | backprop eval - --a 7 --b 3 --c 2'
)


# -- a --WORD that is no input of the program but looks like an option --------------------------

SYNONYMS = {
    # what people type (from other tools' flags) → our option
    "tolerance": "tol",
    "rtol": "tol",
    "atol": "tol",
    "precision": "digits",
    "digit": "digits",
    "sig": "digits",
    "fmt": "format",
    "out": "output",
    "o": "output",
    "learning-rate": "lr",
    "eta": "lr",
    "iterations": "steps",
    "iters": "steps",
    "epochs": "steps",
    "grad": "wrt",
    "params": "wrt",
    "limit": "rows",
    "samples": "check-samples",
    "vars-file": "vars",
    "input": "points",
}

_CLOSE = 0.75  # difflib's ratio above which a word is taken for a misspelt option (max-memroy: 0.9)
_PREFIX = 3  # a shared beginning of at least this many letters: --max-path, --tolerance → --tol


def close_option(word: str, options: tuple[str, ...]) -> str | None:
    """The option (`--tol`) that `word` (`tolerance`, no dashes) most likely means, or None.

    Close is: a known synonym of it, one a prefix of the other (at least three letters), or a
    misspelling (difflib's ratio at least 0.75)."""
    names = [option[2:] for option in options]
    if SYNONYMS.get(word) in names:
        return "--" + SYNONYMS[word]
    if len(word) >= _PREFIX:
        prefixed = [
            name
            for name in names
            if name.startswith(word) or (len(name) >= _PREFIX and word.startswith(name))
        ]
        if prefixed:
            return "--" + max(prefixed, key=lambda name: difflib.SequenceMatcher(None, word, name).ratio())
    close = difflib.get_close_matches(word, names, n=1, cutoff=_CLOSE)
    return "--" + close[0] if close else None


def mistyped_option(
    word: str, command: str, options: tuple[str, ...], elsewhere: dict[str, list[str]]
) -> InputError | None:
    """The error for `--word VALUE` that the program does not use, when it is an option of another
    command (`elsewhere`: option → the commands that have it) or close to one of this command's;
    None when it is neither (a spare input: a warning, told by the caller)."""
    wrong = other_command_option(word, command, options, elsewhere)
    meant = close_option(word, options)
    if wrong is None and meant is None and not is_name(word):  # `eval --max-path 1`: no name, an option
        return _unknown_option(word, command, elsewhere)
    if wrong is not None or meant is None:
        return wrong
    no_input = f", and the program has no input named {word}" if is_name(word) else ""
    return InputError(
        f"unknown option --{word}{no_input.replace(', and', ':')}",
        hint=f"did you mean {meant}? (see backprop {command} --help)",
    )


def _unknown_option(word: str, command: str, elsewhere: dict[str, list[str]]) -> InputError:
    """`--word` that cannot name an input and is no option of this command: the nearest option of
    another command, if one is close (`eval --max-path` → paths' --max-paths)."""
    near = close_option(word, tuple(elsewhere))
    where = f" (an option of {_listed(elsewhere[near])})" if near else ""
    meant = f"did you mean {near}{where}? " if near else ""
    return InputError(f"unknown option --{word}", hint=f"{meant}see backprop {command} --help")


def other_command_option(
    word: str, command: str, options: tuple[str, ...], elsewhere: dict[str, list[str]]
) -> InputError | None:
    """`graph --json`: the error naming the commands that have --word and what this one has instead."""
    others = [name for name in elsewhere.get(f"--{word}", []) if name != command]
    if not others:
        return None
    instead = close_option(word, options) or next((o for o in INSTEAD.get(word, ()) if o in options), None)
    have = f"; {command} has {instead} instead" if instead else ""
    no_input = f", and the program has no input named {word}" if is_name(word) else ""
    return InputError(
        f"--{word} is an option of {_listed(others)}, not of {command}{no_input}",
        hint=f"see backprop {command} --help{have}",
    )


Elsewhere = Callable[[], dict[str, list[str]]]
"""Every command's long options → the commands that have them (the app's, handed down: loading
every command costs start-up time, so it is called only on an error's path)."""

INSTEAD = {
    # an option of other commands → what a command without it may have in its place
    "json": ("--format",),
    "max-paths": ("--rows", "--all"),
    "rows": ("--max-paths",),
    "all": ("--max-paths",),
    "format": ("--json",),
    "output": ("--json", "--save"),
}


def _listed(names: list[str]) -> str:
    """`eval`, `eval and trace`, `eval, trace and paths`."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def is_name(word: str) -> bool:
    """Whether `word` can name an input (`max-path` cannot: it can only be a misspelt option)."""
    return bool(_NAME.match(word))


def wrt_list(wrt: str | None) -> list[str] | None:
    """--wrt's names, split at commas (None without it); checked against the program's inputs by
    graph/wanted.py's check_wrt, which names the closest input to a wrong one."""
    if wrt is None:
        return None
    names = [name.strip() for name in wrt.split(",") if name.strip()]
    if not names:
        raise InputError("--wrt names no input", hint="give input names separated by commas: --wrt a,b")
    return names
