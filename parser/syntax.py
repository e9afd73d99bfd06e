"""Syntax errors in words: what the parser found, what it expected, and a hint at the usual slip."""

from __future__ import annotations

import re

from ..graph.errors import ParseError
from .lalr import Token, UnexpectedCharacter, UnexpectedToken

_FIRST_VISIBLE = re.compile(r"\S")


def check_not_empty(text: str) -> None:
    """Raise if the text holds no statement: only blank lines and comments."""
    first = _FIRST_VISIBLE.search(text)
    if first is not None and first[0] != "#":  # the usual case, without splitting a long text into lines
        return
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise ParseError(
            "the program is empty", hint='write an expression, e.g. "(a + b) * c"', line=1, column=1
        )


def syntax_error(text: str, failure: UnexpectedCharacter | UnexpectedToken) -> ParseError:
    """The parser's failure in words, placed where it stopped."""
    if isinstance(failure, UnexpectedCharacter):
        return _unexpected_character(text, failure.position)
    return _unexpected_token(text, failure.token, set(failure.expected))


_TOKEN_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "AT": "'@'",
    "POW": "'**'",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "TRANSPOSE": "'.T'",
    "COMMA": "','",
    "_SEMICOLON": "';'",
    "_NEWLINE": "a new line",
    "$END": "the end of the program",
}
_STARTS_VALUE = {"NUMBER", "NAME", "LPAR", "MINUS", "PLUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "AT", "POW"}
_BINARY_ONLY = {"STAR", "SLASH", "AT", "POW"}  # operators that cannot start an expression


def _unexpected_character(text: str, position: int) -> ParseError:
    return ParseError(
        f"unexpected character {text[position]!r}",
        hint="names are letters, digits and _; operators are + - * / @ ** ^",
    ).at(text, position, position + 1)


def _unexpected_token(text: str, token: Token, expected: set[str]) -> ParseError:
    kind = token.type
    if kind == "$END":
        message = "the program ends too early"
        line, column = _end_position(text)
        error = ParseError(message, hint=_syntax_hint(kind, expected), line=line, column=column)
    else:
        found = (
            f"{kind.lower()} {token.text!r}"
            if kind in ("NAME", "NUMBER")
            else _TOKEN_WORDS.get(kind, repr(token.text))
        )
        message = f"unexpected {found}"
        width = 1 if kind == "_NEWLINE" else len(token.text)
        error = ParseError(message, hint=_syntax_hint(kind, expected)).at(
            text, token.start, token.start + width
        )
    wanted = _expected_words(expected)
    if wanted:
        error.message += f"; expected {wanted}"
        error.args = (error.message,)
    return error


def _expected_words(expected: set[str]) -> str:
    if expected & {"NAME", "NUMBER"} and not expected & _BINARY_ONLY:
        return "an expression (a number, a name, '(' or a function call)"
    words = [_TOKEN_WORDS[name] for name in _TOKEN_WORDS if name in expected]
    if len(words) > 6:
        words = words[:6] + ["…"]
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_hint(kind: str, expected: set[str]) -> str | None:
    if kind == "$END" and "RPAR" in expected:
        return "a bracket is not closed: add ')'"
    if kind in ("NAME", "NUMBER", "LPAR") and expected & _OPERATORS:
        return "an operator is missing: write 2*x, not 2x or 2 x"
    if kind in ("$END", "_NEWLINE", "_SEMICOLON", "RPAR") and expected & _STARTS_VALUE:
        return "an expression is missing here; to go on to the next line, end the line with an operator or open a bracket"
    if kind == "COMMA":
        return "commas only separate the arguments of a call, as in max(a, b)"
    if kind == "EQUAL":
        return "only a plain name can be assigned to, and = is not comparison"
    if "RPAR" in expected:
        return "a bracket is not closed"
    return None


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    column = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, column
