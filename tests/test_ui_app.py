"""GUI end to end (offscreen): open, score on a worker, sort, filter, cull by keys, undo, export, shutdown."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from PySide6.QtCore import QSettings, Qt, QThread  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from photocull.app.core.cache import Cache  # noqa: E402
from photocull.app.core.session import PICK, REJECT, UNFLAGGED  # noqa: E402
from photocull.app.ui.bridge import EngineBridge  # noqa: E402
from photocull.app.ui.mainwindow import COMPARE, DETAIL, MainWindow  # noqa: E402
from photocull.app.ui.settings import Settings  # noqa: E402

from fakes import LaplacianScorer  # noqa: E402


def make_photos(folder: Path, n_sharp=3, broken=True, seed=0) -> dict[str, Path]:
    """Sharp random-texture images, a blurred copy of each, and one truncated JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_sharp):
        arr = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
        sharp = Image.fromarray(arr).resize((128, 96), Image.Resampling.NEAREST)
        out[f"sharp{i}"] = folder / f"s{i}_sharp.jpg"
        sharp.save(out[f"sharp{i}"], quality=95)
        out[f"blur{i}"] = folder / f"b{i}_blur.jpg"
        sharp.filter(ImageFilter.GaussianBlur(4)).save(out[f"blur{i}"], quality=95)
    if broken:
        data = (folder / "s0_sharp.jpg").read_bytes()
        out["broken"] = folder / "z_broken.jpg"
        out["broken"].write_bytes(data[:40])
    return out


def open_and_wait(qtbot, w, folder, timeout=30000):
    with qtbot.waitSignal(w.folder_loaded, timeout=timeout):
        w.open_folder(folder)
    qtbot.wait(20)


