"""The culling benchmark: does the original beat a spoiled take of the same scene, and do the
reasons name the spoil?

    python -m benchmarks.culling [--limit N] [--no-brisque] [--model DIR] [--out docs/CULLING.md]

References: the pristine Kodak24 and CBSD68 photos (``$PHOTOCULL_DATA/pristine``), held out of
training: the default recipe (training/configs/default.yaml) draws its synthetic and spoil ranking
groups from the best-rated CLIVE training photos instead, so no benchmark scene is ever seen in
training (models trained before that saw these scenes, distorted, and are flattered). Each gets,
per spoil type of ``photocull.training.spoils``, a mild take (strength drawn from the mild range,
seeded per scene) and a strong one. Reported per type, for photocull's score, BRISQUE (the PyPI
package; lower is better) and the variance of the Laplacian: the share of pairs where the
original scores strictly better than its mild take, than its strong take, and the mild take
strictly better than the strong one (a tie is a miss: a culler cannot order tied photos).
Then the reasons: the share of spoiled takes whose labels name their spoil, the share of
originals with no label, per-label precision, and a confusion table.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photocull.app.core import reasons
from photocull.model import load_scorer
from photocull.model.paths import data_dir
from photocull.training.spoils import SPOILS, mild_strength, spoil

# the labels that name each spoil
EXPECTED = {
    "overexposure": {"overexposed", "highlights clipped"},
    "underexposure": {"underexposed", "shadows clipped"},
    "noise": {"noisy"},
    "defocus": {"blurry"},
    "motion": {"motion blur"},
    "jpeg": {"compression artefacts"},
}
LEVELS = ("mild", "strong")


def references(limit: int | None) -> list[Path]:
    root = data_dir() / "pristine"
    paths = sorted((root / "kodak24").glob("*.webp")) + sorted((root / "cbsd68").glob("*.webp"))
    return paths[:limit] if limit else paths


def laplacian_variance(img: Image.Image) -> float:
    g = np.asarray(img.convert("L"), np.float32)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(lap.var())


def takes(ref: Path, seed: int) -> dict[tuple[str, str], Image.Image]:
    """The original (key ("original", "")) and every spoiled take of one scene."""
    with Image.open(ref) as im:
        orig = im.convert("RGB")
    rng = np.random.default_rng(seed)
    out = {("original", ""): orig}
    for name, sp in SPOILS.items():
        out[(name, "mild")] = spoil(name, orig, mild_strength(name, rng), seed)
        out[(name, "strong")] = spoil(name, orig, sp.strong, seed)
    return out


def measure(limit: int | None, model: str | None, use_brisque: bool) -> dict:
    scorer = load_scorer(model, backend="onnx", device="cpu")
    brisque = None
    if use_brisque:
        from benchmarks.scenarios import brisque_scorer

        brisque = brisque_scorer()
    rows = []  # one per take: scene, spoil, level, scores, labels
    t0 = time.perf_counter()
    refs = references(limit)
    for i, ref in enumerate(refs):
        shots = takes(ref, seed=i)
        keys = list(shots)
        ours = scorer.predict([shots[k] for k in keys])
        for k, s in zip(keys, ours):
            img = shots[k]
            row = {"scene": ref.stem, "spoil": k[0], "level": k[1], "photocull": float(s),
                   "laplacian": laplacian_variance(img), "labels": reasons.labels(reasons.analyze(img))}
            if brisque is not None:
                row["brisque"] = -float(brisque.score(np.asarray(img)))  # negated: higher is better
            rows.append(row)
        print(f"\r{i + 1}/{len(refs)} scenes", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {"rows": rows, "scenes": len(refs), "model_id": scorer.model_id,
            "seconds": time.perf_counter() - t0}


def _by_scene(rows: list[dict]) -> dict[str, dict[tuple[str, str], dict]]:
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r["scene"], {})[(r["spoil"], r["level"])] = r
    return out


def pair_table(rows: list[dict], metrics: list[str]) -> list[dict]:
    scenes = _by_scene(rows)
    table = []
    for name in [*SPOILS, "all"]:
        names = list(SPOILS) if name == "all" else [name]
        entry = {"spoil": name}
        for m in metrics:
            for label, (a, b) in (("orig>mild", (("original", ""), "mild")), ("orig>strong", (("original", ""), "strong")),
                                  ("mild>strong", (None, None))):
                wins = []
                for takes_ in scenes.values():
                    for n in names:
                        if label == "mild>strong":
                            hi, lo = takes_[(n, "mild")], takes_[(n, "strong")]
                        else:
                            hi, lo = takes_[a], takes_[(n, b)]
                        wins.append(hi[m] > lo[m])
                entry[f"{m} {label}"] = float(np.mean(wins))
        table.append(entry)
    return table


def reason_tables(rows: list[dict]) -> dict:
    labels = list(reasons.LABELS.values())
    recall = {}
    for name in SPOILS:
        for level in LEVELS:
            got = [bool(EXPECTED[name] & set(r["labels"])) for r in rows if r["spoil"] == name and r["level"] == level]
            recall[f"{name} {level}"] = float(np.mean(got)) if EXPECTED[name] else None
    originals = [r for r in rows if r["spoil"] == "original"]
    clean = float(np.mean([not r["labels"] for r in originals]))
    precision = {}
    for lab in labels:
        fired = [r for r in rows if lab in r["labels"]]
        right = [r for r in fired if r["spoil"] != "original" and lab in EXPECTED[r["spoil"]]]
        precision[lab] = (len(right) / len(fired)) if fired else None
    confusion = {}
    for name in ["original", *SPOILS]:
        sel = [r for r in rows if r["spoil"] == name]
        confusion[name] = {lab: float(np.mean([lab in r["labels"] for r in sel])) for lab in labels}
        confusion[name]["(none)"] = float(np.mean([not r["labels"] for r in sel]))
    return {"recall": recall, "originals_clean": clean, "precision": precision, "confusion": confusion}


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def pair_markdown(res: dict, metrics: list[str]) -> list[str]:
    """The pair-accuracy table and the spoil strengths, as markdown lines."""
    cols = [f"{m} {c}" for m in metrics for c in ("orig>mild", "orig>strong", "mild>strong")]
    out = [f"{res['scenes']} scenes (Kodak24 + CBSD68), model `{res['model_id']}`, {res['seconds']:.0f} s.", "",
           "Pair accuracy (share of scenes where the first take scores strictly higher):", "",
           "| spoil | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for e in pair_table(res["rows"], metrics):
        out.append(f"| {e['spoil']} | " + " | ".join(_fmt(e[c]) for c in cols) + " |")
    return out + ["", "Strengths: " + "; ".join(f"{n} mild {s.mild[0]:g}–{s.mild[1]:g}, strong {s.strong:g} {s.unit}"
                                                for n, s in SPOILS.items())]


def markdown(res: dict, metrics: list[str]) -> str:
    rs = reason_tables(res["rows"])
    out = pair_markdown(res, metrics)
    out += ["",
            "Reasons: share of spoiled takes whose labels name the spoil (— : no such reason exists); "
            f"originals with no label: {rs['originals_clean']:.2f}.", "",
            "| spoil | mild | strong |", "|---|---|---|"]
    for name in SPOILS:
        out.append(f"| {name} | {_fmt(rs['recall'][f'{name} mild'])} | {_fmt(rs['recall'][f'{name} strong'])} |")
    labels = list(reasons.LABELS.values())
    out += ["", "Precision per label (share of the takes it fired on that have that spoil):", "",
            "| " + " | ".join(labels) + " |", "|" + "---|" * len(labels),
            "| " + " | ".join(_fmt(rs["precision"][lab]) for lab in labels) + " |", "",
            "Confusion (share of each kind of take, mild and strong together, on which a label fires):", "",
            "| take | " + " | ".join([*labels, "(none)"]) + " |", "|---|" + "---|" * (len(labels) + 1)]
    for name, row in rs["confusion"].items():
        out.append(f"| {name} | " + " | ".join(_fmt(row[k]) for k in [*labels, "(none)"]) + " |")
    return "\n".join(out) + "\n"


CARD_SECTION = "## Culling benchmark"


def write_card_section(folder: Path, res: dict, metrics: list[str], command: str) -> None:
    """Put the pair table into ``folder/MODEL_CARD.md`` under :data:`CARD_SECTION`."""
    from photocull.model.fileio import atomic_write_text
    from photocull.training.ship import CARD_FILE, with_section

    card = folder / CARD_FILE
    section = "\n".join([CARD_SECTION, "", f"`{command}` (tables and reasons: `docs/CULLING.md`).", "",
                          *pair_markdown(res, metrics), "", "Targets: orig>mild >= 0.97 overall and >= 0.90 "
                          "per spoil type; mild>strong >= 0.95.", ""])
    atomic_write_text(card, with_section(card.read_text(encoding="utf-8"), CARD_SECTION, section))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="only the first N reference photos")
    ap.add_argument("--model", help="model folder (default: the embedded default)")
    ap.add_argument("--no-brisque", action="store_true", help="leave BRISQUE out (it needs the bench extra)")
    ap.add_argument("--out", type=Path, help="also write the tables (markdown) here")
    ap.add_argument("--json", type=Path, help="write every take's scores and labels here")
    ap.add_argument("--card", type=Path, help="a model folder whose MODEL_CARD.md gets the pair table "
                                               "(the model scored is then that folder's)")
    args = ap.parse_args(argv)
    metrics = ["photocull", "laplacian"] + ([] if args.no_brisque else ["brisque"])
    res = measure(args.limit, str(args.card) if args.card else args.model, not args.no_brisque)
    text = markdown(res, metrics)
    print(text)
    if args.out:
        from photocull.model.fileio import atomic_write_text

        atomic_write_text(args.out, "# Culling benchmark\n\nReproduce: `python -m benchmarks.culling --out "
                          f"{args.out}`\n\n" + text)
    if args.card:
        write_card_section(args.card, res, metrics, " ".join(["python -m benchmarks.culling", *(argv or sys.argv[1:])]))
    if args.json:
        from photocull.model.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
