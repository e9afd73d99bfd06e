"""How local derivatives are written in the trace and the paths table: `3·b²` for b**3, exponents as
superscripts, and brackets wherever a text is multiplied and would otherwise read as other maths.

A text is a product when it is atoms joined by `·` or `/` (`3·b²`, `1/(2·sqrt(x))`, `b·(1 - b)`): an
atom is a name, a number, a call `f(…)`, a bracketed group `(…)` or Iverson bracket `[x > 0]`, or a
power of one (`b²`, `b^(c-1)`). Multiplied on either side, a product means what it says (g · 1/c is
g/c, left to right); anything else (a sum, a leading minus) is bracketed: `g · (1 - h2²)`, `g · (-1)`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decimal import Decimal

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\s+|.")
"""Names, numbers as the language spells them (`1e-3` is one token, its `-` no minus), and single
characters; a name comes first so that `e2` is a name."""

_PRODUCT = frozenset("·/^∂")
"""The only operators allowed outside brackets in a product (`∂c/∂a` is one too)."""


def operand(label: str) -> str:
    """A node's label as an operand inside a local text: a negative literal (`-1`, folded by the
    parser) in brackets, so that `-x/y²` over it reads `-(-1)/a²`; names and numbers as they are."""
    return f"({label})" if label.startswith("-") else label


def is_product(text: str) -> bool:
    """True if `text` is atoms joined by `·` or `/` (see the module docstring)."""
    depth = 0
    for token in _TOKEN.findall(text):
        if token in "([":
            depth += 1
        elif token in ")]":
            depth -= 1
        elif depth == 0 and not _in_product(token):
            return False  # a space, `+`, `-`, `<`, `×`, …: more than a product at the top level
    return depth == 0 and bool(text)


def _in_product(token: str) -> bool:
    """A name, a number, a superscript digit or `·`, `/`, `^`, `∂`."""
    first = token[0]
    return (
        (first.isascii() and (first.isalnum() or first in "_."))
        or token in _SUPERSCRIPTS
        or token in _PRODUCT
    )


def factor(text: str) -> str:
    """A local derivative as a factor of `parent.grad · …` or `… × …`: bracketed unless a product."""
    return text if is_product(text) else f"({text})"


def power_rule_text(x: str, y: str) -> str:
    """d(x^y)/dx as text: `3·b²` when the exponent is a number literal, else `y·x^(y-1)`.

    The exponent less one is worked out in decimal, so the text is exact: 2.3456789 gives
    `2.3456789·b^1.3456789`, not a float's 1.3456788999999999 or a rounded 1.34568."""
    from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext  # here: 5 ms at start-up, for traces only

    # A negative literal comes bracketed, as operand() writes it, and as the parser folded it: `- 2`, `--2`.
    literal = re.fullmatch(r"\(?([-+\s]*)((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\)?", y)
    if literal is None:
        return f"{y}·{x}^({y}-1)"  # a name or a letter: no literal to subtract 1 from
    signs, digits = literal.groups()
    with localcontext() as context:  # 40 digits hold every float64 literal's, and one subtracted
        context.prec, context.Emax, context.Emin = 40, MAX_EMAX, MIN_EMIN
        n = Decimal(digits).copy_negate() if signs.count("-") % 2 else Decimal(digits)
        m = n - 1
        coefficient, power = _decimal_text(n), _decimal_text(m)
    if n == 0:
        return "0"
    if m == 0:
        return "1"
    if m == 1:
        return f"{coefficient}·{x}"
    if m == m.to_integral_value() and abs(m) < 10**6:
        return f"{coefficient}·{x}{str(int(m)).translate(_SUPERSCRIPT)}"
    return f"{coefficient}·{x}^{power if _TOKEN.fullmatch(power) else f'({power})'}"


def _decimal_text(d: Decimal) -> str:
    """A decimal without trailing zeros: 2.500000e+00 is `2.5`, 1E3 is `1000`, 1e300 is `1e+300`."""
    d = d.normalize()
    if -7 <= d.adjusted() < 16:
        return format(d, "f")
    return str(d).lower()
