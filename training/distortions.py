"""KADID-style synthetic distortions (numpy / PIL / scipy only) and a ranking dataset over
pristine images.

``DISTORTIONS[name](img, level, rng) -> PIL.Image``: ``img`` is an RGB PIL image, ``level`` 1..5
(5 = strongest), ``rng`` a ``numpy.random.Generator``; output has the input's size, mode RGB, and is
a deterministic function of (img, level, rng state).  Kernel sizes are in pixels of the image
given, so distort at the working resolution (KADID-10k used 512x384).
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

LEVELS = (1, 2, 3, 4, 5)
Distortion = Callable[[Image.Image, int, np.random.Generator], Image.Image]


def _f(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _img(arr: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


def _pick(values: Sequence[float], level: int) -> float:
    if level not in LEVELS:
        raise ValueError(f"level must be in 1..5, got {level}")
    return values[level - 1]


def _convolve(arr: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kernel = kernel / kernel.sum()
    return np.stack([ndimage.convolve(arr[..., c], kernel, mode="reflect") for c in range(3)], -1)


def _to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def _luma(arr: np.ndarray) -> np.ndarray:
    return arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def gaussian_blur(img, level, rng):
    sigma = _pick((0.8, 1.5, 2.5, 4.0, 6.0), level)
    return _img(ndimage.gaussian_filter(_f(img), sigma=(sigma, sigma, 0), mode="reflect"))


def lens_blur(img, level, rng):
    """Defocus: uniform disc kernel."""
    r = max(1.0, _pick((1.5, 2.5, 4.0, 6.0, 9.0), level))
    n = int(np.ceil(r))
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
    return _img(_convolve(_f(img), (xx ** 2 + yy ** 2 <= r * r).astype(np.float32)))


def motion_blur(img, level, rng):
    """Linear motion blur at a random angle."""
    length = max(3, int(round(_pick((5, 9, 15, 23, 33), level))))
    angle = rng.uniform(0, np.pi)
    n = length // 2
    kernel = np.zeros((2 * n + 1, 2 * n + 1), np.float32)
    for t in np.linspace(-n, n, 4 * length):
        kernel[int(round(n + t * np.sin(angle))), int(round(n + t * np.cos(angle)))] = 1.0
    return _img(_convolve(_f(img), kernel))


def white_noise(img, level, rng):
    sigma = _pick((0.02, 0.04, 0.07, 0.11, 0.16), level)
    arr = _f(img)
    return _img(arr + rng.normal(0.0, sigma, arr.shape).astype(np.float32))


def sensor_noise(img, level, rng):
    """Signal-dependent Poisson-Gaussian noise in linear light (high-ISO look, luma + chroma)."""
    photons = _pick((400.0, 150.0, 60.0, 25.0, 10.0), level)
    read = _pick((0.002, 0.004, 0.007, 0.011, 0.016), level)
    lin = _to_linear(_f(img))
    noisy = rng.poisson(lin * photons).astype(np.float32) / photons
    noisy += rng.normal(0.0, read, lin.shape).astype(np.float32)
    return _img(_to_srgb(noisy))


def impulse_noise(img, level, rng):
    p = _pick((0.01, 0.03, 0.06, 0.1, 0.16), level)
    arr = _f(img).copy()
    u = rng.random(arr.shape[:2])
    arr[u < p / 2] = 0.0
    arr[(u >= p / 2) & (u < p)] = 1.0
    return _img(arr)


def jpeg(img, level, rng):
    quality = int(_pick((40, 22, 12, 7, 3), level))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def brighten(img, level, rng):
    """Lift the tone curve (washed out), KADID-style."""
    g = _pick((0.8, 0.65, 0.5, 0.38, 0.28), level)
    return _img(_f(img) ** g)


def darken(img, level, rng):
    g = _pick((1.3, 1.6, 2.0, 2.6, 3.4), level)
    return _img(_f(img) ** g)


def overexposure(img, level, rng):
    """Exposure push in linear light with clipped highlights."""
    ev = _pick((0.6, 1.0, 1.5, 2.0, 2.7), level)
    return _img(_to_srgb(_to_linear(_f(img)) * 2.0 ** ev))


def underexposure(img, level, rng):
    """Exposure pull in linear light plus the shadow noise a brightened-back exposure shows."""
    ev = _pick((0.8, 1.4, 2.0, 2.7, 3.5), level)
    lin = _to_linear(_f(img)) * 2.0 ** -ev
    lin += rng.normal(0.0, 0.0015 * level, lin.shape).astype(np.float32)
    return _img(_to_srgb(lin))


def contrast_decrease(img, level, rng):
    k = _pick((0.75, 0.58, 0.43, 0.3, 0.18), level)
    arr = _f(img)
    return _img(arr.mean() + (arr - arr.mean()) * k)


def contrast_increase(img, level, rng):
    k = _pick((1.3, 1.6, 2.0, 2.5, 3.2), level)
    arr = _f(img)
    return _img(0.5 + (arr - 0.5) * k)


def desaturate(img, level, rng):
    k = _pick((0.65, 0.45, 0.28, 0.14, 0.0), level)
    arr = _f(img)
    y = _luma(arr)[..., None]
    return _img(y + (arr - y) * k)


def oversaturate(img, level, rng):
    k = _pick((1.5, 2.0, 2.7, 3.5, 4.5), level)
    arr = _f(img)
    y = _luma(arr)[..., None]
    return _img(y + (arr - y) * k)


def color_cast(img, level, rng):
    """White-balance error: per-channel gains along a random direction."""
    strength = _pick((0.08, 0.15, 0.24, 0.35, 0.5), level)
    direction = rng.normal(size=3)
    direction -= direction.mean()
    direction /= np.linalg.norm(direction) + 1e-8
    gains = np.exp(direction * strength * 1.5).astype(np.float32)
    return _img(_f(img) * gains)


def pixelate(img, level, rng):
    factor = _pick((2, 3, 5, 8, 12), level)
    w, h = img.size
    small = img.convert("RGB").resize((max(1, round(w / factor)), max(1, round(h / factor))),
                                      Image.BOX)
    return small.resize((w, h), Image.NEAREST)


def quantize(img, level, rng):
    levels = _pick((24, 12, 7, 4, 3), level)
    arr = _f(img)
    return _img(np.round(arr * (levels - 1)) / (levels - 1))


def chromatic_aberration(img, level, rng):
    """Lateral CA: red and blue planes shifted in opposite directions."""
    shift = _pick((1.0, 2.0, 3.5, 5.5, 8.0), level)
    angle = rng.uniform(0, 2 * np.pi)
    dy, dx = shift * np.sin(angle), shift * np.cos(angle)
    arr = _f(img)
    out = arr.copy()
    out[..., 0] = ndimage.shift(arr[..., 0], (dy, dx), order=1, mode="nearest")
    out[..., 2] = ndimage.shift(arr[..., 2], (-dy, -dx), order=1, mode="nearest")
    return _img(out)


def vignetting(img, level, rng):
    strength = _pick((0.25, 0.4, 0.55, 0.7, 0.85), level)
    arr = _f(img)
    h, w = arr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    fall = 1.0 - strength * np.clip(r2 / 2.0, 0, 1) ** 0.8
    return _img(_to_srgb(_to_linear(arr) * fall[..., None]))


def denoise_smear(img, level, rng):
    """Over-aggressive denoising: a self-guided filter flattens fine texture into waxy patches."""
    r = max(1, int(round(_pick((2, 3, 5, 7, 10), level))))
    eps = _pick((0.003, 0.007, 0.014, 0.025, 0.045), level)
    arr = _f(img)

    def box(x):
        return ndimage.uniform_filter(x, size=(2 * r + 1, 2 * r + 1, 1), mode="reflect")

    mean = box(arr)
    var = box(arr * arr) - mean * mean
    a = var / (var + eps)
    b = mean - a * mean
    return _img(box(a) * arr + box(b))


DISTORTIONS: dict[str, Distortion] = {
    "gaussian_blur": gaussian_blur,
    "lens_blur": lens_blur,
    "motion_blur": motion_blur,
    "white_noise": white_noise,
    "sensor_noise": sensor_noise,
    "impulse_noise": impulse_noise,
    "jpeg": jpeg,
    "brighten": brighten,
    "darken": darken,
    "overexposure": overexposure,
    "underexposure": underexposure,
    "contrast_decrease": contrast_decrease,
    "contrast_increase": contrast_increase,
    "desaturate": desaturate,
    "oversaturate": oversaturate,
    "color_cast": color_cast,
    "pixelate": pixelate,
    "quantize": quantize,
    "chromatic_aberration": chromatic_aberration,
    "vignetting": vignetting,
    "denoise_smear": denoise_smear,
}


def apply(name: str, img: Image.Image, level: int, seed: int = 0) -> Image.Image:
    """Apply distortion ``name`` at ``level`` with a fresh generator seeded by ``seed``."""
    if name not in DISTORTIONS:
        raise KeyError(f"unknown distortion {name!r}; known: {sorted(DISTORTIONS)}")
    return DISTORTIONS[name](img.convert("RGB"), level, np.random.default_rng(seed))


def known_names(names, table, kind: str) -> list[str]:
    """``names`` as a list (every name of ``table`` when none are given); names ``table`` lacks
    raise KeyError naming them all."""
    chosen = list(names or table)
    unknown = set(chosen) - set(table)
    if unknown:
        raise KeyError(f"unknown {kind}: {sorted(unknown)}")
    return chosen


@dataclass(frozen=True)
class RankingGroup:
    """One pristine image at strictly increasing distortion levels (0 = pristine)."""
    path: str
    distortion: str
    levels: tuple[int, ...]
    seed: int


class SyntheticRankingSet:
    """Groups of one pristine image distorted at increasing levels => a known quality order.

    ``group(i, epoch)`` is deterministic in (seed, epoch, i).  ``images(g, size)`` renders the
    group's images, resized to ``size`` x ``size`` first (cheap on CPU), least distorted first.
    """

    def __init__(self, paths: Sequence[str], distortions: Sequence[str] | None = None,
                 levels_per_group: int = 3, include_pristine: bool = True, seed: int = 0):
        if not paths:
            raise ValueError("no pristine images")
        self.paths = list(paths)
        self.distortions = known_names(distortions, DISTORTIONS, "distortions")
        pool = (0,) + LEVELS if include_pristine else LEVELS
        if not 2 <= levels_per_group <= len(pool):
            raise ValueError(f"levels_per_group must be in 2..{len(pool)}")
        self.pool = pool
        self.levels_per_group = levels_per_group
        self.seed = seed
        self._base: dict[tuple[str, int], Image.Image] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def group(self, i: int, epoch: int = 0) -> RankingGroup:
        rng = np.random.default_rng([self.seed, epoch, i])
        levels = tuple(sorted(rng.choice(self.pool, self.levels_per_group, replace=False).tolist()))
        name = self.distortions[int(rng.integers(len(self.distortions)))]
        return RankingGroup(self.paths[i % len(self.paths)], name, levels, int(rng.integers(2**31)))

    def base_image(self, path: str, size: int) -> Image.Image:
        key = (path, size)
        if key not in self._base:
            with Image.open(path) as im:
                self._base[key] = im.convert("RGB").resize((size, size), Image.BICUBIC)
        return self._base[key]

    def key(self, g: RankingGroup, k: int) -> str:
        """Feature-cache id of the group's k-th image (with its path)."""
        return f"{g.distortion}|{g.levels[k]}|{g.seed}"

    def images(self, g: RankingGroup, size: int) -> list[Image.Image]:
        base = self.base_image(g.path, size)
        return [base if lv == 0 else apply(g.distortion, base, lv, g.seed) for lv in g.levels]


def pristine_paths(root: str, sets: Sequence[str] = ("kodak24", "cbsd68")) -> list[str]:
    """Sorted image paths of the pristine sets under ``root`` (``data_dir()/pristine``)."""
    import os

    out = []
    for s in sets:
        d = os.path.join(root, s)
        if not os.path.isdir(d):
            raise FileNotFoundError(f"pristine set not found: {d}")
        out += sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.lower().endswith((".webp", ".png", ".jpg", ".jpeg", ".bmp", ".tif")))
    return out
