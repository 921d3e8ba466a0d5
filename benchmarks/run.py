"""photocull benchmark harness (not a unit test).

    python -m benchmarks.run --n 200                  # full run on 200 24 MP JPEGs + mixed folder
    python -m benchmarks.run --n 8 --quick            # a smoke run for a busy machine
    python -m benchmarks.run --n 0 --scale 1000,10000 # memory flatness / re-open on big folders
    python -m benchmarks.run --n 192 --accelerator    # a GPU machine: model only (default + ViT-B/16,
                                                      # batch 64, fp16 and fp32) and end-to-end on the
                                                      # GPU against ONNX Runtime on every CPU core
    python -m benchmarks.run --n 48 --speed           # photocull rank and the GUI's first scan as a
                                                      # share of the decode-only ceiling (issue 17)

Every scenario runs in its own child process (``benchmarks.scenarios``) so peak RSS numbers do
not mix. Workloads are generated once into ``benchmarks/out/workload`` (gitignored). Prints a
table, writes ``benchmarks/out/report.json`` (``report-accelerator.json`` for ``--accelerator``) and,
with ``--write-results``, replaces the generated blocks of ``benchmarks/RESULTS.md`` and ``README.md``
(a GPU run has blocks of its own: it is another machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from benchmarks import workload

ROOT = Path(__file__).resolve().parent.parent
OUT = workload.OUT_DIR
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
README_MD = ROOT / "README.md"
# generated blocks per kind of report: (RESULTS.md markers, README.md markers)
BLOCKS = {
    "cpu": (("<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"),
            ("<!-- BEGIN BENCHMARK SUMMARY -->", "<!-- END BENCHMARK SUMMARY -->")),
    "accelerator": (("<!-- BEGIN GENERATED ACCELERATOR -->", "<!-- END GENERATED ACCELERATOR -->"),
                    ("<!-- BEGIN GPU BENCHMARK SUMMARY -->", "<!-- END GPU BENCHMARK SUMMARY -->")),
    "speed": (("<!-- BEGIN GENERATED SPEED -->", "<!-- END GENERATED SPEED -->"),
              ("<!-- BEGIN SPEED SUMMARY -->", "<!-- END SPEED SUMMARY -->")),
}
# the decode-only ceiling: Pillow's DCT draft to at least this side, as issue 17 defines it
CEILING_SIDE = 448
STANDIN = {"backbone": "efficientnet_lite0", "activation": "gated", "image_size": 320, "pretrained": True}

TARGETS = {
    "e2e_images_per_s": 40.0,
    "vs_brisque": 20.0,
    "onnx_vs_torch": 1.5,
    "max_abs_diff_0_100": 1e-3,
    "peak_rss_mb": 1536.0,
    "reopen_s": 2.0,
    "first_thumbnail_s": 1.0,
    "rank_vs_ceiling": 0.80,
    "gui_vs_ceiling": 0.70,
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- setup
def resolve_model(path: str | None) -> tuple[Path, str]:
    """The model folder to benchmark (and a description); builds the stand-in when needed."""
    from photocull.model.paths import default_model_dir

    if path:
        return Path(path), f"given: {path}"
    default = default_model_dir()
    if (default / "config.json").is_file():
        return default, "embedded default model"
    folder = OUT / "standin-lite0-320"
    if not (folder / "config.json").is_file():
        log(f"no embedded default model yet: building the stand-in {STANDIN} in {folder}")
        from photocull.model import create_model, load_model

        create_model(**STANDIN).save(folder)
        # re-save as load_model rebuilds it (pretrained=False in config.json): the ONNX export
        # refuses a config.json that differs from the loaded model's config
        load_model(folder).save(folder)
    return folder, f"stand-in: create_model({', '.join(f'{k}={v!r}' for k, v in STANDIN.items())}), untrained head"


def ensure_onnx(model_dir: Path) -> None:
    from photocull.model import load_scorer

    load_scorer(model_dir, backend="onnx", device="cpu")  # exports model.onnx once when missing/stale


def machine() -> dict:
    import onnxruntime
    import PIL
    import torch
    from PIL import features

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        ram_gb = None
    return {
        "cpu": cpu, "logical_cores": os.cpu_count(), "ram_gb": ram_gb,
        "os": platform.platform(), "python": platform.python_version(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "onnxruntime": onnxruntime.__version__, "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("jpg"),
    }


def loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def scenario(name: str, **args) -> dict:
    """Run one scenario in a fresh Python process; returns its RESULT dict."""
    t0 = time.perf_counter()
    load_before = loadavg()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scenarios", name, json.dumps(args, default=str)],
                          cwd=ROOT, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"scenario {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["loadavg_1min"] = [load_before, loadavg()]
    log(f"  {name:16s} {time.perf_counter() - t0:6.1f} s  "
        + ", ".join(f"{k}={v:.3g}" for k, v in result.items() if isinstance(v, float) and not k.startswith("load")))
    return result


# --------------------------------------------------------------------------- the run
def run(args) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    model_dir, model_desc = resolve_model(args.model)
    ensure_onnx(model_dir)
    report = {"command": "python -m benchmarks.run " + " ".join(sys.argv[1:]), "machine": machine(),
              "date": time.strftime("%Y-%m-%d %H:%M"),
              "model": {"path": str(model_dir), "what": model_desc,
                        "image_size": json.loads((model_dir / "config.json").read_text())["image_size"]},
              "kind": report_kind(args),
              "settings": {"batch": args.batch, "workers": args.workers, "thumbs": args.thumbs},
              "loadavg_start": loadavg(), "results": {}}
    tmp = Path(tempfile.mkdtemp(prefix="photocull-bench-"))
    try:
        {"accelerator": accelerator_suite, "speed": speed_suite, "cpu": cpu_suite}[report["kind"]](
            args, report, model_dir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["loadavg_end"] = loadavg()
    return report


def report_kind(args) -> str:
    return "accelerator" if args.accelerator else "speed" if args.speed else "cpu"


def _marginal(n_small: int, t_small: float, n_large: int, t_large: float) -> float | None:
    """Images/s between a small and a large folder: start-up and the first batch cancel out."""
    return (n_large - n_small) / (t_large - t_small) if t_large > t_small else None


def speed_suite(args, report: dict, model_dir: Path, tmp: Path) -> None:
    """Issue 17, all on the same files in one run: the decode-only ceiling (draft decodes on every
    core), ``photocull rank`` with its default settings and the GUI's first scan (score +
    thumbnail + reasons/bursts, as ``Backend.score_job`` runs it, ``auto`` backend), each at
    steady state (the marginal rate between ``--small`` and ``--n`` photos, best of ``--repeats``),
    and CPU ms per stage."""
    res = report["results"]
    cores = os.cpu_count() or 1
    large = workload.large_jpegs(args.n, jobs=args.jobs, log=log)
    small = workload.large_jpegs(args.small, log=log)  # the first files of the same pool
    report["workload"] = {"large": {"folder": str(large), **workload.describe(large), "pixels": "6000x4000"}}
    report["settings"] = {"rank": "photocull rank FOLDER --no-progress (defaults)", "small": args.small,
                          "repeats": args.repeats, "ceiling_threads": cores}
    log(f"large JPEGs: {report['workload']['large']}")
    res["stages"] = scenario("stages", model=str(model_dir), batch=args.batch, workers=cores, folder=str(large),
                             limit=min(args.n, 16), repeats=2)
    walls: dict[str, dict[int, float]] = {"rank": {}, "gui": {}}
    cpus: dict[str, dict[int, float]] = {"rank": {}, "gui": {}}
    ceilings, ceiling_cpu = [], []
    for rep in range(args.repeats):
        c = scenario("ceiling", folder=str(large), side=CEILING_SIDE, workers=cores, repeats=2)
        ceilings.append(c["images_per_s"])
        ceiling_cpu.append(c["cpu_ms_per_photo"])
        for n, folder in ((args.small, small), (args.n, large)):
            r = scenario("cli_rank", folder=str(folder), cache_dir=str(tmp / f"rank-{rep}-{n}"))
            g = scenario("photocull", model=str(model_dir), backend="auto", device="auto", batch=args.batch,
                         workers=None, folder=str(folder), thumbs="engine", analysis="engine",
                         cache=str(tmp / f"gui-{rep}-{n}.sqlite3"))
            for flow, res_ in (("rank", r), ("gui", g)):
                walls[flow][n] = min(res_["wall_s"], walls[flow].get(n, res_["wall_s"]))
                cpus[flow][n] = min(res_["cpu_s"], cpus[flow].get(n, res_["cpu_s"]))
    sp = {"ceiling_images_per_s": max(ceilings), "ceiling_cpu_ms_per_photo": min(ceiling_cpu),
          "small": args.small, "large": args.n}
    for flow, w in walls.items():
        rate = _marginal(args.small, w[args.small], args.n, w[args.n])
        # CPU time per photo at steady state: what each photo costs the machine, however loaded it is;
        # the ceiling's CPU time over it is the share of the ceiling the flow reaches on an otherwise
        # idle machine if it keeps every core busy (rates measured under load move with the load)
        cpu_ms = 1000 * (cpus[flow][args.n] - cpus[flow][args.small]) / (args.n - args.small)
        sp.update({f"{flow}_small_s": w[args.small], f"{flow}_large_s": w[args.n], f"{flow}_images_per_s": rate,
                   f"{flow}_vs_ceiling": rate / sp["ceiling_images_per_s"] if rate else None,
                   f"{flow}_cpu_ms_per_photo": cpu_ms,
                   f"{flow}_cpu_vs_ceiling": sp["ceiling_cpu_ms_per_photo"] / cpu_ms if cpu_ms > 0 else None})
    res["speed"] = sp
    if args.before:
        report["before"] = json.loads(Path(args.before).read_text())["results"]


def accelerator_suite(args, report: dict, model_dir: Path, tmp: Path) -> None:
    """A GPU machine: model-only batch inference, and with ``--n`` the whole engine on the GPU
    (decode threads on every core) against ONNX Runtime on every core of the same machine."""
    res = report["results"]
    cores = os.cpu_count() or 1
    large = workload.large_jpegs(args.n, jobs=max(args.jobs, cores), log=log) if args.n else None
    if large:
        report["workload"] = {"large": {"folder": str(large), **workload.describe(large), "pixels": "6000x4000"}}
    res["accelerator"] = scenario("accelerator", model=str(model_dir), batch=args.accelerator_batch,
                                  repeats=args.accelerator_repeats, folder=str(large) if large else None)
    if not large:
        return
    # what the CPU side can feed the GPU: each stage, and draft decodes alone on every core
    res["stages"] = scenario("stages", model=str(model_dir), batch=args.batch, workers=cores, folder=str(large),
                             limit=min(args.n, 32), repeats=2)
    report["settings"].update(workers=cores, gpu_batch=args.accelerator_batch)
    for key, backend, device, batch in (("cuda_photocull", "torch", "auto", args.accelerator_batch),
                                        ("cpu_cores_photocull", "onnx", "cpu", args.batch)):
        res[key] = scenario("photocull", model=str(model_dir), batch=batch, workers=cores, backend=backend,
                            device=device, folder=str(large), thumbs=args.thumbs, cache=str(tmp / f"{key}.sqlite3"))


def cpu_suite(args, report: dict, model_dir: Path, tmp: Path) -> None:
    """This machine's CPU: 24 MP JPEGs end-to-end and per stage, both backends, the baselines,
    the app's flow; with ``--scale`` the big folders through the engine and the desktop app."""
    res = report["results"]
    common = {"model": str(model_dir), "batch": args.batch, "workers": args.workers}
    prof = (lambda tag: str(OUT / f"profile-{tag}.txt")) if args.profile else (lambda tag: None)
    if args.n:
        large = workload.large_jpegs(args.n, jobs=args.jobs, log=log)
        report["workload"] = {"large": {"folder": str(large), **workload.describe(large),
                                        "pixels": "6000x4000"}}
        log(f"large JPEGs: {report['workload']['large']}")
        res["inference"] = scenario("inference", **common, folder=str(large), limit=min(args.n, 32),
                                    repeats=1 if args.quick else 3)
        res["stages"] = scenario("stages", **common, folder=str(large), limit=min(args.n, 16),
                                 repeats=1 if args.quick else 2)
        for backend in args.backends:
            res[f"photocull_{backend}"] = scenario(
                "photocull", **common, backend=backend, folder=str(large), thumbs=args.thumbs,
                cache=str(tmp / f"{backend}.sqlite3"), profile=prof(backend))
        camera = workload.camera_jpegs(args.n, log=log)
        report["workload"]["camera"] = {"folder": str(camera), **workload.describe(camera),
                                        "pixels": "6000x4000 + 1620x1080 MPF preview"}
        for how in ("none", "engine"):  # scored from the camera's preview instead of the 24 MP photo
            res[f"camera_analysis_{how}"] = scenario(
                "photocull", **common, backend="onnx", folder=str(camera), thumbs=args.thumbs, analysis=how,
                cache=str(tmp / f"camera-{how}.sqlite3"))
        for how in ("engine", "separate"):  # the app's whole flow, with and without the shared decode
            res[f"app_analysis_{how}"] = scenario(
                "photocull", **common, backend="onnx", folder=str(large), thumbs=args.thumbs, analysis=how,
                cache=str(tmp / f"app-{how}.sqlite3"))
        res["first_thumbnail"] = scenario("first_thumbnail", folder=str(large), workers=args.workers,
                                          screen=args.screen, cache=str(tmp / "cold.sqlite3"))
        warm = args.backends[-1]
        res["reopen"] = scenario("reopen", **common, backend=warm, folder=str(large), screen=args.screen,
                                 cache=str(tmp / f"{warm}.sqlite3"))
        res["brisque"] = scenario("brisque", folder=str(large), limit=min(args.n, args.brisque_n))
        res["laplacian"] = scenario("laplacian", folder=str(large), limit=args.n)
        if args.mixed:
            mixed = workload.mixed_folder(args.mixed, log=log)
            report["workload"]["mixed"] = {"folder": str(mixed), **workload.describe(mixed)}
            res["mixed_onnx"] = scenario("photocull", **common, backend="onnx", folder=str(mixed),
                                         thumbs=args.thumbs, cache=str(tmp / "mixed.sqlite3"))
    for count in args.scale:
        folder = workload.scale_folder(count, log=log)
        report.setdefault("workload", {})[f"scale_{count}"] = {"folder": str(folder), "photos": count,
                                                               "pixels": "1600x1067"}
        cache = str(tmp / f"scale-{count}.sqlite3")
        res[f"scale_{count}_first_thumbnail"] = scenario(
            "first_thumbnail", folder=str(folder), workers=args.workers, screen=args.screen,
            cache=str(tmp / f"scale-{count}-cold.sqlite3"))
        res[f"scale_{count}_gui_open"] = scenario("gui_open", folder=str(folder), screen=args.screen,
                                                  cache=str(tmp / f"scale-{count}-gui.sqlite3"), wait="scores")
        res[f"scale_{count}_photocull"] = scenario("photocull", **common, backend="onnx", folder=str(folder),
                                                   thumbs=args.thumbs, analysis="engine", cache=cache)
        res[f"scale_{count}_reopen"] = scenario("reopen", **common, backend="onnx", folder=str(folder),
                                                screen=args.screen, cache=cache)
        res[f"scale_{count}_gui_reopen"] = scenario("gui_open", folder=str(folder), screen=args.screen,
                                                    cache=str(tmp / f"scale-{count}-gui.sqlite3"), wait="scores")


