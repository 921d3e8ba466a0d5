"""The one code path that applies decisions to a folder (app/core/organise.py), from the CLI and
from the GUI's EngineBridge: XMP sidecars, Keep/Reject moves and undo, the cache kept in step."""

import os
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from photocull.app.core import analysis, cli, jobs, organise
from photocull.app.core.analysis import VERSION
from photocull.app.core.cache import Cache, default_cache_path
from photocull.app.core.commands import common
from photocull.app.core.decisions import Decision, stars_for_score
from photocull.app.core.session import PICK, REJECT, Entry

from fakes import FakeScorer, write_photo

# A name the filesystem takes for the photo but not for its darktable-style sidecar
# (``<name>.jpg.xmp`` is longer than 255 bytes): writing that sidecar fails with an OSError.
LONG = "x" * 248 + ".jpg"
GREYS = {"a.jpg": 230, "b.jpg": 179, LONG: 128, "d.jpg": 26}  # FakeScorer: a, b kept by --keep-top 50%


@pytest.fixture
def scorer(monkeypatch):
    s = FakeScorer()
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: s)
    return s


def shoot(root: Path, names=GREYS) -> Path:
    for name in names:
        write_photo(root / name, grey=GREYS[name])
    return root


def photos_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.jpg") if ".photocull" not in p.parts)


def entries(paths):
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((p, st.st_size, st.st_mtime_ns))
    return out


def cli_run(*argv) -> int:
    argv = [str(a) for a in argv]
    return cli.main(argv + (["--no-progress"] if argv[0] in ("rank", "cull") else []))


def test_cli_move_undo_and_rerank_score_and_analyse_nothing_again(scorer, tmp_path, monkeypatch, capsys):
    root = shoot(tmp_path / "shoot", ["a.jpg", "b.jpg", "d.jpg"])
    assert cli_run("rank", root, "--csv", tmp_path / "r.csv") == 0  # --csv: reasons, so analyses too
    scored = scorer.predicted
    assert scored == 3
    originals = photos_under(root)
    with Cache() as cache:
        assert len(cache.get_analyses(entries(originals), VERSION)) == 3
        cache.set_decision(root / "a.jpg", flag="pick", stars=4)  # as the GUI stores it

    assert cli_run("cull", root, "--keep-top", "50%", "--move") == 0
    moved = photos_under(root)
    assert {p.relative_to(root).as_posix() for p in moved} == {"Keep/a.jpg", "Keep/b.jpg", "Reject/d.jpg"}
    with Cache() as cache:  # everything cached is keyed to where the photos are now
        assert len(cache.get_scores(entries(moved), scorer.model_id)) == 3
        assert len(cache.get_analyses(entries(moved), VERSION)) == 3
        assert cache.get_decision(root / "Keep" / "a.jpg") == Decision("pick", 4, None)
        assert cache.get_decisions(originals) == {}

    assert cli_run("undo", root) == 0
    assert photos_under(root) == originals
    with Cache() as cache:
        assert len(cache.get_analyses(entries(originals), VERSION)) == 3
        assert cache.get_decision(root / "a.jpg") == Decision("pick", 4, None)

    analysed = []
    monkeypatch.setattr(analysis, "analyze_item", lambda item, exif=None: analysed.append(item) or pytest.fail("re-analysed"))
    assert cli_run("rank", root, "--csv", tmp_path / "r2.csv") == 0
    assert scorer.predicted == scored and not analysed  # nothing scored or analysed again
    assert (tmp_path / "r2.csv").read_text() == (tmp_path / "r.csv").read_text()
    capsys.readouterr()


