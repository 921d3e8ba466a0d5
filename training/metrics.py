"""Correlation metrics for IQA: SRCC, KRCC, PLCC (raw and after a 4-parameter logistic fit)."""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, stats

METRIC_NAMES = ("srcc", "plcc", "plcc_raw", "krcc")


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VQEG 4-parameter logistic: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2."""
    z = np.clip(-(x - b3) / (abs(b4) + 1e-12), -60.0, 60.0)
    return (b1 - b2) / (1.0 + np.exp(z)) + b2


def fit_logistic(pred: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """Fitted logistic mapping of ``pred`` onto ``target``; None when the fit fails."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    spread = float(np.std(pred))
    if len(pred) < 5 or spread == 0.0:
        return None
    best, best_sse = None, np.inf
    for width in (spread, spread / 4.0, spread * 4.0):   # a few starts: curve_fit finds local minima
        p0 = [float(target.max()), float(target.min()), float(np.median(pred)), width]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                params, _ = optimize.curve_fit(logistic4, pred, target, p0=p0, maxfev=20000)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            continue
        sse = float(np.sum((logistic4(pred, *params) - target) ** 2))
        if np.isfinite(sse) and sse < best_sse:
            best, best_sse = params, sse
    if best is None:
        return None
    params = best
    fitted = logistic4(pred, *params)
    if not np.all(np.isfinite(fitted)) or np.std(fitted) == 0.0:
        return None
    return fitted


def _corr(fn, a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0.0 or np.std(b) == 0.0:
        return float("nan")
    return float(fn(a, b)[0])


def correlations(pred, target) -> dict[str, float]:
    """SRCC, KRCC, raw PLCC and PLCC after the logistic fit (falls back to raw PLCC)."""
    pred = np.asarray(pred, dtype=np.float64).ravel()
    target = np.asarray(target, dtype=np.float64).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {target.shape}")
    plcc_raw = _corr(stats.pearsonr, pred, target)
    fitted = fit_logistic(pred, target)
    plcc = _corr(stats.pearsonr, fitted, target) if fitted is not None else plcc_raw
    return {
        "srcc": _corr(stats.spearmanr, pred, target),
        "plcc": plcc,
        "plcc_raw": plcc_raw,
        "krcc": _corr(stats.kendalltau, pred, target),
    }


def summarize(per_split: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median, mean and std of every metric over splits (NaNs ignored)."""
    out: dict[str, dict[str, float]] = {}
    for key in METRIC_NAMES:
        vals = np.array([d[key] for d in per_split if key in d], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        if len(vals) == 0:
            out[key] = {"median": math.nan, "mean": math.nan, "std": math.nan, "n": 0}
        else:
            out[key] = {"median": float(np.median(vals)), "mean": float(np.mean(vals)),
                        "std": float(np.std(vals)), "n": int(len(vals))}
    return out