# --------------------------------------------------------------------------- output
def _ok(value, target, higher_is_better=True) -> str:
    if value is None:
        return ""
    return "yes" if (value >= target if higher_is_better else value <= target) else "**no**"


class Row(NamedTuple):
    """One line of the results table. ``label`` is formatted with the section's context;
    ``value`` is a dotted path into the context (``"e.images_per_s"``) or a pair of them (their
    ratio); no value, no line. ``target``: a key of ``TARGETS``; ``key``: a headline row."""

    label: str
    value: str | tuple[str, str]
    fmt: str
    target: str | None = None
    higher: bool = True
    key: bool = False


class Section(NamedTuple):
    """Rows rendered once per context that ``contexts(report)`` yields, in order."""

    contexts: Callable[[dict], list[dict]]
    rows: tuple[Row, ...]


def _get(ctx: dict, path: str):
    value = ctx
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _present(**paths: str) -> Callable[[dict], list[dict]]:
    """One context when every results path is there (and not empty or zero): name -> its value."""
    def contexts(report: dict) -> list[dict]:
        ctx = {name: _get(report["results"], path) for name, path in paths.items()}
        return [{**ctx, "report": report}] if all(ctx.values()) else []
    return contexts


def _backends(report: dict) -> list[dict]:
    r = report["results"]
    return [{"backend": b, "e": r[f"photocull_{b}"], "brisque": _get(r, "brisque.images_per_s"),
             "laplacian": _get(r, "laplacian.images_per_s")}
            for b in ("torch", "onnx") if r.get(f"photocull_{b}")]


