"""The loss curve of `minimize`: drawn in the terminal with braille dots, or saved as an image with
matplotlib (the `plot` extra, imported only when a plot is asked for).

`history[i]` is the loss at step i + 1, as graph/minimize.py counts its steps.
"""

from __future__ import annotations

import math
from pathlib import Path

from ...graph.errors import InputError
from ...graph.kernels import numpy
from ...graph.values import value_text
from .text import one_line, write_atomically

LOG_DECADES = 2
"""With log=None, a log scale when every loss is positive and the largest is more than
10**LOG_DECADES times the smallest."""

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
INSTALL_PLOT = 'pip install "backprop[plot]"'
MIN_WIDTH, MIN_HEIGHT = 16, 2  # room for both step numbers under the axis, and a top and a bottom row
LABEL_MARGIN = 15
"""The most a line of curve_text is wider than `width`: a label (at most 13 characters, -1.23457e-308),
a space and the axis. A terminal of C columns fits curve_text(history, width=C - LABEL_MARGIN)."""

# A braille cell holds 2 × 4 dots; the bit of each, by [dot column][dot row from the top] (U+2800 + bits).
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def use_log_scale(history: list[float], log: bool | None = None) -> bool:
    """Whether to draw on a log scale: as asked, or (log=None) when every loss is positive and they
    span more than LOG_DECADES decades. A history with a loss ≤ 0 is always drawn linear."""
    low, high = min(history), max(history)
    if low <= 0:
        return False
    return log if log is not None else high > low * 10**LOG_DECADES  # not high / low: it overflows


