"""GUI: ratings other tools wrote show when a folder opens, and auto-cull leaves them alone."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from test_manual_decisions import jpeg_with_xmp, sidecar  # noqa: E402
from test_ui_app import open_and_wait  # noqa: E402

from photocull.app.core.session import PICK, REJECT, UNFLAGGED  # noqa: E402


def test_gui_reads_ratings_in_and_auto_cull_leaves_them_alone(qtbot, make_window, env):
    tmp_path, _ = env
    folder = tmp_path / "shoot"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):  # sharp noise: the LaplacianScorer scores them high
        Image.fromarray((rng.random((72, 96, 3)) * 255).astype(np.uint8)).save(folder / f"s{i}.jpg")
    Image.new("RGB", (96, 72), (128,) * 3).save(folder / "flat.jpg")  # scores lowest
    (folder / "s0.xmp").write_text(sidecar("lightroom", 1, "Yellow"))  # 1 star in Lightroom
    (folder / "flat.jpg").write_bytes(jpeg_with_xmp(sidecar("captureone", 5, "")))  # embedded 5 stars
    w = make_window()
    open_and_wait(qtbot, w, folder)
    s = w.list_model.session
    assert (s.get(folder / "s0.jpg").flag, s.get(folder / "s0.jpg").stars) == (UNFLAGGED, 1)
    assert s.get(folder / "flat.jpg").stars == 5
    assert s.get(folder / "s1.jpg").stars == 0

    changed = w.auto_cull(top_percent=40)
    assert folder / "s0.jpg" not in changed and folder / "flat.jpg" not in changed
    assert s.get(folder / "flat.jpg").flag == UNFLAGGED and s.get(folder / "s0.jpg").stars == 1
    assert {s.get(p).flag for p in changed} <= {PICK, REJECT} and len(changed) == 3
    assert "left 2 of yours alone" in w.log_view.toPlainText()
    assert w.bridge.cache.get_decision(folder / "s0.jpg").label == "Yellow"  # read in, kept

    # the dialog's explicit choice: overwrite them too; its preview follows the options
    w.undo()
    w.choose_auto_cull()
    dlg = w.cull_dialog
    assert dlg.params() == {"top_percent": 30.0, "overwrite": False, "stars": False}
    preview = s.preview_auto_cull(top_percent=30)
    assert dlg.preview_label.text().startswith(preview.summary().capitalize())
    assert preview.picks + preview.rejects == 3 and "leave 2 of yours alone" in preview.summary()
    dlg.percent.setValue(0)  # live: keep none
    assert dlg.preview_label.text() == "Will pick 0, reject 3, leave 2 of yours alone (3 changes)"
    dlg.overwrite.setChecked(True)
    assert dlg.preview_label.text() == "Will pick 0, reject 5, leave 0 of yours alone (5 changes)"
    dlg.percent.setValue(30)
    assert all(x.flag == UNFLAGGED for x in s.entries)  # the preview applied nothing
    dlg.stars.setChecked(True)
    dlg.accept()
    assert s.get(folder / "flat.jpg").flag == REJECT and s.get(folder / "s0.jpg").flag in (PICK, REJECT)
    assert not s.left_alone
    assert {s.get(p).stars for p in s.with_flag(PICK)} <= {4, 5} and s.with_flag(PICK)  # asked for
