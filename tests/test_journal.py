import hashlib
import json
import os
from pathlib import Path

import pytest

from photocull.app.core import journal
from photocull.app.core.decisions import KEEP, REJECT, REVIEW, CullResult, Decision

from fakes import crash_file_ops_after


def tree(root: Path) -> dict[str, str]:
    """Every file under root (journal dir excluded) -> sha256 of its bytes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != journal.JOURNAL_DIR]
        for f in filenames:
            p = Path(dirpath, f)
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def dirs(root: Path) -> set[str]:
    return {Path(d).relative_to(root).as_posix() for d, _, _ in os.walk(root) if journal.JOURNAL_DIR not in d}


def cr(path, verdict):
    return CullResult(Path(path), None if verdict == REVIEW else 50.0, verdict, "test", Decision())


@pytest.fixture
def shoot(tmp_path):
    """A folder: a RAW+JPEG pair with a sidecar, plain JPEGs, a sub-folder, a failed file."""
    root = tmp_path / "shoot"
    (root / "day2").mkdir(parents=True)
    files = {
        "IMG_1.JPG": b"jpeg one", "IMG_1.CR2": b"raw one", "IMG_1.xmp": b"<x/>",
        "IMG_2.jpg": b"jpeg two", "IMG_3.jpg": b"jpeg three", "broken.jpg": b"not a jpeg",
        "day2/IMG_4.jpg": b"jpeg four", "day2/IMG_4.jpg.xmp": b"<dt/>",
    }
    for rel, data in files.items():
        (root / rel).write_bytes(data)
    results = [cr(root / "IMG_1.JPG", KEEP), cr(root / "IMG_2.jpg", REJECT), cr(root / "IMG_3.jpg", KEEP),
               cr(root / "broken.jpg", REVIEW), cr(root / "day2/IMG_4.jpg", REJECT)]
    companions = {root / "IMG_1.JPG": [root / "IMG_1.CR2"]}
    return root, results, companions


def test_move_then_undo_restores_exact_tree(shoot):
    root, results, companions = shoot
    before, before_dirs = tree(root), dirs(root)
    rep = journal.organize(root, results, companions, mode="move")
    after = tree(root)
    assert set(after) == {
        "Keep/IMG_1.JPG", "Keep/IMG_1.CR2", "Keep/IMG_1.xmp", "Keep/IMG_3.jpg", "Reject/IMG_2.jpg",
        "Reject/day2/IMG_4.jpg", "Reject/day2/IMG_4.jpg.xmp", "broken.jpg",
    }
    assert sorted(after.values()) == sorted(before.values())  # same bytes, only moved
    assert len(rep.done) == 7 and rep.journal.is_file()
    data = json.loads(rep.journal.read_text())
    assert data["state"] == "done" and all(op["result"]["status"] == "done" for op in data["ops"])
    assert not rep.journal.with_suffix(".log").exists()

    u = journal.undo(root)
    assert len(u.restored) == 7 and not u.problems and not u.interrupted
    assert tree(root) == before and dirs(root) == before_dirs
    assert not (root / "Keep").exists() and not (root / "Reject").exists()
    assert journal.undo(root).journal is None  # nothing left to undo


def test_collisions_never_overwrite_and_shots_keep_matching_names(shoot):
    root, results, companions = shoot
    (root / "Keep").mkdir()
    (root / "Keep/IMG_1.CR2").write_bytes(b"someone else's raw")
    (root / "Keep/IMG_3.jpg").write_bytes(b"older keep")
    (root / "Keep/IMG_3 (1).jpg").write_bytes(b"older keep 1")
    # a second shot in the batch that lands on the same name as IMG_3
    (root / "day2/IMG_3.jpg").write_bytes(b"another three")
    results = results + [cr(root / "day2/IMG_3.jpg", KEEP)]
    before = tree(root)
    rep = journal.organize(root, results, companions)
    after = tree(root)
    assert after["Keep/IMG_1.CR2"] == before["Keep/IMG_1.CR2"]
    assert after["Keep/IMG_3.jpg"] == before["Keep/IMG_3.jpg"]
    assert after["Keep/IMG_3 (1).jpg"] == before["Keep/IMG_3 (1).jpg"]
    # the whole pair + sidecar gets the same "(1)"
    assert after["Keep/IMG_1 (1).JPG"] == before["IMG_1.JPG"]
    assert after["Keep/IMG_1 (1).CR2"] == before["IMG_1.CR2"]
    assert after["Keep/IMG_1 (1).xmp"] == before["IMG_1.xmp"]
    assert after["Keep/IMG_3 (2).jpg"] == before["IMG_3.jpg"]
    assert after["Keep/day2/IMG_3.jpg"] == before["day2/IMG_3.jpg"]
    assert len(after) == len(before)
    journal.undo(root)
    assert tree(root) == before
    assert (root / "Keep").is_dir()  # it existed before: not ours to remove
    assert rep.journal is not None


def test_interrupted_move_is_recovered(shoot, monkeypatch):
    root, results, companions = shoot
    before, before_dirs = tree(root), dirs(root)
    real = crash_file_ops_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        journal.organize(root, results, companions)
    monkeypatch.setattr(journal, "_move_noclobber", real)
    (j,) = journal.journals(root)
    assert json.loads(j.read_text())["state"] == "running"
    assert len(j.with_suffix(".log").read_text().splitlines()) == 3
    assert tree(root) != before

    # the next run rolls the interrupted batch back before doing anything
    rep = journal.organize(root, [], companions)
    assert len(rep.recovered) == 1 and rep.recovered[0].interrupted
    assert len(rep.recovered[0].restored) == 3
    assert tree(root) == before and dirs(root) == before_dirs
    assert json.loads(j.read_text())["state"] == "undone"


def test_crash_between_move_and_log_and_inside_a_move(shoot, monkeypatch):
    """Killed after a rename but before its log line, and between link and unlink."""
    root, results, companions = shoot
    before = tree(root)
    real_record = journal._Log.record
    n = {"records": 0}

    def record(self, i, **kw):
        if n["records"] == 2:
            raise KeyboardInterrupt
        n["records"] += 1
        return real_record(self, i, **kw)

    monkeypatch.setattr(journal._Log, "record", record)
    with pytest.raises(KeyboardInterrupt):
        journal.organize(root, results, companions)
    monkeypatch.undo()
    # op 2 is on disk but not in the log; plus fake a half-done link for op 3
    j = journal.journals(root)[-1]
    ops = json.loads(j.read_text())["ops"]
    (root / ops[3]["dst"]).parent.mkdir(parents=True, exist_ok=True)
    os.link(root / ops[3]["src"], root / ops[3]["dst"])
    u = journal.undo(root)
    assert u.interrupted and len(u.restored) == 3 and not u.problems
    assert tree(root) == before and not (root / "Reject").exists()


def test_undo_refuses_to_overwrite_or_restore_changed_files(shoot):
    root, results, companions = shoot
    journal.organize(root, results, companions)
    (root / "IMG_2.jpg").write_bytes(b"new file at the old name")
    (root / "Keep/IMG_3.jpg").write_bytes(b"edited after the move, different size")
    u = journal.undo(root)
    assert len(u.problems) == 2
    assert (root / "IMG_2.jpg").read_bytes() == b"new file at the old name"
    assert (root / "Reject/IMG_2.jpg").read_bytes() == b"jpeg two"
    assert (root / "Keep/IMG_3.jpg").exists() and not (root / "IMG_3.jpg").exists()
    assert (root / "IMG_1.CR2").read_bytes() == b"raw one"  # the rest was restored


def test_copy_mode_never_touches_sources_and_undo_removes_copies(shoot):
    root, results, companions = shoot
    before = tree(root)
    rep = journal.organize(root, results, companions, mode="copy")
    after = tree(root)
    assert {k: v for k, v in after.items() if k in before} == before
    assert after["Keep/IMG_1.CR2"] == before["IMG_1.CR2"] and after["Reject/day2/IMG_4.jpg.xmp"] == before["day2/IMG_4.jpg.xmp"]
    assert len(after) == len(before) + 7 and len(rep.done) == 7
    assert not any(".photocull-part" in k for k in after)
    (root / "Keep/IMG_3.jpg").write_bytes(b"user edited the copy")
    u = journal.undo(root)
    assert len(u.removed) == 6 and len(u.problems) == 1
    assert tree(root) == {**before, "Keep/IMG_3.jpg": hashlib.sha256(b"user edited the copy").hexdigest()}


def test_interrupted_copy_is_recovered(shoot, monkeypatch):
    root, results, companions = shoot
    before = tree(root)
    crash_file_ops_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        journal.organize(root, results, companions, mode="copy")
    monkeypatch.undo()
    assert len(journal.recover(root)) == 1
    assert tree(root) == before and not (root / "Keep").exists()


def test_cross_device_move_is_refused_before_anything(shoot, monkeypatch):
    root, results, companions = shoot
    before = tree(root)
    monkeypatch.setattr(journal, "_device_of", lambda p: -1)
    with pytest.raises(journal.CrossDeviceError, match="copy mode"):
        journal.organize(root, results, companions)
    assert tree(root) == before and journal.journals(root) == []


def test_review_and_already_sorted_stay(shoot):
    root, results, companions = shoot
    journal.organize(root, results, companions)
    moved = tree(root)
    # re-running on the sorted tree: photos inside Keep/Reject are not moved again
    again = [cr(root / "Keep/IMG_3.jpg", REJECT), cr(root / "broken.jpg", REVIEW)]
    rep = journal.organize(root, again, {})
    assert rep.journal is None and rep.skipped[0][1] == "already in Keep/"
    assert tree(root) == moved
    # undo twice walks back the history
    journal.undo(root)
    assert journal.undo(root).journal is None


def test_later_batches_undo_first(shoot):
    root, results, companions = shoot
    before = tree(root)
    journal.organize(root, results[:2], companions)
    mid = tree(root)
    journal.organize(root, results[2:], companions)
    journal.undo(root)
    assert tree(root) == mid
    journal.undo(root)
    assert tree(root) == before
