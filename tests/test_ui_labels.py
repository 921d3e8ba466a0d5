"""GUI: colour labels on keys 6-9 (undoable, cached, exported as xmp:Label, drawn on the tile) and
the stars / colour-label filters of the toolbar."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QStyleOptionViewItem  # noqa: E402
from test_ui_app import make_photos, open_and_wait, press, proxy_names  # noqa: E402

from photocull.app.core import xmp  # noqa: E402
from photocull.app.core.session import PICK  # noqa: E402
from photocull.app.ui.delegate import LABEL_QCOLOURS, label_colour  # noqa: E402


def test_label_keys_toggle_undo_persist_and_export(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    s = w.list_model.session
    w.set_sort("name")  # b0, b1, b2, s0, s1, s2
    w.select_path(photos["blur0"])
    w.grid.setFocus()
    qtbot.wait(20)
    b0 = s.get(photos["blur0"])
    for key, colour in ((Qt.Key.Key_6, "Red"), (Qt.Key.Key_7, "Yellow"), (Qt.Key.Key_8, "Green"),
                        (Qt.Key.Key_9, "Blue")):
        press(qtbot, w, key)
        assert b0.label == colour
        assert w.bridge.cache.get_decision(photos["blur0"]).label == colour  # saved at once
    press(qtbot, w, Qt.Key.Key_9)  # the same key again clears it
    assert b0.label is None and w.bridge.cache.get_decision(photos["blur0"]).label is None
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undoable like flags and stars
    assert b0.label == "Blue" and w.bridge.cache.get_decision(photos["blur0"]).label == "Blue"
    press(qtbot, w, Qt.Key.Key_P)
    assert (b0.flag, b0.label) == (PICK, "Blue")  # a flag keeps the label
    # the tile shows it; painting a labelled tile works
    assert label_colour(b0) == LABEL_QCOLOURS["Blue"] and label_colour(s.get(photos["blur1"])) is None
    img = QImage(220, 260, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    opt = QStyleOptionViewItem()
    opt.rect = img.rect()
    w.delegate.paint(painter, opt, w.proxy.index(w.proxy.proxy_row_of(b0.path), 0))
    painter.end()
    assert img.pixelColor(5, 130).rgb() == LABEL_QCOLOURS["Blue"].rgb()  # the frame round the cell
    assert "label: Blue" in w.proxy.index(w.proxy.proxy_row_of(b0.path), 0).data(Qt.ItemDataRole.ToolTipRole)

    # exported as xmp:Label (the photographer's label, not the verdict's Green), read back on reopen
    with qtbot.waitSignal(w.export_done, timeout=20000):
        w.export(xmp_naming="replace")
    assert xmp.read_photo(photos["blur0"])["label"] == "Blue"
    assert xmp.read_photo(photos["blur0"])["rating"] == 1
    open_and_wait(qtbot, w, tmp_path / "shoot")
    assert w.list_model.session.get(photos["blur0"]).label == "Blue"


def test_star_and_label_filters(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    s = w.list_model.session
    s.set_stars([photos["sharp0"], photos["blur1"]], 2)
    s.set_stars([photos["sharp1"]], 5)
    s.toggle_label([photos["sharp0"], photos["sharp2"]], "Red")
    s.toggle_label([photos["blur2"]], "Purple")
    w.list_model.refresh(list(photos.values()))
    w.set_sort("name")
    w.stars_box.setCurrentIndex(w.stars_box.findData(2))  # the combo drives the proxy
    assert proxy_names(w) == ["b1_blur.jpg", "s0_sharp.jpg", "s1_sharp.jpg"]
    w.set_filter(min_stars=5)
    assert proxy_names(w) == ["s1_sharp.jpg"] and w.stars_box.currentData() == 5
    w.set_filter(min_stars=0)
    w.label_box.setCurrentIndex(w.label_box.findData("Red"))
    assert proxy_names(w) == ["s0_sharp.jpg", "s2_sharp.jpg"]
    w.set_filter(min_stars=2)  # the filters combine
    assert proxy_names(w) == ["s0_sharp.jpg"]
    w.set_filter(min_stars=0, label="Purple")
    assert proxy_names(w) == ["b2_blur.jpg"] and w.label_box.currentText() == "Purple"
    w.set_filter(label="none")
    assert proxy_names(w) == ["b0_blur.jpg", "b1_blur.jpg", "s1_sharp.jpg"]
    # a label given in the filtered view: the photo leaves it, the place is kept
    w.select_path(photos["blur0"])
    w.grid.setFocus()
    qtbot.wait(20)
    press(qtbot, w, Qt.Key.Key_6)
    assert proxy_names(w) == ["b1_blur.jpg", "s1_sharp.jpg"] and w.current_entry().path == photos["blur1"]
    w.set_filter(label="any")
    assert len(proxy_names(w)) == 6
