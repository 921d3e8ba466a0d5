"""Processes killed with SIGKILL mid-scan and mid-move: the cache stays sound and resumable,
decisions survive, and undo / the next run put every photo back byte for byte."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_reliability_bad_input import file_state

from photocull.app.core import cli, journal, xmp
from photocull.app.core.cache import Cache
from photocull.app.core.commands import common
from photocull.app.core.decisions import Decision
from photocull.app.core.engine import score_folder

from fakes import FakeScorer, write_photo

REPO = Path(__file__).resolve().parent.parent

# The child: `python -m photocull.app.main ARGS` semantics, with a fake scorer and a slow-down hook.
CHILD = textwrap.dedent("""
    import sys, time
    from photocull.app import main as app_main
    from photocull.app.core import journal
    from photocull.app.core.commands import common
    from fakes import FakeScorer

    class SlowScorer(FakeScorer):
        def predict_batch(self, x):
            out = super().predict_batch(x)
            print("batch", len(self.batches), flush=True)
            time.sleep(0.25)
            return out

    common.load_scorer_from_args = lambda args, **kw: SlowScorer()
    real_move, real_copy = journal._move_noclobber, journal._copy_verified

    def slow_move(src, dst):
        real_move(src, dst)
        print("moved", dst.name, flush=True)
        time.sleep(0.25)

    def slow_copy(src, dst):
        digest = real_copy(src, dst)
        print("moved", dst.name, flush=True)
        time.sleep(0.25)
        return digest

    if "--slow-ops" in sys.argv:
        sys.argv.remove("--slow-ops")
        journal._move_noclobber, journal._copy_verified = slow_move, slow_copy
    sys.exit(app_main.main(sys.argv[1:]))
""")


def start_child(tmp_path, args):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")]),
           "PHOTOCULL_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True, cwd=tmp_path)


def kill_after(proc, prefix: str, n: int, timeout: float = 60.0) -> list[str]:
    """Read the child's lines until ``n`` start with ``prefix``, then SIGKILL it."""
    seen, deadline = [], time.monotonic() + timeout
    try:
        for line in proc.stdout:
            seen.append(line)
            if sum(s.startswith(prefix) for s in seen) >= n or time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert sum(s.startswith(prefix) for s in seen) >= n, "".join(seen)
    return seen


def test_python_m_app_main_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "photocull.app.main", "--version"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("photocull ")


def test_killed_mid_scan_resumes_from_a_sound_cache(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for i in range(40):
        write_photo(root / f"{i:02d}.png", grey=3 + i * 6, size=(64, 64))
    cache_path = tmp_path / "cache" / "cache.sqlite3"
    decided = {root / "05.png": Decision("pick", 4, "Green"), root / "30.png": Decision("reject", 0, None)}
    with Cache(cache_path) as c:
        c.set_decisions(decided)
    proc = start_child(tmp_path, ["rank", root, "--batch-size", "4", "--no-progress"])
    lines = []
    try:
        for line in proc.stdout:  # a decision made (e.g. in the GUI) while the scan runs
            lines.append(line)
            if line.startswith("batch"):
                break
        with Cache(cache_path) as c:
            c.set_decision(root / "12.png", flag="pick", stars=2)
        decided[root / "12.png"] = Decision("pick", 2, None)
    finally:
        lines += kill_after(proc, "batch", 3)
    assert not any(line.startswith("rank") for line in lines)  # killed before the table

    conn = sqlite3.connect(cache_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    scored_rows = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    conn.close()
    assert 8 <= scored_rows < 40  # at least two whole batches were committed, not everything
    with Cache(cache_path) as c:
        assert c.get_decisions(decided) == decided  # no decision lost
    assert not list(cache_path.parent.glob("*.corrupt-*"))  # opened as is, not rebuilt

    scorer = FakeScorer()
    with Cache(cache_path) as c:
        results = list(score_folder(root, scorer, c, batch_size=4))
    assert len(results) == 40 and all(r.status == "ok" for r in results)
    assert sum(r.cached for r in results) == scored_rows and scorer.predicted == 40 - scored_rows


@pytest.fixture
def shoot(tmp_path):
    root = tmp_path / "shoot"
    for i in range(8):
        write_photo(root / ("sub" if i % 3 == 0 else "") / f"IMG_{i}.jpg", grey=20 + i * 28)
    (root / "IMG_7.CR2").write_bytes(b"raw bytes of IMG_7")  # RAW+JPEG pair ...
    (root / "IMG_7.xmp").write_bytes(xmp.new_packet(None, "Blue"))  # ... with its sidecar
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    return root


@pytest.mark.parametrize("mode, repair", [("move", "undo"), ("move", "next run"), ("copy", "undo")])
def test_killed_mid_move_is_restored_byte_for_byte(shoot, tmp_path, monkeypatch, capsys, mode, repair):
    before = file_state(shoot)
    proc = start_child(tmp_path, ["cull", shoot, "--threshold", "50", f"--{mode}", "--no-progress",
                                  "--slow-ops"])
    kill_after(proc, "moved", 3)
    (j,) = journal.journals(shoot)
    assert '"state": "running"' in j.read_text()
    assert file_state(shoot) != before  # the kill really left a half-sorted tree

    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())
    if repair == "undo":
        code = cli.main(["undo", str(shoot)])
        out = capsys.readouterr().out
        assert code == 0 and "undoing the interrupted batch" in out
    else:
        code = cli.main(["cull", str(shoot), "--threshold", "50", "--no-progress"])
        out = capsys.readouterr().out
        assert code == 0 and "rolled back an interrupted batch" in out

    after = file_state(shoot)
    jdir = os.fsencode(shoot / journal.JOURNAL_DIR)
    assert {k: v for k, v in after.items() if not k.startswith(jdir)} == before
    assert not (shoot / "Keep").exists() and not (shoot / "Reject").exists()
