"""Text for people on stderr: error messages with the caret under their place, and warnings; and
what makes any text safe to print: escapes for what a terminal would obey, shortening for what
would flood it.

The JSON error object is built by render/json.py; this module writes the words.
"""

from __future__ import annotations

import re
import sys
from itertools import accumulate
from pathlib import Path

from ...graph.errors import BackpropError, InputError
from ...graph.values import value_text
from .encoding import fitted

# What a terminal acts on instead of showing: C0 and C1 controls, DEL, the bidirectional marks,
# embeddings, overrides and isolates (text that reads in another order than it runs), and lone
# surrogates (undecodable bytes of a file name, which UTF-8 cannot encode).
# (Patterns as text: re compiles and caches them on first use, not at every start-up.)
_HIDDEN = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_HIDDEN_ON_ONE_LINE = f"[\x00-\x1f{_HIDDEN}]"
_HIDDEN_BETWEEN_LINES = f"[\x00-\x09\x0b-\x1f{_HIDDEN}]"
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with every character a terminal would obey rather than show written as its escape
    (`\\x1b`, `\\u202e`, `\\t`), as Python's repr writes it; with `lines`, a newline stays a line break."""
    return re.sub(_HIDDEN_BETWEEN_LINES if lines else _HIDDEN_ON_ONE_LINE, _escape, text)


WORD_LIMIT = 120
"""A word (a name, a number, a file name) longer than this is shortened in the middle in a message,
as program.expr shortens a subexpression (EXPR_PREVIEW)."""

MESSAGE_LIMIT = 1000
"""A message or hint longer than this (every one of 20,000 missing inputs) is shortened in the middle."""

_LONG_WORD = rf"\S{{{WORD_LIMIT + 1},}}"


def middle(text: str, limit: int, mark: str = "…") -> str:
    """`text` cut to `limit` characters by taking out its middle, `mark` where it was."""
    if len(text) <= limit:
        return text
    head = (limit - len(mark)) // 2
    return text[:head] + mark + text[len(text) - (limit - len(mark) - head) :]


def shortened(text: str) -> str:
    """A message bounded whatever it quotes: long words and the whole shortened in the middle."""
    if len(text) > WORD_LIMIT:
        text = re.sub(_LONG_WORD, lambda word: middle(word.group(), WORD_LIMIT), text)
    return middle(text, MESSAGE_LIMIT, " … ")


def said(text: str) -> str:
    """A message as it is printed: shortened, then made visible (so no escape is cut in two)."""
    return visible(shortened(text))


def error_text(error: BackpropError, source: str | None) -> str:
    """The message, the offending line with a caret under the place, and the fix."""
    lines = [f"error: {said(error.message)}"]
    if error.line is not None and error.column is not None:
        lines.append(f"  --> line {error.line}, column {error.column}")
        if source is not None:
            source_lines = source.split("\n")
            if 0 < error.line <= len(source_lines):
                line = source_lines[error.line - 1]
                line = line[:-1] if line.endswith("\r") else line  # \r\n ends a line, as \n does
                text, offset, width = _window(line.replace("\t", " "), error.column - 1, error.width)
                gutter = str(error.line)
                lines.append(f"{' ' * len(gutter)} |")
                lines.append(f"{gutter} | {text}")
                lines.append(f"{' ' * len(gutter)} | {' ' * offset}{'^' * width}")
    if error.hint:
        lines.append(f"hint: {said(error.hint)}")
    return "\n".join(lines)


ERROR_LINE_WIDTH = 100
"""A longer source line is shown as a window of this many characters around the error's place."""


