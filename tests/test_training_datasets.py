import csv

import numpy as np
import pytest
from PIL import Image

from photocull.training.datasets import LOADERS, DatasetError, Sample, load_dataset, random_splits


def _img(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)


def _csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _by_name(samples):
    return {s.path.replace("\\", "/").rsplit("/", 1)[-1]: s for s in samples}


def test_clive_shared_layout(tmp_path):
    _csv(tmp_path / "mos.csv", ["image", "mos", "mos_std", "original_name"],
         [["t1.webp", "63.5", "18.1", "t1.bmp"], ["10.JPG", "25", "13", "10.JPG"]])
    _img(tmp_path / "images" / "t1.webp")
    _img(tmp_path / "images" / "10.JPG")
    s = _by_name(load_dataset("clive", tmp_path))
    assert s["t1.webp"].target == pytest.approx(0.635) and s["10.JPG"].target == pytest.approx(0.25)


def test_live_challenge_mat(tmp_path):
    from scipy.io import savemat

    names = np.empty((3, 1), dtype=object)
    names[:, 0] = ["t1.bmp", "100.bmp", "101.bmp"]
    (tmp_path / "Data").mkdir()
    savemat(tmp_path / "Data" / "AllImages_release.mat", {"AllImages_release": names})
    savemat(tmp_path / "Data" / "AllMOS_release.mat", {"AllMOS_release": np.array([[40.0, 80.0, 12.5]])})
    _img(tmp_path / "Images" / "trainingImages" / "t1.bmp")
    _img(tmp_path / "Images" / "100.bmp")
    _img(tmp_path / "Images" / "101.bmp")
    s = _by_name(load_dataset("live_challenge", tmp_path))
    assert [s[n].target for n in ("t1.bmp", "100.bmp", "101.bmp")] == pytest.approx([0.4, 0.8, 0.125])
    assert "trainingImages" in s["t1.bmp"].path


def test_koniq_both_scales(tmp_path):
    _csv(tmp_path / "koniq10k_scores_and_distributions.csv",
         ["image_name", "c1", "c2", "c3", "c4", "c5", "c_total", "MOS", "SD", "MOS_zscore"],
         [["1.jpg", 0, 0, 1, 2, 3, 6, "4.0", "0.5", "77.5"], ["2.jpg", 3, 2, 1, 0, 0, 6, "1.5", "0.6", "12.0"]])
    _img(tmp_path / "512x384" / "1.jpg")
    _img(tmp_path / "512x384" / "2.jpg")
    z = _by_name(load_dataset("koniq", tmp_path))
    assert z["1.jpg"].target == pytest.approx(0.775) and z["2.jpg"].target == pytest.approx(0.12)
    m = _by_name(load_dataset("koniq", tmp_path, score="mos"))
    assert m["1.jpg"].target == pytest.approx(0.75) and m["2.jpg"].target == pytest.approx(0.125)
    with pytest.raises(DatasetError):
        load_dataset("koniq", tmp_path, score="bogus")


def test_kadid_groups_and_grouped_split(tmp_path):
    rows = []
    for r in range(1, 6):
        for t in range(1, 3):
            name = f"I{r:02d}_{t:02d}_03.png"
            rows.append([name, f"I{r:02d}.png", str(1 + r * 0.5 + t * 0.1), "0.2"])
            _img(tmp_path / "images" / name, seed=r * 10 + t)
    _csv(tmp_path / "dmos.csv", ["dist_img", "ref_img", "dmos", "var"], rows)
    samples = load_dataset("kadid", tmp_path)
    s = _by_name(samples)
    assert s["I02_01_03.png"].target == pytest.approx((2.1 - 1) / 4)
    assert s["I02_01_03.png"].group == "I02.png"
    for sp in random_splits(samples, n_splits=5, seed=1):
        train_refs = {samples[i].group for i in sp.train}
        test_refs = {samples[i].group for i in sp.test}
        assert not train_refs & test_refs and len(train_refs) == 4 and len(test_refs) == 1


def test_spaq_xlsx(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Image name", "MOS", "Brightness"])
    ws.append(["00001.jpg", 42.0, 50])
    ws.append(["00002.jpg", 91.5, 60])
    (tmp_path / "Annotations").mkdir()
    wb.save(tmp_path / "Annotations" / "MOS and Image attribute scores.xlsx")
    _img(tmp_path / "TestImage" / "00001.jpg")
    _img(tmp_path / "TestImage" / "00002.jpg")
    s = _by_name(load_dataset("spaq", tmp_path))
    assert s["00001.jpg"].target == pytest.approx(0.42) and s["00002.jpg"].target == pytest.approx(0.915)


def test_agiqa_csv(tmp_path):
    _csv(tmp_path / "data.csv", ["name", "prompt", "mos_quality", "std_quality", "mos_align"],
         [["a.png", "a cat", "4.0", "0.3", "2.5"], ["b.png", "a dog", "1.0", "0.4", "5.0"]])
    _img(tmp_path / "images" / "a.png")
    _img(tmp_path / "images" / "b.png")
    s = _by_name(load_dataset("agiqa", tmp_path))
    assert s["a.png"].target == pytest.approx(0.8) and s["b.png"].target == pytest.approx(0.2)
    al = _by_name(load_dataset("agiqa", tmp_path, column="mos_align"))
    assert al["b.png"].target == pytest.approx(1.0)


def test_generic_csv_scale_and_missing_image(tmp_path):
    _csv(tmp_path / "scores.csv", ["path", "mos"], [["sub/x.png", "3"], ["y.png", "5"]])
    _img(tmp_path / "sub" / "x.png")
    _img(tmp_path / "y.png")
    s = _by_name(load_dataset("csv", tmp_path, scale=(1, 5)))
    assert s["x.png"].target == pytest.approx(0.5) and s["y.png"].target == pytest.approx(1.0)
    (tmp_path / "y.png").unlink()
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("csv", tmp_path)


def test_registry_and_unknown():
    assert {"clive", "live_challenge", "koniq", "kadid", "spaq", "agiqa", "csv"} <= set(LOADERS)
    with pytest.raises(DatasetError):
        load_dataset("nope", "/tmp")


def test_random_splits_reproducible_and_disjoint():
    samples = [Sample(f"{i}.png", i / 100) for i in range(100)]
    a = random_splits(samples, n_splits=3, seed=4)
    b = random_splits(samples, n_splits=3, seed=4)
    assert [s.test for s in a] == [s.test for s in b]
    assert a[0].test != a[1].test
    for sp in a:
        assert len(sp.train) == 80 and len(sp.test) == 20 and not sp.val
        assert sorted(sp.train + sp.test) == list(range(100))
    tvt = random_splits(samples, n_splits=1, seed=0, fractions=(0.7, 0.1, 0.2))[0]
    assert (len(tvt.train), len(tvt.val), len(tvt.test)) == (70, 10, 20)
    assert not set(tvt.train) & set(tvt.val) and not set(tvt.val) & set(tvt.test)
    with pytest.raises(ValueError):
        random_splits(samples, fractions=(0.5, 0.2))
