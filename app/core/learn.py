"""Learn from your picks: fine-tune the model's head on the keep/reject decisions of one folder.

:func:`learn_from_decisions`:

1. collects the decided photos of a folder from the cache: picks (target 1, plus 0.1 per star,
   so 5-star picks should outrank 1-star ones) and rejects (target 0); refuses with
   :class:`NotEnoughDecisions` under ``min_each`` picks or rejects;
2. holds out ``holdout`` (25 %) of the picks and of the rejects (stratified, seeded);
3. computes the frozen backbone's features of every decided photo once;
4. fine-tunes a copy of the head (``photocull.training.personal.fit_preference_head``: pairwise margin
   ranking loss from ``photocull.training.losses``) on the rest;
5. reports agreement with the held-out decisions before and after
   (``photocull.training.personal.preference_metrics``: pairwise accuracy, pick-vs-reject AUC);
6. saves the personal model (``IQAModel.save``) into ``out`` or
   ``user_data_dir("photocull")/models/<name>/``, loadable with ``--model``.

This is the one ``photocull.app.core`` module allowed to import ``training`` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from photocull.app.core.cache import Cache
from photocull.app.core.decisions import PICK, REJECT
from photocull.app.core.decode import DecodeError, load_image
from photocull.app.core.scan import scan_folder

__all__ = ["NotEnoughDecisions", "LearnReport", "personal_models_dir", "collect_decisions",
           "learn_from_decisions"]

MIN_EACH = 10


class NotEnoughDecisions(ValueError):
    pass


@dataclass
class LearnReport:
    n_picks: int
    n_rejects: int
    n_train: int
    n_holdout: int
    before: dict
    after: dict
    model_dir: str
    base_model: str
    skipped: list

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        def fmt(m):
            return f"pairwise accuracy {m['pairwise_accuracy']:.2f}, pick-vs-reject AUC {m['auc']:.2f}"
        return (f"{self.n_picks} picks, {self.n_rejects} rejects; trained on {self.n_train}, "
                f"checked on {self.n_holdout} held-out photos\n"
                f"  before: {fmt(self.before)}\n  after:  {fmt(self.after)}\n"
                f"personal model saved to {self.model_dir}")


def personal_models_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("photocull")) / "models"


def collect_decisions(folder, cache: Cache) -> list[tuple[Path, float]]:
    """``(path, target)`` of the picked and rejected photos under ``folder`` (scan order)."""
    items = [it for it in scan_folder(folder) if it.ok]
    stored = cache.get_decisions([it.path for it in items])
    out = []
    for it in items:
        d = stored.get(it.path)
        if d is None:
            continue
        if d.flag == PICK:
            out.append((it.path, 1.0 + 0.1 * d.stars))
        elif d.flag == REJECT:
            out.append((it.path, 0.0))
    return out


def _split(targets: np.ndarray, holdout: float, seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in (targets >= 1, targets <= 0):
        idx = np.flatnonzero(cls)
        rng.shuffle(idx)
        k = max(1, math.ceil(len(idx) * holdout))
        test += idx[:k].tolist()
        train += idx[k:].tolist()
    return sorted(train), sorted(test)


def _features(m, paths: list[Path], batch_size: int, progress: Callable[[int, int], None] | None):
    import torch

    from photocull.model.iqa import evaluating

    feats, kept, skipped = [], [], []
    with evaluating(m), torch.no_grad():
        for start in range(0, len(paths), batch_size):
            xs = []
            for p in paths[start:start + batch_size]:
                try:
                    xs.append(m.preprocess(load_image(p, min_side=m.image_size)))
                    kept.append(p)
                except DecodeError as exc:
                    skipped.append(f"{p}: {exc.reason}")
            if xs:
                feats.append(m.features(torch.from_numpy(np.stack(xs)).to(m.device)).float().cpu())
            if progress is not None:
                progress(min(start + batch_size, len(paths)), len(paths))
    return (torch.cat(feats) if feats else torch.zeros(0)), kept, skipped


def _safe_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")
    return name or "personal"


def learn_from_decisions(folder, model_path=None, out=None, name: str | None = None,
                         cache: Cache | None = None, model=None, min_each: int = MIN_EACH,
                         holdout: float = 0.25, steps: int = 300, seed: int = 0, batch_size: int = 16,
                         progress: Callable[[int, int], None] | None = None) -> LearnReport:
    """See the module docstring. ``model``: an already loaded ``IQAModel`` (else ``model_path``,
    default the embedded model). Raises NotEnoughDecisions, or model.ModelLoadError."""
    import torch

    from photocull.training.personal import fit_preference_head, preference_metrics

    folder = Path(os.path.abspath(folder))
    own_cache = cache is None
    cache = cache or Cache()
    try:
        decided = collect_decisions(folder, cache)
    finally:
        if own_cache:
            cache.close()
    n_picks = sum(t >= 1 for _, t in decided)
    n_rejects = sum(t <= 0 for _, t in decided)
    if n_picks < min_each or n_rejects < min_each:
        raise NotEnoughDecisions(
            f"not enough decisions to learn from: {n_picks} pick(s) and {n_rejects} reject(s) in "
            f"{folder}; pick and reject at least {min_each} photos each first")
    if model is None:
        from photocull.model import load_model
        from photocull.model.paths import default_model_dir

        model = load_model(model_path or default_model_dir(), device="cpu")
    base = str(model_path or "default")
    feats, kept, skipped = _features(model, [p for p, _ in decided], batch_size, progress)
    target_of = dict(decided)
    targets = np.array([target_of[p] for p in kept], dtype=np.float32)
    train, test = _split(targets, holdout, seed)
    head = model.head
    with torch.no_grad():
        before_scores = head(feats[test]).numpy()
    tuned = fit_preference_head(head, feats[train], torch.from_numpy(targets[train]), steps=steps, seed=seed)
    with torch.no_grad():
        after_scores = tuned(feats[test]).numpy()
    before = preference_metrics(before_scores, targets[test])
    after = preference_metrics(after_scores, targets[test])
    model.head.load_state_dict(tuned.state_dict())
    target_dir = Path(out) if out is not None else personal_models_dir() / _safe_name(name or folder.name)
    model.save(target_dir)
    return LearnReport(n_picks, n_rejects, len(train), len(test), before, after, str(target_dir), base,
                       skipped)
