"""GUI: a cancelled scoring says how far it got and resumes where it stopped."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from test_ui_app import make_photos  # noqa: E402

from photocull.app.core.session import PICK  # noqa: E402

from fakes import LaplacianScorer  # noqa: E402


class CountingScorer(LaplacianScorer):
    """Counts the photos it scored (cached scores never reach it)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.scored = 0

    def predict_batch(self, x):
        self.scored += len(x)
        return super().predict_batch(x)


def test_cancel_says_how_far_and_resume_scores_only_the_rest(qtbot, make_window, env):
    tmp_path, _ = env
    photos = make_photos(tmp_path / "shoot", n_sharp=8, broken=True)  # 16 photos + 1 unreadable
    scorer = CountingScorer(delay=0.5)  # room to cancel mid-folder even on a loaded machine
    w = make_window(scorer)
    assert not w.resume_button.isVisible()
    w.open_folder(tmp_path / "shoot")
    qtbot.waitUntil(lambda: w.list_model.session.counts()["scored"] >= 1, timeout=20000)
    with qtbot.waitSignal(w.folder_loaded, timeout=20000):
        w.cancel_button.click()
    s = w.list_model.session
    first = {e.path for e in s.entries if e.score is not None}
    assert 1 <= len(first) < 16
    assert w.cancelled_label.isVisible() and w.resume_button.isVisible()
    assert w.cancelled_label.text() == f"cancelled: {len(first)} of 17 scored"  # the truncated one is found out when decoded
    before = scorer.scored  # the batches in flight at the cancel may have been scored (and cached) too
    done = next(iter(first))
    w.select_path(done)
    w.set_flag(PICK)  # a decision made meanwhile survives the resume (same session)

    scorer.delay = 0.0
    with qtbot.waitSignal(w.folder_loaded, timeout=30000):
        w.resume_button.click()
    assert not w.resume_button.isVisible() and not w.cancelled_label.isVisible()
    assert w.list_model.session is s and s.counts()["scored"] == 16 and s.get(done).flag == PICK
    assert scorer.scored - before <= 16 - len(first)  # the ones scored before the cancel are not rescored
    assert all(s.get(p).cached for p in first)
    assert s.get(photos["broken"]).failed
    assert "resuming" in w.log_view.toPlainText()