def _accelerator_models(report: dict) -> list[dict]:
    acc = report["results"].get("accelerator")
    if not acc:
        return []
    return [{"acc": acc, "label": label,
             "m": {k[len(name) + 1:]: v for k, v in acc.items() if k.startswith(name + "_")}}
            for name, label in (("default", "default model"), ("vit_b16", "ViT-B/16 (siglip2 base)"))]


def _scales(report: dict) -> list[dict]:
    r = report["results"]
    counts = sorted(int(k.split("_")[1]) for k in r if k.startswith("scale_") and k.endswith("_photocull"))
    out = []
    for n in counts:
        gui, gui_re = r.get(f"scale_{n}_gui_open"), r.get(f"scale_{n}_gui_reopen")
        both = bool(gui and gui_re)
        out.append({"count": n, "e": r[f"scale_{n}_photocull"], "ro": r[f"scale_{n}_reopen"],
                    "ft": r[f"scale_{n}_first_thumbnail"], "gui": gui if both else None,
                    "gui_re": gui_re if both else None})
    return out


TABLE = (
    Section(_backends, (
        Row("photocull {backend} end-to-end, 24 MP JPEG (images/s)", "e.images_per_s", "{:.2f}",
            "e2e_images_per_s", key=True),
        Row("  … ÷ brisque package (×)", ("e.images_per_s", "brisque"), "{:.1f}", "vs_brisque", key=True),
        Row("  … ÷ Laplacian variance (×)", ("e.images_per_s", "laplacian"), "{:.2f}"),
        Row("  … peak RSS (MB)", "e.peak_rss_mb", "{:.0f}", "peak_rss_mb", higher=False, key=True),
        Row("  … model load (s)", "e.model_load_s", "{:.2f}"),
    )),
    Section(_present(app="app_analysis_engine", before="app_analysis_separate"), (
        Row("app flow (onnx): score + thumbnail + reasons/bursts, one decode (images/s)", "app.images_per_s",
            "{:.2f}", key=True),
        Row("  … same with the analysis decoding again, as before (images/s)", "before.images_per_s", "{:.2f}"),
        Row("  … one decode ÷ two decodes (×)", ("app.images_per_s", "before.images_per_s"), "{:.2f}"),
        Row("  … peak RSS (MB)", "app.peak_rss_mb", "{:.0f}", "peak_rss_mb", higher=False),
    )),
    Section(_present(c="camera_analysis_none"), (
        Row("24 MP JPEG + camera's MPF preview, onnx, score + thumbnail (images/s)", "c.images_per_s", "{:.2f}",
            "e2e_images_per_s", key=True),
    )),
    Section(_present(c="camera_analysis_engine"), (
        Row("24 MP JPEG + camera's MPF preview, onnx, app flow: score + thumbnail + reasons/bursts (images/s)",
            "c.images_per_s", "{:.2f}", key=True),
    )),
    Section(_present(inf="inference"), (
        Row("model only, torch eager (images/s)", "inf.torch_images_per_s", "{:.2f}"),
        Row("model only, ONNX Runtime (images/s)", "inf.onnx_images_per_s", "{:.2f}"),
        Row("ONNX ÷ torch (×)", "inf.onnx_vs_torch", "{:.2f}", "onnx_vs_torch", key=True),
        Row("max abs(ONNX − torch) on 0-100, unclipped", "inf.max_abs_diff_0_100", "{:.2e}",
            "max_abs_diff_0_100", higher=False, key=True),
    )),
    Section(_present(base="brisque.images_per_s", b="brisque"), (
        Row("brisque package, full decode + score (images/s)", "base", "{:.3f}"),
        Row("  … peak RSS (MB)", "b.peak_rss_mb", "{:.0f}"),
    )),
    Section(_present(lap="laplacian.images_per_s"), (
        Row("Laplacian variance, OpenCV full decode (images/s)", "lap", "{:.2f}"),
    )),
    Section(_accelerator_models, (
        Row("{acc[device]}, model only: {label} at {m[image_size]} px, batch {acc[batch]}, fp16 autocast (images/s)",
            "m.images_per_s", "{:.1f}", key=True),
        Row("  … fp32 (images/s)", "m.fp32_images_per_s", "{:.1f}"),
        Row("  … max abs(fp16 − fp32) on 0-100, unclipped", "m.max_abs_diff_fp16_fp32", "{:.2e}", key=True),
    )),
    Section(_present(gpu="cuda_photocull", cores="cpu_cores_photocull"), (
        # the 40 images/s target is for 2 cores
        Row("photocull end-to-end, 24 MP JPEG, torch on {gpu[device]} + {report[settings][workers]} decode threads "
            "(images/s)", "gpu.images_per_s", "{:.1f}", key=True),
        Row("  … second half of the folder, once warm (images/s)", "gpu.second_half_images_per_s", "{:.1f}",
            key=True),
        Row("  … ONNX Runtime on the {report[settings][workers]} CPU cores instead (images/s)",
            "cores.images_per_s", "{:.1f}", key=True),
        Row("  … second half of the folder (images/s)", "cores.second_half_images_per_s", "{:.1f}"),
        Row("  … GPU ÷ CPU cores (×)", ("gpu.images_per_s", "cores.images_per_s"), "{:.2f}", key=True),
        Row("  … peak RSS, GPU run (MB)", "gpu.peak_rss_mb", "{:.0f}"),
    )),
    Section(_present(sp="speed"), (
        Row("decode-only ceiling: Pillow DCT draft to ≥ 448 px on every core, nothing else (images/s)",
            "sp.ceiling_images_per_s", "{:.1f}", key=True),
        Row("  … its CPU time per photo, all threads (ms)", "sp.ceiling_cpu_ms_per_photo", "{:.0f}", key=True),
        Row("photocull rank, default settings: {sp[small]} photos, whole command (s)", "sp.rank_small_s", "{:.2f}"),
        Row("photocull rank, default settings: {sp[large]} photos, whole command (s)", "sp.rank_large_s", "{:.2f}"),
        Row("photocull rank at steady state (images/s)", "sp.rank_images_per_s", "{:.1f}", key=True),
        Row("  … ÷ decode-only ceiling", "sp.rank_vs_ceiling", "{:.2f}", "rank_vs_ceiling", key=True),
        Row("  … CPU time per photo at steady state, all threads (ms)", "sp.rank_cpu_ms_per_photo", "{:.0f}",
            key=True),
        Row("  … ceiling's CPU time ÷ this (the share with every core busy, load-independent)",
            "sp.rank_cpu_vs_ceiling", "{:.2f}", key=True),
        Row("GUI first scan (score + thumbnail + reasons/bursts): {sp[small]} photos (s)", "sp.gui_small_s",
            "{:.2f}"),
        Row("GUI first scan: {sp[large]} photos (s)", "sp.gui_large_s", "{:.2f}"),
        Row("GUI first scan at steady state (images/s)", "sp.gui_images_per_s", "{:.1f}", key=True),
        Row("  … ÷ decode-only ceiling", "sp.gui_vs_ceiling", "{:.2f}", "gui_vs_ceiling", key=True),
        Row("  … CPU time per photo at steady state, all threads (ms)", "sp.gui_cpu_ms_per_photo", "{:.0f}",
            key=True),
        Row("  … ceiling's CPU time ÷ this (the share with every core busy, load-independent)",
            "sp.gui_cpu_vs_ceiling", "{:.2f}", key=True),
    )),
    Section(_present(m="mixed_onnx"), (
        Row("mixed folder (PNG/WebP/HEIC/DNG) onnx end-to-end (images/s)", "m.images_per_s", "{:.2f}"),
        Row("  … decode errors", "m.errors", "{:d}"),
    )),
    Section(_present(ft="first_thumbnail"), (
        Row("cold open: scan + first thumbnail (s)", "ft.first_thumbnail_s", "{:.3f}", "first_thumbnail_s",
            higher=False),
        Row("cold open: first screen of {ft[screen]} thumbnails (s)", "ft.first_screen_s", "{:.3f}"),
    )),
    Section(_present(ro="reopen"), (
        Row("warm re-open: scan + all scores from cache (s)", "ro.reopen_scores_s", "{:.3f}", "reopen_s",
            higher=False),
        Row("warm re-open: + all thumbnails from cache (s)", "ro.reopen_all_thumbnails_s", "{:.3f}"),
    )),
    Section(_scales, (
        Row("{count} photos: end-to-end onnx + analysis (images/s)", "e.images_per_s", "{:.2f}"),
        Row("{count} photos: peak RSS while scoring (MB)", "e.peak_rss_mb", "{:.0f}", "peak_rss_mb",
            higher=False, key=True),
        Row("{count} photos: cold scan + first thumbnail (s)", "ft.first_thumbnail_s", "{:.3f}",
            "first_thumbnail_s", higher=False, key=True),
        Row("{count} photos: warm re-open, scan + all scores (s)", "ro.reopen_scores_s", "{:.3f}", "reopen_s",
            higher=False, key=True),
        Row("{count} photos: warm re-open, + first screen of thumbnails (s)", "ro.reopen_first_screen_s", "{:.3f}"),
        Row("{count} photos: re-open peak RSS (MB)", "ro.peak_rss_mb", "{:.0f}", "peak_rss_mb", higher=False),
        Row("{count} photos: GUI, first open, first thumbnail shown (s)", "gui.first_thumbnail_s", "{:.3f}",
            "first_thumbnail_s", higher=False, key=True),
        Row("{count} photos: GUI, first open, every photo scored (images/s)", ("gui.scored", "gui.all_scores_s"),
            "{:.2f}"),
        Row("{count} photos: GUI, first open, peak RSS while scoring (MB)", "gui.peak_rss_mb", "{:.0f}",
            "peak_rss_mb", higher=False, key=True),
        Row("{count} photos: GUI, re-open, first thumbnail shown (s)", "gui_re.first_thumbnail_s", "{:.3f}",
            "first_thumbnail_s", higher=False),
        Row("{count} photos: GUI, re-open, every score shown (s)", "gui_re.all_scores_s", "{:.3f}", "reopen_s",
            higher=False, key=True),
        Row("{count} photos: GUI, re-open, capture dates read too (s)", "gui_re.folder_done_s", "{:.3f}"),
        Row("{count} photos: GUI, re-open, peak RSS (MB)", "gui_re.peak_rss_mb", "{:.0f}", "peak_rss_mb",
            higher=False, key=True),
    )),
)


