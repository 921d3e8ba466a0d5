"""DetailWorker: the heatmap's timing travels in its signal; the EXIF dict handed to the GUI is not
written to afterwards (it belongs to the GUI thread once emitted)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from PIL import Image  # noqa: E402

from photocull.app.ui.workers import DetailWorker  # noqa: E402


def test_detail_worker_sends_the_heatmap_time_and_leaves_the_exif_alone(qtbot):
    exif = {"camera": "X100"}
    img = Image.new("RGB", (32, 24), (90, 120, 150))
    w = DetailWorker(lambda path: img, lambda path: exif, lambda im: Image.new("RGBA", im.size))
    shown, heat = [], []
    w.image_ready.connect(lambda rid, q, e: shown.append((rid, dict(e))))
    w.heatmap_ready.connect(lambda rid, q, seconds: heat.append((rid, q.size().width(), seconds)))
    w.submit(7, Path("p.jpg"), True)  # same thread: the queued wake-up runs _work directly
    qtbot.waitUntil(lambda: bool(heat), timeout=5000)
    assert shown == [(7, {"camera": "X100"})]
    assert heat[0][:2] == (7, 32) and heat[0][2] >= 0.0
    assert exif == {"camera": "X100"}  # no "_heatmap_s" written into the GUI's dict
