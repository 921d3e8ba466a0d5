"""Why a photo may be weak: per-defect indicators a photographer understands.

:func:`analyze` measures one decoded photo (numpy/scipy only) and returns a dict of indicators, each on a 0-1 scale (0 = no sign of the
defect, 1 = severe). :func:`labels` turns it into the human words shown on
tiles and written into exports ("blurry", "noisy", ...): an indicator is
reported when it reaches :data:`FIRE` (0.5).

All measurements run on the luminance of the photo reduced so that its short
side is at most :data:`ANALYSIS_SIDE` pixels (what a viewer sees at screen
size; the engine's reduced-size decode is enough).

Indicators (key: label; raw measure -> 0-1 by a linear ramp ``lo..hi``):

``blur``: "blurry"
    Re-blur ratio (Crete-Roffet et al. 2007): the share of the neighbouring
    pixel differences that *survives* an extra 9-pixel box blur, taken along
    4 directions; the worst direction counts. A sharp photo loses most of its
    fine variation when re-blurred (ratio ~0.2), a blurred one barely changes
    (-> 0.85). Normalised by the image's own variation, so it does not depend
    on contrast. Ramp 0.30..0.80.
``motion_blur``: "motion blur"
    Directional anisotropy of the same re-blur ratio (15-pixel line blurs at
    0/45/90/135 degrees): twice the amplitude of its cos(2 theta) component
    over the mean sharpness. Camera shake / subject motion blurs one
    direction only; a sharp or evenly defocused photo is nearly isotropic.
    Ramp 0.10..0.30.
``noise``: "noisy"
    Noise sigma (8-bit units) by Immerkaer's estimator (mean absolute
    response of the 3x3 Laplacian-difference mask, which cancels smooth
    image structure) over the flattest 20 % of the photo. Ramp 3..15.
``highlights_clipped``: "highlights clipped"
    Fraction of pixels with all three channels >= 250. Ramp 0..0.2.
``shadows_clipped``: "shadows clipped"
    Fraction of pixels with all channels <= 6. Ramp 0..0.2.
``underexposed``: "underexposed"
    Mean luminance (0-1 sRGB) below 0.30. Ramp 0.30..0.12 (reversed).
``overexposed``: "overexposed"
    Mean luminance above 0.58. Ramp 0.58..0.76.

Calibration (``tests/test_reasons.py`` re-checks it): on the Kodak images
kodim01/03/05/08/13 the clean originals measure blur ratio 0.18-0.27, motion
anisotropy 0.006-0.08, noise sigma 0.9-4.7, clipped highlights <= 2 %,
clipped shadows <= 0.3 %, mean luminance 0.32-0.48, so every indicator of a
clean original stays below 0.5; the ramps were then set so that level 5 of the
matching synthetic distortion of ``training/distortions.py`` fires. Known
limits: a genuinely high-key scene reads as "overexposed" and a night scene
as "underexposed" (their mean luminance is what a wrong exposure gives); a
white sky that is blown out in the original (kodim20: 16 % of pixels at 250+)
is reported as "highlights clipped", correctly. Heavy isotropic blur also
raises ``motion_blur`` a little (its direction estimates get noisy).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = ["ANALYSIS_SIDE", "FIRE", "INDICATORS", "LABELS", "VERSION", "analyze", "labels", "prepare"]

VERSION = 2  # bump when a measure or a ramp changes (cached indicators are then recomputed)
# the default model's input side: the engine's scoring decode then serves the analysis too
ANALYSIS_SIDE = 448
FIRE = 0.5

# key -> human label, in the order labels are listed (worst first when several fire)
LABELS: dict[str, str] = {
    "blur": "blurry",
    "motion_blur": "motion blur",
    "noise": "noisy",
    "underexposed": "underexposed",
    "overexposed": "overexposed",
    "highlights_clipped": "highlights clipped",
    "shadows_clipped": "shadows clipped",
}
INDICATORS = tuple(LABELS)

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1))  # (dy, dx) steps: 0, 45, 90, 135 degrees


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))


def prepare(img: Image.Image) -> np.ndarray:
    """RGB float32 (H, W, 3) in 0-1, reduced so the short side is at most ANALYSIS_SIDE."""
    img = img.convert("RGB")
    short = min(img.size)
    if short > ANALYSIS_SIDE:
        scale = ANALYSIS_SIDE / short
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, np.float32) * np.float32(1 / 255)


def _line_mean(y: np.ndarray, n: int, dy: int, dx: int) -> np.ndarray:
    """Mean over an ``n``-pixel line through each pixel along the step (dy, dx); edges replicated."""
    r = n // 2
    p = np.pad(y, r, mode="edge")
    h, w = y.shape
    acc = np.zeros_like(y)
    for t in range(-r, r + 1):
        acc += p[r + t * dy:r + t * dy + h, r + t * dx:r + t * dx + w]
    return acc / (2 * r + 1)


def _step_diff(z: np.ndarray, dy: int, dx: int) -> np.ndarray:
    h, w = z.shape
    a = z[dy:, max(dx, 0):w + min(dx, 0)]
    b = z[:h - dy, max(-dx, 0):w - max(dx, 0)]
    return np.abs(a - b)


def _reblur_ratios(y: np.ndarray, n: int) -> np.ndarray:
    """Per direction: share of the neighbour differences that an extra n-pixel line blur keeps."""
    out = []
    for dy, dx in _DIRECTIONS:
        d0 = _step_diff(y, dy, dx)
        d1 = _step_diff(_line_mean(y, n, dy, dx), dy, dx)
        total = float(d0.sum())
        lost = float(np.maximum(0.0, d0 - d1).sum())
        out.append(1.0 - lost / total if total > 1e-6 else 0.0)  # no detail: no evidence of blur
    return np.array(out)


def _noise_sigma(y: np.ndarray) -> float:
    if min(y.shape) < 8:
        return 0.0
    r = np.abs(ndimage.convolve(y, _IMMERKAER, mode="reflect"))[1:-1, 1:-1]
    g = ndimage.gaussian_gradient_magnitude(y, 1.0)[1:-1, 1:-1]
    flat = g <= np.percentile(g, 20)
    return float(np.sqrt(np.pi / 2) / 6 * r[flat].mean() * 255)


def measures(rgb: np.ndarray) -> dict[str, float]:
    """The raw measurements behind the indicators (see the module docstring)."""
    y = rgb @ _LUMA
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    blur = _reblur_ratios(y, 9)
    sharp = 1.0 - _reblur_ratios(y, 15)
    amp = 0.5 * np.hypot(sharp[0] - sharp[2], sharp[1] - sharp[3])
    return {
        "blur_ratio": float(blur.max()),
        "anisotropy": float(2 * amp / max(sharp.mean(), 1e-3)),
        "noise_sigma": _noise_sigma(y),
        # channel-wise min/max: a reduction over the short last axis is ~20x slower in numpy
        "highlights": float(np.mean(np.minimum(np.minimum(r, g), b) >= 250 / 255)),
        "shadows": float(np.mean(np.maximum(np.maximum(r, g), b) <= 6 / 255)),
        "mean_luma": float(y.mean()),
    }


def analyze(img: Image.Image | np.ndarray) -> dict[str, float]:
    """0-1 indicators of one photo (a PIL image, or the array of :func:`prepare`)."""
    rgb = prepare(img) if isinstance(img, Image.Image) else img
    m = measures(rgb)
    out = {
        "blur": _ramp(m["blur_ratio"], 0.30, 0.80),
        "motion_blur": _ramp(m["anisotropy"], 0.10, 0.30),
        "noise": _ramp(m["noise_sigma"], 3.0, 15.0),
        "underexposed": _ramp(-m["mean_luma"], -0.30, -0.12),
        "overexposed": _ramp(m["mean_luma"], 0.58, 0.76),
        "highlights_clipped": _ramp(m["highlights"], 0.0, 0.2),
        "shadows_clipped": _ramp(m["shadows"], 0.0, 0.2),
    }
    return {k: round(v, 4) for k, v in out.items()}


def labels(indicators: dict[str, float] | None, fire: float = FIRE) -> list[str]:
    """Human labels of the indicators that fire, in :data:`LABELS` order."""
    if not indicators:
        return []
    return [label for key, label in LABELS.items() if indicators.get(key, 0.0) >= fire]
