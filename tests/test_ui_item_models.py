"""The grid's item models: the source model keeps the sort order (in Python), the proxy only filters."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import random  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QItemSelectionModel, QPersistentModelIndex  # noqa: E402

from photocull.app.core.bursts import BurstInfo  # noqa: E402
from photocull.app.core.engine import ScoreResult  # noqa: E402
from photocull.app.core.session import CullSession, Entry  # noqa: E402
from photocull.app.ui.item_models import EntryRole, PhotoListModel, PhotoProxyModel  # noqa: E402


def session(scores) -> CullSession:
    """Entries p00.jpg, p01.jpg, ... with ``scores`` (None: not scored yet), taken in reverse order."""
    n = len(scores)
    return CullSession(Entry(Path(f"/photos/p{i:02d}.jpg"), score=s, taken=float(n - i)) for i, s in enumerate(scores))


@pytest.fixture
def models(qapp):
    model = PhotoListModel()
    proxy = PhotoProxyModel()
    proxy.setSourceModel(model)
    return model, proxy


def names(model) -> list[str]:
    return [model.index(r, 0).data(EntryRole).name for r in range(model.rowCount())]


def scored(scores: dict) -> list[ScoreResult]:
    """ScoreResults for ``{photo number: score}`` (what one batch of the scoring worker carries)."""
    return [ScoreResult(Path(f"/photos/p{i:02d}.jpg"), s, "ok") for i, s in scores.items()]


def spy(signal) -> list:
    calls = []
    signal.connect(lambda *a: calls.append(a))
    return calls


def test_rows_follow_the_sort_key_from_the_start(models):
    model, proxy = models
    model.set_sort("score")
    model.set_session(session([50.0, None, 90.0, 10.0]))
    assert names(model) == ["p02.jpg", "p00.jpg", "p03.jpg", "p01.jpg"]  # best first, unscored last
    assert names(proxy) == names(model)  # the proxy does not reorder
    model.set_sort("date")
    assert names(model) == ["p03.jpg", "p02.jpg", "p01.jpg", "p00.jpg"]
    model.set_sort("name", descending=True)
    assert names(model) == ["p03.jpg", "p02.jpg", "p01.jpg", "p00.jpg"]
    model.set_sort("name")
    assert names(model) == ["p00.jpg", "p01.jpg", "p02.jpg", "p03.jpg"]
    assert [model.row_of(Path(f"/photos/p{i:02d}.jpg")) for i in range(4)] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        model.set_sort("colour")


def test_bursts_sort_best_shot_first_then_capture_order(models):
    model, _ = models
    s = session([10.0, 20.0, 30.0, 40.0])
    bursts = {0: BurstInfo(group=1, index=0, size=2, best=False), 1: BurstInfo(group=1, index=1, size=2, best=True),
              2: BurstInfo(group=0, index=0, size=1, best=True)}
    for i, b in bursts.items():
        s.entries[i].burst = b
    model.set_session(s)
    model.set_sort("burst")
    assert names(model) == ["p02.jpg", "p01.jpg", "p00.jpg", "p03.jpg"]  # p03 not analysed: last


def test_a_score_that_moves_a_row_reorders_once_and_keeps_the_selection(models):
    model, proxy = models
    model.set_sort("score")
    model.set_session(session([None] * 6))
    selection = QItemSelectionModel(proxy)
    chosen = proxy.index(proxy.proxy_row_of(Path("/photos/p04.jpg")), 0)
    selection.setCurrentIndex(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    kept = QPersistentModelIndex(model.index(model.row_of(Path("/photos/p01.jpg"))))
    layouts, changes = spy(model.layoutChanged), spy(model.dataChanged)

    model.session.set_scores(scored({1: 30.0, 4: 80.0, 2: 55.0}))  # one change event: the model follows it

    assert names(model)[:3] == ["p04.jpg", "p02.jpg", "p01.jpg"]
    assert len(layouts) == 1 and not changes  # one layout change; rows are read again after it
    assert selection.currentIndex().data(EntryRole).name == "p04.jpg"
    assert [i.data(EntryRole).name for i in selection.selectedIndexes()] == ["p04.jpg"]
    assert kept.data(EntryRole).name == "p01.jpg" and kept.row() == 2


def test_a_change_that_keeps_the_order_repaints_only_its_rows(models):
    model, _ = models
    model.set_session(session([None] * 100))  # sorted by name: scores do not move rows
    layouts, changes = spy(model.layoutChanged), spy(model.dataChanged)
    model.session.set_scores(scored({i: 50.0 for i in (9, 3, 5, 4)})
                             + [ScoreResult(Path("/elsewhere.jpg"), 50.0, "ok")])
    assert not layouts
    assert [(a.row(), b.row()) for a, b, *_ in changes] == [(3, 5), (9, 9)]  # one signal per run of rows

    changes.clear()
    scattered = list(range(0, 100, 2))  # 50 separate runs: one signal over their span instead
    model.refresh([Path(f"/photos/p{i:02d}.jpg") for i in scattered])
    assert [(a.row(), b.row()) for a, b, *_ in changes] == [(0, 98)]


def test_filtering_follows_scores_and_keeps_the_sorted_order(models):
    model, proxy = models
    model.set_sort("score")
    rng = random.Random(1)
    model.set_session(session([None] * 40))
    proxy.set_filter(50.0, 100.0)
    assert len(names(proxy)) == 40  # photos not scored yet stay in view under a score filter
    for batch in range(4):  # scores arrive in batches, as from the scoring worker
        model.session.set_scores(scored({i: rng.uniform(0, 100) for i in range(batch * 10, batch * 10 + 10)}))
        shown = [proxy.entry_at(r) for r in range(proxy.rowCount())]
        good = sorted((e for e in model.session.entries if e.score is not None and e.score >= 50.0),
                      key=lambda e: -e.score)
        waiting = [e for e in model.session.entries if e.score is None]
        assert shown[:len(good)] == good and sorted(shown[len(good):], key=lambda e: e.name) == waiting
        assert all(proxy.proxy_row_of(e.path) == r for r, e in enumerate(shown))
    assert 0 < len(good) < 40 and not waiting
