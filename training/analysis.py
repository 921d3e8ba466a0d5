"""Evaluation, activation ablation and the paper's figures (t-SNE of head features, Grad-CAM)."""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .datasets import Sample
from .images import ImageStore, open_rgb
from .metrics import correlations
from .train import run_training, write_json
from .trainer import predict, progress_bar

BUCKETS = ("low", "medium", "high")


def held_out_paths(model_dir: str | Path) -> list[str] | None:
    """The test images of the run that produced ``model_dir`` (``<run>/split0_test.json``)."""
    f = Path(model_dir).parent / "split0_test.json"
    if f.is_file():
        return json.loads(f.read_text(encoding="utf-8"))["test"]
    return None


def select(samples: list[Sample], paths: list[str] | None) -> list[Sample]:
    if paths is None:
        return samples
    wanted = set(paths)
    return [s for s in samples if s.path in wanted]


def evaluate(m, samples: list[Sample], batch_size: int = 32) -> tuple[dict, np.ndarray]:
    store = ImageStore(m.preprocess)
    pred = predict(m, store, [s.path for s in samples], batch_size)
    return correlations(pred, [s.target for s in samples]), pred


# ---------------------------------------------------------------------------------------------
# ablation

def run_ablation(cfg: dict, samples: list[Sample] | None = None) -> dict:
    """Train ``cfg['ablate']['activations']`` x ``data.splits`` and tabulate median SRCC/PLCC.
    Writes ``ablation.json`` and ``ablation.md`` into ``output_dir``."""
    from .train import load_samples

    out = Path(cfg["output_dir"])
    samples = samples if samples is not None else load_samples(cfg)
    rows = []
    for act in cfg["ablate"]["activations"]:
        sub = copy.deepcopy(cfg)
        sub["model"]["activation"] = act
        sub["name"] = f"{cfg['name']}-{act}"
        sub["output_dir"] = str(out / act)
        sub["save"]["model"] = False
        t0 = time.monotonic()
        rep = run_training(sub, samples)
        s = rep["summary"]
        rows.append({"activation": act, "srcc_median": s["srcc"]["median"], "plcc_median": s["plcc"]["median"],
                     "krcc_median": s["krcc"]["median"], "srcc_std": s["srcc"]["std"], "splits": s["srcc"]["n"],
                     "per_split_srcc": [r["metrics"].get("srcc") for r in rep["splits"]],
                     "seconds": time.monotonic() - t0})
    table = {"name": cfg["name"], "dataset": cfg["data"]["dataset"], "regime": cfg["regime"],
             "backbone": cfg["model"]["backbone"], "split_seed": cfg["data"]["split_seed"],
             "n_splits": cfg["data"]["splits"], "rows": rows}
    write_json(out / "ablation.json", table)
    lines = [f"# Activation ablation: {table['backbone']} ({table['regime']}) on {table['dataset']}",
             "", f"{table['n_splits']} random splits {cfg['data']['fractions']} from seed "
             f"{table['split_seed']}; median over splits.", "",
             "| activation | SRCC | PLCC | KRCC | SRCC std | splits |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['activation']} | {r['srcc_median']:.4f} | {r['plcc_median']:.4f} | "
                     f"{r['krcc_median']:.4f} | {r['srcc_std']:.4f} | {r['splits']} |")
    from photocull.model.fileio import atomic_write_bytes

    atomic_write_bytes(out / "ablation.md", ("\n".join(lines) + "\n").encode())
    return table


# ---------------------------------------------------------------------------------------------
# figures

def head_features(m, store: ImageStore, paths: list[str], batch_size: int = 32) -> np.ndarray:
    """Inputs of the head's last Linear layer (the head's learned representation)."""
    last = [mod for mod in m.head.modules() if isinstance(mod, nn.Linear)][-1]
    grabbed: list[torch.Tensor] = []
    hook = last.register_forward_hook(lambda mod, inp, out: grabbed.append(inp[0].detach().cpu()))
    try:
        predict(m, store, paths, batch_size)
    finally:
        hook.remove()
    return torch.cat(grabbed).numpy() if grabbed else np.zeros((0, last.in_features), np.float32)


def buckets(targets: np.ndarray) -> np.ndarray:
    """0/1/2 = low/medium/high by the targets' tertiles."""
    lo, hi = np.quantile(targets, [1 / 3, 2 / 3])
    return np.digitize(targets, [lo, hi], right=True)


def run_analysis(m, samples: list[Sample], out_dir: str | Path, per_bucket: int = 3,
                 seed: int = 0, progress: bool = True) -> dict:
    """Write ``tsne.png`` (head features coloured by quality bucket) and ``gradcam_<bucket>.png``
    (Grad-CAM "low" overlays for low/medium, "high" for high-quality examples) + analysis.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from photocull.model.explain import gradcam, overlay_heatmap

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if len(samples) < 6:
        raise ValueError("analysis needs at least 6 images")
    paths = [s.path for s in samples]
    y = np.array([s.target for s in samples], dtype=np.float64)
    b = buckets(y)
    store = ImageStore(m.preprocess)
    feats = head_features(m, store, paths)
    pred = predict(m, store, paths)
    emb = TSNE(n_components=2, perplexity=float(min(30, max(2, (len(paths) - 1) // 3))),
               init="pca", random_state=seed).fit_transform(feats)
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    for k, (name, colour) in enumerate(zip(BUCKETS, ("tab:red", "tab:orange", "tab:green"))):
        sel = b == k
        ax.scatter(emb[sel, 0], emb[sel, 1], s=14, c=colour, label=f"{name} ({sel.sum()})", alpha=0.8)
    ax.set_title("t-SNE of head features by quality bucket")
    ax.legend()
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out / "tsne.png")
    plt.close(fig)

    rng = np.random.default_rng(seed)
    examples = {}
    for k, name in enumerate(BUCKETS):
        idx = np.flatnonzero(b == k)
        chosen = rng.choice(idx, size=min(per_bucket, len(idx)), replace=False)
        mode = "high" if name == "high" else "low"
        fig, axes = plt.subplots(2, len(chosen), figsize=(3 * len(chosen), 6), dpi=110, squeeze=False)
        for j, i in enumerate(progress_bar(chosen, {"progress": progress}, desc=f"grad-cam {name}")):
            img = open_rgb(paths[i])
            img.thumbnail((512, 512))
            cam = gradcam(m, img, mode=mode)
            axes[0, j].imshow(img)
            axes[0, j].set_title(f"MOS {y[i] * 100:.0f} / pred {pred[i] * 100:.0f}", fontsize=9)
            axes[1, j].imshow(overlay_heatmap(img, cam))
            axes[1, j].set_title(f"Grad-CAM ({mode})", fontsize=9)
            for a in axes[:, j]:
                a.axis("off")
        fig.suptitle(f"{name}-quality bucket")
        fig.tight_layout()
        fig.savefig(out / f"gradcam_{name}.png")
        plt.close(fig)
        examples[name] = [paths[i] for i in chosen]
    info = {"n": len(paths), "srcc": correlations(pred, y)["srcc"], "tsne": str(out / "tsne.png"),
            "gradcam": {k: str(out / f"gradcam_{k}.png") for k in BUCKETS}, "examples": examples,
            "bucket_counts": {k: int((b == i).sum()) for i, k in enumerate(BUCKETS)}}
    write_json(out / "analysis.json", info)
    return info
