"""Output calibration: a monotone map of the head's raw output onto the training target scale.

The head is trained on MOS/100 with MSE + ranking losses, so its raw output runs past 1 for photos
better than the training set's best (pristine photos, the top of a good shoot); clipped to 0-100,
those all tied at 100. ``fit_calibration`` fits ``sigmoid(slope * raw + offset)`` to the training
targets by least squares: on the CLIVE range it is close to the identity, above it it compresses
smoothly towards 1 without reaching it, so distinct raw outputs stay distinct scores and a score
reads as a predicted MOS (0-100). ``IQAModel.set_calibration`` applies it inside ``forward``, so
the torch and the ONNX paths share it.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares


def fit_calibration(raw, target) -> dict:
    """``{"kind": "logistic", "slope", "offset"}`` minimising the squared error of
    ``sigmoid(slope * raw + offset)`` to ``target`` (0-1), slope kept positive (order preserved)."""
    raw = np.asarray(raw, np.float64).reshape(-1)
    target = np.asarray(target, np.float64).reshape(-1)
    if len(raw) != len(target) or len(raw) < 2:
        raise ValueError("calibration needs at least 2 (raw, target) pairs of equal length")
    if np.ptp(raw) <= 0:
        raise ValueError("calibration needs raw outputs that are not all equal")
    # start: least squares in logit space on the clipped targets
    logit = np.log(np.clip(target, 0.01, 0.99) / (1 - np.clip(target, 0.01, 0.99)))
    slope0, offset0 = np.polyfit(raw, logit, 1)

    def residual(p):
        return 1.0 / (1.0 + np.exp(-(np.exp(p[0]) * raw + p[1]))) - target

    fit = least_squares(residual, [np.log(max(slope0, 1e-3)), offset0])
    return {"kind": "logistic", "slope": float(np.exp(fit.x[0])), "offset": float(fit.x[1])}
