"""How the power rule is written in the trace: `3·b²` for b**3, exponents as superscripts."""

from __future__ import annotations

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power_rule_text(x: str, y: str) -> str:
    """d(x^y)/dx as text: `3·b²` when the exponent is a number literal, else `y·x^(y-1)`."""
    if not (y[:1].isdigit() or y[:1] == "."):  # a name or a letter: no literal to subtract 1 from
        return f"{y}·{x}^({y}-1)"
    n = float(y)
    if n == 0.0:
        return "0"
    m = n - 1.0
    if m == 0.0:
        return "1"
    if m == 1.0:
        return f"{y}·{x}"
    power = f"{m:g}".translate(_SUPERSCRIPT) if m.is_integer() and abs(m) < 1e6 else f"^{m:g}"
    return f"{y}·{x}{power}"