def press(qtbot, w, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key as the user types it: through the window, so shortcuts (QActions) fire."""
    qtbot.keyClick(w.windowHandle(), key, modifier)
    qtbot.wait(5)


def proxy_names(w):
    return [e.name for e in w.visible_entries()]


def test_open_score_sort_filter_and_error_tile(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot")
    scorer = LaplacianScorer()
    w = make_window(scorer)
    open_and_wait(qtbot, w, tmp_path / "shoot")
    s = w.list_model.session
    assert len(s) == 7
    # scoring ran on a worker thread, never on the GUI thread
    assert scorer.threads and threading.main_thread().name not in scorer.threads
    for i in range(3):
        assert s.get(photos[f"sharp{i}"]).score > s.get(photos[f"blur{i}"]).score
    broken = s.get(photos["broken"])
    assert broken.failed and broken.score is None and broken.error
    # the error tile shows the reason
    from photocull.app.ui.item_models import ThumbErrorRole

    row = w.proxy.proxy_row_of(photos["broken"])
    assert w.proxy.index(row, 0).data(ThumbErrorRole) == broken.error

    w.set_sort("score")
    names = proxy_names(w)
    assert names[:3] == sorted(names[:3], key=lambda n: -s.get(photos["sharp" + n[1]]).score) and all(
        "sharp" in n for n in names[:3])
    assert names[-1] == "z_broken.jpg"  # failed photos sort last
    w.set_sort("name")
    assert proxy_names(w) == sorted(proxy_names(w), key=str.lower)

    lo = max(s.get(photos[f"blur{i}"]).score for i in range(3)) + 0.01
    w.set_filter(lo=lo, hi=100)
    assert sorted(proxy_names(w)) == ["s0_sharp.jpg", "s1_sharp.jpg", "s2_sharp.jpg", "z_broken.jpg"]
    w.set_filter(lo=0, hi=100, decision="error")
    assert proxy_names(w) == ["z_broken.jpg"]
    w.set_filter(decision="all")
    assert len(proxy_names(w)) == 7
    assert "1 error" in w.counts_label.text()

    # thumbnails of painted rows are loaded (QImage on the pool, QPixmap on the GUI thread)
    qtbot.waitUntil(lambda: w.list_model.has_thumbnail(str(photos["sharp0"])), timeout=10000)


def test_keyboard_culling_undo_persist_and_auto_advance(qtbot, make_window, env):
    tmp_path, settings = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.set_sort("name")  # b0, b1, b2, s0, s1, s2
    w.select_path(photos["blur0"])
    w.grid.setFocus()
    qtbot.wait(50)
    s = w.list_model.session
    press(qtbot, w, Qt.Key.Key_X)
    assert s.get(photos["blur0"]).flag == REJECT
    press(qtbot, w, Qt.Key.Key_3)
    assert s.get(photos["blur0"]).stars == 3
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.get(photos["blur0"]).stars == 0 and s.get(photos["blur0"]).flag == REJECT
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert s.get(photos["blur0"]).stars == 3
    # arrow keys move through the grid (the list view's own navigation)
    qtbot.keyClick(w.grid, Qt.Key.Key_Right)
    assert w.current_entry().path == photos["blur1"]
    press(qtbot, w, Qt.Key.Key_P)
    assert s.get(photos["blur1"]).flag == PICK
    press(qtbot, w, Qt.Key.Key_U)
    assert s.get(photos["blur1"]).flag == UNFLAGGED

    # auto-advance: each decision moves to the next photo
    w.act_auto_advance.trigger()
    assert settings.auto_advance
    w.select_path(photos["sharp0"])
    press(qtbot, w, Qt.Key.Key_P)
    assert w.current_entry().path == photos["sharp1"]
    press(qtbot, w, Qt.Key.Key_X)
    assert w.current_entry().path == photos["sharp2"]
    assert (s.get(photos["sharp0"]).flag, s.get(photos["sharp1"]).flag) == (PICK, REJECT)
    assert "1 picked · 2 rejected · 3 left" in w.counts_label.text()
    press(qtbot, w, Qt.Key.Key_P)  # the last photo: auto-advance stays there, never jumps back
    assert w.current_entry().path == photos["sharp2"] and s.get(photos["sharp2"]).flag == PICK
    press(qtbot, w, Qt.Key.Key_U)

    # decisions are persisted in the engine cache right away
    with Cache(tmp_path / "cache" / "c.sqlite3") as c:
        d = c.get_decisions([photos["blur0"], photos["sharp0"], photos["sharp1"]])
    assert (d[photos["blur0"]].flag, d[photos["blur0"]].stars) == (REJECT, 3)
    assert d[photos["sharp0"]].flag == PICK and d[photos["sharp1"]].flag == REJECT

    # ... and come back when the folder is opened again (scores from the cache, no model work)
    scorer2 = LaplacianScorer()
    # heatmaps of their own (the default one runs the scorer on its patches): scorer2 sees only scoring
    w2 = make_window(scorer2, explainer_factory=lambda: lambda img: np.zeros((img.height, img.width), np.float32))
    open_and_wait(qtbot, w2, tmp_path / "shoot")
    assert w2.list_model.session.get(photos["sharp0"]).flag == PICK
    assert all(e.cached for e in w2.list_model.session.entries)
    assert not scorer2.threads  # nothing was predicted


def test_auto_cull_and_export_lists_xmp_and_move_with_undo(qtbot, make_window, env):
    tmp_path, settings = env
    photos = make_photos(tmp_path / "shoot", broken=True)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    changed = w.auto_cull(top_percent=50)
    s = w.list_model.session
    assert len(changed) == 6
    assert {p.name for p in s.with_flag(PICK)} == {"s0_sharp.jpg", "s1_sharp.jpg", "s2_sharp.jpg"}
    assert s.get(photos["broken"]).flag == UNFLAGGED
    w.undo()
    assert not s.with_flag(PICK)
    w.redo()
    out = tmp_path / "lists"
    with qtbot.waitSignal(w.export_done, timeout=20000):
        w.export(lists_dir=str(out), xmp_naming="replace")
    keep = (out / "keep.txt").read_text().split("\n")
    assert sorted(Path(p).name for p in keep if p) == ["s0_sharp.jpg", "s1_sharp.jpg", "s2_sharp.jpg"]
    assert "z_broken.jpg" in (out / "review.txt").read_text()
    xmp = (tmp_path / "shoot" / "b0_blur.xmp").read_text()
    assert 'Rating="-1"' in xmp or "<xmp:Rating>-1<" in xmp
    assert not (tmp_path / "shoot" / "z_broken.xmp").exists()

    # move into Keep/ Reject/, the folder reloads with decisions carried over; then undo the move
    with qtbot.waitSignal(w.folder_loaded, timeout=30000):
        with qtbot.waitSignal(w.export_done, timeout=20000):
            w.export(organize="move")
    assert (tmp_path / "shoot" / "Keep" / "s0_sharp.jpg").exists()
    assert (tmp_path / "shoot" / "Reject" / "b0_blur.jpg").exists()
    assert not photos["sharp0"].exists()
    assert "file(s) moved into Keep/ and Reject/" in w.log_view.toPlainText()
    moved = w.list_model.session.get(tmp_path.resolve() / "shoot" / "Keep" / "s0_sharp.jpg")
    assert moved.flag == PICK and moved.score is not None and moved.cached
    with qtbot.waitSignal(w.folder_loaded, timeout=30000):
        with qtbot.waitSignal(w.export_done, timeout=20000):
            w.undo_move()
    assert photos["sharp0"].exists() and photos["blur0"].exists()
    assert w.list_model.session.get(photos["sharp0"].resolve()).flag == PICK
    assert "ERROR" not in w.log_view.toPlainText()


def test_stale_generation_never_paints_over_new_folder(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "A", n_sharp=6, broken=False, seed=1)
    b = make_photos(tmp_path / "B", n_sharp=1, broken=False, seed=2)
    w = make_window(LaplacianScorer(delay=0.3))  # A is still scoring when B is opened
    w.open_folder(tmp_path / "A")
    qtbot.waitUntil(lambda: len(w.list_model.session) == 12, timeout=10000)
    # worst case: A's worker is NOT cancelled and keeps emitting; only the generation stamp protects B
    w.cancel_scoring = lambda: None
    with qtbot.waitSignal(w.folder_loaded, timeout=30000):
        gen_b = w.open_folder(tmp_path / "B")
    # let A's worker finish whatever it was doing; nothing of A may show up afterwards (the loupe's
    # long-lived workers, started to ready B's first heatmap, stay)
    qtbot.waitUntil(lambda: not any(t.objectName().startswith(("photocull-score", "photocull-analysis"))
                                    for t in w.registry.threads()), timeout=30000)
    qtbot.wait(100)
    assert w.generation == gen_b
    assert w.stale_dropped > 0  # A did deliver results after B was opened, and they were dropped
    assert sorted(e.path for e in w.list_model.session.entries) == sorted(p.resolve() for p in b.values())
    assert all(str(tmp_path / "A") not in str(e.path) for e in w.list_model.session.entries)
    assert all(e.score is not None for e in w.list_model.session.entries)


def test_detail_view_heatmap_navigation_and_compare(qtbot, make_window, env):
    tmp_path, settings = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    calls = []

    def explainer_factory():
        def explain(img):
            calls.append(threading.current_thread().name)
            h, w_ = img.height, img.width
            cam = np.zeros((h, w_), np.float32)
            cam[: h // 2] = 1.0  # "the top half is what lowered the score"
            return cam

        return explain

    w = make_window(explainer_factory=explainer_factory)
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.set_sort("name")
    w.select_path(photos["blur0"])
    w.grid.setFocus()
    qtbot.wait(20)
    press(qtbot, w, Qt.Key.Key_Return)
    assert w.stack.currentIndex() == DETAIL and w.detail.entry.path == photos["blur0"]
    qtbot.waitUntil(lambda: w.detail.canvas.has_heatmap, timeout=15000)
    assert calls and threading.main_thread().name not in calls
    assert w.detail.score_label.text() == f"{w.list_model.session.get(photos['blur0']).score:.1f}"
    shown = w.detail.grab().toImage()
    top = QImage.pixelColor(shown, shown.width() // 3, shown.height() // 3)
    assert top.red() > top.blue()  # 'jet' red where the map is high
    press(qtbot, w, Qt.Key.Key_H)
    assert not w.detail.canvas.show_heat and not settings.show_heatmap
    press(qtbot, w, Qt.Key.Key_H)
    w.detail.opacity.setValue(80)
    assert settings.heatmap_opacity == 80
    # arrows: next / previous photo; decisions work in the detail view too
    qtbot.keyClick(w.detail, Qt.Key.Key_Right)
    assert w.detail.entry.path == photos["blur1"]
    press(qtbot, w, Qt.Key.Key_P)
    assert w.list_model.session.get(photos["blur1"]).flag == PICK
    assert "Picked" in w.detail.decision_label.text()
    qtbot.keyClick(w.detail, Qt.Key.Key_Left)
    assert w.detail.entry.path == photos["blur0"]
    qtbot.waitUntil(lambda: w.detail.canvas.has_heatmap, timeout=15000)
    qtbot.keyClick(w.detail, Qt.Key.Key_Escape)
    assert w.stack.currentWidget() is w.grid

    # compare: two selected photos side by side
    w.grid.selectAll()
    w.show_compare()
    assert w.stack.currentIndex() == COMPARE and len(w.compare.cells) == 6
    qtbot.waitUntil(lambda: all(c.has_image for c, _ in w.compare.cells.values()), timeout=15000)


def test_worker_exception_is_shown_in_log_dock(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", n_sharp=1, broken=False)

    class Boom(LaplacianScorer):
        def predict_batch(self, x):
            raise RuntimeError("model exploded")

    w = make_window(Boom())
    open_and_wait(qtbot, w, tmp_path / "shoot")
    assert "model exploded" in w.log_view.toPlainText()
    assert w.log_dock.isVisible()


def test_cancel_stops_between_batches_and_shutdown_joins_threads(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", n_sharp=8, broken=False)
    scorer = LaplacianScorer(delay=0.25)
    w = make_window(scorer)
    w.open_folder(tmp_path / "shoot")
    qtbot.waitUntil(lambda: w.list_model.session.counts()["scored"] >= 1, timeout=20000)
    with qtbot.waitSignal(w.folder_loaded, timeout=20000):
        w.cancel_button.click()
    assert w.list_model.session.counts()["scored"] < 16
    assert "cancelled" in w.log_view.toPlainText()
    # a heavy folder still loading at close: closeEvent stops and joins everything
    w.open_folder(tmp_path / "shoot")
    qtbot.waitUntil(lambda: len(w.list_model.session) == 16, timeout=10000)
    threads = list(w.registry.threads())
    assert threads
    w.close()
    assert not w.registry.threads()
    assert all(t.isFinished() for t in threads if isinstance(t, QThread))
    assert w.thumbs.active_threads() == 0
    # a 'scoring finished' signal still queued at close starts no analysis thread after shutdown
    w._start_analysis(w.generation)
    assert not w.registry.threads()


def test_settings_round_trip(env):
    tmp_path, settings = env
    assert settings.backend == "auto" and settings.device == "auto" and settings.checkpoint == ""
    settings.backend, settings.device, settings.sidecar_naming = "onnx", "cpu", "append"
    settings.checkpoint = "/models/x"
    settings.sync()
    again = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert (again.backend, again.device, again.sidecar_naming, again.checkpoint) == ("onnx", "cpu", "append",
                                                                                      "/models/x")
    with pytest.raises(ValueError):
        settings.device = "tpu"


def test_export_dialog_remembers_its_choices(qtbot, env):
    from photocull.app.ui.dialogs import ExportDialog

    tmp_path, settings = env
    first = ExportDialog(str(tmp_path), settings)
    qtbot.addWidget(first)
    assert first.params() == {"lists_dir": str(tmp_path), "xmp_naming": None, "organize": None}  # the defaults
    first.lists.setChecked(False)
    first.xmp.setChecked(True)
    first.naming.setCurrentText("append")
    first.organize.setCurrentIndex(2)
    cancelled = ExportDialog(str(tmp_path), settings)  # a cancelled dialog changes nothing
    qtbot.addWidget(cancelled)
    cancelled.organize.setCurrentIndex(1)
    cancelled.reject()
    first.accept()
    settings.sync()
    again = ExportDialog(str(tmp_path), Settings(QSettings(str(tmp_path / "settings.ini"),
                                                           QSettings.Format.IniFormat)))
    qtbot.addWidget(again)
    assert again.params() == {"lists_dir": None, "xmp_naming": "append", "organize": "copy"}


def _default_model_ready() -> bool:
    from photocull.model.paths import default_model_dir

    d = default_model_dir()
    return (d / "model.safetensors").exists() and (d / "config.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(not _default_model_ready(), reason="resources/models/default not built yet")
def test_real_default_model_scores_and_explains(qtbot, env, tmp_path, kodak):
    """The shipped model through the GUI: sharp Kodak crops beat their blurred copies; Grad-CAM shows."""
    folder = tmp_path / "kodak"
    folder.mkdir()
    for p in sorted(kodak.glob("*.webp"))[:2]:
        img = Image.open(p).convert("RGB")
        img.thumbnail((256, 256))
        img.save(folder / f"{p.stem}.jpg", quality=95)
        img.filter(ImageFilter.GaussianBlur(4)).save(folder / f"{p.stem}_blur.jpg", quality=95)
    _, settings = env
    w = MainWindow(settings, EngineBridge(settings, cache_path=tmp_path / "cache" / "c.sqlite3"))
    qtbot.addWidget(w)
    w.show()
    open_and_wait(qtbot, w, folder, timeout=300000)
    s = w.list_model.session
    assert "ERROR" not in w.log_view.toPlainText()
    for e in s.entries:
        if "_blur" not in e.name:
            assert e.score > s.get(e.path.with_name(e.path.stem + "_blur.jpg")).score
    w.show_detail_for(s.entries[0])
    qtbot.waitUntil(lambda: w.detail.canvas.has_heatmap, timeout=300000)
    w.close()
    assert not w.registry.threads()


def test_painting_does_not_drop_references_to_none(qtbot, make_window, env):
    """PySide6 6.12.0 drops a reference to None on every void call (QPainter.setPen, save, ...):
    on Python 3.11 the grid's painting then frees None after a few dozen repaints and the app
    aborts ("deallocating None"). pyproject.toml excludes that release; this catches any other."""
    import sys

    from PySide6.QtGui import QColor, QPainter

    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    before = sys.getrefcount(None)
    for _ in range(1000):
        p.setPen(QColor(1, 2, 3))
        p.save()
        p.restore()
    after = sys.getrefcount(None)
    p.end()
    assert after >= before - 10
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot")
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    qtbot.waitUntil(lambda: w.list_model.has_thumbnail(str(photos["sharp0"])), timeout=10000)
    before = sys.getrefcount(None)
    for _ in range(20):
        w.grid.viewport().repaint()
    assert sys.getrefcount(None) >= before - 100


def test_open_folder_timings_opens_the_real_app_on_a_folder(env):
    """What benchmarks/ times (photocull.app.ui.timing): the real window and model on a small folder."""
    from photocull.app.ui.timing import open_folder_timings

    tmp_path, _ = env
    folder = tmp_path / "shoot"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (640, 480), (40 * i, 90, 160)).save(folder / f"p{i}.jpg")
    out = open_folder_timings(folder, tmp_path / "c.sqlite3", screen=3)
    assert out["photos"] == 3 and out["scored"] == 3
    assert 0 < out["first_thumbnail_s"] <= out["all_scores_s"] <= out["folder_done_s"]


def test_toolbar_combos_give_the_keyboard_back_to_the_grid(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    for box in (w.sort_box, w.decision_box, w.stars_box, w.label_box):
        box.setFocus()
        qtbot.wait(20)
        assert box.hasFocus()
        w.set_sort("name")
        w.select_path(photos["blur0"])
        box.activated.emit(box.currentIndex())  # what a choice from its popup emits
        qtbot.wait(20)
        assert w.grid.hasFocus() and not box.hasFocus()
        sort = w.sort_box.currentIndex()
        qtbot.keyClick(w.focusWidget(), Qt.Key.Key_Right)  # arrows move through the grid again
        assert w.current_entry().path == photos["blur1"] and w.sort_box.currentIndex() == sort
    w.show_detail()
    w.range_slider.sliderReleased.emit()
    qtbot.wait(20)
    assert w.detail.hasFocus() or w.detail.isAncestorOf(w.focusWidget())



def test_grid_columns_fill_the_whole_width(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", n_sharp=5, broken=False)  # 10 photos
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    g = w.grid

    def columns():  # as laid out by Qt (after its delayed layout)
        tops = [g.visualRect(w.proxy.index(i, 0)).top() for i in range(10)]
        return sum(t == tops[0] for t in tops)

    for width in (1400, 1111, 900, 640):
        w.resize(width, 700)
        # every column that fits is used ...
        qtbot.waitUntil(lambda: columns() == g.layout_width() // g.cell.width(), timeout=3000)
        rects = [g.visualRect(w.proxy.index(i, 0)) for i in range(columns())]
        right = rects[-1].right() + (g.gridSize().width() - rects[0].width()) // 2
        assert g.layout_width() + 2 * g.spacing() - right < len(rects) + 2 * g.spacing() + 2  # ... no strip left


def test_saving_and_the_counts_follow_the_session_change_events(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    s = w.list_model.session
    s.set_flag([photos["sharp0"], photos["blur1"]], REJECT)  # straight on the session, not a window action
    assert w.bridge.cache.get_decision(photos["sharp0"]).flag == REJECT
    assert "2 rejected" in w.counts_label.text()
    s.undo()
    assert w.bridge.cache.get_decision(photos["blur1"]).flag == UNFLAGGED
    assert "0 rejected" in w.counts_label.text()
