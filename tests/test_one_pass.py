"""One pass per folder: the CLI and the GUI scan a folder once, open the cache once and read each
new photo's EXIF once (issue 15), counted by wrapping the functions that do it."""

import csv
import sys
import threading

import pytest
from test_bursts import save, scene, shot

from photocull.app.core import cli, decode, jobs, scan
from photocull.app.core.cache import Cache
from photocull.app.core.commands import common

from fakes import FakeScorer, LaplacianScorer


def count_calls(monkeypatch, module, name) -> list:
    """Wrap ``module.name`` (and every loaded photocull module's import of it by name): the list
    of first arguments it was called with."""
    real, calls = getattr(module, name), []

    def counting(*args, **kw):
        calls.append(args[0] if args else None)
        return real(*args, **kw)

    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("photocull") and getattr(mod, name, None) is real:
            monkeypatch.setattr(mod, name, counting)
    return calls


def count_cache_opens(monkeypatch) -> list:
    real, opens = Cache.__init__, []

    def counting(self, *args, **kw):
        opens.append(args)
        real(self, *args, **kw)

    monkeypatch.setattr(Cache, "__init__", counting)
    return opens


@pytest.fixture
def burst_shoot(tmp_path):
    """A 3-shot burst and two singles, with EXIF capture times (and sub-seconds)."""
    a = scene(21)
    root = tmp_path / "shoot"
    return root, [
        save(shot(a, 0, 0, 1.5), root / "a1.jpg", "2024:05:01 10:00:00", "10"),
        save(shot(a, 3, 1), root / "a2.jpg", "2024:05:01 10:00:00", "50"),
        save(shot(a, 6, 2, 2.0), root / "a3.jpg", "2024:05:01 10:00:01", "0"),
        save(shot(scene(22), 0, 0), root / "sub" / "b.jpg", "2024:05:01 10:05:00"),
        save(shot(scene(23), 0, 0), root / "c.jpg", None),
    ]


@pytest.mark.parametrize("extra", [["--keep-top", "50%"], ["--best-of-burst", "--xmp", "--move"]])
def test_cull_scans_once_opens_the_cache_once_and_reads_exif_once(burst_shoot, tmp_path, monkeypatch, capsys, extra):
    root, photos = burst_shoot
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: LaplacianScorer("one-pass"))
    scans = count_calls(monkeypatch, scan, "scan_folder")
    exif_reads = count_calls(monkeypatch, decode, "read_exif_summary")
    opens = count_cache_opens(monkeypatch)
    out = tmp_path / "out.csv"
    assert cli.main(["cull", str(root), *extra, "--csv", str(out), "--no-progress"]) == 0
    assert len(scans) == 1 and len(opens) == 1
    assert sorted(exif_reads) == sorted(photos)  # each new photo's EXIF read once (for its capture time)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(photos) and all("reasons" in r for r in rows)  # the analysis was there
    if "--best-of-burst" in extra:
        assert "best of each of 1 burst(s) kept" in capsys.readouterr().out


def test_rank_scans_once_and_opens_the_cache_once(burst_shoot, tmp_path, monkeypatch):
    root, photos = burst_shoot
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())
    scans = count_calls(monkeypatch, scan, "scan_folder")
    opens = count_cache_opens(monkeypatch)
    assert cli.main(["rank", str(root), "--csv", str(tmp_path / "r.csv"), "--no-progress"]) == 0
    assert len(scans) == 1 and len(opens) == 1


def test_gui_folder_jobs_scan_once_and_read_each_new_photos_exif_once(burst_shoot, env, monkeypatch):
    from photocull.app.ui.bridge import EngineBridge

    root, photos = burst_shoot
    _, settings = env
    scans = count_calls(monkeypatch, scan, "scan_folder")
    exif_reads = count_calls(monkeypatch, decode, "read_exif_summary")
    bridge = EngineBridge(settings, scorer_factory=lambda: LaplacianScorer("one-pass"),
                          cache_path=env[0] / "gui.sqlite3", batch_size=2)
    try:
        def open_folder():
            msgs = list(bridge.folder_job(root)(threading.Event()))
            assert isinstance(msgs[0], jobs.Scanned) and isinstance(msgs[-1], jobs.Dates)
            entries, items = msgs[0].entries, msgs[0].items
            scores = {e.path: r.score for m in msgs if isinstance(m, jobs.Scores) for r in m.results
                      for e in entries if e.path == r.path}
            analysis = {type(m): m for m in jobs.analysis_job(bridge.cache, items, scores)(threading.Event())}
            return msgs[-1].taken, analysis

        dates, analysis = open_folder()
        assert len(scans) == 1
        assert sorted(exif_reads) == sorted(photos)  # scoring's analysis read it; the dates came from the cache
        a1, a2, a3 = photos[:3]
        assert dates[a2] - dates[a1] == pytest.approx(0.4)  # the one capture time, with its sub-seconds
        assert photos[4] not in dates  # no EXIF date: none (the grid keeps the file time)
        assert sum(b.is_burst for b in analysis[jobs.Bursts].groups.values()) == 3
        assert len(analysis[jobs.Reasons].findings) == len(photos)

        exif_reads.clear()
        open_folder()  # everything from the cache: no EXIF read at all
        assert exif_reads == [] and len(scans) == 2
    finally:
        bridge.close()
