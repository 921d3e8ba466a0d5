"""The explanations benchmark (issue 13): do the reasons name the spoil, and does the heatmap point at it?

    python -m benchmarks.explain [--calibrate] [--limit N] [--every K] [--no-localise] [--sides 448,336,224]
                                 [--out docs/EXPLANATIONS.md] [--pictures docs/explanations]

``--out`` replaces the part of the page between its ``<!-- benchmark:start -->`` and
``<!-- benchmark:end -->`` marks (the prose around them stays).

Scenes: the pristine Kodak24 + CBSD68 photos with the culling benchmark's takes
(``benchmarks.culling.takes``: each spoil of ``photocull.training.spoils`` at a mild and a strong
level). Scenes are split by their index: the even ones CALIBRATE, the odd ones EVALUATE.

* ``--calibrate``: fit :data:`photocull.model.defects.CALIBRATION` and
  :data:`~photocull.model.defects.QUALITY_BLOCKINESS` on the calibration scenes and print them (the
  tables in the code are this output). Per indicator: ``clean`` = the originals' median,
  ``fire`` = the threshold best separating the originals (and the takes of :data:`NOT_FOR`) from
  the mild takes of its spoil (a false alarm counts :data:`FALSE_ALARM_COST` misses: a clean photo
  must stay clean), raised if needed so that it alone leaves :data:`CLEAN_SHARE` of the originals clean,
  ``strong`` = the threshold best separating the mild from the strong takes.
* Reasons (evaluation scenes): recall per spoil and level, originals with no reason, precision per
  reason and a confusion table (``benchmarks.culling.reason_tables``).
* ``--sides``: the reasons at each analysis side (``defects.MEASURE_SIDE``), each with its table
  refit on the calibration scenes, and the analysis's milliseconds per take (:func:`compare_sides`).
* Localisation (evaluation scenes, every ``--every``-th): one half of the photo (left or right,
  alternating) replaced by its spoiled take; the share of the "low" heatmap's mass on the spoiled
  half, for the torch path (``explainer_for`` -> the torch model) and the ONNX-only path (the
  ONNX scorer), each through ``photocull.model.explain.heatmap``; and the seconds per map.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.culling import LEVELS, reason_tables, references, takes
from photocull.app.core import reasons
from photocull.model import defects
from photocull.training.spoils import SPOILS, spoil

# an indicator -> the spoil whose takes it must name (fire: its mild takes; shadows: strong only,
# a mild under-exposure clips nothing)
SPOIL_OF = {"blur": "defocus", "motion_blur": "motion", "noise": "noise", "underexposed": "underexposure",
            "overexposed": "overexposure", "highlights_clipped": "overexposure",
            "shadows_clipped": "underexposure", "compression": "jpeg"}
FIRE_LEVEL = {"shadows_clipped": "strong", "highlights_clipped": "strong"}
# takes of other spoils an indicator must not fire on, fit as false alarms too (a defocus is no shake)
NOT_FOR = {"motion_blur": ("defocus",)}
FALSE_ALARM_COST = 4.0
# and each indicator alone leaves at least this share of the originals clean: 8 reasons at 1 % each
# keep the originals clean as a whole (the target: >= 0.90)
CLEAN_SHARE = 0.99
# the spoils the localisation test halves (the list, plus over-exposure)
LOCALISED = ("noise", "jpeg", "defocus", "motion", "underexposure", "overexposure")


def measure_takes(limit: int | None) -> list[dict]:
    """Raw defect measures of every take of every scene (one row per take, with the seconds the
    analysis took and the take's pixel count)."""
    rows = []
    refs = references(limit)
    for i, ref in enumerate(refs):
        for (name, level), img in takes(ref, seed=i).items():
            t0 = time.perf_counter()
            m = defects.analyze(img)
            rows.append({"scene": i, "spoil": name, "level": level, "measures": m,
                         "seconds": time.perf_counter() - t0, "pixels": img.width * img.height})
        print(f"\rmeasures: {i + 1}/{len(refs)} scenes", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return rows


def best_threshold(low: np.ndarray, high: np.ndarray, cost_low: float = 1.0) -> float:
    """The threshold t minimising misses of ``high`` (values < t) + cost_low x hits of ``low``
    (values >= t); ``high`` lies above ``low`` here (callers flip the sign for "lower is worse")."""
    cands = np.unique(np.r_[low, high])
    mids = np.r_[cands[0] - 1e-6, (cands[1:] + cands[:-1]) / 2, cands[-1] + 1e-6]
    lo, hi = np.sort(low), np.sort(high)
    errors = np.searchsorted(hi, mids) + cost_low * (len(lo) - np.searchsorted(lo, mids))
    return float(mids[int(np.argmin(errors))])


def calibrate(rows: list[dict]) -> dict[str, tuple[str, float, float, float]]:
    cal = [r for r in rows if r["scene"] % 2 == 0]

    def values(measure: str, spoil_: str, level: str) -> np.ndarray:
        return np.array([r["measures"][measure] for r in cal if r["spoil"] == spoil_ and r["level"] == level])

    table = {}
    for key, (measure, *_) in defects.CALIBRATION.items():
        orig = values(measure, "original", "")
        bad = values(measure, SPOIL_OF[key], FIRE_LEVEL.get(key, "mild"))
        strong = values(measure, SPOIL_OF[key], "strong")
        sign = 1.0 if np.median(bad) >= np.median(orig) else -1.0
        neg = np.concatenate([orig, *(values(measure, o, lv) for o in NOT_FOR.get(key, ()) for lv in LEVELS)])
        fire = sign * max(best_threshold(sign * neg, sign * bad, FALSE_ALARM_COST),
                          float(np.quantile(sign * orig, CLEAN_SHARE)) + 1e-6)
        split = sign * best_threshold(sign * bad, sign * strong) if key not in FIRE_LEVEL else sign * np.median(sign * strong)
        # the strong threshold lies beyond fire in the bad direction
        split = fire + sign * max(sign * (split - fire), 1e-3 * abs(fire) + 1e-4)
        table[key] = (measure, round(float(np.median(orig)), 4), round(float(fire), 4), round(float(split), 4))
    return table


# the JPEG qualities of defects.QUALITY_BLOCKINESS
QUALITIES = (5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def fit_quality_blockiness(limit: int | None) -> tuple[tuple[int, float], ...]:
    """defects.QUALITY_BLOCKINESS: per quality, the median blockiness of the calibration scenes
    compressed at it (the benchmark's own JPEG spoil) and measured at their own resolution, made
    non-increasing in quality (a better quality never predicts more blocking)."""
    scenes = []
    for ref in references(limit)[::2]:
        with Image.open(ref) as im:
            scenes.append(im.convert("RGB"))
    medians = [float(np.median([defects.analyze(spoil("jpeg", img, q, seed=0))["blockiness"] for img in scenes]))
               for q in QUALITIES]
    return tuple((q, round(float(v), 4)) for q, v in zip(QUALITIES, np.minimum.accumulate(medians)))


@contextmanager
def analysis_side(side: int, table: dict | None = None):
    """Measure at ``side`` (defects.MEASURE_SIDE) and, with ``table``, name reasons by it."""
    saved = defects.MEASURE_SIDE, dict(defects.CALIBRATION)
    defects.MEASURE_SIDE = side
    if table is not None:
        defects.CALIBRATION.update(table)
    try:
        yield
    finally:
        defects.MEASURE_SIDE = saved[0]
        defects.CALIBRATION.clear()
        defects.CALIBRATION.update(saved[1])


def compare_sides(sides: list[int], limit: int | None, shipped_rows: list[dict]) -> str:
    """Reasons at each analysis side, in one run: the table refit on the calibration scenes at that
    side (the measures are scale-dependent), evaluated on the others; and the analysis's cost.
    ``shipped_rows``: the takes measured at the shipped side (not measured again)."""
    out = ["| analysis side | ms per take (768x512 / all) | originals clean | "
           + " | ".join(f"{n} mild / strong" for n in SPOILS) + " |", "|---|---|---|" + "---|" * len(SPOILS)]
    shipped = defects.MEASURE_SIDE
    for side in sides:
        with analysis_side(side):
            rows = shipped_rows if side == shipped else measure_takes(limit)
            table = calibrate(rows)
        with analysis_side(side, table):
            rs = reason_tables(labelled(rows))
        big = max(r["pixels"] for r in rows)
        ms = [1000 * np.median([r["seconds"] for r in rows if r["pixels"] == big]),
              1000 * np.median([r["seconds"] for r in rows])]
        cells = [f"{_fmt(rs['recall'][f'{n} mild'])} / {_fmt(rs['recall'][f'{n} strong'])}" for n in SPOILS]
        out.append(f"| {side}{' (shipped)' if side == shipped else ''} | {ms[0]:.0f} / {ms[1]:.0f} | "
                   f"{rs['originals_clean']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def labelled(rows: list[dict]) -> list[dict]:
    """The evaluation scenes' takes with their reasons (``spoil``/``level``/``labels``, as
    ``benchmarks.culling.reason_tables`` wants them)."""
    return [{**r, "labels": reasons.labels(defects.indicators(r["measures"]))} for r in rows if r["scene"] % 2 == 1]


def half_spoiled(orig: Image.Image, name: str, strength: float, seed: int, right: bool) -> tuple[Image.Image, tuple]:
    """``orig`` with its left or right half replaced by its spoiled take, and that half's box."""
    w, h = orig.size
    box = (w // 2, 0, w, h) if right else (0, 0, w // 2, h)
    out = orig.copy()
    out.paste(spoil(name, orig, strength, seed).crop(box), box[:2])
    return out, box


def mass_share(heat: np.ndarray, box: tuple) -> float:
    """Share of the map's mass inside ``box`` (0.5 when the map is all zero: no evidence either way)."""
    total = float(heat.sum())
    x0, y0, x1, y1 = box
    return float(heat[y0:y1, x0:x1].sum()) / total if total > 0 else 0.5


def localise(limit: int | None, every: int, model: str | None, half: int = 1) -> dict:
    """Localisation on every ``every``-th scene of one half: 1 the evaluation scenes, 0 the
    calibration ones (where ``photocull.model.explain``'s constants were chosen)."""
    from photocull.model import load_scorer
    from photocull.model.explain import explainer_for, heatmap, heatmap_kind

    onnx = load_scorer(model, backend="onnx", device="cpu")
    explainers = {"torch": explainer_for(onnx, model), "onnx": onnx}
    refs = [(i, r) for i, r in enumerate(references(limit)) if i % 2 == half][::max(1, every)]
    out: dict = {"scenes": len(refs), "half": half, "kinds": {k: heatmap_kind(e) for k, e in explainers.items()},
                 "share": {}, "seconds": {k: [] for k in explainers}}
    for n, (i, ref) in enumerate(refs):
        with Image.open(ref) as im:
            orig = im.convert("RGB")
        for name in LOCALISED:
            for level in LEVELS:
                sp = SPOILS[name]
                strength = sp.strong if level == "strong" else float(np.mean(sp.mild))
                img, box = half_spoiled(orig, name, strength, i, right=bool(n % 2))
                for kind, ex in explainers.items():
                    t0 = time.perf_counter()
                    heat = heatmap(ex, img, "low")
                    out["seconds"][kind].append(time.perf_counter() - t0)
                    out["share"].setdefault((kind, name, level), []).append(mass_share(heat, box))
        print(f"\rlocalisation: {n + 1}/{len(refs)} scenes", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def pictures(folder: Path, limit: int | None, model: str | None, side: int = 320) -> list[Path]:
    """One half-spoiled example per localised spoil (mild level, an evaluation scene): the photo and its
    map side by side, as a small JPEG in ``folder``."""
    from photocull.model import load_scorer
    from photocull.model.explain import heatmap, overlay_heatmap
    from photocull.model.fileio import atomic_write_bytes

    scorer = load_scorer(model, backend="onnx", device="cpu")
    i, ref = [(i, r) for i, r in enumerate(references(limit)) if i % 2 == 1][0]
    with Image.open(ref) as im:
        orig = im.convert("RGB")
    paths = []
    for name in LOCALISED:
        img, _ = half_spoiled(orig, name, float(np.mean(SPOILS[name].mild)), i, right=True)
        pair = [img, overlay_heatmap(img, heatmap(scorer, img, "low"))]
        h = round(side * img.height / img.width)
        sheet = Image.new("RGB", (2 * side + 8, h), (255, 255, 255))
        for k, p in enumerate(pair):
            sheet.paste(p.resize((side, h), Image.Resampling.LANCZOS), (k * (side + 8), 0))
        buf = io.BytesIO()
        sheet.save(buf, "JPEG", quality=85)
        path = folder / f"half_{name}.jpg"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def localisation_table(loc: dict) -> list[str]:
    scenes = "evaluation" if loc["half"] == 1 else "calibration (the heatmap's constants were chosen on these)"
    out = ["", f"Localisation on {loc['scenes']} {scenes} scenes, one half spoiled (mild: the middle of the mild "
           "range): mean share of the \"low\" map's mass on the spoiled half / share of photos with the majority "
           "there.", "", "| explainer (map) | " + " | ".join(f"{n} {lv}" for n in LOCALISED for lv in LEVELS)
           + " |", "|---|" + "---|" * (2 * len(LOCALISED))]
    for kind, name in loc["kinds"].items():
        cells = []
        for n in LOCALISED:
            for lv in LEVELS:
                s = np.array(loc["share"][(kind, n, lv)])
                cells.append(f"{s.mean():.2f} / {np.mean(s > 0.5):.2f}")
        out.append(f"| {kind} ({name}) | " + " | ".join(cells) + " |")
    out += ["", "Seconds per map (this machine, shared): " + ", ".join(
        f"{k} median {np.median(v):.2f}, max {np.max(v):.2f}" for k, v in loc["seconds"].items()) + "."]
    return out


def markdown(rows: list[dict], locs: list[dict]) -> str:
    ev = labelled(rows)
    rs = reason_tables(ev)
    labels = list(reasons.LABELS.values())
    scenes = len({r["scene"] for r in ev})
    out = [f"Reasons on the {scenes} evaluation scenes (odd-numbered Kodak24 + CBSD68; the table was fit on the "
           "even-numbered ones). Share of spoiled takes whose reasons name the spoil; "
           f"originals with no reason: **{rs['originals_clean']:.2f}**.", "",
           "| spoil | mild | strong |", "|---|---|---|"]
    out += [f"| {n} | {_fmt(rs['recall'][f'{n} mild'])} | {_fmt(rs['recall'][f'{n} strong'])} |" for n in SPOILS]
    # recall per reason: share of the takes of the reason's spoil (both levels) on which it fires
    rec = {}
    for key, lab in reasons.LABELS.items():
        sel = [r for r in ev if r["spoil"] == SPOIL_OF[key] and (key not in FIRE_LEVEL or r["level"] == "strong")]
        rec[lab] = float(np.mean([lab in r["labels"] for r in sel]))
    out += ["", "Per reason: precision (share of the takes it is named on that carry a spoil it names) and recall "
            "(share of the takes of its spoil it is named on, both levels; shadows clipped: strong under-exposure "
            "only):", "", "| | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels),
            "| precision | " + " | ".join(_fmt(rs["precision"][lab]) for lab in labels) + " |",
            "| recall | " + " | ".join(_fmt(rec[lab]) for lab in labels) + " |", "",
            "Confusion (share of each kind of take, mild and strong together, on which a reason is named):", "",
            "| take | " + " | ".join([*labels, "(none)"]) + " |", "|---|" + "---|" * (len(labels) + 1)]
    for name, row in rs["confusion"].items():
        out.append(f"| {name} | " + " | ".join(_fmt(row[k]) for k in [*labels, "(none)"]) + " |")
    for part in locs:
        out += localisation_table(part)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true", help="fit and print the CALIBRATION table, then stop")
    ap.add_argument("--limit", type=int, help="only the first N reference photos")
    ap.add_argument("--every", type=int, default=1, help="localise every K-th evaluation scene only")
    ap.add_argument("--no-localise", action="store_true", help="reasons only")
    ap.add_argument("--sides", help="also compare the reasons at these analysis sides (e.g. 448,336,224), "
                    "each with its own refit table, and the analysis's cost")
    ap.add_argument("--model", help="model folder (default: the embedded default)")
    ap.add_argument("--out", type=Path, help="write the tables (markdown) here")
    ap.add_argument("--pictures", type=Path, help="write the half-spoiled examples here")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = measure_takes(args.limit)
    if args.calibrate:
        print("CALIBRATION: dict[str, tuple[str, float, float, float]] = {")
        for key, (measure, *values) in calibrate(rows).items():
            print(f'    "{key}": ("{measure}", ' + ", ".join(f"{v:g}" for v in values) + "),")
        print("}")
        pairs = ", ".join(f"({q}, {v:g})" for q, v in fit_quality_blockiness(args.limit))
        print(f"QUALITY_BLOCKINESS: tuple[tuple[int, float], ...] = ({pairs})")
        return 0
    locs = [] if args.no_localise else [localise(args.limit, args.every, args.model, half) for half in (1, 0)]
    text = markdown(rows, locs)
    if args.sides:
        text += ("\nReasons at other analysis sides (the photo reduced to this short side before measuring; noise and "
                 "blockiness are read at the photo's own resolution), each side with its table refit on the calibration "
                 "scenes; analysis milliseconds per take, median:\n\n"
                 + compare_sides([int(v) for v in args.sides.split(",")], args.limit, rows))
    text += f"\n({time.perf_counter() - t0:.0f} s in all.)\n"
    print(text)
    if args.pictures:
        pictures(args.pictures, args.limit, args.model)
    if args.out:
        from photocull.model.fileio import atomic_write_text

        atomic_write_text(args.out, into_page(args.out.read_text() if args.out.exists() else "", text))
    return 0


START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"


def into_page(page: str, text: str) -> str:
    """``page`` with the part between its START and END marks replaced by ``text`` (the prose
    around the tables stays); a page without the marks becomes the marked tables alone."""
    block = f"{START}\n{text}{END}"
    if START in page and END in page:
        return page[:page.index(START)] + block + page[page.index(END) + len(END):]
    return block + "\n"


if __name__ == "__main__":
    sys.exit(main())