def curve_text(
    history: list[float], *, width: int = 60, height: int = 12, log: bool | None = None, stride: int = 1
) -> str:
    """The loss curve as text: `width` × `height` braille cells (2 × 4 dots each) after a margin
    holding the largest and smallest loss, the steps under it. Each dot column is a bucket of steps
    drawn from its min to its max loss (so noise shows), joined to the column before; a history
    shorter than the dot columns is stretched, a step per run of columns. The losses should be
    finite, as minimize's are; a bucket holding one that is not is left blank. `stride`: history[i]
    is the loss of step 1 + i·stride (a long run keeps every stride-th), for the step labels."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a curve needs width ≥ {MIN_WIDTH} and height ≥ {MIN_HEIGHT}")
    spans = [span if span and _finite(span) else None for span in _column_spans(history, 2 * width)]
    drawn = [span for span in spans if span is not None]
    if not drawn:
        return "loss: no finite loss to draw"
    low, high = min(low for low, _ in drawn), max(high for _, high in drawn)
    log = use_log_scale([low, high], log)
    rows = 4 * height
    to_row = _scale(low, high, log, rows)
    cells = [[0] * width for _ in range(height)]
    for column, span in enumerate(spans):
        if span is not None:
            for row in range(to_row(span[0]), to_row(span[1]) + 1):
                from_top = rows - 1 - row
                cells[from_top // 4][column // 2] |= _DOT_BITS[column % 2][from_top % 4]
    # the largest and smallest loss, by the cell row they fall in (from the top); one label when flat
    labels = {(rows - 1 - to_row(loss)) // 4: value_text(float(loss)) for loss in (high, low)}
    margin = max(map(len, labels.values()))
    lines = ["loss (log scale)" if log else "loss"]
    for top, row_cells in enumerate(cells):
        label, axis = (labels[top], "┤") if top in labels else ("", "│")
        dots = "".join(chr(0x2800 + bits) if bits else " " for bits in row_cells)
        lines.append(f"{label.rjust(margin)} {axis}{dots}".rstrip())
    lines.append(" " * (margin + 1) + "└" + "─" * width)
    lines.append(" " * (margin + 2) + _step_labels(1 + (len(history) - 1) * stride, width).rstrip())
    return "\n".join(lines)


def _column_spans(history: list[float], columns: int) -> list[tuple[float, float]]:
    """(low, high) for each dot column: the min and max loss of its bucket of steps, widened to the
    last loss of the column before so the line has no gaps. No columns for an empty history."""
    count = len(history)
    spans = []
    before = None  # the last loss drawn, in the column before
    for column in range(columns if count else 0):
        first = column * count // columns
        last = max((column + 1) * count // columns, first + 1)  # fewer steps than columns: repeat
        bucket = history[first:last]
        low, high = min(bucket), max(bucket)
        if before is not None:
            low, high = min(low, before), max(high, before)
        spans.append((low, high))
        before = bucket[-1] if math.isfinite(bucket[-1]) else None
    return spans


def _finite(span: tuple[float, float]) -> bool:
    # min() and max() skip a NaN that is not first in its bucket; one that is first, or an infinity, shows here
    return math.isfinite(span[0]) and math.isfinite(span[1])


def _scale(low: float, high: float, log: bool, rows: int):
    """A function: a loss → its dot row, 0 at the bottom (the smallest loss) to rows - 1 (the
    largest). A flat curve is drawn across the middle."""
    if log:
        low, high = math.log10(low), math.log10(high)

    def to_row(loss: float) -> int:
        y = math.log10(loss) if log else loss
        if high == low:
            return rows // 2
        fraction = (y / 2 - low / 2) / (high / 2 - low / 2)  # halves: high - low may pass the largest float
        return min(rows - 1, max(0, round(fraction * (rows - 1))))

    return to_row


def _step_labels(count: int, width: int) -> str:
    """The first step at the left, the last at the right, and `step` between them when it fits."""
    first, last = "1", str(count)
    gap = width - len(first) - len(last)
    return first + ("step".center(gap) if gap >= len("step") + 4 else " " * gap) + last


def save_plot(
    history: list[float], path: Path, *, title: str, log: bool | None = None, stride: int = 1
) -> None:
    """The loss curve as an image, its format from the suffix (.png, .svg or .pdf); the file is
    replaced whole or not at all. Needs matplotlib (the plot extra), imported here and not before."""
    fmt = path.suffix.lower().lstrip(".")
    if f".{fmt}" not in PLOT_SUFFIXES:
        raise InputError(
            f"cannot plot to {str(path)!r}: the file name must end in {', '.join(PLOT_SUFFIXES[:-1])} "
            f"or {PLOT_SUFFIXES[-1]}",
            hint="the suffix chooses the format, e.g. --plot loss.png",
        )
    write_atomically(path, _figure_bytes(history, title, log, fmt, stride), "the plot")


def _figure_bytes(history: list[float], title: str, log: bool | None, fmt: str, stride: int) -> bytes:
    """The image, rendered in memory: a failure here leaves every file as it was. 10⁶ steps took
    0.5-0.7 s in each format (measured; Agg simplifies the path, so nothing is thinned here)."""
    import io

    try:
        from matplotlib import figure, ticker  # through the package: a None in sys.modules stops it here
        from matplotlib.backends import backend_agg
    except ImportError as failure:
        missing = getattr(failure, "name", None) == "matplotlib"
        raise InputError(
            "plotting needs matplotlib, which is not installed"
            if missing
            else f"plotting needs matplotlib, which could not be imported: {failure}",
            hint=INSTALL_PLOT,
        ) from None
    # A Figure on the Agg canvas, not pyplot: no GUI backend, no global state, nothing to close.
    drawing = figure.Figure(figsize=(6.4, 4.0), layout="constrained")
    backend_agg.FigureCanvasAgg(drawing)
    axes = drawing.add_subplot()
    log = bool(history) and use_log_scale(history, log)
    losses, unit = (history, "") if log else _in_units(history)
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_xlabel("step")
    axes.set_ylabel(f"loss{unit}")
    axes.set_title(_plain(title))
    axes.grid(True, alpha=0.3)
    buffer = io.BytesIO()
    with numpy().errstate(all="ignore"):  # a log axis over 600 decades overflows in its margins, harmlessly
        marker = {"marker": "o", "markersize": 3} if len(losses) <= 50 else {}  # each step seen
        axes.plot(range(1, stride * len(losses) + 1, stride), losses, linewidth=1.2, **marker)
        if log:
            axes.set_yscale("log")
        if len(losses) == 1:
            axes.set_xticks([1])  # else the locator, integer or not, ticks 0.96, 0.98, …
        if not losses:  # training diverged or was stopped before its first loss
            axes.set_xticks([]), axes.set_yticks([])
            axes.text(0.5, 0.5, "no steps", transform=axes.transAxes, ha="center")
        drawing.savefig(buffer, format=fmt)
    return buffer.getvalue()


LARGEST_PLAIN = 1e300
"""Past this, a linear axis is drawn in units of a power of ten: matplotlib's tick maths fails from
about 1e308 (measured with matplotlib 3.11: 4e307 drew, 9e307 raised)."""


def _in_units(history: list[float]) -> tuple[list[float], str]:
    """The losses and the unit the axis label gives them: as they are, or over a power of ten (` (× 1e308)`)."""
    largest = max(abs(min(history)), abs(max(history))) if history else 0.0
    if largest <= LARGEST_PLAIN:
        return history, ""
    exponent = math.floor(math.log10(largest))
    return [loss / 10.0**exponent for loss in history], f" (× 1e{exponent})"


def _plain(title: str) -> str:
    """One line of at most 80 characters, `$` escaped: matplotlib reads $…$ as math."""
    return one_line(title).replace("$", r"\$")