def test_gui_bridge_and_cli_give_the_same_results_and_per_photo_errors(scorer, tmp_path, env, capsys):
    from photocull.app.ui.bridge import EngineBridge

    _, settings = env
    by_cli, by_gui = shoot(tmp_path / "cli"), shoot(tmp_path / "gui")
    for root in (by_cli, by_gui):
        assert cli_run("rank", root) == 0
    capsys.readouterr()

    assert cli_run("cull", by_cli, "--keep-top", "50%", "--xmp", "--xmp-naming", "append", "--move") == 0
    _, err = capsys.readouterr()
    cli_errors = [line.removeprefix("photocull: warning: ") for line in err.splitlines() if "sidecar" in line]

    # the GUI: the photographer picked the same photos (with the stars auto-cull gives them)
    with Cache() as cache:
        scores = cache.get_scores(entries(photos_under(by_gui)), scorer.model_id)
    keep = {"a.jpg", "b.jpg"}
    session = [Entry(p, score=s.score, flag=PICK if p.name in keep else REJECT,
                     stars=stars_for_score(s.score) if p.name in keep else 0) for p, s in scores.items()]
    bridge = EngineBridge(settings, scorer_factory=lambda: scorer, cache_path=default_cache_path())
    try:
        job = bridge.export_job(by_gui, session, {}, None, "append", "move")
        messages = list(job(threading.Event()))
    finally:
        bridge.close()
    gui_errors = [m.text for m in messages if isinstance(m, jobs.Report) and m.problem]

    # one photo's sidecar failed with an OSError, the same words in both; the others went on
    assert len(cli_errors) == len(gui_errors) == 1
    assert cli_errors[0].startswith(f"sidecar left unchanged: {LONG}: [Errno 36]")
    assert gui_errors[0].replace(str(by_gui), "<folder>") == cli_errors[0].replace(str(by_cli), "<folder>")
    assert jobs.Report("3 XMP sidecar(s) written (append naming)") in messages
    assert isinstance(messages[-1], jobs.FolderChanged)  # photos were moved: the GUI reads the folder again

    def tree(root):
        """Each file: a photo's bytes, or a sidecar's rating and label (the CLI's decisions are
        auto-cull's and the GUI's the photographer's, which the sidecars tell apart)."""
        out = {}
        for p in root.rglob("*"):
            if p.is_file() and ".photocull" not in p.parts:
                data = p.read_bytes()
                if p.suffix == ".xmp":
                    data = re.findall(rb'xmp:(Rating|Label)="([^"]*)"', data)
                out[p.relative_to(root).as_posix()] = data
        return out

    assert tree(by_gui) == tree(by_cli)  # same photos moved to the same places, same sidecars
    assert set(tree(by_cli)) == {"Keep/a.jpg", "Keep/a.jpg.xmp", "Keep/b.jpg", "Keep/b.jpg.xmp",
                                 f"Reject/{LONG}", "Reject/d.jpg", "Reject/d.jpg.xmp"}
    assert tree(by_cli)["Reject/d.jpg.xmp"] == [(b"Rating", b"-1"), (b"Label", b"Red")]
    with Cache() as cache:  # both moves carried the scores
        for root in (by_cli, by_gui):
            assert len(cache.get_scores(entries(photos_under(root)), scorer.model_id)) == 4


def test_undo_without_a_usable_cache_still_puts_the_photos_back(scorer, tmp_path, monkeypatch, capsys):
    root = shoot(tmp_path / "shoot", ["a.jpg", "d.jpg"])
    assert cli_run("cull", root, "--keep-top", "50%", "--move") == 0

    def unusable(*a, **k):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr("photocull.app.core.commands.undo.Cache", unusable)
    assert cli_run("undo", root) == 0
    assert [p.name for p in photos_under(root)] == ["a.jpg", "d.jpg"]
    assert "the cache cannot be opened" in capsys.readouterr().err


def test_putting_back_what_was_never_carried_loses_nothing(tmp_path):
    """A batch killed after its moves but before the cache followed: the rollback moves the files
    back, and the entries that never left the original paths stay."""
    root = shoot(tmp_path / "shoot", ["a.jpg"])
    a = root / "a.jpg"
    with Cache() as cache:
        cache.put_scores([(*entries([a])[0], 70.0, "")], "m")
        moved = organise.organise(root, [organise.results_from_entries([Entry(a, 70.0, flag=PICK)])[0]],
                                  {}, "move", None)  # no cache: as if killed before it was carried
        assert moved.batch.done and not moved.errors
        organise.undo(root, cache)
        assert cache.get_scores(entries([a]), "m")[a].score == 70.0