def _window(line: str, start: int, width: int) -> tuple[str, int, int]:
    """(the line as shown, where the caret starts in it, how many carets). Hidden characters are
    shown as escapes, and the caret counts the columns they take; a line longer than
    ERROR_LINE_WIDTH is shown as that many characters from a little before the place, with …"""
    start = min(start, len(line))
    # An escape only lengthens a character, so the window lies within this slice of the line.
    low, high = max(0, start - ERROR_LINE_WIDTH), min(len(line), start + ERROR_LINE_WIDTH)
    encoding = getattr(sys.stderr, "encoding", None)  # ASCII stand-ins take their own width too
    pieces = [fitted(visible(char), encoding) for char in line[low:high]]
    at = [0, *accumulate(map(len, pieces))]  # at[i]: where character low + i starts when shown
    shown = "".join(pieces)
    caret = at[start - low]
    carets = max(1, at[min(start + width, high) - low] - caret)
    if low == 0 and high == len(line) and len(shown) <= ERROR_LINE_WIDTH:
        return shown, caret, carets
    first = max(0, min(caret - ERROR_LINE_WIDTH // 3, len(shown) - ERROR_LINE_WIDTH))
    first = next(position for position in at if position >= first)  # cut between escapes, not in one
    last = max(position for position in at if position <= first + ERROR_LINE_WIDTH)
    before, after = first > 0 or low > 0, last < len(shown) or high < len(line)
    text = ("…" if before else "") + shown[first:last] + ("…" if after else "")
    return text, caret - first + (1 if before else 0), max(1, min(carets, last - caret))


def print_error(error: BackpropError, source: str | None) -> None:
    sys.stderr.write(error_text(error, source) + "\n")


def print_internal_error(failure: Exception) -> tuple[str, str]:
    """A bug of ours, told in two lines instead of a traceback (BACKPROP_TRACEBACK=1 shows it);
    returns (message, hint) for the JSON error object."""
    message = shortened(f"internal error: {type(failure).__name__}: {failure}")
    hint = (
        "this is a bug in backprop: please report it with the command line; BACKPROP_TRACEBACK=1 shows where"
    )
    sys.stderr.write(f"error: {visible(message)}\nhint: {hint}\n")
    return message, hint


_StdoutConsole = None


def stdout_console(**options):
    """A Rich console on standard output whose broken pipe reaches the command's output rule
    (cli/app.py: exit 141, quietly); Rich's own handler would exit 1. Every string it prints shows
    hidden characters as escapes (newlines stay) and, where the output's encoding lacks them, ASCII
    for `∂ · →` (encoding.py); `:name:` is never read as an emoji. Rich loads here, not before."""
    global _StdoutConsole
    if _StdoutConsole is None:
        from rich.console import Console

        class PipeAwareConsole(Console):
            def on_broken_pipe(self) -> None:
                raise BrokenPipeError

            def render_str(self, text: str, **options):
                # Every str printed, a table's titles and cells too, passes here before its markup
                # is read; an escape is never markup, so this cannot change what the markup says.
                # ASCII stand-ins go in here too, so that a table measures the text it prints.
                return super().render_str(self.shown(text), **options)

            def shown(self, text: str) -> str:
                """`text` as this console prints it: hidden characters as escapes, and the
                characters its encoding cannot hold as ASCII."""
                return fitted(visible(text, lines=True), self.encoding)

        _StdoutConsole = PipeAwareConsole
    return _StdoutConsole(**{"emoji": False, **options})


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {said(message)}\n")


def one_line(text: str, limit: int = 80) -> str:
    """`text` on one line, as a title shows it: whitespace folded, cut at `limit` with …, and
    hidden characters as escapes."""
    words = text.split(maxsplit=limit)  # past `limit` words, the text is cut anyway: fold no more
    text = " ".join(words[:limit])
    return visible(text if len(text) <= limit and len(words) <= limit else text[: limit - 1] + "…")


def output_path(name: str, option: str) -> Path:
    """The file an output option names. A name that starts with `-` is refused: far more often it
    is an option that took the file's place (`--output --json`) than a file, which ./-name writes."""
    if not name:
        raise InputError(f"{option} needs a file name")
    if name.startswith("-"):
        raise InputError(
            f"{option} {name!r} looks like an option, not a file name",
            hint=f"to write a file of that name, give {option} ./{name}",
        )
    return Path(name)


def write_atomically(path: Path, data: bytes, what: str) -> None:
    """Write a new file beside `path` and rename it over `path`: a failure never leaves a
    half-written file where a good one was. A symbolic link is followed (the file it names is
    replaced, the link stays); what is not a regular file (/dev/stdout, a pipe) cannot be renamed
    over and is written straight into. `what` names the file in the error (`--save`)."""
    import contextlib
    import os
    import stat
    import uuid

    def failed(failure: OSError) -> InputError:
        return InputError(f"cannot write {what} {str(path)!r}: {failure.strerror or failure}")

    target = Path(os.path.realpath(path))
    try:
        if target.exists() and not stat.S_ISREG(target.stat().st_mode):
            with open(target, "wb") as stream:
                stream.write(data)
            return
    except OSError as failure:
        raise failed(failure) from None
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "xb") as stream:  # "x": a new file, its mode from the umask as any other
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # the bytes reach the disk before the rename says they have
        os.replace(temporary, target)
    except OSError as failure:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise failed(failure) from None


def kink_text(kink, program) -> str:
    """One node at a kink in words, as eval, trace and batch warn of it: `relu(a) is at a kink
    (a = 0): relu′ is 0 from the left and 1 from the right; the lectures' convention takes
    relu′(0) = 0`. Constant inputs do not move, so only the others' derivatives are said."""
    from ...graph.values import value_text

    name, inputs = program.ops[kink.node].name, program.inputs_of(kink.node)
    moving = [i for i, node_id in enumerate(inputs) if program.needs_grad[node_id]]  # not constants
    operands = [program.expr(inputs[i], limit=40) for i in moving]
    first = kink.inputs[moving[0]]  # a tie's inputs are equal; leaky_relu(x, s)'s slope is not at the kink
    at = " = ".join(
        [*(text for i, text in zip(moving, operands) if kink.inputs[i] == first), value_text(first)]
    )
    if kink.index is None:
        where = f"({at})"
    else:
        first = ", ".join(map(str, kink.index))
        where = f"in {kink.count} of {kink.size} elements, the first at [{first}] ({at} there)"
    if len(inputs) == 1:
        slopes = [f"{name}′"]
        taken = f"{name}′({value_text(kink.inputs[0])}) = {value_text(kink.taken[0])}"
    else:
        slopes = [f"∂{name}/∂{_operand(text)}" for text in operands]
        taken = " and ".join(f"{d} = {value_text(kink.taken[i])}" for d, i in zip(slopes, moving))
    sides = [
        f"{value_text(kink.left[i])} from the left and {value_text(kink.right[i])} from the right"
        for i in moving
    ]
    if len(sides) == 2 and sides[0] == sides[1]:  # a tie: both inputs alike
        said = f"{slopes[0]} and {slopes[1]} are each {sides[0]}"
    else:
        said = ", ".join(f"{d} is {side}" for d, side in zip(slopes, sides))
    expr = program.expr(kink.node, limit=60)
    return f"{expr} is at a kink {where}: {said}; the lectures' convention takes {taken}"


def warn_about_kinks(evaluation) -> list:
    """Warn once for each node whose derivative was taken at a kink (eval, trace); returns the kinks."""
    from ...graph.engine import kink_points

    program = evaluation.program
    kinks = kink_points(program, evaluation.values, evaluation.grads)
    for kink in kinks:
        warn(kink_text(kink, program))
    return kinks


def _operand(text: str) -> str:
    """An operand as the variable of a derivative: `a`, or `(a - b)`."""
    return text if text.isidentifier() else f"({text})"


def warn_about_check(report, program, *, kinks_told: bool = False) -> None:
    """Kinks the gradient check met, and inputs it could not check, said on stderr (eval, minimize).
    `kinks_told`: the command has warned of every kink that reaches a gradient (warn_about_kinks),
    so the check says no more of them (the others change no gradient)."""
    for node_id in () if kinks_told else report.kink_nodes:
        warn(
            f"{program.expr(node_id, limit=60)} is evaluated exactly at a kink; its derivative there "
            "is a convention (relu'(0) = 0, abs'(0) = 0, a max/min tie splits evenly), so the numeric "
            "gradient may differ; inputs upstream are not failed for it"
        )
    for item in report.inputs:
        if item.note:
            warn(f"gradient check of {item.name}: {item.note}")


def check_texts(each) -> list[str]:
    """One compared element of the gradient check as its table writes it (the Rich table and the
    Markdown one): analytic, numeric, absolute and relative error, `—` where there is none."""
    return [
        value_text(each.analytic),
        "—" if each.numeric is None else value_text(each.numeric),
        "—" if each.abs_error is None else f"{each.abs_error:.2e}",
        "—" if each.rel_error is None else f"{each.rel_error:.2e}",
    ]