def _value(ctx: dict, spec: str | tuple[str, str]):
    if isinstance(spec, str):
        return _get(ctx, spec)
    num, den = (_get(ctx, path) for path in spec)
    return num / den if num is not None and den else None


def table(report: dict, key_only: bool = False) -> str:
    """The results table (``TABLE``); ``key_only``: just the headline rows (README's summary)."""
    rows = [("measure", "value", "target", "met")]
    for section in TABLE:
        for ctx in section.contexts(report):
            for row in section.rows:
                value = None if key_only and not row.key else _value(ctx, row.value)
                if value is None:
                    continue
                target = None if row.target is None else TARGETS[row.target]
                rows.append((row.label.format(**ctx), row.fmt.format(value),
                             "" if target is None else ("≥ " if row.higher else "≤ ") + f"{target:g}",
                             "" if target is None else _ok(value, target, row.higher)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


STAGES = (("read_file_ms", "read the file"), ("full_decode_ms", "full-resolution decode (reference)"),
          ("draft_decode_ms", "load_image draft decode (DCT-scaled)"), ("preprocess_ms", "preprocess (resize, normalise)"),
          ("thumbnail_from_decode_ms", "thumbnail from that decode"),
          ("make_thumbnail_ms", "make_thumbnail (its own decode)"),
          ("analysis_ms", "reasons + burst hash + EXIF, from that decode"),
          ("cache_ms", "cache writes (score, thumbnail, analysis)"),
          ("onnx_1thread_ms", "ONNX Runtime inference fp32, 1 thread"),
          ("onnx_default_1thread_ms", "ONNX Runtime inference, the default CPU model, 1 thread"),
          ("torch_1thread_ms", "torch eager inference, 1 thread"),
          ("pipeline_onnx_ms", "pipeline sum: draft decode + preprocess + thumbnail + default ONNX"),
          ("pipeline_app_ms", "  … + analysis + cache writes (the GUI's first scan)"))


def stage_table(st: dict, cores: int, before: dict | None = None) -> str:
    """CPU ms per image by stage; with ``before`` (the stages of an earlier report) side by side."""
    def cell(d: dict | None, key: str, fmt: str = "{:.1f}") -> str:
        return fmt.format(d[key]) if d and d.get(key) is not None else "—"

    cols = (before, st) if before else (st,)
    head = "CPU ms per image, before | after |" if before else "CPU ms per image |"
    lines = [f"| stage (24 MP JPEG) | {head}", "|---|" + "---|" * len(cols)]
    lines += [f"| {label} | " + " | ".join(cell(d, key) for d in cols) + " |"
              for key, label in STAGES if any(key in d for d in cols)]
    lines.append(f"| → bound on {cores} cores, perfect overlap (images/s) | "
                 + " | ".join(cell(d, "bound_images_per_s") for d in cols) + " |")
    if "decode_only_all_cores_images_per_s" in st:
        lines.append(f"| draft decode alone on all {cores} cores (ceiling of any pipeline on this decode, images/s) | "
                     + " | ".join(cell(d, "decode_only_all_cores_images_per_s") for d in cols) + " |")
    return "\n".join(lines)


def machine_line(report: dict) -> str:
    m = report["machine"]
    return f"{m['cpu']}, {m['logical_cores']} logical cores, {m['ram_gb']} GB RAM, {m['os']}"


def markdown(report: dict) -> str:
    m = report["machine"]
    load = f"{report['loadavg_start']} at start, {report['loadavg_end']} at end"
    commands = report["command"] if isinstance(report["command"], list) else [report["command"]]
    parts = [
        "Command: " + ", merged with ".join(f"`{c}`" for c in commands) + "  ",
        f"Date: {report.get('date', '?')}  ",
        f"Machine: {machine_line(report)}  ",
        f"Software: Python {m['python']}, torch {m['torch']} ({m['torch_threads']} threads), onnxruntime "
        f"{m['onnxruntime']}, Pillow {m['pillow']} (libjpeg-turbo {m['libjpeg_turbo']})  ",
        f"Model: {report['model']['what']} (image_size {report['model']['image_size']})  ",
        f"Settings: {report['settings']}  ",
        f"Load average (1 min): {load}"
        + (" — **measured under load** (other jobs were running)" if (report['loadavg_start'] or 0) > 1.0 else ""),
        "",
        table(report),
    ]
    before = report.get("before")
    if before and "speed" in before:
        parts += ["", "The same measures before this change (`--before`, another run):", "",
                  table({"results": {"speed": before["speed"]}})]
    if "stages" in report["results"]:
        parts += ["", "Where the CPU time goes (one thread per stage, `time.thread_time`):", "",
                  stage_table(report["results"]["stages"], m["logical_cores"], (before or {}).get("stages"))]
    wl = report.get("workload", {})
    if wl:
        parts += ["", "Workloads: " + "; ".join(f"{k}: {v.get('files', v.get('photos'))} files"
                                               + (f", {v['mean_mb']} MB mean" if "mean_mb" in v else "")
                                               for k, v in wl.items())]
    return "\n".join(parts)


def summary(report: dict) -> str:
    """README's block: the headline rows, the machine and the command."""
    return "\n".join([
        f"Measured {report.get('date', '?')} on {machine_line(report)}, embedded default model "
        f"({report['model']['image_size']} px), with "
        + ", merged with ".join(f"`{c}`" for c in (report["command"] if isinstance(report["command"], list)
                                                   else [report["command"]]))
        + "; every row and the profile: "
        "[benchmarks/RESULTS.md](benchmarks/RESULTS.md).", "", table(report, key_only=True)])


def _replace_block(path: Path, begin: str, end: str, body: str) -> None:
    text = path.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{path} has no {begin} ... {end} block to update")
    head, rest = text.split(begin, 1)
    path.write_text(f"{head}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}")


def write_results(report: dict) -> None:
    results_block, readme_block = BLOCKS[report.get("kind", "cpu")]
    _replace_block(RESULTS_MD, *results_block, markdown(report))
    _replace_block(README_MD, *readme_block, summary(report))


def merge(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s results and workloads added (same machine and model only)."""
    if old["machine"] != new["machine"] or old["model"] != new["model"]:
        raise SystemExit("--merge: the saved report is from another machine or model; run everything again")
    out = dict(old)
    out["command"] = (old["command"] if isinstance(old["command"], list) else [old["command"]]) + [new["command"]]
    out["date"] = f"{old.get('date', '?')} and {new['date']}"
    out["results"] = {**old["results"], **new["results"]}
    out["workload"] = {**old.get("workload", {}), **new.get("workload", {})}
    out["loadavg_end"] = new["loadavg_end"]
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200, help="number of 24 MP JPEGs (0: skip those scenarios)")
    p.add_argument("--quick", action="store_true", help="fewer repeats, 2 brisque images, no mixed folder")
    p.add_argument("--scale", default="", help="comma-separated folder sizes for the memory/re-open test")
    p.add_argument("--backends", default="torch,onnx")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--workers", type=int, default=2, help="decode threads")
    p.add_argument("--thumbs", choices=("engine", "separate", "none"), default="engine")
    p.add_argument("--screen", type=int, default=24, help="thumbnails in a first screen")
    p.add_argument("--brisque-n", type=int, default=8, help="images scored with brisque (it is slow)")
    p.add_argument("--mixed", type=int, default=3, help="files per format in the mixed folder (0: skip)")
    p.add_argument("--accelerator", action="store_true",
                   help="GPU batch inference (CUDA + fp16 autocast): default model and a ViT-B/16")
    p.add_argument("--speed", action="store_true",
                   help="photocull rank and the GUI's first scan as shares of the decode-only ceiling (issue 17)")
    p.add_argument("--small", type=int, default=8, help="--speed: photos in the small folder")
    p.add_argument("--repeats", type=int, default=2, help="--speed: passes (the best of each is kept)")
    p.add_argument("--before", metavar="JSON", help="--speed: a saved speed report to show as 'before'")
    p.add_argument("--accelerator-batch", type=int, default=64)
    p.add_argument("--accelerator-repeats", type=int, default=20)
    p.add_argument("--model", help="model folder (default: embedded default, else the stand-in)")
    p.add_argument("--jobs", type=int, default=1, help="processes generating the workload")
    p.add_argument("--profile", action="store_true", help="pyinstrument profiles -> benchmarks/out/profile-*.txt")
    p.add_argument("--write-results", action="store_true",
                   help="update the generated blocks of benchmarks/RESULTS.md and README.md")
    p.add_argument("--from-report", metavar="JSON", help="measure nothing: print (and write) a saved report")
    p.add_argument("--merge", action="store_true",
                   help="add this run's results to the saved report of its kind instead of replacing it")
    args = p.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    args.scale = [int(s) for s in args.scale.split(",") if s]
    if args.quick:
        args.brisque_n = min(args.brisque_n, 2)
        args.mixed = 0
    if args.from_report:
        saved = Path(args.from_report)
        report = json.loads(saved.read_text())
        report.setdefault("date", time.strftime("%Y-%m-%d %H:%M", time.localtime(saved.stat().st_mtime)))
    else:
        report = run(args)
        saved = OUT / ("report.json" if report["kind"] == "cpu" else f"report-{report['kind']}.json")
        if args.merge and saved.is_file():
            report = merge(json.loads(saved.read_text()), report)
        OUT.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(report, indent=2, default=str))
    print(markdown(report))
    if args.write_results:
        write_results(report)
        log(f"updated {RESULTS_MD}")


if __name__ == "__main__":
    main()
