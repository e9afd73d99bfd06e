"""Runs of common statements read with one regex match each: `name = a`, `name = a op b`,
`name = f(a)` (and the same without `name =`), where a and b are names or numbers.

Lexing token by token costs ~3 µs a statement before the LALR loop even starts, more than the rest
of a parse; one match a statement costs a quarter of that, and the tables then see a run of them as
one statement. The reader makes the same Builder calls, in the same order and with the same token
spans, as the tables make for those statements (tests/test_parser_shortcut.py holds the two to the
same Program or the same error), so it changes speed only. Anything else — brackets, unary signs,
two operators, a statement spread over lines — does not match, and the tables read it as before.
A statement that starts a line is first offered to parser/lines.py, which reads the plainest
spelling of these statements without a match and without the Builder's calls.
"""

from __future__ import annotations

import re

# The grammar's NAME and NUMBER (grammar.lark), matched atomically as the lexer matches them: the
# first way the pattern matches is the token, never a shorter one found by backtracking.
NAME = r"([A-Za-z_][A-Za-z0-9_]*+)"
NUMBER = r"((?>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))"
OPERAND = rf"(?:{NUMBER}|{NAME})"  # two groups: the number's, the name's
GAP = r"[ \t\f\r]*+(?:#[^\n]*+)?"  # the ignored text the lexer skips between tokens (a comment ends a line)
SPACE = r"[ \t\f\r]*+"  # the same inside a statement: after a comment only a separator can come
OPERATOR = r"(\*\*|[-+*/@^])"  # `**` first, as the lexer tries POW before STAR

STATEMENT_PATTERN = (
    rf"(?:{NAME}{SPACE}(=){SPACE})?"  # 1 target, 2 `=`
    rf"(?:{NAME}{SPACE}(\(){SPACE}{OPERAND}{SPACE}(\))"  # 3 function, 4 `(`, 5-6 argument, 7 `)`
    rf"|{OPERAND}(?:{SPACE}{OPERATOR}{SPACE}{OPERAND})?)"  # 8-9 left, 10 operator, 11-12 right
    rf"(?={GAP}(?:\n|;|\Z))"  # then a separator or the end: the statement is whole
)
STATEMENT = re.compile(STATEMENT_PATTERN)
NEXT_STATEMENT = re.compile(rf"{GAP}[\n;](?:{GAP}[\n;])*+{GAP}{STATEMENT_PATTERN}")  # the same groups

RUN = 256
"""Statements read in one call at most: the parser checks the program's size between two calls."""

INFIX = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul", "**": "pow", "^": "pow"}


def reader(text: str, callbacks: dict, plain=None):
    """A function of an offset in `text` where a statement starts: reads the run of common
    statements from there (up to RUN, ending early after one without `name =`) and returns the
    last one's value and where its last token ends; None if the first is not a common one.

    `plain` (parser/lines.py) is tried first on each statement that starts a line; what it
    declines, the regex reads. The parser takes the run for one statement: Builder.start sees only
    each run's last value, which is all it reads (the output, and whether a statement without
    `name =` is not the last)."""
    first, following = STATEMENT.match, NEXT_STATEMENT.match
    name, number, arguments, call = (callbacks[key] for key in ("name", "number", "arguments", "call"))
    assign, result, assigned = callbacks["assign"], callbacks["result"], callbacks["assigned"]
    infix = {symbol: callbacks[alias] for symbol, alias in INFIX.items()}

    def read(start: int):
        value, end, left, built = None, start, RUN, None  # built: the last statement, if plain
        while left:
            at = start if end == start else end + 1 if text.startswith("\n", end) else -1
            if plain is not None and at >= 0:
                count, last = plain(at, left)
                if count:
                    left, built, end = left - count, last, last[2]
                    continue
            found = first(text, start) if end == start else following(text, end)
            if found is None:
                break
            spans, end = found.regs, found.end()
            term = _term(spans, text, name, number, arguments, call, infix)
            if spans[1][0] < 0:
                return result(term), end
            value, built, left = assign(spans[1], spans[2], term), None, left - 1
        if built is not None:
            return assigned(*built), end
        return None if end == start else (value, end)

    return read


def _term(spans: tuple, text: str, name, number, arguments, call, infix):
    """The value of the statement the regex found (its groups' spans), built by the Builder's callbacks."""
    if spans[3][0] >= 0:  # f(a)
        argument = number(spans[5]) if spans[5][0] >= 0 else name(spans[6])
        return call(spans[3], spans[4], arguments(argument), spans[7])
    term = number(spans[8]) if spans[8][0] >= 0 else name(spans[9])
    operator = spans[10]
    if operator[0] >= 0:  # a op b: the left operand is built before the right, as when parsed
        right = number(spans[11]) if spans[11][0] >= 0 else name(spans[12])
        term = infix[text[operator[0] : operator[1]]](term, operator, right)
    return term
