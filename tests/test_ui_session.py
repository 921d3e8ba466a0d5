"""The Qt-free culling session behind the GUI (photocull.app.core.session)."""

from pathlib import Path

import pytest

from photocull.app.core.bursts import BurstInfo
from photocull.app.core.engine import ScoreResult
from photocull.app.core.session import PICK, REJECT, UNFLAGGED, Change, CullSession, Entry


def _session(scores):
    return CullSession(Entry(Path(f"/p/{i:02d}.jpg"), score=s) for i, s in enumerate(scores))


def test_flags_stars_undo_redo_are_steps():
    s = _session([10, 20, 30])
    a, b, c = (e.path for e in s.entries)
    assert s.set_flag([a, b], PICK) == [a, b]
    assert s.set_stars([a], 4) == [a]
    assert s.set_flag([a], PICK) == []  # no-op is not an undo step
    assert (s.get(a).flag, s.get(a).stars) == (PICK, 4)
    assert s.undo() == [a]
    assert s.get(a).stars == 0 and s.get(a).flag == PICK
    assert sorted(s.undo()) == [a, b]
    assert s.get(a).flag == s.get(b).flag == UNFLAGGED
    assert s.undo() == []  # nothing left to undo
    assert sorted(s.redo()) == [a, b]
    assert s.get(b).flag == PICK
    s.set_flag([c], REJECT)  # a new step clears the redo stack
    assert s.redo() == []
    assert s.counts() == {"picked": 2, "rejected": 1, "left": 0, "errors": 0, "scored": 3, "total": 3}


def test_bad_values_are_refused():
    s = _session([1])
    p = s.entries[0].path
    with pytest.raises(ValueError):
        s.set_flag([p], "maybe")
    with pytest.raises(ValueError):
        s.set_stars([p], 6)
    assert s.undo() == []  # refused values are no steps


def test_auto_cull_top_percent_keeps_ties_and_skips_failures_and_is_undoable():
    s = _session([90, 80, 80, 10, None])
    s.entries[4].error = "truncated file"
    s.set_stars([s.entries[0].path], 2)
    changed = s.auto_cull(top_percent=40)  # ceil(4 * 0.4) = 2 -> cut at 80, both 80s kept
    assert len(changed) == 3 and s.left_alone == [s.entries[0].path]
    flags = [e.flag for e in s.entries]
    assert flags == [UNFLAGGED, PICK, PICK, REJECT, UNFLAGGED]  # the photographer's 2 stars: theirs
    assert (s.entries[0].stars, s.entries[0].auto) == (2, False)
    assert s.entries[1].stars == 0 and s.entries[1].auto  # flags only: no stars unless asked
    # a second auto-cull may change its own proposals, not the photographer's decisions
    s.set_flag([s.entries[3].path], PICK)  # they overrule the reject of the 10
    s.auto_cull(top_percent=25)
    assert [e.flag for e in s.entries] == [UNFLAGGED, REJECT, REJECT, PICK, UNFLAGGED]
    assert len(s.left_alone) == 2
    s.undo()
    s.undo()
    s.undo()
    assert [e.flag for e in s.entries] == [UNFLAGGED] * 5 and not any(e.auto for e in s.entries)
    # overwrite: everything scored is auto-culled, the photographer's stars included
    s.auto_cull(top_percent=40, overwrite=True, stars=True)
    assert [e.flag for e in s.entries] == [PICK, PICK, PICK, REJECT, UNFLAGGED] and s.left_alone == []
    assert s.entries[0].stars == 5 and s.entries[0].auto  # asked for: the stars of its score
    s.undo()
    assert (s.entries[0].flag, s.entries[0].stars, s.entries[0].auto) == (UNFLAGGED, 2, False)
    assert s.counts()["errors"] == 1


def test_auto_cull_threshold_and_argument_check():
    s = _session([49.9, 50, 70])
    s.auto_cull(threshold=50)
    assert [e.flag for e in s.entries] == [REJECT, PICK, PICK]
    with pytest.raises(ValueError):
        s.auto_cull()
    with pytest.raises(ValueError):
        s.auto_cull(top_percent=10, threshold=5)


def test_matches_filters_score_range_and_decision():
    e = Entry(Path("/a.jpg"), score=42.0, flag=PICK)
    assert e.matches(40, 50) and not e.matches(43, 100)
    assert e.matches(decision=PICK) and not e.matches(decision=REJECT)
    pending = Entry(Path("/b.jpg"))
    assert pending.matches(90, 100)  # unscored rows are never hidden by the score range
    broken = Entry(Path("/c.jpg"), error="cannot decode")
    assert broken.matches(decision="error") and not e.matches(decision="error")
    assert not broken.matches(decision=UNFLAGGED)


def test_best_of_burst_only_touches_real_bursts_and_leaves_the_photographers_alone():
    s = _session([60, 70, 50, 40, 30, 20])
    e = s.entries
    for i, (g, idx, size, best) in enumerate([(1, 1, 3, False), (1, 2, 3, True), (1, 3, 3, False),
                                               (2, 1, 2, True), (2, 2, 2, False), (3, 1, 1, True)]):
        e[i].burst = BurstInfo(g, idx, size, best)
    s.set_flag([e[4].path], PICK)  # the photographer keeps the second shot of burst 2
    s.auto_cull_best_of_burst()
    assert [x.flag for x in e] == [REJECT, PICK, REJECT, PICK, PICK, UNFLAGGED]  # the single: untouched
    assert s.left_alone == [e[4].path] and not e[4].auto and e[1].auto
    s.undo()
    s.auto_cull_best_of_burst(overwrite=True)
    assert e[4].flag == REJECT and s.left_alone == []


