"""Plain statements — `v = a op b` or `v = f(a)` alone on a line, one space around `=` and the
operator — read with `str.split` and built straight onto the Program.

The regex of parser/shortcut.py costs ~1 µs a statement, and the Builder's calls about as much
again; read this way, the benchmark's programs of 10⁵ nodes parse in half the time (2.2–3.2 µs a
node against 4.3–5.7: bench/parser.py's shapes, build.PLAIN on and off). Whatever the fast way
would get wrong is declined before anything is built, and then read by the regex or the tables as
before: another spacing, a tab, `\\r`, a comment, non-ASCII text, a line past LONGEST, a constant's
or a function's name, a target already bound or an input or one of its own operands, an exponent
in a number, a number too large. A plain line makes the same nodes, spans, names and operator
places as the tables (tests/test_parser_shortcut.py compares all three ways).
"""

from __future__ import annotations

import math

from ..graph.ops import CONSTANTS, FUNCTIONS, OPS
from ..graph.program import Program
from .shortcut import INFIX

INFIX_OPS = {symbol: OPS[name] for symbol, name in INFIX.items()}
NUMBER_STARTS = frozenset("0123456789.")
RESERVED = frozenset(CONSTANTS) | frozenset(FUNCTIONS)
LONGEST = 240
"""The longest line read as plain: longer ones are left to the regex (each statement looks this far)."""


class PlainLines:
    """Called with an offset where a line starts and a count: builds the plain lines from there on,
    at most `count`, and returns how many it built and, for the last one, (its node, where its
    value starts, where it ends)."""

    def __init__(self, text: str, program: Program) -> None:
        self.text, self.program = text, program
        self.bindings, self.inputs = program.bindings, program.inputs
        self.numbers: dict[str, float] = {}  # the numbers read so far, by their text
        self.ascii = text.isascii()  # one scan of an ASCII text, not one a line

    def __call__(self, at: int, count: int) -> tuple[int, tuple]:
        text, bindings, inputs, bind = self.text, self.bindings, self.inputs, self.program.bind_new
        built = node = value_at = end = 0
        while built < count:
            # Bounded: `a; b; …` on one long line costs a statement no more than a short line does.
            stop = text.find("\n", at, at + LONGEST)
            if stop < 0 and len(text) - at > LONGEST:
                break
            line = text[at:stop] if stop >= 0 else text[at:]
            parts = line.split(" ")
            target = parts[0]
            if target in bindings or target in inputs or target in RESERVED:
                break  # bound twice, an input rebound, a constant or a function: the Builder says
            if not ((self.ascii or line.isascii()) and target.isidentifier()):
                break
            starts, ends = at + len(target) + 3, at + len(line)  # the value's; and the line's end
            if len(parts) == 5:
                made = self._infix(parts, starts, ends)
            elif len(parts) == 3:
                made = self._call(parts, starts, ends)
            else:
                break
            if made is None:
                break
            bind(target, made, at)
            built, node, value_at, end, at = built + 1, made, starts, ends, stop + 1
            if stop < 0:
                break
        return built, (node, value_at, end)

    def _infix(self, parts: list[str], value_at: int, end: int) -> int | None:
        """The node of `target = left symbol right`, or None (nothing built)."""
        target, equal, left, symbol, right = parts
        op = INFIX_OPS.get(symbol)
        if op is None or equal != "=" or target == left or target == right:
            return None  # `v = v + 1` is an input v bound after its use: the Builder says so
        bindings, numbers = self.bindings, self.numbers
        first = bindings.get(left)
        if first is None and (first := numbers.get(left)) is None and (first := self._operand(left)) is None:
            return None
        second = bindings.get(right)
        if (
            second is None
            and (second := numbers.get(right)) is None
            and (second := self._operand(right)) is None
        ):
            return None
        right_at = value_at + len(left) + len(symbol) + 2
        if type(first) is not int:  # the left operand is made before the right, as parsed
            first = self._make(first, left, value_at)
        if type(second) is not int:
            second = self._make(second, right, right_at)
        return self.program.add_infix(op, first, second, value_at, end, right_at - len(symbol) - 1)

    def _call(self, parts: list[str], value_at: int, end: int) -> int | None:
        """The node of `target = f(argument)`, or None (nothing built)."""
        target, equal, call = parts
        bracket = call.find("(")
        op = FUNCTIONS.get(call[:bracket]) if bracket > 0 and call[-1] == ")" else None
        if op is None or equal != "=" or not op.takes(1):
            return None
        argument = call[bracket + 1 : -1]
        found = self.bindings.get(argument)
        if found is None and (argument == target or (found := self._operand(argument)) is None):
            return None
        if type(found) is not int:
            found = self._make(found, argument, value_at + bracket + 1)
        return self.program.add1(op, found, value_at, end)

    def _operand(self, token: str):
        """An input's node id, a float to make a constant of, a str naming a new input; None if
        not plain (a bound name was looked up before)."""
        node = self.inputs.get(token)
        if node is not None:
            return node
        if token[:1] in NUMBER_STARTS:
            whole, _, fraction = token.partition(".")
            if not (whole + fraction).isdigit():  # 12, 1.5, .5 and 3.; an exponent is the regex's
                return None
            value = float(token)
            if value == math.inf:
                return None  # too large: the tables say so
            self.numbers[token] = value
            return value
        return token if token.isidentifier() and token not in RESERVED else None

    def _make(self, found, token: str, start: int) -> int:
        """The node of an operand _operand found plain, at offset `start`: a constant or a new input."""
        if type(found) is float:
            return self.program.add_constant(found, start, start + len(token))
        return self.program.variable(token, start, start + len(token))
