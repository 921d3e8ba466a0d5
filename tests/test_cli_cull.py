import csv
import hashlib
import json
import os
from pathlib import Path

import pytest

from photocull.app.core import cli, journal, xmp
from photocull.app.core.commands import common

from fakes import FakeScorer, crash_file_ops_after, write_photo


@pytest.fixture
def fake_scorer(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())


@pytest.fixture
def shoot(tmp_path):
    """Scores (FakeScorer = brightness): a 90 (RAW+JPEG pair + sidecar), b 70, c 50, d 30, e 10; broken fails."""
    root = tmp_path / "shoot"
    for name, grey in (("a.jpg", 230), ("b.jpg", 179), ("sub/c.jpg", 128), ("d.jpg", 77), ("e.jpg", 26)):
        write_photo(root / name, grey=grey)
    (root / "a.CR2").write_bytes(b"raw bytes of a")
    (root / "a.xmp").write_bytes(xmp.new_packet(None, "Blue").replace(b'xmp:Label="Blue"',
                                 b'xmp:Label="Blue" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="x"'))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return root


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".photocull"]
        for f in files:
            p = Path(dirpath, f)
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run(argv, capsys):
    code = cli.main([str(a) for a in argv] + (["--no-progress"] if argv[0] == "cull" else []))
    out, err = capsys.readouterr()
    return code, out, err


def test_keep_top_lists_csv_json(shoot, fake_scorer, tmp_path, capsys):
    before = snapshot(shoot)
    code, out, err = run(["cull", shoot, "--keep-top", "40%", "--lists", "--csv", tmp_path / "c.csv",
                          "--json", tmp_path / "o" / "c.json"], capsys)
    assert code == 0, err
    assert "6 photos (best 40% kept): 2 keep, 3 reject, 1 need review" in out
    assert "needs review: broken.jpg" in out
    assert (shoot / "keep.txt").read_text() == f"{shoot / 'a.jpg'}\n{shoot / 'b.jpg'}\n"
    assert (shoot / "reject.txt").read_text().splitlines() == [str(shoot / n) for n in ("d.jpg", "e.jpg", "sub/c.jpg")]
    assert (shoot / "review.txt").read_text() == f"{shoot / 'broken.jpg'}\n"
    rows = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert [(Path(r["path"]).name, r["decision"]) for r in rows] == [
        ("a.jpg", "keep"), ("b.jpg", "keep"), ("broken.jpg", "needs review"), ("d.jpg", "reject"),
        ("e.jpg", "reject"), ("c.jpg", "reject")]
    assert float(rows[0]["score"]) == pytest.approx(90.2, abs=0.1)
    data = json.loads((tmp_path / "o" / "c.json").read_text())
    assert [d["decision"] for d in data] == [r["decision"] for r in rows] and data[2]["score"] is None
    # only our outputs were added; no photo touched, nothing moved
    assert {k: v for k, v in snapshot(shoot).items() if k in before} == before


def test_threshold_xmp_pair_goes_to_raw_and_merges(shoot, fake_scorer, capsys):
    code, out, err = run(["cull", shoot, "--threshold", "60", "--xmp", "--xmp-naming", "replace"], capsys)
    assert code == 0, err
    assert "2 keep, 3 reject, 1 need review, left 0 of yours alone, kept 1 of your labels" in out
    assert "xmp: 5 sidecars written" in out
    # the pair's sidecar (RAW's): auto-cull's rating, the photographer's own Blue label kept
    assert xmp.read_sidecar(shoot / "a.xmp") == {"rating": 5, "label": "Blue"}
    assert b'dc:format="x"' in (shoot / "a.xmp").read_bytes()
    assert xmp.read_sidecar(shoot / "b.xmp") == {"rating": 4, "label": "Green"}
    assert xmp.read_sidecar(shoot / "sub" / "c.xmp") == {"rating": -1, "label": "Red"}
    assert not (shoot / "broken.xmp").exists()
    code, out, err = run(["cull", shoot, "--threshold", "60", "--xmp", "--xmp-naming", "append",
                          "--keep-label", "purple", "--reject-label", "none"], capsys)
    assert code == 0
    assert xmp.read_sidecar(shoot / "a.CR2.xmp") == {"rating": 5, "label": None}  # Blue is theirs
    assert xmp.read_sidecar(shoot / "b.jpg.xmp") == {"rating": 4, "label": "Purple"}
    assert xmp.read_sidecar(shoot / "d.jpg.xmp") == {"rating": -1, "label": None}


