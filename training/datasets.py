"""IQA dataset loaders, a registry by name, and (grouped) random splits.

A dataset is a list of :class:`Sample` (image path, target on the 0-1 scale, higher = better,
optional group for reference-aware splitting).  Every loader takes the dataset's root folder.
"""
from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Sample:
    path: str
    target: float
    group: str | None = None


@dataclass
class Split:
    seed: int
    train: list[int]
    val: list[int] = field(default_factory=list)
    test: list[int] = field(default_factory=list)


class DatasetError(ValueError):
    """Raised when a dataset's metadata is missing or malformed."""


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"metadata file not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise DatasetError(f"no rows in {path}")
    return rows


def _require(row: dict, cols: Sequence[str], path: Path) -> None:
    missing = [c for c in cols if c not in row]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {missing}; has {sorted(row)}")


def _first_dir(root: Path, candidates: Sequence[str]) -> Path:
    for c in candidates:
        if (root / c).is_dir():
            return root / c
    return root


def _check_exist(samples: list[Sample], what: str) -> list[Sample]:
    missing = [s.path for s in samples if not os.path.exists(s.path)]
    if missing:
        raise DatasetError(f"{what}: {len(missing)} image(s) not found, e.g. {missing[0]}")
    return samples


def load_clive(root: str | os.PathLike | None = None) -> list[Sample]:
    """Shared CLIVE layout: ``mos.csv`` (image, mos, mos_std, original_name) + ``images/``; MOS/100."""
    root = Path(root) if root is not None else _data_dir() / "clive"
    rows = _read_csv(root / "mos.csv")
    _require(rows[0], ("image", "mos"), root / "mos.csv")
    return _check_exist([Sample(str(root / "images" / r["image"]), float(r["mos"]) / 100.0)
                         for r in rows], "clive")


def _mat_strings(value) -> list[str]:
    """Flatten a MATLAB cell array of strings as returned by scipy.io.loadmat."""
    out: list[str] = []
    for item in np.asarray(value, dtype=object).ravel():
        while isinstance(item, np.ndarray) and item.dtype == object and item.size == 1:
            item = item.ravel()[0]
        if isinstance(item, np.ndarray):
            item = item.item() if item.size == 1 else "".join(item.ravel().tolist())
        out.append(str(item).strip())
    return out


def _mat_var(path: Path, prefer: str):
    from scipy.io import loadmat

    if not path.is_file():
        raise DatasetError(f"metadata file not found: {path}")
    data = {k: v for k, v in loadmat(str(path)).items() if not k.startswith("__")}
    if prefer in data:
        return data[prefer]
    if len(data) == 1:
        return next(iter(data.values()))
    raise DatasetError(f"{path}: expected variable {prefer!r}, found {sorted(data)}")


def load_live_challenge(root: str | os.PathLike) -> list[Sample]:
    """Original LIVE Challenge release: Data/AllImages_release.mat + Data/AllMOS_release.mat
    (MOS 0-100) and Images/ (the 7 training images may sit in Images/trainingImages/)."""
    root = Path(root)
    names = _mat_strings(_mat_var(root / "Data" / "AllImages_release.mat", "AllImages_release"))
    mos = np.asarray(_mat_var(root / "Data" / "AllMOS_release.mat", "AllMOS_release"),
                     dtype=np.float64).ravel()
    if len(names) != len(mos):
        raise DatasetError(f"LIVE Challenge: {len(names)} names but {len(mos)} MOS values")
    samples = []
    for name, m in zip(names, mos):
        path = root / "Images" / name
        if not path.exists() and (root / "Images" / "trainingImages" / name).exists():
            path = root / "Images" / "trainingImages" / name
        samples.append(Sample(str(path), float(m) / 100.0))
    return _check_exist(samples, "live_challenge")


def load_koniq(root: str | os.PathLike, score: str = "zscore",
               image_dir: str | None = None) -> list[Sample]:
    """KonIQ-10k: koniq10k_scores_and_distributions.csv; ``score='zscore'`` -> MOS_zscore/100,
    ``score='mos'`` -> (MOS - 1)/4.  Images in 1024x768/ (default if present) or 512x384/."""
    root = Path(root)
    csv_path = root / "koniq10k_scores_and_distributions.csv"
    rows = _read_csv(csv_path)
    col = {"zscore": "MOS_zscore", "mos": "MOS"}.get(score)
    if col is None:
        raise DatasetError(f"koniq score must be 'zscore' or 'mos', got {score!r}")
    _require(rows[0], ("image_name", col), csv_path)
    img_root = root / image_dir if image_dir else _first_dir(root, ("1024x768", "512x384", "images"))
    conv = (lambda v: v / 100.0) if score == "zscore" else (lambda v: (v - 1.0) / 4.0)
    return _check_exist([Sample(str(img_root / r["image_name"]), conv(float(r[col])))
                         for r in rows], "koniq")


def load_kadid(root: str | os.PathLike) -> list[Sample]:
    """KADID-10k: dmos.csv (dist_img, ref_img, dmos 1-5, var) + images/; (dmos-1)/4, group=ref_img."""
    root = Path(root)
    rows = _read_csv(root / "dmos.csv")
    _require(rows[0], ("dist_img", "ref_img", "dmos"), root / "dmos.csv")
    img_root = _first_dir(root, ("images",))
    return _check_exist([Sample(str(img_root / r["dist_img"]), (float(r["dmos"]) - 1.0) / 4.0,
                                group=r["ref_img"]) for r in rows], "kadid")


