"""Why a photo may be weak: per-defect indicators a photographer understands, with a severity.

:func:`analyze` measures one decoded photo and returns a dict of indicators, each on a 0-1 scale
(0 = no sign of the defect, 1 = severe). :func:`findings` turns it into the human words shown on
tiles, in the detail view and in exports ("noisy", "blurry", ...), each with its severity: a reason
is named when its indicator reaches :data:`FIRE` (0.5) and is "strong" from :data:`STRONG` (0.75),
"mild" below that.

The measures and their ONE calibration table live in :mod:`photocull.model.defects` (shared with the
defect heatmap); the module docstring there says what each measures and how the table was fit.
Measured on the image handed in (the engine's scoring decode, short side :data:`ANALYSIS_SIDE`)
reduced to short side :data:`photocull.model.defects.MEASURE_SIDE`, except the noise and the JPEG
blockiness, which are read at the resolution of the image handed in (a reduction averages noise away
and removes the 8x8 grid). A JPEG the decoder reduced (a large photo's DCT-scaled decode) shows no
grid: its compression is read from its quantisation tables instead. Known limit: such a photo's
noise is the noise left at that decode's scale.

When motion blur is named, "blurry" is not also named: a shaken photo is blurred along the shake,
and the more specific reason is the useful one.
Known limits: a genuinely high-key scene can read as "overexposed" and a night scene as
"underexposed" (their tones are what a wrong exposure gives); a blown-out sky in the original is
reported as "highlights clipped", correctly.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from photocull.model import defects
from photocull.model.defects import ANALYSIS_SIDE, FIRE, STRONG

__all__ = ["ANALYSIS_SIDE", "FIRE", "INDICATORS", "LABELS", "STRONG", "VERSION", "Finding", "analyze",
           "as_records", "as_text", "describe", "finding_labels", "findings", "labels", "prepare", "severity_word"]

VERSION = 5  # bump when a measure or the calibration changes (cached indicators are then recomputed)

# key -> human label, in the order labels are listed
LABELS: dict[str, str] = {
    "blur": "blurry",
    "motion_blur": "motion blur",
    "noise": "noisy",
    "underexposed": "underexposed",
    "overexposed": "overexposed",
    "highlights_clipped": "highlights clipped",
    "shadows_clipped": "shadows clipped",
    "compression": "compression artefacts",
}
INDICATORS = tuple(LABELS)
assert set(INDICATORS) == set(defects.CALIBRATION)  # one table, one label per row

prepare = defects.prepare


def analyze(img: Image.Image | np.ndarray) -> dict[str, float]:
    """0-1 indicators of one photo: a PIL image (any size), or the array of :func:`prepare`
    (then the blockiness is read at that reduced scale)."""
    m = defects.analyze(img) if isinstance(img, Image.Image) else defects.measures(img)
    return defects.indicators(m)


def severity_word(value: float) -> str:
    return "strong" if value >= STRONG else "mild"


Finding = tuple[str, float, str]  # (label, indicator 0-1, "mild" | "strong")


def findings(indicators: dict[str, float] | None, fire: float = FIRE) -> list[Finding]:
    """(label, indicator, "mild"|"strong") of every reason named, in :data:`LABELS` order."""
    if not indicators:
        return []
    named = {k for k in LABELS if indicators.get(k, 0.0) >= fire}
    if "motion_blur" in named:
        named.discard("blur")
    return [(LABELS[k], float(indicators[k]), severity_word(indicators[k])) for k in LABELS if k in named]


def finding_labels(found: list[Finding]) -> list[str]:
    """The labels of ``found`` alone ("blurry", ...), without indicator and severity."""
    return [label for label, _, _ in found]


def labels(indicators: dict[str, float] | None, fire: float = FIRE) -> list[str]:
    """Human labels of the reasons named, in :data:`LABELS` order."""
    return finding_labels(findings(indicators, fire))


def as_records(found: list[Finding]) -> list[dict]:
    """Findings as JSON records: ``{"reason": "noisy", "severity": "strong", "indicator": 0.83}``."""
    return [{"reason": label, "severity": word, "indicator": round(value, 2)} for label, value, word in found]


def as_text(records: list[dict]) -> str:
    """Records of :func:`as_records` as one text field: ``"noisy (strong); blurry (mild)"``."""
    return "; ".join(f"{r['reason']} ({r['severity']})" for r in records)


def describe(indicators: dict[str, float] | None) -> str:
    """The reasons named for ``indicators`` with their severity, as :func:`as_text` writes them."""
    return as_text(as_records(findings(indicators)))
