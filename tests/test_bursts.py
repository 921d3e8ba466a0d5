"""Burst grouping on generated shoots: same scene with small shifts / blur vs different scenes."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFilter

from photocull.app.core import bursts, cli
from photocull.app.core.analysis import analyze_items, burst_groups
from photocull.app.core.cache import Cache
from photocull.app.core.commands import common
from photocull.app.core.decisions import KEEP, REJECT, REVIEW
from photocull.app.core.decode import read_exif_summary
from photocull.app.core.scan import scan_folder

from fakes import LaplacianScorer


def scene(seed: int) -> Image.Image:
    """A 'photo': smooth random colour blobs plus fine texture, 360x280 (crops of it are the shots)."""
    rng = np.random.default_rng(seed)
    blobs = Image.fromarray((rng.random((7, 9, 3)) * 255).astype(np.uint8)).resize((360, 280), Image.BICUBIC)
    fine = Image.fromarray((rng.random((70, 90, 3)) * 255).astype(np.uint8)).resize((360, 280), Image.NEAREST)
    return Image.blend(blobs, fine, 0.35)


def shot(base: Image.Image, dx: int, dy: int, blur: float = 0.0) -> Image.Image:
    img = base.crop((20 + dx, 20 + dy, 340 + dx, 260 + dy))
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def save(img: Image.Image, path: Path, when: str | None, subsec: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if when:
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
        ifd[ExifTags.Base.DateTimeOriginal] = when
        if subsec:
            ifd[ExifTags.Base.SubsecTimeOriginal] = subsec
    img.save(path, quality=92, exif=exif)
    return path


@pytest.fixture
def shoot(tmp_path):
    """Burst A (4 shots within 1 s: the 3rd sharp, the others blurred, all shifted), scene B 1 s later
    (different scene: its own group), burst C (2 shots), and scene A again 60 s later (own group)."""
    root = tmp_path / "shoot"
    a, b, c = scene(1), scene(2), scene(3)
    files = {
        "a1": save(shot(a, 0, 0, 1.6), root / "IMG_0001.jpg", "2024:05:01 10:00:00", "10"),
        "a2": save(shot(a, 3, 1, 1.0), root / "IMG_0002.jpg", "2024:05:01 10:00:00", "40"),
        "a3": save(shot(a, 5, 2, 0.0), root / "IMG_0003.jpg", "2024:05:01 10:00:00", "70"),
        "a4": save(shot(a, 8, 4, 2.2), root / "IMG_0004.jpg", "2024:05:01 10:00:01", "0"),
        "b1": save(shot(b, 0, 0), root / "IMG_0005.jpg", "2024:05:01 10:00:02", "0"),
        "c1": save(shot(c, 0, 0, 1.5), root / "IMG_0006.jpg", "2024:05:01 10:00:03", "0"),
        "c2": save(shot(c, -4, 3, 0.0), root / "IMG_0007.jpg", "2024:05:01 10:00:03", "50"),
        "a_later": save(shot(a, 0, 0), root / "IMG_0008.jpg", "2024:05:01 10:01:03", "0"),
    }
    return root, files


def test_dhash_separates_scenes_and_tolerates_shifts_and_blur():
    a, b = scene(1), scene(2)
    h0 = bursts.dhash(shot(a, 0, 0))
    near = [bursts.dhash(shot(a, dx, dy, bl)) for dx, dy, bl in ((3, 1, 0), (8, 4, 0), (0, 0, 2.2), (5, 2, 1.6))]
    far = [bursts.dhash(shot(scene(s), 0, 0)) for s in range(2, 8)]
    assert max(bursts.hamming(h0, h) for h in near) <= bursts.MAX_DISTANCE
    assert min(bursts.hamming(h0, h) for h in far) > bursts.MAX_DISTANCE
    assert bursts.hamming(h0, bursts.dhash(shot(b, 0, 0))) > 20  # unrelated scenes differ by ~half the bits


def test_capture_time_uses_subseconds_then_mtime(shoot, tmp_path):
    _, f = shoot
    t1, t2 = (bursts.capture_time(read_exif_summary(f[k])) for k in ("a1", "a2"))
    assert math.isclose(t2 - t1, 0.3, abs_tol=1e-6)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert bursts.capture_time(read_exif_summary(plain), mtime_ns=5_000_000_000) == 5.0


def test_groups_and_best_of_each(shoot, tmp_path):
    root, f = shoot
    items = scan_folder(root)
    with Cache(tmp_path / "c.sqlite3") as cache:
        analyses = list(analyze_items(items, cache))
        again = list(analyze_items(items, cache))
    assert all(a.cached for a in again) and {a.path: a.hash for a in again} == {a.path: a.hash for a in analyses}
    scorer = LaplacianScorer("sharp-burst", gain=300.0)
    scores = {it.path: float(scorer.predict_batch(scorer.preprocess(Image.open(it.path))[None])[0]) for it in items}
    groups = burst_groups(analyses, scores)
    g = {k: groups[p] for k, p in f.items()}
    assert len({g[k].group for k in ("a1", "a2", "a3", "a4")}) == 1 and g["a1"].size == 4
    assert [g[k].index for k in ("a1", "a2", "a3", "a4")] == [1, 2, 3, 4]
    assert g["b1"].size == 1 and g["b1"].group != g["a1"].group
    assert g["c1"].group == g["c2"].group != g["b1"].group and g["c1"].size == 2
    assert g["a_later"].size == 1 and g["a_later"].group != g["a1"].group  # same scene, a minute later
    assert g["a3"].best and not any(g[k].best for k in ("a1", "a2", "a4"))  # the sharp one
    assert g["c2"].best and not g["c1"].best
    assert g["a3"].text == "burst 3/4" and g["b1"].text == ""


def test_group_bursts_ties_and_unscored():
    s = [bursts.Shot(Path("x1"), 10.0, 0, None), bursts.Shot(Path("x2"), 10.5, 1, 50.0),
         bursts.Shot(Path("x3"), 11.0, 3, 50.0), bursts.Shot(Path("y"), None, 3, 90.0)]
    g = bursts.group_bursts(s)
    assert g[Path("x2")].best and not g[Path("x3")].best and not g[Path("x1")].best  # first of a tie
    assert g[Path("y")].size == 1  # no time: never joins a burst


@pytest.fixture
def fake_scorer(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: LaplacianScorer("sharp-burst", gain=300.0))


def test_cli_best_of_burst_with_threshold(shoot, fake_scorer, tmp_path, capsys):
    root, f = shoot
    out_csv = tmp_path / "cull.csv"
    code = cli.main(["cull", str(root), "--best-of-burst", "--csv", str(out_csv), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "best of each of 2 burst(s) kept" in out
    with open(out_csv, newline="") as fh:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(fh)}
    assert list(rows["IMG_0001.jpg"])[:5] == ["path", "score", "decision", "reason", "reasons"]
    verdict = {k: rows[p.name]["decision"] for k, p in f.items()}
    # bursts only: the single shots are left for the photographer to review
    assert verdict == {"a1": REJECT, "a2": REJECT, "a3": KEEP, "a4": REJECT, "b1": REVIEW, "c1": REJECT,
                       "c2": KEEP, "a_later": REVIEW}
    assert rows[f["b1"].name]["reason"] == "single shot: not part of a burst"
    assert "blurry" in rows[f["a4"].name]["reasons"] and "blurry" not in rows[f["a3"].name]["reasons"]

    # with a threshold above the single shots' scores they are rejected too; bursts keep their best
    singles = [float(rows[f[k].name]["score"]) for k in ("b1", "a_later")]
    t = max(singles) + 0.5
    code = cli.main(["cull", str(root), "--best-of-burst", "--threshold", f"{t}", "--csv", str(out_csv),
                     "--no-progress"])
    assert code == 0
    with open(out_csv, newline="") as fh:
        rows = {Path(r["path"]).name: r["decision"] for r in csv.DictReader(fh)}
    assert rows[f["b1"].name] == REJECT and rows[f["a_later"].name] == REJECT
    assert rows[f["a3"].name] == KEEP and rows[f["c2"].name] == KEEP

    assert cli.main(["cull", str(root), "--best-of-burst", "--keep-top", "30%", "--no-progress"]) == 2
    assert cli.main(["cull", str(root), "--no-progress"]) == 2