def test_preview_is_what_applying_does_and_changes_nothing():
    s = _session([90, 80, 55, 30, 10])
    e = s.entries
    s.set_flag([e[3].path], PICK)  # the photographer's pick of the 30
    s.set_stars([e[0].path], 3)  # and 3 stars on the 90
    before = [(x.flag, x.stars, x.auto) for x in e]
    p = s.preview_auto_cull(top_percent=40)  # ceil(5 * 0.4) = 2: the 90 and the 80
    assert [(x.flag, x.stars, x.auto) for x in e] == before and s.undo() == [e[0].path]  # nothing applied
    s.redo()
    assert (p.picks, p.rejects, len(p.left_alone)) == (1, 2, 2)
    assert p.summary() == "will pick 1, reject 2, leave 2 of yours alone" and p.changed == 3
    assert sorted(s.auto_cull(top_percent=40)) == sorted(p.new) and s.left_alone == p.left_alone
    assert [(x.flag, x.stars) for x in e] == [(UNFLAGGED, 3), (PICK, 0), (REJECT, 0), (PICK, 0), (REJECT, 0)]
    # stars only when asked; a second identical run changes nothing
    assert s.preview_auto_cull(top_percent=40).changed == 0
    assert s.preview_auto_cull(top_percent=40, stars=True).new[e[1].path] == (PICK, 5, None, True)
    s.auto_cull(top_percent=40, stars=True)
    assert e[1].stars == 5
    # flags only again: auto-cull's own stars go, the photographer's stay under overwrite
    s.auto_cull(top_percent=40, overwrite=True)
    assert (e[1].flag, e[1].stars) == (PICK, 0) and (e[0].flag, e[0].stars) == (PICK, 3)
    b = s.preview_best_of_burst(threshold=50)  # no bursts: singles by the threshold
    assert (b.picks, b.rejects) == (3, 2) and b.label == "auto-cull best of burst"
    assert s.preview_best_of_burst().new == {}  # no bursts, no threshold: nothing to do


def test_colour_labels_toggle_undo_survive_auto_cull_and_filter():
    s = _session([90, 10, 50])
    a, b, c = (e.path for e in s.entries)
    assert s.toggle_label([a, b], "Red") == [a, b]
    assert s.toggle_label([a], "Red") == [a] and s.get(a).label is None  # the same key again clears
    assert s.toggle_label([a, b], "Red") == [a]  # not all had it: all get it
    assert s.toggle_label([b], "Blue") == [b] and s.get(b).label == "Blue"
    s.undo()
    assert s.get(b).label == "Red"
    s.redo()
    with pytest.raises(ValueError):
        s.toggle_label([a], "Orange")
    s.set_stars([c], 4)
    s.auto_cull(top_percent=50, overwrite=True)  # auto-cull never changes a label
    assert [e.label for e in s.entries] == ["Red", "Blue", None] and s.get(a).flag == PICK
    # filters: stars >= N and colour label
    e_a, e_b, e_c = s.entries
    assert (e_c.flag, e_c.stars) == (PICK, 4)  # overwrite, flags only: its stars stay
    s.undo()
    assert e_c.matches(min_stars=4) and not e_a.matches(min_stars=1)
    assert e_a.matches(label="Red") and not e_b.matches(label="Red") and e_b.matches(label="Blue")
    assert e_c.matches(label="none") and not e_a.matches(label="none") and e_a.matches(label="any")
    assert not e_c.matches(min_stars=4, label="Red")
    # a label alone does not make the verdict the photographer's: auto-cull still culls it
    s.auto_cull(top_percent=50)
    assert s.left_alone == [c] and e_a.flag == PICK and e_b.flag == REJECT


def test_every_change_is_one_event_with_its_paths_and_whether_decisions_changed():
    s = _session([10, None, 30])
    a, b, c = (e.path for e in s.entries)
    events: list[Change] = []
    s.subscribe(events.append)
    s.set_flag([a, b], PICK)
    s.set_flag([a], PICK)  # nothing changes: no event
    s.toggle_label([c], "Red")
    assert events == [Change((a, b), True, PICK), Change((c,), True, "label Red")]
    s.undo()
    s.redo()
    assert events[2:] == [Change((c,), True, "undo"), Change((c,), True, "redo")]
    events.clear()

    s.set_scores([ScoreResult(b, 55.0, "ok"), ScoreResult(Path("/elsewhere.jpg"), 1.0, "ok")])
    s.set_reasons({a: (("blurry", 0.8, "strong"),), Path("/elsewhere.jpg"): [("noisy", 0.6, "mild")]})
    s.set_taken({c: 12.5})
    assert events == [Change((b,), False, "scores"), Change((a,), False, "reasons"), Change((c,), False, "dates")]
    assert (s.get(b).score, s.get(a).reasons, s.get(c).taken) == (55.0, ["blurry"], 12.5)
    assert s.get(a).findings == [("blurry", 0.8, "strong")]
    s.auto_cull(threshold=20)
    assert events[-1].decisions and events[-1].what == "auto-cull" and set(events[-1].paths) == {c}

    s.unsubscribe(events.append)
    s.unsubscribe(events.append)  # not subscribed any more: no error
    n = len(events)
    s.set_flag([a], REJECT)
    assert len(events) == n
