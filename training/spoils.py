"""Spoils as a photographer meets them, at explicit photographic strengths.

Each spoil type has a *mild* range (a take that is only a little off: the hard case for a
culler, drawn uniformly per scene) and a *strong* value (a take nobody keeps). Strengths are
in the units a photographer uses: EV for exposure, the noise sigma in 8-bit units at mid-grey,
the defocus Gaussian sigma and the motion length in pixels, the JPEG quality. Used by the
culling benchmark (``benchmarks/culling.py``) and, as ranking groups (original, mild take,
strong take) of ``SpoilRankingSet``, by the trainer (``spoils:`` in a training config).
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from .distortions import _f, _img, _luma, _to_linear, _to_srgb, known_names

__all__ = ["Spoil", "SPOILS", "SpoilGroup", "SpoilRankingSet", "spoil", "mild_strength"]


def over_exposure(img: Image.Image, ev: float, rng) -> Image.Image:
    """Exposure pushed by ``ev`` stops in linear light; highlights clip."""
    return _img(_to_srgb(_to_linear(_f(img)) * 2.0 ** ev))


def under_exposure(img: Image.Image, ev: float, rng) -> Image.Image:
    """Exposure pulled by ``ev`` stops in linear light."""
    return _img(_to_srgb(_to_linear(_f(img)) * 2.0 ** -ev))


def luminance_noise(img: Image.Image, sigma: float, rng) -> Image.Image:
    """Sensor-like noise: shot noise whose sigma is ``sigma`` (8-bit units) at mid-grey and grows
    with the square root of the brightness, mostly in luminance with a weaker chroma part."""
    arr = _f(img)
    y = np.clip(_luma(arr), 0.02, 1.0)[..., None]
    scale = sigma / 255.0 * np.sqrt(y / 0.5)
    luma_n = rng.normal(0.0, 1.0, arr.shape[:2] + (1,)).astype(np.float32)
    chroma_n = rng.normal(0.0, 0.35, arr.shape).astype(np.float32)
    return _img(np.clip(arr + scale * (luma_n + chroma_n), 0.0, 1.0))


def defocus(img: Image.Image, sigma: float, rng) -> Image.Image:
    """Missed focus: a Gaussian blur of ``sigma`` pixels."""
    return img.filter(ImageFilter.GaussianBlur(sigma))


def motion(img: Image.Image, length: float, rng) -> Image.Image:
    """Camera shake: a 1-D line blur of ``length`` pixels at a random angle."""
    n = max(3, int(round(length)) | 1)
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1.0
    kernel = ndimage.rotate(kernel, rng.uniform(0, 180), reshape=False, order=1)
    kernel /= kernel.sum()
    arr = _f(img)
    out = np.stack([ndimage.convolve(arr[..., c], kernel, mode="reflect") for c in range(3)], -1)
    return _img(out)


def jpeg(img: Image.Image, quality: float, rng) -> Image.Image:
    """Heavy JPEG compression at ``quality``."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


@dataclass(frozen=True)
class Spoil:
    fn: Callable[[Image.Image, float, np.random.Generator], Image.Image]
    mild: tuple[float, float]  # the range a mild take's strength is drawn from
    strong: float
    unit: str


SPOILS: dict[str, Spoil] = {
    "overexposure": Spoil(over_exposure, (1.0, 1.7), 3.0, "EV"),
    "underexposure": Spoil(under_exposure, (1.5, 2.0), 4.0, "EV"),
    "noise": Spoil(luminance_noise, (8.0, 15.0), 30.0, "sigma"),
    "defocus": Spoil(defocus, (1.5, 2.5), 5.0, "px"),
    "motion": Spoil(motion, (9.0, 15.0), 27.0, "px"),
    "jpeg": Spoil(jpeg, (15.0, 15.0), 8.0, "quality"),
}


def mild_strength(name: str, rng: np.random.Generator) -> float:
    lo, hi = SPOILS[name].mild
    return float(rng.uniform(lo, hi))


def spoil(name: str, img: Image.Image, strength: float, seed: int = 0) -> Image.Image:
    """``img`` spoilt by ``name`` at ``strength`` (deterministic for a seed)."""
    return SPOILS[name].fn(img.convert("RGB"), strength, np.random.default_rng(seed))


@dataclass(frozen=True)
class SpoilGroup:
    path: str
    spoil: str
    mild: float  # the mild take's strength
    seed: int


class SpoilRankingSet:
    """Ranking groups of one reference photo: (the untouched original, a mild take, the strong
    take) of one spoil type, best first. ``group(i, epoch)`` is deterministic in (seed, epoch, i).
    The spoil is applied to the photo as decoded, before the resize to the model's input, as
    the culling benchmark and the app meet a spoiled photo."""

    levels_per_group = 3

    def __init__(self, paths, spoils=None, seed: int = 0):
        if not paths:
            raise ValueError("no reference photos")
        self.paths = list(paths)
        self.spoils = known_names(spoils, SPOILS, "spoils")
        self.seed = seed

    def __len__(self) -> int:
        return len(self.paths)

    def group(self, i: int, epoch: int = 0) -> SpoilGroup:
        rng = np.random.default_rng([self.seed, epoch, i, 1])
        name = self.spoils[int(rng.integers(len(self.spoils)))]
        return SpoilGroup(self.paths[i % len(self.paths)], name, mild_strength(name, rng),
                          int(rng.integers(2**31)))

    def key(self, g: SpoilGroup, k: int) -> str:
        """Feature-cache id of the group's k-th take (with its path)."""
        return f"{g.spoil}|{('original', 'mild', 'strong')[k]}|{g.mild}|{g.seed}"

    def images(self, g: SpoilGroup, size: int) -> list[Image.Image]:
        with Image.open(g.path) as im:
            orig = im.convert("RGB")
        takes = [orig, spoil(g.spoil, orig, g.mild, g.seed), spoil(g.spoil, orig, SPOILS[g.spoil].strong, g.seed)]
        return [t.resize((size, size), Image.BICUBIC) for t in takes]
