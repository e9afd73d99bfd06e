"""Tables that fit the width there is, without ever folding a number.

Each column says how it gives way when the table is wider than the terminal: a number column
never (each cell stays whole, one line a row); a text column is shortened with … down to `least`
characters (and then left out, if it `drops`); a wrapping column wraps between words, never inside
one. Columns
give way in the order of their `gives` (1 first). A table that is still too wide is printed wider
than the terminal (the terminal folds its lines, a file keeps them) rather than cut a number.

Rich is imported inside the functions only, so `--json` runs never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .encoding import can_hold

if TYPE_CHECKING:
    from rich.table import Table

EDGE = 3
"""Columns a table spends on each column besides its text: a padding space each side and a border
(plus one more for the table's left edge)."""


class Column(NamedTuple):
    """A column of a fitted table: its header, where its text leans, and how it gives way."""

    header: str
    justify: str = "left"
    gives: int = 0  # 0: never narrowed (a number); else the order in which it gives way, 1 first
    least: int = 0  # never shortened below this: left out instead (drops), or kept this wide
    wraps: bool = False  # gives way by wrapping between words (never left out)
    middle: bool = False  # shortened in the middle (a name: both ends tell), else at its end
    drops: bool = False  # left out when it cannot be `least` wide (the expression, the op)


class Styled(NamedTuple):
    """A cell with a Rich style: `Styled("✓", "green")`."""

    text: str
    style: str


class Gap(NamedTuple):
    """A row standing for rows left out: `⋮` and a note in the widest text column still shown
    (`short` where `note` would be cut)."""

    note: str
    short: str = ""


def fit_table(console, columns: list[Column], rows: list, *, styles: list | None = None) -> Table:
    """A Rich table of `rows` (each a list of str or Styled cells, or a Gap) laid out to the
    console's width: numbers whole, text columns shortened or left out as their Column says."""
    from rich.table import Table
    from rich.text import Text

    shown = getattr(console, "shown", str)  # escapes and ASCII stand-ins (text.py)
    cells = [row if isinstance(row, Gap) else [_cell(shown, cell) for cell in row] for row in rows]
    headers = [shown(column.header) for column in columns]
    widths = []
    for index, header in enumerate(headers):
        texts = [row[index][0] for row in cells if not isinstance(row, Gap)]
        widths.append(max(map(_width, [header, *texts])))
    kept = _plan(columns, headers, cells, widths, console.width)
    mark = "…" if can_hold(console.encoding, "…") else "..."
    table = Table(title_justify="left", caption_justify="left")
    for index, width in kept.items():
        column = columns[index]
        table.add_column(
            headers[index],
            justify=column.justify,
            width=width,
            no_wrap=not column.wraps,
            overflow="fold" if column.wraps else "crop",
        )
    for number, row in enumerate(cells):
        if isinstance(row, Gap):
            table.add_row(*_gap_cells(columns, kept, shown, row, mark))
            continue
        texts = []
        for index, width in kept.items():
            text, style = row[index]
            if columns[index].gives and not columns[index].wraps:
                text = cut(text, width, mark, middle=columns[index].middle)
            texts.append(Text(text, style=style or ""))
        table.add_row(*texts, style=None if styles is None else styles[number])
    total = sum(kept.values()) + EDGE * len(kept) + 1
    if total > console.width:
        table.width = total  # wider than the terminal rather than a number cut: print with crop=False
    return table


def _cell(shown, cell) -> tuple[str, str | None]:
    if isinstance(cell, Styled):
        return shown(cell.text), cell.style
    return shown(cell), None


def _width(text: str) -> int:
    """The columns the widest line of `text` takes."""
    from rich.cells import cell_len

    return max(map(cell_len, text.split("\n")))


def _words(text: str) -> int:
    """The columns the longest word of `text` takes: a header or wrapped cell is never narrower."""
    from rich.cells import cell_len

    return max((cell_len(word) for word in text.split()), default=0)


def _plan(columns, headers, cells, widths: list[int], available: int) -> dict[int, int]:
    """Column index → width, for the columns kept: those that give way do, in order, until the
    table fits in `available` columns or none can give more. Wrapping columns give way together,
    the widest first, so that they end alike."""
    widths = list(widths)
    excess = sum(widths) + EDGE * len(widths) + 1 - available
    least = [max(column.least, _words(header)) for column, header in zip(columns, headers)]
    for index, column in enumerate(columns):
        if column.wraps:  # a word is never folded
            texts = [row[index][0] for row in cells if not isinstance(row, Gap)]
            least[index] = max([least[index], *map(_words, texts)])
    wrapping = [index for index, column in enumerate(columns) if column.wraps]
    for order in sorted({column.gives for column in columns if column.gives}):
        for index, column in enumerate(columns):
            if column.gives != order or excess <= 0:
                continue
            if column.wraps and index == min(wrapping, key=lambda i: columns[i].gives):
                excess = _narrow_together(widths, least, wrapping, excess)
            elif column.wraps:
                continue
            elif widths[index] - excess >= least[index]:
                widths[index] -= excess
                excess = 0
            elif column.drops:  # too narrow to read: left out
                excess -= widths[index] + EDGE
                widths[index] = None
            else:  # a label: as narrow as it may be, and no narrower
                narrowest = min(widths[index], least[index])
                excess -= widths[index] - narrowest
                widths[index] = narrowest
    return {index: width for index, width in enumerate(widths) if width is not None}


def _narrow_together(widths: list, least: list[int], indexes: list[int], excess: int) -> int:
    """Take `excess` columns from the widest of `indexes`, a column at a time, none below its
    least; returns what is still to take."""
    while excess > 0:
        roomy = [i for i in indexes if widths[i] > least[i]]
        if not roomy:
            break
        widest = max(roomy, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return excess


def _gap_cells(columns: list[Column], kept: dict[int, int], shown, gap: Gap, mark: str) -> list:
    """`⋮` in the first column, the note in the widest text column kept (none kept: no note)."""
    from rich.text import Text

    texts = [Text("")] * len(kept)
    texts[0] = Text(shown("⋮"))
    text_columns = [position for position, index in enumerate(kept) if position and columns[index].gives]
    if text_columns:
        widths = list(kept.values())
        position = max(text_columns, key=lambda at: widths[at])
        note = gap.short if gap.short and _width(shown(gap.note)) > widths[position] else gap.note
        texts[position] = Text(cut(shown(note), widths[position], mark), style="dim")
    return texts


def cut(text: str, width: int, mark: str = "…", *, middle: bool = False) -> str:
    """`text` shortened to `width` columns, `mark` where it was cut: at its end, or its middle."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    if width <= len(mark):
        return mark[:width]
    keep = width - len(mark)
    head = keep - keep // 2 if middle else keep
    tail = keep // 2 if middle else 0
    start, end = text[:head], text[len(text) - tail :] if tail else ""
    while start and cell_len(start) + len(mark) + cell_len(end) > width:  # wide characters
        start = start[:-1]
    return start + mark + end


def title_text(console, prefix: str, expression: str) -> str:
    """`prefix` and the expression on one line, as wide as the console (… where it is cut)."""
    from .text import one_line

    shown = getattr(console, "shown", str)
    mark = "…" if can_hold(console.encoding, "…") else "..."
    return cut(shown(prefix + one_line(expression, console.width)), console.width, mark)


def print_table(console, table: Table, title: str | None = None) -> None:
    """`title` (already one line) and the table, which may be wider than the terminal (fit_table)."""
    from rich.markup import escape

    if title is not None:
        console.print(escape(title), no_wrap=True, crop=False)
    console.print(table, crop=False)
