"""Photographic defects measured on a photo's pixels: the numbers behind the reasons and the defect map.

Pure numpy/scipy (no model, no PyTorch), so the reasons (``photocull.app.core.reasons``) and the
heatmap of every build (``photocull.model.explain.heatmap``) share one set of measures and ONE
calibration table, :data:`CALIBRATION`, and neither depends on a trained weight file.

Measures (:func:`measures`; luminance ``y`` of the photo reduced to :data:`MEASURE_SIDE` on the
short side, except ``noise`` and ``blockiness``, which are pixel-level and taken at the resolution
the photo was given in, on its central :data:`BLOCK_CROP` px: a reduction averages the noise away,
by how much depends on the reduction, and removes the 8x8 JPEG grid):

``blur`` (missed focus)
    Re-blur ratio (Crete-Roffet et al. 2007) in the photo's SHARPEST direction: the share of the
    neighbour differences that survives an extra 9-pixel line blur, taken along 0/45/90/135 degrees.
    A sharp photo loses most of its fine variation when re-blurred (~0.2), a defocused one barely
    changes (-> 0.85). Normalised by the photo's own variation, so it does not depend on contrast.
``motion`` (camera shake)
    Spread of the same re-blur ratios over the 4 directions (max - min): a 1-D blur removes the
    detail along one direction only, a defocus removes it along all of them.
``noise`` (sigma in 8-bit units at mid-grey)
    Median absolute response of Immerkaer's 3x3 Laplacian-difference mask (which cancels smooth
    structure) over the flattest pixels (the lowest fifth of the gradient of a smoothed copy,
    clipped tones left out), each divided by sqrt(local luminance / 0.5): sensor noise grows with
    the square root of the signal, so the measure is the sigma the photo would have at mid-grey.
``tones`` (under-exposure)
    The 99.5th plus the 25th luminance percentile (0-1 sRGB each): a photo pulled down by exposure
    has neither a bright tone nor lit shadows left; a hazy or low-contrast scene lacks the bright
    tones only (its shadows are lifted), a night scene lacks the shadows but keeps its lights.
``bright`` (over-exposure)
    Share of pixels whose brightest channel is at or above :data:`BRIGHT` (0.8, i.e. 204): a push in exposure moves the
    upper half of the tones to the top of the range. Mean luminance (the measure before) cannot tell
    a bright scene from a pushed one as well: on the benchmark's calibration scenes, at the same
    false-alarm rate on the originals, it named 0.52 of the mild over-exposures of the evaluation
    scenes, this 0.63.
``highlights_clipped`` / ``shadows_clipped``
    Share of pixels with all three channels >= 250 / <= 6.
``compression``
    JPEG blockiness: the mean absolute step across pixel boundaries, per position modulo 8 (rows
    and columns together), at the strongest position over the median of the 8 positions. A block
    codec leaves a step at every 8th boundary (q 15: ~1.9), a photo has none (~1.03). At a
    reduced scale the grid is gone, hence the photo's own resolution (a crop of it). A JPEG the
    decoder reduced (the engine's DCT-scaled decode of a large photo, which :data:`JPEG_SOURCE` in
    the image's ``info`` records) shows no grid, so its blockiness is the one its quantisation
    predicts instead: the median blockiness of the calibration scenes saved at the file's
    IJG-equivalent quality (:func:`jpeg_quality`, :data:`QUALITY_BLOCKINESS`).

Each measure becomes a 0-1 indicator by the piecewise-linear ramp of its :data:`CALIBRATION`
row: ``clean`` -> 0, ``fire`` -> :data:`FIRE` (the reason is named), ``strong`` -> :data:`STRONG`
(a strong spoil), continued at the same slope up to 1. The table was fit on the calibration half of
the culling benchmark's scenes (``python -m benchmarks.explain --calibrate``, which prints it) and is
evaluated on the other half (docs/EXPLANATIONS.md).

:func:`defect_map`: the same measures on tiles of the photo (16 px at the analysis scale; at the
photo's own resolution 16 px for the noise and 64 px for the blockiness), each tile's worst indicator, smoothed: a map in the
indicators' units (0.5 = as bad as a photo whose reason is named), so its colours mean the same on
every photo and its legend can say so.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = ["ANALYSIS_SIDE", "CALIBRATION", "FIRE", "JPEG_SOURCE", "MEASURES", "MEASURE_SIDE", "QUALITY_BLOCKINESS",
           "STRONG", "DefectLayers", "blockiness", "defect_layers", "defect_map", "expected_blockiness", "indicators",
           "jpeg_quality", "measures", "prepare", "ramp"]

# the decode the analysis reads (the default model's input side: the engine's scoring decode then
# serves the analysis too); noise and blockiness are read at that decode's resolution
ANALYSIS_SIDE = 448
# ... and the other measures on it reduced to this short side. `python -m benchmarks.explain --sides
# 448,336,224` (each side with its own refit table) names the spoils about as well at 336, for less
# cost, and worse at 224 (docs/EXPLANATIONS.md); 336 is not used because the defect map's blur tiles
# then read the sharp parts of a clean photo (Kodak 03) as missed focus
MEASURE_SIDE = 448
FIRE = 0.5  # an indicator at or above this names its reason
STRONG = 0.75  # ... and at or above this the reason is "strong"
BLOCK = 8  # the JPEG block side
BRIGHT = 0.8  # the "bright" measure's level of the brightest channel
BLOCK_CROP = 1024  # noise and blockiness are measured on at most this much of the photo's centre, per side

# indicator -> (measure, clean, fire, strong): fit by `python -m benchmarks.explain --calibrate`
# (calibration scenes: the even-numbered half of Kodak24 + CBSD68). clean > fire: lower is worse.
CALIBRATION: dict[str, tuple[str, float, float, float]] = {
    "blur": ("blur", 0.2041, 0.3437, 0.699),
    "motion_blur": ("motion", 0.0301, 0.1739, 0.2461),
    "noise": ("noise", 1.1227, 9.2405, 18.5288),
    "underexposed": ("tones", 1.1871, 0.8358, 0.4331),
    "overexposed": ("bright", 0.0749, 0.398, 0.4797),
    "highlights_clipped": ("highlights", 0, 0.1412, 0.2934),
    "shadows_clipped": ("shadows", 0, 0.0332, 0.089),
    "compression": ("blockiness", 1.0265, 1.3333, 2.1348),
}
MEASURES = tuple(dict.fromkeys(row[0] for row in CALIBRATION.values()))

# (IJG quality, median blockiness of the calibration scenes saved at it by Pillow): the blockiness a
# JPEG decoded at a reduced scale is given (see ``compression`` above). Fit by `python -m
# benchmarks.explain --calibrate` with the table above; between two qualities it is interpolated.
QUALITY_BLOCKINESS: tuple[tuple[int, float], ...] = (
    (5, 3.3101), (8, 2.4783), (10, 2.2214), (15, 1.874), (20, 1.6819), (25, 1.5658), (30, 1.4857), (40, 1.3814),
    (50, 1.3058), (60, 1.2422), (70, 1.1689), (80, 1.0852), (90, 1.0271), (95, 1.0264), (100, 1.0264))
# the key of an image's ``info`` under which the decoder records a JPEG's own pixel size and
# quality: {"size": (width, height), "quality": jpeg_quality(...)}
JPEG_SOURCE = "photocull_jpeg_source"
# the IJG (libjpeg) luminance quantisation table at quality 50, in natural (row-major) order
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# |Immerkaer response| of Gaussian noise sigma: sigma * 6 (the mask's norm); its median: * 0.6745
_IMMERKAER_MEDIAN = 6 * 0.6745
_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1))  # (dy, dx) steps: 0, 45, 90, 135 degrees
TILE = 16  # defect-map tile side at the analysis scale
_MIN_DETAIL = 0.004  # mean neighbour difference (0-1) below which a tile has no blur evidence
SHOWN_SHARE = 0.1  # the defect map shows a defect present on at least this share of the photo
CLEAN_QUARTER = 0.25
FAINT = 0.25  # half of FIRE: weaker local evidence is left out of the map


def prepare(img: Image.Image) -> np.ndarray:
    """RGB float32 (H, W, 3) in 0-1, reduced so the short side is at most MEASURE_SIDE."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    short = min(img.size)
    if short > MEASURE_SIDE:
        scale = MEASURE_SIDE / short
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.multiply(np.asarray(img), np.float32(1 / 255), dtype=np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(rgb, np.float32) @ _LUMA


def ramp(value: float | np.ndarray, row: tuple[str, float, float, float]) -> np.ndarray:
    """0-1 indicator of a raw measure by its CALIBRATION row (see the module docstring)."""
    _, clean, fire, strong = row
    sign = 1.0 if fire >= clean else -1.0  # measure the distance from clean in the bad direction
    v, f, s = (sign * (np.asarray(value, np.float64) - clean), sign * (fire - clean), sign * (strong - clean))
    out = np.where(v < f, FIRE * v / f, FIRE + (STRONG - FIRE) * (v - f) / max(s - f, 1e-9))
    return np.clip(out, 0.0, 1.0)


def _percentiles(a: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """``np.percentile(a, qs)`` of a 1-D float array (linear, ``qs`` ascending), ``a`` partitioned in
    place by one selection per percentile: numpy's also places the minimum and the maximum (to find
    NaNs), about three times the work."""
    out, start = [], 0
    for q in qs:
        pos = (a.size - 1) * (q / 100)
        k = int(pos)
        a[start:].partition(k - start)  # a[start] is already the least of a[start:]
        lo = a[k]
        hi = a[k + 1:].min() if k + 1 < a.size else lo
        t, d = pos - k, float(hi - lo)
        out.append(float(lo) + d * t if t < 0.5 else float(hi) - d * (1 - t))  # numpy's interpolation
        start = k
    return tuple(out)


def _median(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=-1)`` of a float array, ``a`` partitioned in place by one selection (see
    :func:`_percentiles`)."""
    h = a.shape[-1] // 2
    a.partition(h, axis=-1)
    return a[..., h] if a.shape[-1] % 2 else (a[..., :h].max(axis=-1) + a[..., h]) / 2


# ------------------------------------------------------------------ sharpness (re-blur ratios)

def _reblur_parts(y: np.ndarray, n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Per direction (4, H, W): the neighbour differences and the part of them an n-pixel line
    blur (edges replicated) removes; 0 where the step leaves the image."""
    h, w = y.shape
    r = n // 2
    p = np.pad(y, r, mode="edge")  # p[i + r, j + r] = y[i, j], replicated beyond the edges
    d0 = np.zeros((4, h, w), y.dtype)
    lost = np.zeros_like(d0)
    for k, (dy, dx) in enumerate(_DIRECTIONS):
        # the pixels q whose step q + s stays in the image (rows :h - dy, columns c0:c1), and
        # y(q + t s) for them, read in p
        rows, c0, c1 = h - dy, max(-dx, 0), w - max(dx, 0)
        here, step, back, ahead = (p[r + t * dy:r + t * dy + rows, r + t * dx + c0:r + t * dx + c1]
                                   for t in (0, 1, -r, r + 1))
        a = d0[k, :rows, c0:c1]
        np.abs(np.subtract(step, here, out=a), out=a)
        # the blurred copy's step telescopes: mean(q + s) - mean(q) = (y(q + (r+1)s) - y(q - rs)) / n
        b = np.subtract(ahead, back)
        np.abs(b, out=b)
        b /= n
        np.maximum(np.subtract(a, b, out=b), 0.0, out=lost[k, :rows, c0:c1])
    return d0, lost


def _ratios(d0: np.ndarray, lost: np.ndarray, axes) -> np.ndarray:
    """Re-blur ratio (kept share) per direction, summed over ``axes``; no detail: 0 (no evidence)."""
    total = d0.sum(axis=axes)
    return np.where(total > 1e-6, 1.0 - lost.sum(axis=axes) / np.maximum(total, 1e-6), 0.0)


# ------------------------------------------------------------------ noise

def _noise_parts(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: the |Immerkaer response| in sigma units, a smoothed copy (the local luminance,
    for :func:`_at_mid_grey`), the copy's squared gradient (flat pixels have a low one; only its
    order is read; 0 on the border) and the mask of usable pixels (interior, not clipped)."""
    # Immerkaer's mask [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] is the second difference [1, -2, 1]
    # along the rows of the one down the columns; edges reflected
    p = np.pad(y, 1, mode="symmetric")
    rows = p[:-2] + p[2:]
    rows -= 2 * p[1:-1]
    resp = rows[:, :-2] + rows[:, 2:]
    resp -= 2 * rows[:, 1:-1]
    np.abs(resp, out=resp)
    resp *= 255 / _IMMERKAER_MEDIAN
    smooth = ndimage.gaussian_filter(y, 2.0)
    # central differences of the smoothed copy (a Gaussian-derivative filter costs twice the time)
    gy, gx = smooth[2:, 1:-1] - smooth[:-2, 1:-1], smooth[1:-1, 2:] - smooth[1:-1, :-2]
    grad = np.zeros_like(smooth)
    np.add(np.square(gy, out=gy), np.square(gx, out=gx), out=grad[1:-1, 1:-1])
    usable = (smooth > 0.03) & (smooth < 0.97)  # clipped tones carry no noise
    usable[[0, -1], :] = usable[:, [0, -1]] = False
    return resp, smooth, grad, usable


def _at_mid_grey(resp: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """``resp`` at pixels of local luminance ``smooth`` as it would be at mid-grey: sensor noise
    grows with the square root of the signal."""
    return resp / np.sqrt(np.clip(smooth, 0.03, 1.0) / 0.5)


def noise_sigma(y: np.ndarray) -> float:
    """The ``noise`` measure of a luminance array (0-1) at its own resolution: the median of the
    normalised Immerkaer response over its flattest fifth of usable pixels (0: none usable)."""
    if min(y.shape) < 8:
        return 0.0
    return _flat_noise(_noise_parts(y))


def _flat_noise(parts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> float:
    """:func:`noise_sigma` from the :func:`_noise_parts` of its array."""
    resp, smooth, grad, usable = parts
    if not usable.any():
        return 0.0
    flat = usable & (grad <= _percentiles(grad[usable], (20,))[0])
    return float(_median(_at_mid_grey(resp[flat], smooth[flat])))


# ------------------------------------------------------------------ compression

def _native_origin(size: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the central crop (at most BLOCK_CROP a side, on the 8x8 grid) of a photo of ``size``."""
    w, h = size
    return (w - min(w, BLOCK_CROP)) // 2 // BLOCK * BLOCK, (h - min(h, BLOCK_CROP)) // 2 // BLOCK * BLOCK


def _native_luma(img: Image.Image) -> np.ndarray:
    """Luminance (0-255) of the centre of ``img`` at its own resolution, cropped on the 8x8 grid."""
    x0, y0 = _native_origin(img.size)
    box = (x0, y0, x0 + min(img.width, BLOCK_CROP), y0 + min(img.height, BLOCK_CROP))
    return np.asarray(img.convert("L").crop(box), np.float32)


def _block_profile(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H - 1, W - 1) |step| to the right and downwards."""
    dx = y[:-1, 1:] - y[:-1, :-1]
    dy = y[1:, :-1] - y[:-1, :-1]
    return np.abs(dx, out=dx), np.abs(dy, out=dy)


def blockiness(y: np.ndarray) -> float:
    """JPEG blockiness of a luminance array at its own resolution (see the module docstring)."""
    if min(y.shape) < 2 * BLOCK + 1:
        return 1.0
    dx, dy = _block_profile(y)
    cols = dx.mean(axis=0)
    rows = dy.mean(axis=1)
    phases = np.array([cols[p::BLOCK].mean() + rows[p::BLOCK].mean() for p in range(BLOCK)])
    med = float(np.median(phases))
    return float(phases.max() / med) if med > 1e-6 else 1.0


# ------------------------------------------------------------------ the photo's measures

def _channel_range(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, its darkest and its brightest channel."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # channel-wise min/max: a reduction over the short last axis is ~20x slower in numpy
    return np.minimum(np.minimum(r, g), b), np.maximum(np.maximum(r, g), b)


def _clipping(lo: np.ndarray, hi: np.ndarray) -> dict[str, float]:
    return {"highlights": float(np.mean(lo >= 250 / 255)), "shadows": float(np.mean(hi <= 6 / 255))}


def measures_clipping(rgb: np.ndarray) -> dict[str, float]:
    """Shares of pixels with all channels >= 250 ("highlights") / <= 6 ("shadows")."""
    return _clipping(*_channel_range(rgb))


def measures(rgb: np.ndarray, native: np.ndarray | None = None) -> dict[str, float]:
    """Raw measures of :data:`MEASURES` from the array of :func:`prepare` and, for the noise and
    the blockiness, ``native``: the luminance (0-255) at the photo's own resolution (None: ``rgb``'s)."""
    y = luma(rgb)
    native = native if native is not None else y * 255
    # too small to judge detail: no evidence of blur
    ratios = _ratios(*_reblur_parts(y), axes=(1, 2)) if min(y.shape) >= 8 else np.zeros(4)
    lo, top = _channel_range(rgb)
    p25, p995 = _percentiles(y.ravel(), (25, 99.5))  # y is read no more
    return {
        **_clipping(lo, top),
        "blur": float(ratios.min()),
        "motion": float(ratios.max() - ratios.min()),
        "noise": noise_sigma(native * np.float32(1 / 255)),
        "tones": float(p995 + p25),
        "bright": float(np.mean(top >= BRIGHT)),
        "blockiness": blockiness(native),
    }


def indicators(m: dict[str, float]) -> dict[str, float]:
    """The 0-1 indicator of every CALIBRATION row from raw measures."""
    return {key: round(float(ramp(m[row[0]], row)), 4) for key, row in CALIBRATION.items()}


def jpeg_quality(quantization: dict[int, list[int]] | None) -> float | None:
    """The IJG-equivalent quality (1-100) of a JPEG's luminance table (Pillow's ``quantization``:
    table 0, 64 entries in natural order), None without one. libjpeg scales its base table by
    5000 / q below quality 50 and by 200 - 2 q above; the mean scale over the 64 entries inverts
    that (over the entries libjpeg did not clamp to 1 or 255), and gives other encoders' tables
    (cameras', phones') the quality they compare with."""
    table = (quantization or {}).get(0)
    if table is None or len(table) != 64:
        return None
    table = np.asarray(table, np.float64)
    free = (table > 1) & (table < 255)
    if free.any():
        table, base = table[free], _IJG_LUMA[free]
    else:
        base = _IJG_LUMA
    scale = float(np.mean(100.0 * table / base))
    return float(np.clip(100.0 - scale / 2 if scale <= 100 else 5000.0 / scale, 1.0, 100.0))


def expected_blockiness(quality: float) -> float:
    """The blockiness :data:`QUALITY_BLOCKINESS` gives a JPEG of ``quality``."""
    qs, values = zip(*QUALITY_BLOCKINESS)
    return float(np.interp(quality, qs, values))


def _reduced_jpeg_quality(img: Image.Image) -> float | None:
    """The quality of the JPEG ``img`` was decoded from at a reduced scale (None: not a JPEG, or at
    its own pixel size, where the grid is measured)."""
    source = img.info.get(JPEG_SOURCE)
    if not source or max(source["size"]) <= max(img.size):
        return None
    return source["quality"]


def analyze(img: Image.Image) -> dict[str, float]:
    """Raw measures of a photo (any size; reduced here, blockiness on its own pixels or, for a
    JPEG decoded reduced, from its quantisation)."""
    m = measures(prepare(img), _native_luma(img))
    quality = _reduced_jpeg_quality(img)
    if quality is not None:
        m["blockiness"] = expected_blockiness(quality)
    return m


# ------------------------------------------------------------------ the defect map

def _tiles(a: np.ndarray, t: int) -> np.ndarray:
    """(..., H, W) -> (..., H//t, W//t, t*t): the full t x t tiles of the last two axes."""
    h, w = a.shape[-2] // t * t, a.shape[-1] // t * t
    a = a[..., :h, :w].reshape(*a.shape[:-2], h // t, t, w // t, t)
    return np.moveaxis(a, -3, -2).reshape(*a.shape[:-4], h // t, w // t, t * t)


def _tile_maps(rgb: np.ndarray) -> np.ndarray:
    """(3, H//TILE, W//TILE): per tile, the blur, darkness and clipping indicators."""
    y = luma(rgb)
    d0, lost = _reblur_parts(y)
    td, tl = _tiles(d0, TILE), _tiles(lost, TILE)
    ratios = _ratios(td, tl, axes=-1)  # (4, th, tw)
    textured = td.mean(axis=(0, -1)) >= _MIN_DETAIL
    # a tile's sharpest direction: blurred by a defocus and, less, by a shake (a tile's direction
    # spread follows its own structure too much to read motion from it)
    sharp = np.where(textured, ramp(ratios.min(axis=0), CALIBRATION["blur"]), 0.0)
    # exposure belongs to the photo, not to a tile (a tile of shadow is dark in any photo): a tile
    # reads as the photo would if all of it were as much darker than its median tile
    bright = np.percentile(_tiles(y, TILE), 99.5, axis=-1)
    row = CALIBRATION["underexposed"]
    # ... over a wide neighbourhood: a dark patch of shadow is no exposure error, a dark region is
    dark = ndimage.uniform_filter(ramp(row[1] * bright / max(float(np.median(bright)), 1e-3), row), 5,
                                  mode="nearest")
    # clipping only where the photo has it (its reason is named): a patch of clipped sky is
    # fully clipped, whether or not the photo as a whole loses much to it
    m = measures_clipping(rgb)
    lo, hi = _tiles(rgb.min(axis=-1), TILE), _tiles(rgb.max(axis=-1), TILE)
    clipped = np.zeros_like(sharp)
    for key, tile_share in (("highlights_clipped", (lo >= 250 / 255).mean(axis=-1)),
                            ("shadows_clipped", (hi <= 6 / 255).mean(axis=-1))):
        row = CALIBRATION[key]
        if ramp(m[row[0]], row) >= FIRE:
            clipped = np.maximum(clipped, ramp(tile_share, row))
    return np.stack([sharp, dark, clipped])


def _noise_map(parts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """(H//TILE, W//TILE) noise indicator per tile of the native luminance, from its
    :func:`_noise_parts`, each tile read on its own flattest fifth (a global choice of flat pixels
    would avoid the noisy regions, whose noise raises their gradient)."""
    resp, smooth, grad, usable = (_tiles(a, TILE) for a in parts)
    grad = np.where(usable, grad, np.inf)
    enough = usable.sum(axis=-1) >= TILE  # a tile needs some usable pixels to read its noise on
    order = np.argsort(grad, axis=-1)[..., :TILE * TILE // 5]
    med = _median(_at_mid_grey(*(np.take_along_axis(a, order, axis=-1) for a in (resp, smooth))))
    return np.where(enough, ramp(med, CALIBRATION["noise"]), 0.0)


def _block_map(native: np.ndarray, t: int = 8 * BLOCK) -> np.ndarray:
    """(H//t, W//t) compression indicator per t x t tile of the native luminance."""
    dx, dy = _block_profile(native)
    tx, ty = _tiles(dx, t), _tiles(dy, t)  # (th, tw, t*t); a tile starts on the grid
    col = np.arange(t * t) % t  # position of each tile pixel along x (and along y: // t)
    phases = np.stack([tx[..., col % BLOCK == p].mean(-1) + ty[..., (np.arange(t * t) // t) % BLOCK == p].mean(-1)
                       for p in range(BLOCK)], -1)
    med = np.median(phases, axis=-1)
    ratio = np.where(med > 0.5, phases.max(axis=-1) / np.maximum(med, 1e-6), 1.0)  # flat tiles: no evidence
    return ramp(ratio, CALIBRATION["compression"])


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(np.asarray(a, np.float32)).resize(size, Image.Resampling.BILINEAR))


def _place(heat: np.ndarray, layer: np.ndarray, tile: int, size: tuple[int, int]) -> None:
    """Raise ``heat`` (the analysis-scale array of a photo of ``size``) to ``layer``, a map of
    ``tile`` px tiles of the photo's central native crop (:func:`_native_luma`), where it lies."""
    h, w = heat.shape
    width, height = size
    sx, sy = w / width, h / height
    x0, y0 = _native_origin(size)
    bw, bh = layer.shape[1] * tile, layer.shape[0] * tile
    c0, r0 = round(x0 * sx), round(y0 * sy)
    c1, r1 = min(w, max(c0 + 1, round((x0 + bw) * sx))), min(h, max(r0 + 1, round((y0 + bh) * sy)))
    heat[r0:r1, c0:c1] = np.maximum(heat[r0:r1, c0:c1], _resize(layer, (c1 - c0, r1 - r0)))


def _shown(layer: np.ndarray) -> bool:
    """Whether a defect is shown: it reaches FIRE on at least SHOWN_SHARE of the tiles (a clean
    region's background level of an absent defect must not colour the photo)."""
    return layer.size > 0 and float(np.quantile(layer, 1.0 - SHOWN_SHARE)) >= FIRE


def _above_clean(layer: np.ndarray) -> np.ndarray:
    """A shown layer less the level of the photo's cleanest quarter, but never by more than FIRE:
    where a defect covers part of the photo the rest goes cold; where it covers all of it, the map
    keeps what lies above the reason's threshold. Under FAINT a region counts as clean."""
    out = np.maximum(0.0, layer - min(float(np.quantile(layer, CLEAN_QUARTER)), FIRE))
    return np.where(out >= FAINT, out, 0.0)


LAYERS = ("blur", "exposure", "clipping", "noise", "compression")  # the defect map's layers


class DefectLayers(NamedTuple):
    """The defect map of a photo in two parts (:func:`defect_layers`)."""
    other: np.ndarray  # float32 (H, W) in [0, 1]: every shown defect but noise, each region's worst
    noise: np.ndarray  # float32 (H, W) in [0, 1]: the noise layer (all zero when not shown)
    shown: tuple[str, ...]  # the LAYERS shown
    noise_indicator: float  # the photo's own noise indicator (its "noisy" reason's 0-1 value)


def defect_layers(img: Image.Image) -> DefectLayers:
    """The layers of the defect map of ``img`` (:func:`defect_map`), noise apart from the rest: the
    heatmap weighs the model's map against every defect but noise (``photocull.model.explain``)."""
    rgb = prepare(img)
    h, w = rgb.shape[:2]
    size = (img.height, img.width)
    if min(h, w) < 2 * TILE:
        return DefectLayers(np.zeros(size, np.float32), np.zeros(size, np.float32), (), 0.0)
    other, noise = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    shown = []
    covered = (w // TILE * TILE, h // TILE * TILE)  # the part of rgb the tiles cover
    for name, layer in zip(LAYERS, _tile_maps(rgb)):
        if _shown(layer):
            shown.append(name)
            other[:covered[1], :covered[0]] = np.maximum(other[:covered[1], :covered[0]],
                                                         _resize(_above_clean(layer), covered))
    native = _native_luma(img)
    # one set of noise parts for the noise layer and the photo's own noise measure
    noise_parts = _noise_parts(native * np.float32(1 / 255))
    # the native layers: tiles of the central crop at the photo's own resolution
    for name, tile, make, heat in (("noise", TILE, lambda: _noise_map(noise_parts), noise),
                                   ("compression", 8 * BLOCK, lambda: _block_map(native), other)):
        if min(native.shape) < 2 * tile:
            continue
        layer = make()
        if _shown(layer):
            shown.append(name)
            _place(heat, _above_clean(layer), tile, img.size)
    level = float(ramp(_flat_noise(noise_parts), CALIBRATION["noise"]))
    other, noise = (np.clip(_resize(ndimage.gaussian_filter(a, TILE / 2), img.size), 0.0, 1.0).astype(np.float32)
                    for a in (other, noise))
    return DefectLayers(other, noise, tuple(shown), level)


def defect_map(img: Image.Image) -> tuple[np.ndarray, tuple[str, ...]]:
    """The defect map of ``img`` and the :data:`LAYERS` it shows.

    The map: float32 (img.height, img.width) in [0, 1], each region's worst defect indicator (same
    units as the reasons: 0.5 = as bad as a photo whose reason is named, 0.75 = a strong spoil),
    over the defects present on at least SHOWN_SHARE of the photo; all zero when none is."""
    layers = defect_layers(img)
    return np.maximum(layers.other, layers.noise), layers.shown
