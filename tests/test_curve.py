"""The loss curve of `minimize`: as text for the terminal (its shape, its labels, its scale) and as
an image through matplotlib (real files, written whole or not at all, and the missing extra)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest

from backprop.cli.render.curve import LABEL_MARGIN, curve_text, save_plot
from backprop.graph.errors import InputError
from backprop.graph.values import value_text

DECREASING = [10.0 - 0.09 * step for step in range(100)]  # 10 → 1.09: under a decade, drawn linear
TEN_DECADES = [10.0 ** (-step / 10) for step in range(101)]  # 1 → 1e-10
NEGATIVE = [-1.0 - 0.03 * step + 0.2 * math.sin(step) for step in range(200)]


def plot_rows(text: str) -> list[str]:
    """The cells right of the y axis, one string per row, top row first (the axis line excluded)."""
    rows = []
    for line in text.splitlines()[1:]:
        if "└" in line:
            break
        axis = next(i for i, char in enumerate(line) if char in "┤│")
        rows.append(line[axis + 1 :])
    return rows


def y_labels(text: str) -> list[str]:
    """The numbers written left of the y axis, top first."""
    return [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]


def top_row_drawn(rows: list[str], column: int) -> int | None:
    """The highest row with a dot in this character column, 0 at the top."""
    return next((i for i, row in enumerate(rows) if column < len(row) and row[column] != " "), None)


def assert_clean(text: str, width: int) -> None:
    """No nan or inf anywhere, and no line wider than the plot and its label margin."""
    assert "nan" not in text.lower() and "inf" not in text.lower()
    margin = max(map(len, y_labels(text)), default=0)
    assert max(map(len, text.splitlines())) <= width + margin + 2  # the label, a space, the axis


# -- curve_text: the shape and the labels ------------------------------------------------------


def test_a_decreasing_loss_starts_at_the_top_left_and_ends_at_the_bottom_right():
    text = curve_text(DECREASING, width=60, height=12)
    rows = plot_rows(text)
    assert len(rows) == 12
    assert top_row_drawn(rows, 0) == 0
    assert top_row_drawn(rows, 59) == 11
    assert text.splitlines()[0] == "loss"
    assert y_labels(text) == [value_text(10.0), value_text(DECREASING[-1])]
    steps = text.splitlines()[-1].split()
    assert (steps[0], steps[-1]) == ("1", "100")
    assert_clean(text, 60)


def test_a_flat_loss_is_one_line_with_one_label():
    text = curve_text([2.5] * 40, width=30, height=6)
    drawn = [row for row in plot_rows(text) if row.strip()]
    assert len(drawn) == 1 and len(drawn[0]) == 30 and " " not in drawn[0]
    assert y_labels(text) == ["2.5"]
    assert_clean(text, 30)


def test_a_single_step_draws_a_flat_line_from_step_1_to_step_1():
    text = curve_text([0.7], width=20, height=4)
    assert y_labels(text) == ["0.7"]
    assert sum(1 for row in plot_rows(text) if row.strip()) == 1
    assert text.splitlines()[-1].split() == ["1", "step", "1"]
    assert_clean(text, 20)


def test_a_million_steps_draw_in_a_bounded_size_and_time():
    history = [10.0 * math.exp(-step / 1e5) * (1 + 0.1 * math.sin(step)) for step in range(10**6)]
    start = time.perf_counter()
    text = curve_text(history, width=60, height=12)
    seconds = time.perf_counter() - start
    assert seconds < 2.0, seconds  # 0.04 s measured: a min and a max per bucket, at C speed
    assert len(text.splitlines()) == 1 + 12 + 2  # the scale, the rows, the axis and its steps
    assert len(text) < 2_000
    assert text.splitlines()[-1].split()[-1] == "1000000"
    assert_clean(text, 60)


def test_ten_decades_are_drawn_on_a_log_scale_where_a_geometric_decrease_is_straight():
    text = curve_text(TEN_DECADES, width=60, height=12)
    assert text.splitlines()[0] == "loss (log scale)"
    assert y_labels(text) == ["1", "1e-10"]
    rows = plot_rows(text)
    assert (top_row_drawn(rows, 0), top_row_drawn(rows, 59)) == (0, 11)
    assert abs(top_row_drawn(rows, 30) - 5.5) <= 1  # halfway along, halfway down
    assert_clean(text, 60)


def test_two_decades_or_less_stay_linear_unless_asked():
    history = [100.0 - step for step in range(100)]  # 100 → 1: exactly two decades
    assert curve_text(history).splitlines()[0] == "loss"
    assert curve_text(history, log=True).splitlines()[0] == "loss (log scale)"
    assert curve_text(TEN_DECADES, log=False).splitlines()[0] == "loss"


@pytest.mark.parametrize("log", [None, True])
def test_negative_losses_are_drawn_linear_even_when_log_is_asked(log):
    text = curve_text(NEGATIVE, width=40, height=8, log=log)
    assert text.splitlines()[0] == "loss"
    assert y_labels(text) == [value_text(max(NEGATIVE)), value_text(min(NEGATIVE))]
    assert_clean(text, 40)


@pytest.mark.parametrize(
    "history",
    [
        [1e308, -1e308, 0.0],  # the span itself is past the largest float
        [5e-324, 1e308],  # the smallest subnormal to the largest: 632 decades
        [0.0, 0.0],
        [1.0, 1.0 + 1e-15, 1.0],
    ],
)
def test_extreme_histories_draw_without_nan_or_inf(history):
    text = curve_text(history, width=20, height=3)
    assert len(plot_rows(text)) == 3
    assert_clean(text, 20)


def test_a_terminal_of_c_columns_fits_a_curve_of_c_minus_the_label_margin():
    longest = [-1.2345678e-308, -9.87654321e307]  # labels of 13 characters, the longest a float has
    text = curve_text(longest, width=80 - LABEL_MARGIN)
    assert max(map(len, y_labels(text))) == 13
    assert max(map(len, text.splitlines())) <= 80


def test_an_empty_history_says_so():
    assert curve_text([]) == "loss: no finite loss to draw"


def test_a_plot_too_small_for_its_labels_is_refused():
    with pytest.raises(ValueError, match="width"):
        curve_text(DECREASING, width=8)


# -- save_plot: real images through matplotlib ---------------------------------------------------


@pytest.fixture
def matplotlib():
    return pytest.importorskip("matplotlib", reason='the plot extra is not installed: pip install ".[test]"')


def test_a_png_is_a_real_png(matplotlib, tmp_path):
    path = tmp_path / "loss.png"
    save_plot(TEN_DECADES, path, title="(a + b) * c")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1_000
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temporary file left behind


def test_an_svg_is_an_svg_document(matplotlib, tmp_path):
    path = tmp_path / "loss.SVG"  # the suffix in any case
    save_plot(DECREASING, path, title="x$_{$: a dollar is not math")
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "step" in path.read_text(encoding="utf-8")  # axis labels are drawn as text or glyph ids


@pytest.mark.parametrize(
    "history",
    [[0.7], NEGATIVE, [1e308, -1e308], [5e-324, 1e308], []],  # [] : diverged before the first loss
)
def test_a_pdf_of_any_history_is_a_pdf(matplotlib, tmp_path, history):
    path = tmp_path / "loss.pdf"
    save_plot(history, path, title="loss")
    assert path.read_bytes().startswith(b"%PDF-")


def test_a_new_plot_replaces_an_old_one_whole(matplotlib, tmp_path):
    path = tmp_path / "loss.png"
    path.write_bytes(b"the old plot")
    save_plot(DECREASING, path, title="again")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_an_unknown_suffix_names_the_ones_accepted_and_touches_nothing(tmp_path):
    path = tmp_path / "loss.jpg"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError) as raised:
        save_plot(DECREASING, path, title="loss")
    assert all(suffix in raised.value.message for suffix in (".png", ".svg", ".pdf"))
    assert path.read_bytes() == b"keep me"


def test_a_folder_that_does_not_exist_is_an_input_error_naming_the_path(matplotlib, tmp_path):
    path = tmp_path / "no such folder" / "loss.png"
    with pytest.raises(InputError) as raised:
        save_plot(DECREASING, path, title="loss")
    assert str(path) in raised.value.message
    assert not path.parent.exists()


def test_a_plot_that_cannot_be_renamed_into_place_leaves_nothing_behind(matplotlib, tmp_path):
    (tmp_path / "loss.png").mkdir()  # a folder where the file should go
    with pytest.raises(InputError, match="loss.png"):
        save_plot(DECREASING, tmp_path / "loss.png", title="loss")
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_a_failed_render_leaves_the_old_file_as_it_was(matplotlib, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    path = tmp_path / "loss.png"
    path.write_bytes(b"the old plot")

    def fail(*args, **kwargs):
        raise RuntimeError("the renderer fell over")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(RuntimeError):
        save_plot(DECREASING, path, title="loss")
    assert path.read_bytes() == b"the old plot"
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]


def test_without_matplotlib_the_error_says_how_to_install_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    path = tmp_path / "loss.png"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError) as raised:
        save_plot(DECREASING, path, title="loss")
    assert "matplotlib" in raised.value.message
    assert raised.value.hint == 'pip install "backprop[plot]"'
    assert path.read_bytes() == b"keep me"


def test_importing_the_curve_module_does_not_import_matplotlib():
    code = "import sys, backprop.cli.render.curve; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
