"""What the output's encoding can hold. A Windows console, `> file` there (cp1252) or an ASCII
stream (`PYTHONIOENCODING=ascii`) cannot write `∂ · → ²` or box drawing: there each character the
stream cannot encode is written as ASCII (`dL/db`, `*`, `->`, `^2`, `+--+`) instead of the run
failing halfway through.
Detected once, from each stream's own encoding (fit_streams); Rich's console applies the same
stand-ins before it measures a table's cells (text.py, stdout_console).
"""

from __future__ import annotations

import sys

PROBE = "∂·→²─✓⋮—…"
"""Characters backprop prints that cp1252 (a Windows console, `> file` there) or ASCII lack. A
stream that cannot encode them all writes each character it cannot hold as ASCII."""

_STAND_INS = {
    **dict.fromkeys("∂", "d"),
    **dict.fromkeys("·⋅∙", "*"),
    **dict.fromkeys("×", "x"),
    **dict.fromkeys("—–−‐", "-"),
    **dict.fromkeys("⋮", ":"),
    **dict.fromkeys("′", "'"),
    **dict.fromkeys("‖", "|"),
    "→": "->",
    "←": "<-",
    "…": "...",
    "✓": "ok",
    "✗": "X",
    "⚠": "!",
    "≈": "~",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "∇": "grad ",
    "Σ": "sum ",
    "η": "eta",
    "β": "beta",
    "θ": "theta",
    "ε": "eps",
    "σ": "sigma",
    "λ": "lambda",
    "µ": "mu",
    "½": "1/2",
    "⊙": ".*",
    "↑": "^",
    "↓": "v",
    "◆": "*",
    "ᵗ": "^t",
    "ᵀ": "^T",
    "√": "sqrt",
    "∞": "inf",
    "±": "+/-",
}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789", strict=True))
_ERRORS = "backprop-ascii"


def ascii_stand_in(text: str) -> str:
    """`text` in ASCII: `∂L/∂a · 2 → b²` as `dL/da * 2 -> b^2`; box drawing as `-`, `|` and `+`;
    anything else as its escape (`\\u03b1`)."""
    import unicodedata

    pieces, position = [], 0
    while position < len(text):
        char = text[position]
        for marks, lead in ((_SUPERSCRIPTS, "^"), (_SUBSCRIPTS, "_")):
            if char in marks:  # a run of them is one exponent or index: x⁻¹ as x^-1
                end = position
                while end < len(text) and text[end] in marks:
                    end += 1
                pieces.append(lead + "".join(marks[c] for c in text[position:end]))
                position = end
                break
        else:
            if char.isascii():
                pieces.append(char)
            elif char in _STAND_INS:
                pieces.append(_STAND_INS[char])
            elif "\u2500" <= char <= "\u257f":  # box drawing: a tree's or a table's lines
                name = unicodedata.name(char, "")
                pieces.append("-" if "HORIZONTAL" in name else "|" if "VERTICAL" in name else "+")
            elif "\u2800" <= char <= "\u28ff":  # braille dots: the loss curve, a cell for a cell
                pieces.append(_braille(ord(char) - 0x2800))
            elif unicodedata.combining(char):  # an accent over the letter before it (ŝ): left off
                pass
            else:
                pieces.append(char.encode("ascii", "backslashreplace").decode("ascii"))
            position += 1
    return "".join(pieces)


def _braille(dots: int) -> str:
    """A braille cell as one ASCII character: `'` for dots in its upper half, `.` lower, `:` both."""
    upper, lower = dots & 0x1B, dots & 0xE4  # dots 1, 2, 4, 5 and dots 3, 6, 7, 8
    return ":" if upper and lower else "'" if upper else "." if lower else " "


def _stand_in(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return ascii_stand_in(error.object[error.start : error.end]), error.end


def can_hold(encoding: str | None, text: str = PROBE) -> bool:
    """Whether `encoding` can write `text` (a stream without one is taken as UTF-8)."""
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def fit_streams() -> None:
    """Once, at start: standard output and error, where their encoding cannot hold PROBE, write each
    character they cannot encode as ASCII (ascii_stand_in) instead of failing halfway through."""
    _register()
    for stream in (sys.stdout, sys.stderr):
        if not can_hold(getattr(stream, "encoding", None)) and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors=_ERRORS)
            except (ValueError, OSError):  # closed, or not a text file after all: written as it is
                pass


def fitted(text: str, encoding: str | None) -> str:
    """`text` as a stream of `encoding` writes it: unchanged where it can, else with ASCII stand-ins.
    For Rich, which must measure a cell as it will be printed."""
    if text.isascii() or can_hold(encoding, text):
        return text
    _register()
    try:
        return text.encode(encoding, _ERRORS).decode(encoding)
    except LookupError:  # an encoding Python does not know: ASCII, which every one holds
        return ascii_stand_in(text)


def _register() -> None:
    import codecs

    try:
        codecs.lookup_error(_ERRORS)
    except LookupError:
        codecs.register_error(_ERRORS, _stand_in)
