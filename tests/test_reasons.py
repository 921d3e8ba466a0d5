"""Reason indicators against the synthetic distortions of their type (Kodak originals, real data).

Calibration documented in app/core/reasons.py; this re-checks it: for each indicator and each
distortion of its type, on several Kodak images, the clean original does not fire, level 5 is well
above level 1 and above the clean image, and level 5 fires on (nearly) every image.
"""

from functools import cache

import numpy as np
import pytest
from PIL import Image

from photocull.app.core import reasons
from photocull.training.distortions import apply

from fakes import kodak

IMAGES = ("kodim01", "kodim05", "kodim13")

# indicator -> distortions that should raise it
CASES = [
    ("blur", "gaussian_blur"),
    ("blur", "lens_blur"),
    ("motion_blur", "motion_blur"),
    ("noise", "white_noise"),
    ("noise", "sensor_noise"),
    ("underexposed", "underexposure"),
    ("underexposed", "darken"),
    ("overexposed", "overexposure"),
    ("overexposed", "brighten"),
    ("highlights_clipped", "overexposure"),
    ("shadows_clipped", "darken"),
]
# The motion-blur indicator depends on the angle of the blur relative to the photo's own dominant
# structure (kodim01 crop, blur at 115 degrees (seed 7): level 5 reaches only 0.13, other angles
# 0.6-1.0), so it is held to a smaller margin and must fire on 2 of the 3 images.
MARGIN = {"motion_blur": 0.1}
MIN_FIRED = {"motion_blur": len(IMAGES) - 1}


@cache
def original(name: str) -> Image.Image:
    """The central 512x384 of a Kodak image (half the pixels: keeps the test fast)."""
    with Image.open(kodak() / f"{name}.webp") as im:
        w, h = im.size
        return im.convert("RGB").crop(((w - 512) // 2, (h - 384) // 2, (w + 512) // 2, (h + 384) // 2))


@cache
def indicators(name: str, distortion: str | None, level: int) -> dict:
    img = original(name)
    if distortion is not None:
        img = apply(distortion, img, level, seed=7)
    return reasons.analyze(img)


@pytest.mark.parametrize("name", IMAGES)
def test_clean_originals_fire_nothing(name):
    ind = indicators(name, None, 0)
    assert set(ind) == set(reasons.INDICATORS)
    assert all(0.0 <= v <= 1.0 for v in ind.values())
    assert reasons.labels(ind) == [], ind


@pytest.mark.parametrize("key,distortion", CASES)
def test_indicator_rises_with_its_distortion(key, distortion):
    fired = 0
    for name in IMAGES:
        clean = indicators(name, None, 0)[key]
        l1, l3, l5 = (indicators(name, distortion, lv)[key] for lv in (1, 3, 5))
        assert clean < reasons.FIRE
        assert l5 > clean + MARGIN.get(key, 0.3), (name, clean, l1, l3, l5)
        assert l5 >= l1 + MARGIN.get(key, 0.3), (name, clean, l1, l3, l5)
        assert l1 <= l3 + 0.05 and l3 <= l5 + 0.05, (name, l1, l3, l5)  # monotonic (small slack)
        fired += l5 >= reasons.FIRE
        if l5 >= reasons.FIRE:
            assert reasons.LABELS[key] in reasons.labels(indicators(name, distortion, 5))
    assert fired >= len(IMAGES) - 1, f"{key} fired on level 5 of {distortion} for {fired}/{len(IMAGES)}"


def test_labels_order_and_threshold():
    ind = dict.fromkeys(reasons.INDICATORS, 0.0)
    ind.update(noise=0.7, blur=0.5, shadows_clipped=0.49)
    assert reasons.labels(ind) == ["blurry", "noisy"]
    assert reasons.labels(None) == []


def test_prepare_reduces_large_images_and_handles_tiny_ones():
    big = Image.new("RGB", (2000, 1000), (128, 128, 128))
    assert reasons.prepare(big).shape == (reasons.ANALYSIS_SIDE, 2 * reasons.ANALYSIS_SIDE, 3)
    tiny = Image.fromarray(np.zeros((4, 5, 3), np.uint8))
    ind = reasons.analyze(tiny)
    assert ind["underexposed"] == 1.0 and ind["shadows_clipped"] == 1.0
