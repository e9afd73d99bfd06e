"""The one exception family of backprop: every kind carries where it happened and how to fix it.

The library raises; only the CLI prints (with a caret under the column) and picks the exit code.
"""

from __future__ import annotations


class BackpropError(Exception):
    """Something the user can fix: a message, the place in the program (1-based line/column) and a hint."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        width: int = 1,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.width = max(1, width)
        self.hint = hint
        self.library_hint: str | None = None  # the fix in Python's words, where the hint names options

    def at(self, source: str, start: int, end: int | None = None) -> BackpropError:
        """Attach the place of the span source[start:end] and return self (for `raise err.at(...)`)."""
        self.line, self.column = line_and_column(source, start)
        if end is not None:
            self.width = max(1, min(end, _line_end(source, start)) - start)
        return self


class ParseError(BackpropError):
    """The text is not a program of the language (syntax)."""

    kind = "syntax"


class NamingError(BackpropError):
    """A name is unknown, unbound, or bound twice."""

    kind = "name"


NameError_ = NamingError
"""The old spelling, kept: scripts that catch NameError_ still work."""


class ArityError(BackpropError):
    """A function was called with the wrong number of arguments."""

    kind = "arity"


class DomainError(BackpropError):
    """A value or derivative is undefined or not finite (log(-1), 1/0, overflow)."""

    kind = "domain"


class ShapeError(BackpropError):
    """Operand shapes do not fit the operation."""

    kind = "shape"


class LimitError(BackpropError):
    """A resource limit was exceeded; the hint says how to raise it."""

    kind = "limit"


class InputError(BackpropError):
    """A value, file or option given to the program is malformed."""

    kind = "input"


def line_and_column(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset into source."""
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _line_end(source: str, offset: int) -> int:
    end = source.find("\n", offset)
    return len(source) if end < 0 else end
