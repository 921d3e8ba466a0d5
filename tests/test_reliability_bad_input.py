"""The bad-input corpus (tests/corpus.py) through the CLI, the CSV/JSON exports and the GUI's
Qt-free session layer: every file gets a status and a reason, the scan goes on, nothing changes."""

import csv
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from photocull.app.core import cli, engine
from photocull.app.core.cache import Cache
from photocull.app.core.commands import common
from photocull.app.core.scan import display_path, scan_folder
from photocull.app.core.session import CullSession, Entry

from corpus import build_corpus, deny_read, mid_scan_faults
from fakes import FakeScorer


def file_state(root: Path) -> dict[bytes, tuple]:
    """Every entry under ``root`` (links not followed): bytes hash of files, link targets, modes."""
    out = {}
    for dirpath, dirnames, files in os.walk(os.fsencode(root)):
        for name in dirnames + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[p] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(p, "rb") as fh:
                        digest = hashlib.sha256(fh.read()).hexdigest()
                except PermissionError:  # chmod 000 as a normal user: size + mtime stand in
                    digest = "unreadable"
                out[p] = ("file", digest, st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
            elif not stat.S_ISDIR(st.st_mode):
                out[p] = ("special", stat.S_IFMT(st.st_mode))
    return out


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    root = tmp_path / "dump"
    cases = build_corpus(root)
    if os.geteuid() == 0:  # root reads chmod-000 files: make photocull see what a user would see
        deny_read(monkeypatch, [c.path for c in cases if c.unreadable])
    mid_scan_faults(monkeypatch, cases)
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())
    return root, cases


def listed(cases):
    return [c for c in cases if c.listed]


def test_unreadable_case_is_really_unreadable_or_simulated(corpus):
    """The permission case always runs: chmod 000 for a user, deny_read() for root."""
    root, cases = corpus
    (case,) = [c for c in cases if c.unreadable]
    assert stat.S_IMODE(os.stat(case.path).st_mode) == 0
    from photocull.app.core import decode

    with pytest.raises(decode.DecodeError, match="permission denied") as info:
        decode.load_image(case.path)
    assert not info.value.permanent


def test_rank_reports_every_file_in_table_csv_and_json(corpus, tmp_path, capsys):
    root, cases = corpus
    before = file_state(root)
    code = cli.main(["rank", str(root), "--no-progress", "--batch-size", "4",
                     "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json")])
    out, err = capsys.readouterr()
    assert code == 0, err  # some photos were scored
    assert "Traceback" not in out + err

    expected = {display_path(c.path): c for c in listed(cases)}
    ok = [c for c in listed(cases) if c.status == "ok"]
    bad = [c for c in listed(cases) if c.status == "error"]
    lines = out.splitlines()
    assert lines[-1] == f"{len(ok)} scored, {len(bad)} failed"
    table = {}
    for line in lines[1:-1]:
        cols = line.split(None, 3)
        rel, _, reason = cols[3].partition(": ")
        table[f"{display_path(root)}/{rel}"] = (cols[2], reason)  # rel is printable (\\xNN escapes)
    assert set(table) == set(expected)
    for shown, c in expected.items():
        status, reason = table[shown]
        assert status == c.status, (c.name, status, reason)
        assert c.reason in reason, (c.name, reason)

    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    data = {d["path"]: d for d in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))}
    assert set(rows) == set(data) == set(expected)
    for shown, c in expected.items():
        r, d = rows[shown], data[shown]
        assert r["status"] == d["status"] == c.status, c.name
        if c.status == "ok":
            assert r["error"] == d["error"] == "" and float(r["score"]) == pytest.approx(d["score"])
            assert int(r["rank"]) == d["rank"] >= 1
        else:
            assert c.reason in r["error"] and r["error"] == d["error"], c.name
            assert r["score"] == r["rank"] == "" and d["score"] is None and d["rank"] is None

    # nothing was modified, except what the test itself deleted/rewrote mid-scan
    after = file_state(root)
    changed = {os.fsencode(c.path) for c in cases if c.during_scan}
    assert {k: v for k, v in after.items() if k not in changed} == \
           {k: v for k, v in before.items() if k not in changed}


def test_exit_code_1_when_nothing_in_the_corpus_can_be_scored(corpus, capsys):
    root, cases = corpus
    for c in cases:  # keep only the broken files
        if c.status == "ok" and c.listed:
            os.unlink(c.path)
    shutil.rmtree(root / "loop")
    code = cli.main(["rank", str(root), "--no-progress"])
    out, err = capsys.readouterr()
    bad = [c for c in listed(cases) if c.status == "error" and c.name != "loop/inside.jpg"]
    assert code == 1 and f"0 scored, {len(bad)} failed" in out
    for c in bad:
        assert c.reason in out, c.name
    code = cli.main(["cull", str(root), "--threshold", "50", "--no-progress"])
    assert code == 1 and "nothing could be scored" in capsys.readouterr().err


def test_cull_lists_errors_as_needing_review(corpus, tmp_path, capsys):
    root, cases = corpus
    code = cli.main(["cull", str(root), "--keep-top", "50%", "--no-progress", "--csv", str(tmp_path / "c.csv")])
    out, err = capsys.readouterr()
    assert code == 0, err
    bad = [c for c in listed(cases) if c.status == "error"]
    assert f"{len(bad)} need review" in out
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    for c in bad:
        row = rows[display_path(c.path)]
        assert row["decision"] == "needs review" and c.reason in row["reason"], c.name


def test_gui_session_shows_an_error_tile_per_bad_file(corpus, tmp_path):
    """What the GUI's folder job does (app/ui/backend.py), through the Qt-free session layer."""
    root, cases = corpus
    items = scan_folder(root)
    session = CullSession(Entry(it.path, error=it.error) for it in items)
    with Cache(tmp_path / "gui.sqlite3") as cache:
        for r in engine.score_items(items, FakeScorer(), cache, batch_size=4):
            session.set_score(r.path, r.score, r.error, r.cached)
    assert {e.path for e in session.entries} == {c.path for c in listed(cases)}
    bad = [c for c in listed(cases) if c.status == "error"]
    for c in listed(cases):
        e = session.get(c.path)
        if c.status == "error":
            assert e.failed and e.score is None and c.reason in e.error, c.name
            assert e.matches(decision="error")
        else:
            assert not e.failed and e.score is not None and not e.matches(decision="error"), c.name
    counts = session.counts()
    assert counts["errors"] == len(bad) and counts["scored"] == len(listed(cases)) - len(bad)
    changed = session.auto_cull(top_percent=50)
    assert not {c.path for c in bad} & set(changed)  # failed photos are never auto-culled