def load_spaq(root: str | os.PathLike, xlsx: str | None = None,
              image_dir: str | None = None) -> list[Sample]:
    """SPAQ: MOS (0-100) in an xlsx with 'Image name' and 'MOS' columns; images in TestImage/."""
    import openpyxl

    root = Path(root)
    if xlsx is None:
        found = sorted(glob.glob(str(root / "**" / "*.xlsx"), recursive=True))
        if not found:
            raise DatasetError(f"SPAQ: no .xlsx under {root}")
        xlsx_path = Path(found[0])
    else:
        xlsx_path = root / xlsx
    wb = openpyxl.load_workbook(xlsx_path, read_only=True, data_only=True)
    try:
        rows = [r for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    header_idx = next((i for i, r in enumerate(rows)
                       if r and "Image name" in [str(c).strip() for c in r if c is not None]), None)
    if header_idx is None:
        raise DatasetError(f"{xlsx_path}: no header row with 'Image name'")
    header = [str(c).strip() if c is not None else "" for c in rows[header_idx]]
    if "MOS" not in header:
        raise DatasetError(f"{xlsx_path}: no 'MOS' column")
    i_name, i_mos = header.index("Image name"), header.index("MOS")
    img_root = root / image_dir if image_dir else _first_dir(root, ("TestImage", "images"))
    samples = [Sample(str(img_root / str(r[i_name]).strip()), float(r[i_mos]) / 100.0)
               for r in rows[header_idx + 1:] if r and r[i_name] is not None and r[i_mos] is not None]
    return _check_exist(samples, "spaq")


def load_agiqa(root: str | os.PathLike, csv_name: str | None = None,
               image_dir: str | None = None, column: str = "mos_quality") -> list[Sample]:
    """AGIQA-1K/3K: CSV with ``name`` and ``mos_quality`` (0-5) -> mos/5.
    ``column='mos_align'`` selects AGIQA-3K's alignment score instead."""
    root = Path(root)
    if csv_name is None:
        found = sorted(glob.glob(str(root / "*.csv")))
        if not found:
            raise DatasetError(f"AGIQA: no CSV in {root}")
        csv_path = Path(found[0])
    else:
        csv_path = root / csv_name
    rows = _read_csv(csv_path)
    _require(rows[0], ("name", column), csv_path)
    img_root = root / image_dir if image_dir else _first_dir(root, ("images", "AGIQA-3K", "AGIQA-1K"))
    return _check_exist([Sample(str(img_root / r["name"]), float(r[column]) / 5.0)
                         for r in rows], "agiqa")


def load_csv(root: str | os.PathLike, csv_name: str = "scores.csv", path_col: str = "path",
             mos_col: str = "mos", scale: Sequence[float] = (0.0, 100.0),
             group_col: str | None = None) -> list[Sample]:
    """Generic CSV (path,mos); relative paths are relative to the CSV's folder.
    ``scale=(lo, hi)`` maps mos to (mos - lo) / (hi - lo)."""
    csv_path = Path(root) / csv_name if Path(root).is_dir() else Path(root)
    rows = _read_csv(csv_path)
    _require(rows[0], (path_col, mos_col) + ((group_col,) if group_col else ()), csv_path)
    lo, hi = float(scale[0]), float(scale[1])
    if hi == lo:
        raise DatasetError("scale must span a non-empty range")
    base = csv_path.parent
    return _check_exist([Sample(str(base / r[path_col]), (float(r[mos_col]) - lo) / (hi - lo),
                                group=r[group_col] if group_col else None) for r in rows], "csv")


LOADERS: dict[str, Callable[..., list[Sample]]] = {
    "clive": load_clive,
    "live_challenge": load_live_challenge,
    "koniq": load_koniq,
    "kadid": load_kadid,
    "spaq": load_spaq,
    "agiqa": load_agiqa,
    "csv": load_csv,
}


def _data_dir() -> Path:
    from photocull.model.paths import data_dir

    return Path(data_dir())


def load_dataset(name: str, root: str | os.PathLike | None = None, **options) -> list[Sample]:
    """Load a dataset by registry name. ``root`` defaults to ``data_dir()/name``."""
    if name not in LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; known: {sorted(LOADERS)}")
    if root is None:
        root = _data_dir() / name
    return LOADERS[name](root, **options)


def random_splits(samples: Sequence[Sample], n_splits: int = 10, seed: int = 0,
                  fractions: Sequence[float] = (0.8, 0.2), grouped: bool | None = None) -> list[Split]:
    """``n_splits`` random splits; split i uses seed ``seed + i``.

    ``fractions`` is (train, test) or (train, val, test).  When grouped (default: whenever any
    sample has a group), whole groups go to one side so no reference leaks across the split.
    """
    if len(fractions) not in (2, 3) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError("fractions must be (train, test) or (train, val, test) summing to 1")
    if grouped is None:
        grouped = any(s.group is not None for s in samples)
    keys = [s.group if grouped else str(i) for i, s in enumerate(samples)]
    uniq = sorted(set(keys))
    members: dict[str, list[int]] = {k: [] for k in uniq}
    for i, k in enumerate(keys):
        members[k].append(i)
    splits = []
    for n in range(n_splits):
        rng = np.random.default_rng(seed + n)
        order = [uniq[j] for j in rng.permutation(len(uniq))]
        n_train = int(round(fractions[0] * len(order)))
        n_val = int(round(fractions[1] * len(order))) if len(fractions) == 3 else 0
        parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
        idx = [sorted(i for k in part for i in members[k]) for part in parts]
        splits.append(Split(seed=seed + n, train=idx[0], val=idx[1], test=idx[2]))
    return splits
