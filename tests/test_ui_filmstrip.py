"""The loupe's filmstrip, the neighbours decoded ahead of the arrow keys (stale decodes dropped) and
the heatmap of the next photo computed ahead (not when the photographer already moved on)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from test_ui_app import make_photos, open_and_wait  # noqa: E402

from photocull.app.core.session import REJECT  # noqa: E402
from photocull.app.ui.workers import DetailWorker, LruCache, Prefetcher, ThreadRegistry  # noqa: E402


def test_filmstrip_shows_the_grid_order_follows_the_loupe_and_a_click_jumps(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.set_sort("name")
    w.grid.setCurrentIndex(w.proxy.index(0, 0))
    w.show_detail()
    strip = w.filmstrip
    assert strip.isVisible() and strip.model().rowCount() == 6
    assert strip.currentIndex().row() == 0
    w.navigate(1)
    assert strip.currentIndex().row() == 1 and w.detail.entry is w.proxy.entry_at(1)
    rect = strip.visualRect(strip.model().index(4, 0))
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.detail.entry is w.proxy.entry_at(4) and strip.currentIndex().row() == 4
    assert w.detail.hasFocus()  # the strip never keeps the keyboard
    w.set_flag(REJECT)
    w.set_filter(decision=REJECT)  # the strip shows what the grid shows
    assert strip.model().rowCount() == 1 and strip.model().index(0, 0).data(Qt.ItemDataRole.DisplayRole) \
        == w.detail.entry.name


def test_neighbours_are_decoded_ahead_and_the_arrow_shows_them_from_the_cache(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    decodes: list[Path] = []
    load = w.bridge.load_detail
    w.bridge.load_detail = lambda path, size=1600: decodes.append(Path(path)) or load(path, size)
    open_and_wait(qtbot, w, tmp_path / "shoot")
    w.set_sort("name")
    w.detail.heat_box.setChecked(False)
    w.grid.setCurrentIndex(w.proxy.index(2, 0))
    w.show_detail()
    before, after = w.proxy.entry_at(1).path, w.proxy.entry_at(3).path
    qtbot.waitUntil(lambda: before in w.decoded and after in w.decoded, timeout=10000)
    w.navigate(1)
    assert w.detail.canvas.has_image  # shown at once, before any event was processed
    assert decodes.count(after) == 1  # decoded once, ahead
    qtbot.waitUntil(lambda: w.proxy.entry_at(4).path in w.decoded, timeout=10000)  # the next one ahead
    assert w.times.photo_ms[-1] < 150


def test_a_decode_finished_after_the_folder_changed_is_dropped(qtbot):
    started, release = threading.Event(), threading.Event()

    def decode(path):
        started.set()
        release.wait(10)
        return f"decoded {path.name}"

    cache = LruCache(4)
    pre = Prefetcher(decode, cache)
    registry = ThreadRegistry()
    registry.start(pre, "test-prefetch")
    try:
        pre.reset(1)
        pre.want(1, [Path("a.jpg")])
        assert started.wait(10)
        pre.reset(2)  # another folder opened while a.jpg of the first was decoding
        pre.want(1, [Path("b.jpg")])  # a request of the old folder is ignored
        release.set()
        qtbot.waitUntil(lambda: pre.dropped == 1, timeout=5000)
        assert Path("a.jpg") not in cache
        with qtbot.waitSignal(pre.decoded, timeout=5000) as sig:
            pre.want(2, [Path("a.jpg")])
        assert sig.args == [2, "a.jpg"] and cache.get(Path("a.jpg")) == "decoded a.jpg"
        assert Path("b.jpg") not in cache
    finally:
        release.set()
        registry.shutdown()
        qtbot.wait(50)  # the threads' deferred deletes, while the registry that owns them is alive


def test_the_next_heatmap_is_computed_ahead_unless_the_photographer_moved_on(qtbot):
    computing, go_on = threading.Event(), threading.Event()
    made: list[tuple] = []

    def heatmap(img):
        made.append(img.size)
        if img.size == (40, 30):  # the photo whose heatmap the test holds back
            computing.set()
            go_on.wait(10)
        return Image.new("RGBA", img.size)

    sizes = {"a.jpg": (32, 24), "b.jpg": (36, 27), "c.jpg": (40, 30), "d.jpg": (44, 33)}
    w = DetailWorker(lambda p: Image.new("RGB", sizes[p.name]), lambda p: {}, heatmap)
    registry = ThreadRegistry()
    registry.start(w, "test-detail")
    try:
        with qtbot.waitSignal(w.ahead_ready, timeout=5000) as sig:
            w.submit(1, Path("a.jpg"), True, ahead=Path("b.jpg"))
        assert sig.args == ["b.jpg"] and Path("b.jpg") in w.heats and made == [(32, 24), (36, 27)]
        with qtbot.waitSignal(w.heatmap_ready, timeout=5000):
            w.submit(2, Path("b.jpg"), True)  # b's heatmap: the one made ahead
        assert made.count((36, 27)) == 1
        shown = []
        w.image_ready.connect(lambda rid, *_: shown.append(rid))
        w.submit(3, Path("c.jpg"), True, ahead=Path("d.jpg"))
        assert computing.wait(5)
        w.submit(4, Path("a.jpg"), False)  # the photographer moved on while c's heatmap was made
        go_on.set()
        qtbot.waitUntil(lambda: 4 in shown, timeout=5000)
        qtbot.wait(100)
        assert Path("d.jpg") not in w.heats and (44, 33) not in made  # nothing ahead of a stale request
    finally:
        go_on.set()
        registry.shutdown()
        qtbot.wait(50)  # the threads' deferred deletes, while the registry that owns them is alive


def test_the_first_heatmap_is_ready_before_the_loupe_opens(qtbot, make_window, env):
    tmp_path, _ = env
    make_photos(tmp_path / "shoot", broken=False)
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "shoot")  # scoring done: the current photo is readied
    first = w.current_entry()
    qtbot.waitUntil(lambda: first.path in w.heats, timeout=10000)
    with qtbot.waitSignal(w.heatmap_shown, timeout=1000):  # what a script driving the app waits for
        w.show_detail()
    assert w.detail.entry is first and w.detail.canvas.has_heatmap  # at once, nothing computed on Return
    assert w.times.heatmap_ms[0] < 150
