"""GUI (offscreen): reason badges, burst markers + best-of-burst auto-cull + burst sort, learn refusal."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from test_bursts import save, scene, shot  # noqa: E402
from test_ui_app import open_and_wait, proxy_names  # noqa: E402

from photocull.app.core.reasons import FIRE, STRONG  # noqa: E402
from photocull.app.core.session import PICK, REJECT  # noqa: E402
from photocull.app.ui.item_models import ThumbErrorRole  # noqa: E402


def make_shoot(folder):
    """A 3-shot burst (the 2nd sharp), one different single, one blurred single."""
    a, b, c = scene(11), scene(12), scene(13)
    return {
        "a1": save(shot(a, 0, 0, 1.8), folder / "a1.jpg", "2024:05:01 10:00:00", "0"),
        "a2": save(shot(a, 3, 1, 0.0), folder / "a2.jpg", "2024:05:01 10:00:00", "40"),
        "a3": save(shot(a, 6, 2, 2.5), folder / "a3.jpg", "2024:05:01 10:00:00", "80"),
        "b": save(shot(b, 0, 0, 0.0), folder / "b.jpg", "2024:05:01 10:05:00"),
        "c": save(shot(c, 0, 0, 0.0).filter(ImageFilter.GaussianBlur(5)), folder / "c.jpg", "2024:05:01 10:09:00"),
    }


def test_bursts_reasons_and_best_of_burst(qtbot, make_window, env):
    tmp_path, _ = env
    f = make_shoot(tmp_path / "shoot")
    w = make_window()
    with qtbot.waitSignal(w.analysis_done, timeout=30000):
        open_and_wait(qtbot, w, tmp_path / "shoot")
    s = w.list_model.session
    e = {k: s.get(p) for k, p in f.items()}
    assert [e[k].burst.text for k in ("a1", "a2", "a3")] == ["burst 1/3", "burst 2/3", "burst 3/3"]
    assert e["a2"].burst.best and not e["a1"].burst.best and e["b"].burst.size == 1
    assert "blurry" in e["c"].reasons and "blurry" not in e["a2"].reasons
    # each reason travels from the analysis with its severity (shown in the detail view)
    (blur,) = [f for f in e["c"].findings if f[0] == "blurry"]
    assert blur[2] == ("strong" if blur[1] >= STRONG else "mild") and blur[1] >= FIRE

    # the tile shows the marker (crown on the best) and its tooltip the reasons
    assert w.delegate.burst_text(e["a2"]) == "♛ burst 2/3" and w.delegate.burst_text(e["b"]) == ""
    row = w.proxy.proxy_row_of(f["c"])
    tip = w.proxy.index(row, 0).data()
    assert tip == "c.jpg"
    from PySide6.QtCore import Qt

    assert "blurry" in w.proxy.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert not w.proxy.index(row, 0).data(ThumbErrorRole)
    w.grid.viewport().repaint()  # paints the markers and badges without error

    # group-aware sort: the burst's best first, then its other shots, then the singles
    w.set_sort("burst")
    assert proxy_names(w) == ["a2.jpg", "a1.jpg", "a3.jpg", "b.jpg", "c.jpg"]

    # the menu action: best of each burst kept, the rest of the burst rejected, singles left as they are
    w.act_best_of_burst.trigger()  # through a preview dialog, never silently
    dlg = w.cull_dialog
    assert dlg.isVisible() and all(e[k].flag == "none" for k in f)
    assert dlg.preview_label.text().startswith("Will pick 1, reject 2, leave 0 of yours alone")
    dlg.singles.setChecked(True)  # the preview follows the options
    dlg.threshold.setValue(float(e["c"].score) + 0.1)
    assert dlg.preview_label.text().startswith("Will pick 2, reject 3,")
    dlg.singles.setChecked(False)
    assert dlg.params() == {"threshold": None, "overwrite": False, "stars": False}
    dlg.accept()
    assert [e[k].flag for k in ("a1", "a2", "a3", "b", "c")] == [REJECT, PICK, REJECT, "none", "none"]
    assert e["a2"].stars == 0  # stars only when asked
    stored = w.bridge.cache.get_decisions(list(f.values()))
    assert stored[f["a2"]].flag == PICK and stored[f["a1"]].flag == REJECT
    w.undo()
    assert all(e[k].flag == "none" for k in f)
    # with a threshold, the blurred single goes too
    w.auto_cull_best_of_burst(threshold=float(e["c"].score) + 0.1)
    assert e["c"].flag == REJECT and e["b"].flag == PICK

    # the detail view lists the reasons and the burst position
    w.show_detail_for(e["a1"])
    assert "burst 1/3" in w.detail.reasons_label.text()


def test_learn_from_picks_refuses_with_too_few_decisions(qtbot, make_window, env):
    tmp_path, _ = env
    folder = tmp_path / "few"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(folder / f"p{i}.jpg")
    w = make_window()
    open_and_wait(qtbot, w, folder)
    w.select_path(folder / "p0.jpg")
    w.set_flag(PICK)
    with qtbot.waitSignal(w.learn_done, timeout=30000) as sig:
        w.act_learn.trigger()
    assert isinstance(sig.args[0], str) and "1 pick(s) and 0 reject(s)" in sig.args[0]
    assert "not enough decisions" in w.learn_box.text()
    assert w.settings.checkpoint == ""  # nothing to switch to
