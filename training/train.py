"""A training run: ``run_training(cfg)`` trains one model per split, evaluates it on the split's
held-out part and writes ``<output_dir>/report.json``; the model of the first split is saved with
``IQAModel.save(<output_dir>/model)``.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from photocull.model.fileio import atomic_write_bytes

from .datasets import Sample, load_dataset, random_splits
from .metrics import summarize
from .trainer import SplitTrainer

log = logging.getLogger(__name__)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, torch.Tensor):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(data, indent=2, default=_json_default) + "\n").encode())


def load_samples(cfg: dict) -> list[Sample]:
    dc = cfg["data"]
    samples = load_dataset(dc["dataset"], dc.get("root"), **(dc.get("options") or {}))
    if dc.get("limit"):
        samples = samples[: int(dc["limit"])]
    return samples


def run_training(cfg: dict, samples: list[Sample] | None = None) -> dict:
    """Train one model per split; write report.json (+ the first split's model). Returns the report."""
    threads = cfg.get("threads")
    prev_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _run(cfg, samples)
    finally:
        torch.set_num_threads(prev_threads)


def _run(cfg: dict, samples: list[Sample] | None) -> dict:
    started = time.monotonic()
    out = Path(cfg["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    samples = samples if samples is not None else load_samples(cfg)
    dc = cfg["data"]
    splits = random_splits(samples, int(dc["splits"]), int(dc["split_seed"]), dc["fractions"])
    budget = cfg["train"].get("time_budget_min")
    per_split = float(budget) * 60.0 / len(splits) if budget else None
    results = []
    saved = None
    for k, split in enumerate(splits):
        deadline = time.monotonic() + per_split if per_split else None
        trainer = SplitTrainer(cfg, samples, split, out / f"split{k}", deadline)
        res = trainer.fit()
        results.append(res)
        log.info("split %d (seed %d): %s", k, split.seed, res["metrics"])
        if k == 0:
            write_json(out / "split0_test.json", {"test": [samples[i].path for i in split.test]})
            if cfg["save"].get("model", True):
                saved = trainer.m.save(out / "model", fp16=bool(cfg["save"].get("fp16", False)))
    report = {
        "name": cfg["name"],
        "config": cfg,
        "dataset": {"name": dc["dataset"], "n": len(samples)},
        "split_seeds": [s.seed for s in splits],
        "fractions": dc["fractions"],
        "splits": results,
        "summary": summarize([r["metrics"] for r in results if r["metrics"]]),
        "model_dir": str(saved) if saved else None,
        "timings": {"total_s": time.monotonic() - started},
        "torch_threads": torch.get_num_threads(),
    }
    write_json(out / "report.json", report)
    return report
