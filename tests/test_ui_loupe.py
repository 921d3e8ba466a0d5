"""Loupe zoom and pan (offscreen): fit <-> 100 % at the cursor, wheel, drag, the full-resolution
decode replacing the preview without losing the view, and the keys in the detail view."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, QSize, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from test_ui_app import open_and_wait, press  # noqa: E402

from photocull.app.ui.detail import MAX_ZOOM, ImageCanvas  # noqa: E402


def image(w, h, colour=(120, 90, 60)):
    img = QImage(w, h, QImage.Format.Format_RGB888)
    img.fill(QColor(*colour))
    return img


@pytest.fixture
def canvas(qtbot):
    c = ImageCanvas()
    qtbot.addWidget(c)
    c.resize(200, 150)
    c.show()
    c.set_image(image(100, 75), natural_size=QSize(800, 600))  # a preview of an 800x600 photo
    return c


def test_fit_and_100_percent_at_the_cursor(canvas):
    assert canvas.zoom is None and canvas.scale() == pytest.approx(0.25)
    assert canvas.image_rect().width() == pytest.approx(200)
    corner = QPointF(50, 37.5)  # the photo point (0.25, 0.25)
    canvas.toggle_zoom(corner)
    assert canvas.zoom == 1.0 and canvas.image_rect().width() == pytest.approx(800)  # one photo pixel per pixel
    p = canvas.photo_point(corner)
    assert (p.x(), p.y()) == (pytest.approx(0.25), pytest.approx(0.25))  # the point stayed under the cursor
    canvas.toggle_zoom()
    assert canvas.zoom is None and canvas.centre == QPointF(0.5, 0.5)


def test_wheel_zoom_is_bounded_and_drag_pans_within_the_photo(canvas, qtbot):
    for _ in range(20):
        canvas.zoom_at(canvas.scale() * 1.25)
    assert canvas.zoom == MAX_ZOOM
    canvas.zoom_at(0.01)
    assert canvas.zoom is None  # below fit is fit
    canvas.set_image(image(50, 40))  # a photo smaller than the widget: 100 % is 1:1, not fit
    canvas.toggle_zoom()
    assert canvas.zoom == 1.0 and canvas.image_rect().width() == pytest.approx(50)
    canvas.zoom_at(0.5)
    assert canvas.zoom is None and canvas.image_rect().width() == pytest.approx(187.5)
    canvas.set_image(image(100, 75), natural_size=QSize(800, 600))
    canvas.set_view(1.0)
    seen = []
    canvas.view_changed.connect(lambda: seen.append(canvas.centre))
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 75))
    qtbot.mouseMove(canvas, QPoint(140, 95))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(140, 95))
    assert seen and canvas.zoom == 1.0  # a drag pans, it does not toggle
    assert canvas.centre.x() == pytest.approx(0.5 - 40 / 800) and canvas.centre.y() == pytest.approx(0.5 - 20 / 600)
    canvas.set_view(1.0, QPointF(-3, 9))  # never off the photo
    r = canvas.image_rect()
    assert r.left() <= 0 and r.top() <= 0 and r.right() >= 200 and r.bottom() >= 150
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))  # a click toggles
    assert canvas.zoom is None


def test_full_resolution_arrives_without_losing_the_view_or_heatmap(canvas):
    canvas.set_heatmap(image(100, 75, (255, 0, 0)))
    canvas.zoom_at(2.0, QPointF(150, 100))
    centre = QPointF(canvas.centre)
    canvas.set_image(image(800, 600), sharper=True)
    assert canvas.pixmap_size == QSize(800, 600) and canvas.has_heatmap
    assert canvas.zoom == 2.0 and canvas.centre == centre
    canvas.set_image(image(50, 50))  # another photo: its own heatmap to come
    assert not canvas.has_heatmap


def test_detail_view_zoom_keys_and_full_decode(qtbot, make_window, env):
    import numpy as np
    from PIL import Image

    tmp_path, _ = env
    folder = tmp_path / "shoot"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.jpg"):  # bigger than the 1600 px preview the loupe shows first
        Image.fromarray((rng.random((40, 60, 3)) * 255).astype(np.uint8)).resize((3000, 2000)).save(folder / name)
    w = make_window()
    open_and_wait(qtbot, w, folder)
    w.set_sort("name")
    w.select_path(folder / "a.jpg")
    w.show_detail()
    canvas = w.detail.canvas
    qtbot.waitUntil(lambda: canvas.pixmap_size == QSize(3000, 2000), timeout=20000)  # the full decode
    assert canvas.natural_size == QSize(3000, 2000) and canvas.zoom is None
    assert canvas.has_heatmap  # the sharper decode kept the heatmap
    press(qtbot, w, Qt.Key.Key_Z)
    assert canvas.zoom == 1.0 and canvas.image_rect().width() == pytest.approx(3000)
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier)
    assert canvas.zoom == 2.0
    press(qtbot, w, Qt.Key.Key_Right)  # the next photo keeps the zoom (checking focus across a burst)
    qtbot.waitUntil(lambda: w.detail.entry.path == folder / "b.jpg" and canvas.has_image, timeout=10000)
    assert canvas.zoom == 2.0
    press(qtbot, w, Qt.Key.Key_Z)
    assert canvas.zoom is None


def test_compare_has_one_active_photo_and_zooms_in_sync(qtbot, make_window, env):
    from test_ui_app import make_photos

    from photocull.app.core.session import PICK, UNFLAGGED

    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.set_sort("name")
    sel = w.grid.selectionModel()
    sel.clearSelection()
    for key in ("sharp0", "sharp1"):
        row = w.proxy.proxy_row_of(photos[key])
        sel.select(w.proxy.index(row, 0), sel.SelectionFlag.Select)
    w.show_compare()
    cmp_ = w.compare
    assert [e.path for e in cmp_.entries] == [photos["sharp0"], photos["sharp1"]] and cmp_.active == 0
    s = w.list_model.session
    press(qtbot, w, Qt.Key.Key_P)  # P acts on the active photo only
    assert (s.get(photos["sharp0"]).flag, s.get(photos["sharp1"]).flag) == (PICK, UNFLAGGED)
    press(qtbot, w, Qt.Key.Key_Right)
    assert cmp_.active == 1
    press(qtbot, w, Qt.Key.Key_3)
    assert s.get(photos["sharp1"]).stars == 3 and s.get(photos["sharp0"]).stars == 0
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo redraws the compare captions
    assert s.get(photos["sharp1"]).stars == 0 and "★" not in cmp_.cells[str(photos["sharp1"])][1].text()
    first, second = (cmp_.cells[str(photos[k])][0] for k in ("sharp0", "sharp1"))
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))  # a click makes a photo active
    assert cmp_.active == 0 and first.zoom is None
    qtbot.waitUntil(lambda: first.has_image and second.has_image, timeout=10000)
    first.resize(100, 80)
    second.resize(100, 80)
    first.zoom_at(2.0, QPointF(10, 10))  # zoom on one photo ...
    assert second.zoom == 2.0 and second.centre == first.centre  # ... zooms the other in sync
    first.set_view(2.0, QPointF(0.7, 0.6), emit=True)  # a pan follows too
    assert second.centre == first.centre
    press(qtbot, w, Qt.Key.Key_Z)
    assert first.zoom is None and second.zoom is None


def test_compare_zooms_into_the_full_resolution_decode(qtbot, make_window, env):
    from test_ui_app import make_photos

    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)  # 128x96 photos
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.previews._load = lambda path, size: image(64, 48)  # previews smaller than the photos
    sel = w.grid.selectionModel()
    sel.clearSelection()
    for key in ("sharp0", "blur0"):
        sel.select(w.proxy.index(w.proxy.proxy_row_of(photos[key]), 0), sel.SelectionFlag.Select)
    w.show_compare()
    canvases = [c for c, _ in w.compare.cells.values()]
    qtbot.waitUntil(lambda: all(c.pixmap_size == QSize(128, 96) for c in canvases), timeout=10000)
    assert all(c.natural_size == QSize(128, 96) for c in canvases)  # 100 % is one pixel of the photo
