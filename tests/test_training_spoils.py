"""Photographic spoils at explicit strengths, and the culling benchmark's scoring of pairs."""
import numpy as np
import pytest
from PIL import Image

from benchmarks.culling import CARD_SECTION, EXPECTED, pair_table, reason_tables, write_card_section
from photocull.training.distortions import _to_linear
from photocull.training.spoils import SPOILS, mild_strength, spoil


def grey(level=128, size=(96, 64)):
    return Image.new("RGB", size, (level,) * 3)


def texture(seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).resize((128, 96), Image.BICUBIC)


def mse(a, b):
    return float(np.mean((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2))


@pytest.mark.parametrize("name", sorted(SPOILS))
def test_strong_spoils_more_than_mild_and_is_deterministic(name):
    img = texture()
    sp = SPOILS[name]
    mild = spoil(name, img, sp.mild[0], seed=3)
    strong = spoil(name, img, sp.strong, seed=3)
    assert mild.size == img.size and mild.mode == "RGB"
    assert 0 < mse(img, mild) < mse(img, strong)
    assert np.array_equal(np.asarray(mild), np.asarray(spoil(name, img, sp.mild[0], seed=3)))
    lo, hi = sp.mild
    assert lo <= mild_strength(name, np.random.default_rng(0)) <= hi


def test_exposure_is_in_stops_of_linear_light():
    img = grey(60)
    base = _to_linear(np.float32(60 / 255))
    for name, ev, sign in (("overexposure", 1.5, 1), ("underexposure", 2.0, -1)):
        out = np.asarray(spoil(name, img, ev), np.float32)[0, 0, 0] / 255
        assert _to_linear(out) / base == pytest.approx(2.0 ** (sign * ev), rel=0.03)


def test_noise_sigma_is_in_8_bit_units_at_mid_grey():
    img = grey(128, (256, 256))
    out = np.asarray(spoil("noise", img, 12.0), np.float32)
    luma = out @ np.array([0.299, 0.587, 0.114], np.float32)
    assert luma.std() == pytest.approx(12.0 * np.sqrt(128 / 255 / 0.5), rel=0.1)


def rows_for(scene, scores, labels=None):
    out = [{"scene": scene, "spoil": "original", "level": "", "s": scores["original"], "labels": []}]
    for name in SPOILS:
        for level in ("mild", "strong"):
            out.append({"scene": scene, "spoil": name, "level": level, "s": scores.get((name, level), 0.0),
                        "labels": (labels or {}).get((name, level), [])})
    return out


def test_pair_table_counts_ties_as_misses():
    rows = rows_for("a", {"original": 90, ("noise", "mild"): 95, ("noise", "strong"): 10,
                          ("defocus", "mild"): 90, ("defocus", "strong"): 20})
    rows += rows_for("b", {"original": 90, ("noise", "mild"): 50, ("noise", "strong"): 10,
                           ("defocus", "mild"): 50, ("defocus", "strong"): 20})
    table = {e["spoil"]: e for e in pair_table(rows, ["s"])}
    assert table["noise"]["s orig>mild"] == 0.5  # scene a: the noisy take beat its original
    assert table["defocus"]["s orig>mild"] == 0.5  # scene a: a tie is a miss
    assert table["noise"]["s mild>strong"] == 1.0
    assert table["jpeg"]["s mild>strong"] == 0.0  # 0 vs 0: tied
    assert table["all"]["s orig>strong"] == 1.0


def test_card_section_is_replaced_not_appended(tmp_path):
    (tmp_path / "MODEL_CARD.md").write_text("# card\n\n## Size\n\nsmall\n\n## Limitations\n\n- some\n")
    rows = rows_for("a", {"original": 90, ("noise", "mild"): 95, ("noise", "strong"): 10})
    for score in (99, 5):  # first run: the original beats its noisy take; second run: it loses
        rows[0]["s"] = score
        write_card_section(tmp_path, {"rows": rows, "scenes": 1, "model_id": "m", "seconds": 1.0}, ["s"], "cmd")
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert card.count(CARD_SECTION) == 1 and card.index("## Size") < card.index(CARD_SECTION) < card.index("## Limit")
    noise = next(line for line in card.splitlines() if line.startswith("| noise |"))
    assert noise.split("|")[2].strip() == "0.00"  # the latest run (5 < 95), not the first (1.00)


def test_reason_tables_recall_precision_and_clean_originals():
    rows = rows_for("a", {"original": 1}, {("noise", "mild"): ["noisy"], ("noise", "strong"): ["noisy", "blurry"],
                                           ("defocus", "strong"): ["blurry"]})
    rows[0]["labels"] = ["blurry"]  # a false alarm on the original
    rs = reason_tables(rows)
    assert rs["recall"]["noise mild"] == 1.0 and rs["recall"]["defocus mild"] == 0.0
    assert rs["recall"]["jpeg strong"] == 0.0 and EXPECTED["jpeg"] == {"compression artefacts"}  # JPEG has a reason now
    assert rs["originals_clean"] == 0.0
    assert rs["precision"]["noisy"] == 1.0 and rs["precision"]["blurry"] == pytest.approx(1 / 3)
    assert rs["confusion"]["noise"]["noisy"] == 1.0 and rs["confusion"]["jpeg"]["(none)"] == 1.0


def test_spoil_ranking_groups_are_original_mild_strong(kodak):
    from photocull.training.spoils import SpoilRankingSet

    rs = SpoilRankingSet([str(kodak / "kodim03.webp")], ["defocus", "overexposure"], seed=3)
    g = rs.group(0, epoch=1)
    assert g == rs.group(0, epoch=1) and g.spoil in ("defocus", "overexposure")
    lo, hi = SPOILS[g.spoil].mild
    assert lo <= g.mild <= hi
    orig, mild, strong = (np.asarray(im, np.float32) for im in rs.images(g, 64))
    assert orig.shape == mild.shape == strong.shape == (64, 64, 3)
    # the further from the original, the stronger the spoil
    assert 0 < np.abs(mild - orig).mean() < np.abs(strong - orig).mean()
    assert len({rs.key(g, k) for k in range(3)}) == 3
    with pytest.raises(KeyError):
        SpoilRankingSet(["x.png"], ["smudge"])
