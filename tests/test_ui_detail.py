"""The detail view's side column (offscreen): a long file name is elided instead of widening it,
the heatmap legend's labels never overlap, and the reasons show with their severity."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QFontMetrics  # noqa: E402

from photocull.app.core.session import CullSession, Entry  # noqa: E402
from photocull.app.ui.detail import CompareView, DetailView, ElidedLabel  # noqa: E402
from photocull.app.ui.item_models import PhotoListModel, reasons_text  # noqa: E402
from photocull.app.ui.legend import TICKS, HeatLegend  # noqa: E402

LONG = "2024-06-15_wedding_ceremony_second_shooter_" + "x" * 60 + "_IMG_4821_final_edit.jpg"


@pytest.fixture
def detail(qtbot):
    d = DetailView()
    qtbot.addWidget(d)
    d.resize(1000, 700)
    d.show()
    qtbot.waitExposed(d)
    return d


def test_a_long_file_name_is_elided_in_the_middle_and_never_widens_the_column(detail, qtbot):
    side = detail.title.parentWidget()
    width = side.width()
    detail.show_entry(Entry(Path("/shoot") / LONG, score=61.0))
    qtbot.wait(10)
    shown = detail.title.text()
    assert shown != LONG and "…" in shown
    head, tail = shown.split("…")
    assert LONG.startswith(head) and LONG.endswith(tail) and tail.endswith(".jpg") and head  # the middle went
    assert QFontMetrics(detail.title.font()).horizontalAdvance(shown) <= detail.title.contentsRect().width()
    assert side.width() == width and detail.title.width() <= width
    assert detail.title.full_text == LONG and detail.title.toolTip() == LONG
    detail.show_entry(Entry(Path("/shoot/IMG_1.jpg")))
    assert detail.title.text() == "IMG_1.jpg"  # a short name shows whole


@pytest.mark.parametrize("point_size", [8, 11, 16, 22])
def test_legend_labels_never_overlap_at_any_width(qtbot, point_size):
    legend = HeatLegend()
    qtbot.addWidget(legend)
    font = legend.font()
    font.setPointSize(point_size)
    legend.setFont(font)
    fm = QFontMetrics(font)
    full = legend.sizeHint().width()
    for width in (20, 60, 100, 150, 200, 246, 300, full, 600):
        rects = legend.label_rects(width)
        for i, (a, text) in enumerate(rects):
            assert 0 <= a.left() and a.right() <= width + 0.01, (width, text)
            assert fm.horizontalAdvance(text) <= a.width() + 1
            for b, other in rects[i + 1:]:
                assert not a.intersects(b) and b.left() >= a.right(), (point_size, width, text, other)
        if width >= full:  # room enough: every label whole, the middle one centred under its tick
            assert [t for _, t in rects] == [t for _, t in TICKS]
            assert rects[1][0].center().x() == pytest.approx(width * TICKS[1][0], abs=1)
    legend.resize(120, legend.sizeHint().height())
    legend.show()
    legend.repaint()  # paints the elided labels without error


def test_the_detail_view_and_tooltip_show_each_reason_with_its_severity(detail):
    e = Entry(Path("/shoot/a.jpg"), score=30.0,
              findings=[("noisy", 0.9, "strong"), ("underexposed", 0.55, "mild")])
    detail.show_entry(e)
    assert detail.reasons_label.text() == "noisy (strong) · underexposed (mild)"
    assert e.reasons == ["noisy", "underexposed"]  # the tiles' compact labels
    model = PhotoListModel()
    model.set_session(CullSession([e]))
    tip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[-1] == reasons_text(e) == "noisy (strong) · underexposed (mild)"
    detail.show_entry(Entry(Path("/shoot/b.jpg"), score=80.0))
    assert detail.reasons_label.text() == ""  # no reason named, nothing shown


def test_compare_columns_keep_their_width_with_a_long_file_name(qtbot):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.show()
    view.show_entries([Entry(Path("/shoot") / LONG, score=50.0), Entry(Path("/shoot/b.jpg"), score=70.0)])
    qtbot.wait(20)
    boxes = [view.cells[str(p)][0].parentWidget() for p in (Path("/shoot") / LONG, Path("/shoot/b.jpg"))]
    assert abs(boxes[0].width() - boxes[1].width()) <= 2 and boxes[0].width() < 420
    names = boxes[0].findChildren(ElidedLabel)
    assert len(names) == 1 and names[0].full_text == LONG and "…" in names[0].text()
    assert view.cells[str(Path("/shoot/b.jpg"))][1].text().startswith("<b")  # the score caption beside it
