"""``SplitTrainer``: trains and evaluates one model on one split, in the configured regime."""
from __future__ import annotations

import functools
import logging
import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from tqdm import tqdm

from photocull.model import create_model
from photocull.model.fileio import atomic_path

from .augment import augment, view
from .calibration import fit_calibration
from .datasets import Sample, Split
from .distortions import SyntheticRankingSet, pristine_paths
from .features import FeatureCache, backbone_key
from .images import ImageStore
from .losses import group_ranking_loss, iqa_loss
from .metrics import correlations
from .regimes import PrefixTail, configure_regime, merge_lora
from .spoils import SpoilRankingSet

log = logging.getLogger(__name__)


def progress_bar(it, cfg, **kw):
    return tqdm(it, disable=not cfg.get("progress", True), leave=False, dynamic_ncols=True, **kw)


@contextmanager
def _eval_mode(m):
    was = m.training
    nn.Module.train(m, False)
    try:
        yield
    finally:
        nn.Module.train(m, was)


def predict(m, store: ImageStore, paths: list[str], batch_size: int = 32) -> np.ndarray:
    """Raw model outputs (0-1 scale) for ``paths``, in order."""
    out = []
    with _eval_mode(m), torch.no_grad():
        for i in range(0, len(paths), batch_size):
            x = store.batch(paths[i:i + batch_size]).to(m.device)
            out.append(m(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def reference_paths(cfg: dict, samples: list[Sample], split: Split) -> list[str]:
    """The reference photos of the ranking groups: ``synthetic.paths``, or the pristine
    ``synthetic.sets``, plus the best-rated ``synthetic.train_top`` fraction of the split's
    training photos (never a held-out one)."""
    sc = cfg["synthetic"]
    paths = list(sc.get("paths") or [])
    if not paths and sc.get("sets"):
        root = sc.get("root")
        if root is None:
            from photocull.model.paths import data_dir

            root = data_dir() / "pristine"
        paths = pristine_paths(str(root), sc["sets"])
    top = float(sc.get("train_top") or 0.0)
    if top > 0:
        best = sorted(split.train, key=lambda i: -samples[i].target)
        paths += [samples[i].path for i in best[:max(1, round(top * len(best)))]]
    return paths


def ranking_sets(cfg: dict, samples: list[Sample], split: Split, seed: int) -> list[tuple[dict, object]]:
    """(config section, group set) for each enabled kind of ranking group: KADID-style levels
    (``synthetic``) and photographic spoils (``spoils``), over the same reference photos."""
    sc, pc = cfg["synthetic"], cfg["spoils"]
    if not (sc.get("enabled") or pc.get("enabled")):
        return []
    refs = reference_paths(cfg, samples, split)
    out = []
    if sc.get("enabled"):
        out.append((sc, SyntheticRankingSet(refs, sc.get("distortions"), int(sc["levels_per_group"]), seed=seed)))
    if pc.get("enabled"):
        out.append((pc, SpoilRankingSet(refs, pc.get("types"), seed=seed)))
    return out


def _rank_loss(section: dict, scores: torch.Tensor) -> torch.Tensor:
    return float(section["weight"]) * group_ranking_loss(scores, float(section["margin"]),
                                                         section.get("pair_weights"))


_SHARED_PREFIX: dict[tuple, dict] = {}  # SplitTrainer._shared_prefix_cache: prefix caches by what decides them


class SplitTrainer:
    """Trains and evaluates one model on one split."""

    def __init__(self, cfg: dict, samples: list[Sample], split: Split, run_dir: Path,
                 deadline: float | None):
        self.cfg, self.samples, self.split, self.run_dir = cfg, samples, split, run_dir
        self.deadline = deadline
        self.tc = cfg["train"]
        seed = int(cfg["seed"]) + split.seed
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.m = create_model(**cfg["model"]).to(cfg.get("device", "cpu"))
        self.groups = configure_regime(self.m, cfg)
        self.opt = torch.optim.Adam(self.groups, weight_decay=float(self.tc["weight_decay"]))
        self.store = ImageStore(self.m.preprocess)
        self.rank_sets = ranking_sets(cfg, samples, split, seed)
        self.history: list[dict] = []
        self.timings: dict[str, float] = {}
        self.cache_stats: dict[str, int] = {}
        self.stopped_early = False

    # -- helpers ---------------------------------------------------------------------------
    def _paths(self, idx):
        return [self.samples[i].path for i in idx]

    def _targets(self, idx):
        return torch.tensor([self.samples[i].target for i in idx], dtype=torch.float32)

    def _out_of_time(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stopped_early = True
            return True
        return False

    def _group_images(self, rs, epoch: int, step: int, n: int) -> list[list[Image.Image]]:
        size = self.m.image_size
        return [rs.images(rs.group((step * n + j) % len(rs), epoch), size) for j in range(n)]

    def _step(self, loss: torch.Tensor, step: int, total_steps: int) -> None:
        accum = max(1, int(self.tc["grad_accum"]))
        (loss / accum).backward()
        if (step + 1) % accum == 0 or step + 1 == total_steps:
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)

    def _evaluate(self, idx, features: torch.Tensor | None = None) -> dict:
        if not idx:
            return {}
        if features is not None:
            with _eval_mode(self.m), torch.no_grad():
                pred = self.m.head(features).numpy()
        else:
            pred = predict(self.m, self.store, self._paths(idx), int(self.tc["eval_batch_size"]))
        return correlations(pred, self._targets(idx).numpy())

    def _checkpoint(self, epoch: int) -> None:
        every = int(self.tc.get("checkpoint_every") or 0)
        if every and (epoch + 1) % every == 0:
            from safetensors.torch import save_file

            state = {k: v.detach().cpu().contiguous() for k, v in self.m.state_dict().items()}
            path = self.run_dir / "checkpoint.safetensors"
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                save_file(state, str(tmp), metadata={"epoch": str(epoch)})

    # -- frozen ----------------------------------------------------------------------------
    def _cached_features(self, cache: FeatureCache, items: list[tuple[str, str, object]]) -> torch.Tensor:
        """items: (cache key, description, thunk returning a (3,S,S) tensor)."""
        feats: list[torch.Tensor | None] = [cache.get(k) for k, _, _ in items]
        todo = [i for i, f in enumerate(feats) if f is None]
        bs = int(self.tc["eval_batch_size"])
        with _eval_mode(self.m), torch.no_grad():
            for s in progress_bar(range(0, len(todo), bs), self.cfg, desc="features"):
                chunk = todo[s:s + bs]
                x = torch.stack([items[i][2]() for i in chunk]).to(self.m.device)
                f = self.m.features(x).float().cpu()
                for i, row in zip(chunk, f):
                    cache.put(items[i][0], row)
                    feats[i] = row
        cache.flush()
        return torch.stack(feats) if feats else torch.zeros(0)

    def _fit_frozen(self) -> None:
        cfg, tc = self.cfg, self.tc
        cache_dir = cfg["frozen"].get("cache_dir")
        if cache_dir is None:
            from photocull.model.paths import cache_dir as default_cache

            cache_dir = default_cache() / "features"
        t0 = time.monotonic()
        cache = FeatureCache(cache_dir, backbone_key(self.m))
        views = max(1, int(cfg["frozen"]["aug_views"]))
        crop = float(tc["augment"].get("crop", 1.0))
        size = self.m.image_size

        def img_item(path, aug):
            return (FeatureCache.entry(path, f"s{size}|v{aug}|c{crop}"), path,
                    lambda: view(self.store.batch([path]), aug, crop)[0])

        train_p, test_p = self._paths(self.split.train), self._paths(self.split.test)
        val_p = self._paths(self.split.val)
        train_f = self._cached_features(cache, [img_item(p, v) for v in range(views) for p in train_p])
        train_f = train_f.reshape(views, len(train_p), -1)
        test_f = self._cached_features(cache, [img_item(p, 0) for p in test_p])
        val_f = self._cached_features(cache, [img_item(p, 0) for p in val_p])
        rank_f = []  # per ranking set: (pool, groups, levels, d) features
        for section, rs in self.rank_sets:
            pool = max(1, int(section["pool_epochs"]))
            items = []
            render = functools.lru_cache(maxsize=4)(
                lambda e, i, rs=rs: [torch.from_numpy(self.m.preprocess(im))
                                     for im in rs.images(rs.group(i, e), size)])
            for e in range(pool):
                for i in range(len(rs)):
                    g = rs.group(i, e)
                    for k in range(rs.levels_per_group):
                        items.append((FeatureCache.entry(g.path, f"s{size}|{rs.key(g, k)}"), g.path,
                                      lambda e=e, i=i, k=k, render=render: render(e, i)[k]))
            rank_f.append(self._cached_features(cache, items).reshape(pool, len(rs), rs.levels_per_group, -1))
        self.cache_stats = {"hits": cache.hits, "misses": cache.misses, "file": str(cache.path)}
        self.timings["features_s"] = time.monotonic() - t0

        y = self._targets(self.split.train)
        bs = int(tc["batch_size"])
        t1 = time.monotonic()
        best = (-math.inf, None)
        for epoch in range(int(tc["epochs"])):
            nn.Module.train(self.m.head, True)
            perm = torch.randperm(len(train_p), generator=self.gen)
            vsel = torch.randint(0, views, (len(train_p),), generator=self.gen)
            steps = math.ceil(len(perm) / bs)
            losses = []
            for step in range(steps):
                idx = perm[step * bs:(step + 1) * bs]
                pred = self.m.head(train_f[vsel[idx], idx])
                loss, _ = iqa_loss(pred, y[idx], float(tc["rank_weight"]), float(tc["margin_scale"]))
                for (section, _), feats in zip(self.rank_sets, rank_f):
                    gi = torch.randint(0, feats.shape[1], (int(section["groups_per_step"]),), generator=self.gen)
                    sf = feats[epoch % feats.shape[0], gi]            # (G, L, d)
                    scores = self.m.head(sf.reshape(-1, sf.shape[-1])).reshape(sf.shape[:2])
                    loss = loss + _rank_loss(section, scores)
                self._step(loss, step, steps)
                losses.append(float(loss.detach()))
            entry = {"epoch": epoch, "loss": float(np.mean(losses))}
            if len(val_f):
                entry["val"] = self._evaluate(self.split.val, val_f)
                if entry["val"]["srcc"] > best[0]:
                    best = (entry["val"]["srcc"], {k: v.clone() for k, v in self.m.head.state_dict().items()})
            self.history.append(entry)
            if self._out_of_time():
                break
        if best[1] is not None:
            self.m.head.load_state_dict(best[1])
        self.timings["train_s"] = time.monotonic() - t1
        self._test_features = test_f
        if tc.get("calibrate"):
            with _eval_mode(self.m), torch.no_grad():
                self._calibrate(self.m.head(train_f[0]).numpy())

    # -- finetune / lora -------------------------------------------------------------------
    def _prefix_cache(self, pt: PrefixTail) -> dict:
        """Prefix outputs (fp16 maps + fp32 taps) for train views (plain, flipped) and, per ranking
        set, a fixed pool of groups (its ``pool_epochs`` draws)."""
        bs = int(self.tc["eval_batch_size"])

        def run(n: int, batch, what: str, step: int = bs):
            """Prefix of ``batch(i, j)`` (the preprocessed inputs i..j-1) for i in 0..n, ``step``
            at a time: only one chunk of full-size inputs is in memory at once."""
            t = time.monotonic()
            hs, ts = [], []
            with _eval_mode(self.m), torch.no_grad():
                for i in progress_bar(range(0, n, step), self.cfg, desc=f"prefix cache: {what}"):
                    # NHWC like the model's CNN weights (IQAModel.channels_last): ~1.8x faster on CPU
                    x = batch(i, min(n, i + step)).to(self.m.device, memory_format=torch.channels_last)
                    h, tp = pt.prefix(x)
                    hs.append(h.half().cpu())
                    ts.append(tp.cpu())
            log.info("prefix cache: %d %s in %.0f s", n, what, time.monotonic() - t)
            return torch.cat(hs), torch.cat(ts)

        train_p = self._paths(self.split.train)
        cache = {"train": [run(len(train_p), lambda i, j: self.store.batch(train_p[i:j]), "training photos"),
                           run(len(train_p), lambda i, j: self.store.batch(train_p[i:j]).flip(-1), "flipped")]}
        size = self.m.image_size
        cache["rank"] = []
        for section, rs in self.rank_sets:
            pool = max(1, int(section["pool_epochs"]))
            levels = rs.levels_per_group
            groups = [(e, i) for e in range(pool) for i in range(len(rs))]

            def batch(i, j, rs=rs, groups=groups, levels=levels):
                # chunks hold whole groups (i, j multiples of levels): groups i/levels .. j/levels - 1
                return torch.stack([torch.from_numpy(self.m.preprocess(im)) for e, g in groups[i // levels:j // levels]
                                    for im in rs.images(rs.group(g, e), size)])

            h, t = run(len(groups) * levels, batch, type(rs).__name__, max(1, bs // levels) * levels)
            shape = (pool, len(rs), levels)
            cache["rank"].append((h.reshape(shape + h.shape[1:]), t.reshape(shape + t.shape[1:])))
        return cache

    def _shared_prefix_cache(self, pt: PrefixTail) -> dict:
        """:meth:`_prefix_cache`, kept for the other runs of this process that would compute the
        same one (an ablation: each activation on the same split). The frozen prefix's output depends
        only on the backbone's weights, the number of frozen blocks, the training photos and the
        ranking groups, which make up the key; the activation and the head do not enter it."""
        key = (backbone_key(self.m), pt.cut, tuple(self._paths(self.split.train)), int(self.cfg["seed"]) + self.split.seed,
               repr([(sec, len(rs)) for sec, rs in self.rank_sets]))
        if key not in _SHARED_PREFIX:
            _SHARED_PREFIX[key] = self._prefix_cache(pt)
        return _SHARED_PREFIX[key]

    def _fit_backbone(self) -> None:
        cfg, tc = self.cfg, self.tc
        t0 = time.monotonic()
        all_idx = self.split.train + self.split.val + self.split.test
        self.store.ensure(self._paths(all_idx), progress=cfg.get("progress", True))
        self.timings["decode_s"] = time.monotonic() - t0
        pt = None
        k = int(tc["unfreeze_blocks"])
        if cfg["regime"] == "finetune" and tc.get("prefix_cache", True) and k >= 0 \
                and PrefixTail.supports(self.m.backbone):
            pt = PrefixTail(self.m.backbone, len(self.m.backbone.net.blocks) - k)
            t = time.monotonic()
            pcache = self._shared_prefix_cache(pt) if tc.get("share_prefix_cache") else self._prefix_cache(pt)
            self.timings["prefix_cache_s"] = time.monotonic() - t
        aug = tc.get("augment") or {}
        bs = int(tc["batch_size"])
        y_all = self._targets(self.split.train)
        train_p = self._paths(self.split.train)
        t1 = time.monotonic()
        best = (-math.inf, None)
        for epoch in range(int(tc["epochs"])):
            self.m.train()
            self.m.backbone.eval()  # frozen BatchNorm statistics; small CPU batches
            perm = torch.randperm(len(train_p), generator=self.gen)
            steps = math.ceil(len(perm) / bs)
            losses = []
            bar = progress_bar(range(steps), cfg, desc=f"epoch {epoch + 1}/{tc['epochs']}")
            for step in bar:
                idx = perm[step * bs:(step + 1) * bs]
                if pt is not None:
                    flip = (torch.rand(len(idx), generator=self.gen) < 0.5) if aug.get("hflip", True) \
                        else torch.zeros(len(idx), dtype=torch.bool)
                    (h0, t0_), (h1, t1_) = pcache["train"]
                    h = torch.where(flip[:, None, None, None], h1[idx], h0[idx]).float()
                    h = h.contiguous(memory_format=torch.channels_last)
                    taps = torch.where(flip[:, None], t1_[idx], t0_[idx])
                    pred = self.m.head(pt.tail(h.to(self.m.device), taps.to(self.m.device)))
                else:
                    x = self.store.batch([train_p[i] for i in idx])
                    x = augment(x, self.gen, bool(aug.get("hflip", True)), float(aug.get("crop", 1.0)))
                    pred = self.m(x.to(self.m.device))
                loss, _ = iqa_loss(pred, y_all[idx].to(pred.device), float(tc["rank_weight"]),
                                   float(tc["margin_scale"]))
                for r, (section, rs) in enumerate(self.rank_sets):
                    n_groups = int(section["groups_per_step"])
                    if pt is not None:
                        sh, st = pcache["rank"][r]
                        gi = torch.randint(0, sh.shape[1], (n_groups,), generator=self.gen)
                        e = epoch % sh.shape[0]
                        h, taps = sh[e, gi].flatten(0, 1).float(), st[e, gi].flatten(0, 1)
                        h = h.contiguous(memory_format=torch.channels_last)
                        scores = self.m.head(pt.tail(h.to(self.m.device), taps.to(self.m.device)))
                    else:
                        groups = self._group_images(rs, epoch, step, n_groups)
                        xs = torch.stack([torch.from_numpy(self.m.preprocess(im)) for g in groups for im in g])
                        xs = augment(xs, self.gen, bool(aug.get("hflip", True)), 1.0)
                        scores = self.m(xs.to(self.m.device))
                    loss = loss + _rank_loss(section, scores.reshape(n_groups, -1))
                self._step(loss, step, steps)
                losses.append(float(loss.detach()))
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                if self._out_of_time():
                    break
            entry = {"epoch": epoch, "loss": float(np.mean(losses)), "elapsed_s": time.monotonic() - t1}
            every = int(tc.get("eval_every") or 0)
            if self.split.val:
                entry["val"] = self._evaluate(self.split.val)
                if entry["val"]["srcc"] > best[0]:
                    best = (entry["val"]["srcc"],
                            {k: v.detach().clone() for k, v in self.m.state_dict().items()})
            elif every and (epoch + 1) % every == 0:
                entry["test"] = self._evaluate(self.split.test)
            self.history.append(entry)
            log.info("split %d epoch %d: %s", self.split.seed, epoch, entry)
            self._checkpoint(epoch)
            if self.stopped_early:
                break
        if best[1] is not None:
            self.m.load_state_dict(best[1])
        self.timings["train_s"] = time.monotonic() - t1
        self._test_features = None
        if tc.get("calibrate"):
            self._calibrate(self._train_raw(pt, pcache["train"][0] if pt is not None else None))

    def _train_raw(self, pt: PrefixTail | None, prefix: tuple[torch.Tensor, torch.Tensor] | None) -> np.ndarray:
        """Raw outputs on the split's training photos (plain view), from the cached prefix if any."""
        if pt is None:
            return predict(self.m, self.store, self._paths(self.split.train), int(self.tc["eval_batch_size"]))
        bs, (h, taps) = int(self.tc["eval_batch_size"]), prefix
        out = []
        with _eval_mode(self.m), torch.no_grad():
            for i in range(0, len(h), bs):
                x = h[i:i + bs].float().contiguous(memory_format=torch.channels_last).to(self.m.device)
                out.append(self.m.head(pt.tail(x, taps[i:i + bs].to(self.m.device))).float().cpu().numpy())
        return np.concatenate(out)

    def _calibrate(self, raw: np.ndarray) -> None:
        """Fit the output calibration to the training targets (training/calibration.py)."""
        t = time.monotonic()
        self.m.set_calibration(fit_calibration(raw, self._targets(self.split.train).numpy()))
        self.timings["calibrate_s"] = time.monotonic() - t

    def fit(self) -> dict:
        start = time.monotonic()
        if self.cfg["regime"] == "frozen":
            self._fit_frozen()
        else:
            self._fit_backbone()
        t = time.monotonic()
        metrics = self._evaluate(self.split.test, self._test_features)
        self.timings["eval_s"] = time.monotonic() - t
        self.timings["total_s"] = time.monotonic() - start
        if self.cfg["regime"] == "lora":
            merge_lora(self.m.backbone)
        nn.Module.train(self.m, False)
        return {
            "split_seed": self.split.seed,
            "n_train": len(self.split.train), "n_val": len(self.split.val), "n_test": len(self.split.test),
            "metrics": metrics,
            "history": self.history,
            "timings": self.timings,
            "stopped_early": self.stopped_early,
            "feature_cache": self.cache_stats or None,
            "activation_report": self.m.activation_report(),
        }