def test_move_undo_cycle(shoot, fake_scorer, capsys):
    before = snapshot(shoot)
    code, out, err = run(["cull", shoot, "--keep-top", "40%", "--move"], capsys)
    assert code == 0, err
    assert "moved 7 files into Keep/ and Reject/" in out
    after = snapshot(shoot)
    assert set(after) == {"Keep/a.jpg", "Keep/a.CR2", "Keep/a.xmp", "Keep/b.jpg", "Reject/sub/c.jpg",
                          "Reject/d.jpg", "Reject/e.jpg", "broken.jpg"}
    assert sorted(after.values()) == sorted(before.values())
    # a second cull leaves the sorted photos alone (only broken.jpg is left, and it can't be scored)
    code, out, err = run(["cull", shoot, "--keep-top", "40%", "--move"], capsys)
    assert code == 1 and snapshot(shoot) == after

    code, out, err = run(["undo", shoot], capsys)
    assert code == 0, err
    assert "7 files restored" in out and "restored a.CR2" in out and "removed empty folder Keep" in out
    assert snapshot(shoot) == before and not (shoot / "Keep").exists()
    code, out, err = run(["undo", shoot], capsys)
    assert code == 1 and "nothing to undo" in out


def test_copy_mode(shoot, fake_scorer, capsys):
    before = snapshot(shoot)
    code, out, err = run(["cull", shoot, "--threshold", "60", "--copy"], capsys)
    assert code == 0 and "copied 7 files" in out
    after = snapshot(shoot)
    assert {k: after[k] for k in before} == before
    assert after["Keep/a.CR2"] == before["a.CR2"]


def test_interrupted_move_rolled_back_by_next_run(shoot, fake_scorer, monkeypatch, capsys):
    before = snapshot(shoot)
    real = crash_file_ops_after(monkeypatch, 4)
    assert cli.main(["cull", str(shoot), "--threshold", "60", "--move", "--no-progress"]) == 130
    monkeypatch.setattr(journal, "_move_noclobber", real)
    assert snapshot(shoot) != before
    code, out, err = run(["cull", shoot, "--threshold", "60", "--lists"], capsys)
    assert code == 0 and "rolled back an interrupted batch" in out and "4 files put back" in out
    assert {k: v for k, v in snapshot(shoot).items() if k in before} == before
    assert not (shoot / "Keep").exists() and not (shoot / "Reject").exists()


def test_exit_codes(tmp_path, fake_scorer, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["cull", empty, "--threshold", "50"], capsys)[0] == 1
    assert run(["cull", tmp_path / "missing", "--threshold", "50"], capsys)[0] == 2
    assert run(["cull", empty], capsys)[0] == 2  # --keep-top or --threshold required
    assert run(["cull", empty, "--keep-top", "150%"], capsys)[0] == 2
    assert run(["cull", empty, "--threshold", "50", "--move", "--copy"], capsys)[0] == 2
    assert run(["undo", tmp_path / "missing"], capsys)[0] == 2


def test_cross_device_move_refused(shoot, fake_scorer, monkeypatch, capsys):
    before = snapshot(shoot)
    monkeypatch.setattr(journal, "_device_of", lambda p: -1)
    code, out, err = run(["cull", shoot, "--threshold", "60", "--move"], capsys)
    assert code == 2 and "another filesystem" in err and "copy mode" in err
    assert snapshot(shoot) == before
