"""One benchmark scenario per child process: ``python -m benchmarks.scenarios NAME JSON_ARGS``.

Each scenario prints one JSON line (prefixed ``RESULT ``) with its timings and the child's peak
RSS, so the memory numbers of different scenarios never mix. Run them through ``benchmarks.run``.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

T_START = time.perf_counter()


def _high_water_mb() -> float:
    """The kernel's peak RSS of this process image (Linux ``VmHWM``; 0 elsewhere). Not
    ``ru_maxrss``: Linux carries the parent's high-water mark over fork + exec, so a child
    started by a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakRSS:
    """Peak resident set size of this process: psutil sampled every 20 ms, and on Linux the
    kernel's exact high-water mark; the larger of the two is reported."""

    def __init__(self, interval: float = 0.02):
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def current_mb(self) -> float:
        return self._proc.memory_info().rss / 2**20

    def stop_mb(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak / 2**20, _high_water_mb())


def _photos(folder: str) -> list[Path]:
    from photocull.app.core.scan import scan_folder

    return [it.path for it in scan_folder(folder) if it.ok]


def _scorer(a: dict):
    from photocull.model import load_scorer

    return load_scorer(a["model"], backend=a["backend"], device=a.get("device", "cpu"))


# --------------------------------------------------------------------------- scenarios
def photocull(a: dict, rss: PeakRSS) -> dict:
    """End-to-end on a fresh cache: scan, decode + preprocess + score (engine) + thumbnails
    (+ the reasons/bursts analysis the GUI runs after scoring).

    ``thumbs``: "engine" = thumbnails made by ``score_items`` from the scoring decode;
    "separate" = scoring, then ``make_thumbnail`` per photo on ``workers`` threads (a second
    decode, what a viewer asking for thumbnails on its own does); "none" = scoring only.
    ``analysis``: "engine" = ``score_items(analyze=True)`` then ``analyze_items`` (finds them all
    cached, as the GUI's analysis job does); "separate" = ``analyze_items`` decoding every photo
    again after scoring (before the engine did it); "none" = no analysis.
    """
    from concurrent.futures import ThreadPoolExecutor

    from photocull.app.core.analysis import analyze_items
    from photocull.app.core.cache import Cache
    from photocull.app.core.engine import score_items
    from photocull.app.core.scan import scan_folder
    from photocull.app.core.thumbs import THUMB_SIZE, make_thumbnail

    t0 = time.perf_counter()
    scorer = _scorer(a)
    t_load = time.perf_counter() - t0
    rss_loaded = rss.current_mb()
    cache = Cache(a["cache"])
    analysis = a.get("analysis", "none")
    t1, cpu1 = time.perf_counter(), time.process_time()
    items = scan_folder(a["folder"])
    first = None
    scores: dict[str, float | None] = {}
    times: list[float] = []
    errors = 0
    for r in score_items(items, scorer, cache, batch_size=a["batch"], workers=a["workers"],
                         thumb_size=THUMB_SIZE if a["thumbs"] == "engine" else None,
                         analyze=analysis == "engine"):
        first = first if first is not None else time.perf_counter() - t1
        scores[str(r.path)] = r.score
        times.append(time.perf_counter())
        errors += r.status != "ok"
    if a["thumbs"] == "separate":
        with ThreadPoolExecutor(a["workers"]) as pool:
            list(pool.map(lambda it: make_thumbnail(it.path, cache=cache), [it for it in items if it.ok]))
    t_scored = time.perf_counter() - t1
    analysed = sum(1 for an in analyze_items(items, cache, workers=a["workers"]) if not an.error) \
        if analysis != "none" else 0
    wall, cpu = time.perf_counter() - t1, time.process_time() - cpu1
    cache.close()
    n = len(scores)
    half = len(times) // 2  # the rate once warm (first batch, cuDNN autotuning and pools started)
    warm = (len(times) - 1 - half) / (times[-1] - times[half]) if len(times) > 2 and times[-1] > times[half] else None
    return {"images": n, "errors": errors, "analysed": analysed, "wall_s": wall, "cpu_s": cpu,
            "images_per_s": n / wall if wall else 0.0, "second_half_images_per_s": warm,
            "scoring_s": t_scored, "analysis_s": wall - t_scored, "first_result_s": first, "model_load_s": t_load, "rss_after_load_mb": rss_loaded,
            "device": str(getattr(scorer, "device", "cpu"))}


def inference(a: dict, rss: PeakRSS) -> dict:
    """Model only, same preprocessed batch through torch and ONNX: speed ratio and agreement."""
    import numpy as np
    import torch

    from photocull.app.core.decode import load_image
    from photocull.model import load_scorer
    from photocull.model.onnx_backend import INPUT_NAME, OUTPUT_NAME

    paths = _photos(a["folder"])[: a["limit"]]
    t_m = load_scorer(a["model"], backend="torch", device="cpu")
    o_m = load_scorer(a["model"], backend="onnx", device="cpu")
    x = np.stack([t_m.preprocess(load_image(p, min_side=t_m.image_size)) for p in paths])
    b = a["batch"]
    out = {"images": len(x), "batch": b, "torch_threads": torch.get_num_threads()}
    raw = {}
    for name, scorer, run_raw in (
        ("torch", t_m, lambda xb: t_m(torch.from_numpy(xb)).detach().numpy()),
        ("onnx", o_m, lambda xb: o_m.session.run([OUTPUT_NAME], {INPUT_NAME: xb})[0]),
    ):
        scorer.predict_batch(x[:b])  # warm-up (allocations, ORT arena)
        best = float("inf")
        for _ in range(a["repeats"]):
            t0 = time.perf_counter()
            for i in range(0, len(x), b):
                scorer.predict_batch(x[i:i + b])
            best = min(best, time.perf_counter() - t0)
        out[f"{name}_images_per_s"] = len(x) / best
        with torch.no_grad():
            raw[name] = np.concatenate([run_raw(x[i:i + b]) for i in range(0, len(x), b)]).astype(np.float64)
    out["onnx_vs_torch"] = out["onnx_images_per_s"] / out["torch_images_per_s"]
    # agreement on the unclipped 0-100 scale (clipping could hide differences of an untrained head)
    out["max_abs_diff_0_100"] = float(np.max(np.abs(raw["onnx"] - raw["torch"])) * 100.0)
    out["same_model_id"] = t_m.model_id == o_m.model_id
    return out


def brisque_scorer():
    """The PyPI ``brisque`` package's scorer (lower = better), working with numpy 2."""
    import numpy as np
    from brisque import BRISQUE

    class Brisque(BRISQUE):
        # brisque 0.2.0 with numpy >= 2.x: some features are shape-(1,) arrays, which float()
        # refuses; flattening them first is the only change (timing-neutral).
        def scale_features(self, features):
            return super().scale_features([np.asarray(f, dtype=np.float64).reshape(-1)[0] for f in features])

    return Brisque(url=False)


def brisque(a: dict, rss: PeakRSS) -> dict:
    """The PyPI ``brisque`` package as a user would call it: full-resolution decode, then score."""
    import numpy as np
    from PIL import Image

    paths = _photos(a["folder"])[: a["limit"]]
    obj = brisque_scorer()
    t0 = time.perf_counter()
    for p in paths:
        with Image.open(p) as img:
            obj.score(np.asarray(img.convert("RGB")))
    wall = time.perf_counter() - t0
    return {"images": len(paths), "wall_s": wall, "images_per_s": len(paths) / wall}


def laplacian(a: dict, rss: PeakRSS) -> dict:
    """The common cheap sharpness check: OpenCV full decode, grey, variance of the Laplacian."""
    import cv2

    paths = _photos(a["folder"])[: a["limit"]]
    t0 = time.perf_counter()
    for p in paths:
        grey = cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
        cv2.Laplacian(grey, cv2.CV_64F).var()
    wall = time.perf_counter() - t0
    return {"images": len(paths), "wall_s": wall, "images_per_s": len(paths) / wall}


def first_thumbnail(a: dict, rss: PeakRSS) -> dict:
    """Opening a folder for the first time (empty cache): scan, then the first thumbnail and the
    first screenful (``screen`` thumbnails on ``workers`` threads, as the GUI's pool does)."""
    from concurrent.futures import ThreadPoolExecutor

    from photocull.app.core.cache import Cache
    from photocull.app.core.scan import scan_folder
    from photocull.app.core.thumbs import make_thumbnail

    cache = Cache(a["cache"])
    t0 = time.perf_counter()
    items = [it for it in scan_folder(a["folder"]) if it.ok]
    t_scan = time.perf_counter() - t0
    make_thumbnail(items[0].path, cache=cache)
    t_first = time.perf_counter() - t0
    with ThreadPoolExecutor(a["workers"]) as pool:
        list(pool.map(lambda it: make_thumbnail(it.path, cache=cache), items[1:a["screen"]]))
    t_screen = time.perf_counter() - t0
    cache.close()
    return {"photos": len(items), "scan_s": t_scan, "first_thumbnail_s": t_first,
            "first_screen_s": t_screen, "screen": min(a["screen"], len(items))}


def reopen(a: dict, rss: PeakRSS) -> dict:
    """Second opening of a scanned folder (warm cache): scan + every score from SQLite, then the
    first screenful and then all thumbnails from SQLite. Scorer loading is reported apart."""
    from photocull.app.core.cache import Cache
    from photocull.app.core.engine import score_items
    from photocull.app.core.scan import scan_folder
    from photocull.app.core.thumbs import make_thumbnail

    t0 = time.perf_counter()
    scorer = _scorer(a)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    cache = Cache(a["cache"])
    items = scan_folder(a["folder"])
    results = list(score_items(items, scorer, cache))
    t_scores = time.perf_counter() - t0
    cached = sum(r.cached for r in results)
    ok = [it for it in items if it.ok]
    for it in ok[: a["screen"]]:
        make_thumbnail(it.path, cache=cache)
    t_screen = time.perf_counter() - t0
    for it in ok[a["screen"]:]:
        make_thumbnail(it.path, cache=cache)
    t_all = time.perf_counter() - t0
    cache.close()
    return {"photos": len(items), "cached_scores": cached, "reopen_scores_s": t_scores,
            "reopen_first_screen_s": t_screen, "reopen_all_thumbnails_s": t_all, "scorer_load_s": t_load}


def stages(a: dict, rss: PeakRSS) -> dict:
    """CPU milliseconds per image of each pipeline stage, one thread each (``time.thread_time``,
    so other processes on a shared machine inflate it far less than wall time). The sum over
    the stages of the pipeline, divided by the cores, bounds the end-to-end rate."""
    import io
    import tempfile

    import numpy as np
    import torch
    from PIL import Image

    from photocull.app.core.analysis import analyze_image, store_analyses
    from photocull.app.core.cache import Cache
    from photocull.app.core.decode import load_image
    from photocull.app.core.engine import decode_side
    from photocull.app.core.scan import scan_folder
    from photocull.app.core.thumbs import THUMB_SIZE, encode_thumbnail, make_thumbnail
    from photocull.model import load_scorer
    from photocull.model.onnx_backend import ONNX_FILE, OnnxScorer

    items = [it for it in scan_folder(a["folder"]) if it.ok][: a["limit"]]
    paths = [it.path for it in items]
    t_m = load_scorer(a["model"], backend="torch", device="cpu")
    default = load_scorer(a["model"], backend="onnx", device="cpu")
    fp32_path = default.path.with_name(ONNX_FILE)
    o_m = OnnxScorer(fp32_path, "cpu", intra_op_threads=1)
    side = decode_side(default, thumb_size=THUMB_SIZE, analyze=True)  # the GUI's first scan decodes at this

    def per_image(fn, items) -> float:
        best = float("inf")
        for _ in range(a["repeats"]):
            t0 = time.thread_time()
            for it in items:
                fn(it)
            best = min(best, time.thread_time() - t0)
        return 1000.0 * best / len(items)

    datas = [Path(p).read_bytes() for p in paths]
    imgs = [load_image(p, min_side=side) for p in paths]
    x = np.stack([t_m.preprocess(im) for im in imgs])
    out = {"images": len(paths), "decoded_size": list(imgs[0].size), "default_onnx": default.path.name}
    out["read_file_ms"] = per_image(lambda p: Path(p).read_bytes(), paths)
    out["full_decode_ms"] = per_image(lambda d: Image.open(io.BytesIO(d)).load(), datas)
    out["draft_decode_ms"] = per_image(lambda p: load_image(p, min_side=side), paths)
    # the ceiling of any pipeline built on this decode: nothing but draft decodes on every core
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda p: load_image(p, min_side=side), paths * a["repeats"]))
        out["decode_only_all_cores_images_per_s"] = len(paths) * a["repeats"] / (time.perf_counter() - t0)
    out["preprocess_ms"] = per_image(t_m.preprocess, imgs)
    out["thumbnail_from_decode_ms"] = per_image(lambda im: encode_thumbnail(im, THUMB_SIZE), imgs)
    out["make_thumbnail_ms"] = per_image(lambda p: make_thumbnail(p, THUMB_SIZE), paths)
    # reasons + burst hash + the EXIF read for the capture time, from the scoring decode
    out["analysis_ms"] = per_image(lambda i: analyze_image(items[i], imgs[i]), range(len(items)))
    analyses = [analyze_image(it, im) for it, im in zip(items, imgs)]
    thumbs = [encode_thumbnail(im, THUMB_SIZE) for im in imgs]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(Path(tmp) / "stages.sqlite3")

        def store(_):  # what the engine writes per batch, for the whole set at once
            cache.put_scores([(it.path, it.size, it.mtime_ns, 50.0, "") for it in items], "stages")
            cache.put_thumbnails([(it.path, it.size, it.mtime_ns, THUMB_SIZE, t) for it, t in zip(items, thumbs)])
            store_analyses(cache, list(zip(items, analyses)))

        out["cache_ms"] = per_image(store, [None]) / len(items)
        cache.close()
    b = a["batch"]
    batches = [x[i:i + b] for i in range(0, len(x), b)]
    o_m.predict_batch(batches[0])
    out["onnx_1thread_ms"] = per_image(o_m.predict_batch, batches) * len(batches) / len(x)
    if default.path != fp32_path:
        q_m = OnnxScorer(default.path, "cpu", intra_op_threads=1)
        q_m.predict_batch(batches[0])
        out["onnx_default_1thread_ms"] = per_image(q_m.predict_batch, batches) * len(batches) / len(x)
    else:
        out["onnx_default_1thread_ms"] = out["onnx_1thread_ms"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t_m.predict_batch(batches[0])
        out["torch_1thread_ms"] = per_image(t_m.predict_batch, batches) * len(batches) / len(x)
    finally:
        torch.set_num_threads(threads)
    pipeline = (out["draft_decode_ms"] + out["preprocess_ms"] + out["thumbnail_from_decode_ms"]
                + out["onnx_default_1thread_ms"])
    out["pipeline_onnx_ms"] = pipeline
    out["pipeline_app_ms"] = pipeline + out["analysis_ms"] + out["cache_ms"]
    out["bound_images_per_s"] = 1000.0 * (os.cpu_count() or 1) / pipeline
    return out


def ceiling(a: dict, rss: PeakRSS) -> dict:
    """The decode-only ceiling: Pillow DCT-draft decodes to >= ``side`` px of every photo of
    ``folder`` on ``workers`` threads, nothing else (best of ``repeats`` passes)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    paths = _photos(a["folder"])
    side = a["side"]

    def draft(p):
        with Image.open(p) as im:
            im.draft("RGB", (side, side))
            im.load()

    best, best_cpu = float("inf"), float("inf")
    with ThreadPoolExecutor(a["workers"]) as pool:
        list(pool.map(draft, paths[: a["workers"]]))  # threads started, files in the page cache
        for _ in range(a["repeats"]):
            t0, cpu0 = time.perf_counter(), time.process_time()
            list(pool.map(draft, paths))
            best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - cpu0)
    # CPU time of the decodes (all threads): what a photo costs, however loaded the machine is
    return {"images": len(paths), "wall_s": best, "images_per_s": len(paths) / best,
            "cpu_ms_per_photo": 1000 * best_cpu / len(paths)}


def cli_rank(a: dict, rss: PeakRSS) -> dict:
    """``photocull rank FOLDER --no-progress`` with its default settings, as a user runs it, on a
    fresh cache folder (``cache_dir``): wall time of the whole command, start-up included."""
    import resource
    import subprocess

    env = {**os.environ, "PHOTOCULL_CACHE_DIR": a["cache_dir"]}
    t0, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "photocull.app.main", "rank", a["folder"], "--no-progress"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"photocull rank failed ({proc.returncode}): {proc.stderr[-2000:]}")
    # CPU time of the command (all its threads): what it costs the machine, however loaded it is
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {"images": len(_photos(a["folder"])), "wall_s": wall, "cpu_s": cpu}


def gui_open(a: dict, rss: PeakRSS) -> dict:
    """The desktop app itself opening ``folder`` with the cache ``cache`` (offscreen Qt, the real
    model): :func:`photocull.app.ui.timing.open_folder_timings`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from photocull.app.ui.timing import open_folder_timings

    return open_folder_timings(a["folder"], a["cache"], screen=a["screen"], wait_scores=a["wait"] != "thumbnail")


def accelerator(a: dict, rss: PeakRSS) -> dict:
    """Batch inference on the GPU (CUDA; the CPU when there is none): images/s of the default model
    and of a ViT-B/16 backbone (``siglip2`` at its base configuration, random weights: the same
    cost as the pretrained one) at ``batch``, with fp16 autocast as ``IQAModel.predict_batch`` runs
    on CUDA, and without it; the fp16 scores' largest distance from fp32, unclipped on 0-100.
    The batch is real photos from ``folder`` (repeated to fill it) when given, else noise."""
    import numpy as np
    import torch

    from photocull.app.core.decode import load_image
    from photocull.model import create_model, load_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "batch": a["batch"]}
    # decoded big enough for either model (the default's size is in its config; the ViT's is 224)
    side = max(224, json.loads((Path(a["model"]) / "config.json").read_text())["image_size"])
    photos = [load_image(p, min_side=side) for p in _photos(a["folder"])[:16]] if a.get("folder") else []
    models = {"default": lambda: load_model(a["model"], device=device),
              "vit_b16": lambda: create_model(backbone="siglip2", pretrained=False, image_size=224).to(device)}
    for name, make in models.items():
        m = make()
        if photos:
            x = np.stack([m.preprocess(photos[i % len(photos)]) for i in range(a["batch"])])
        else:
            x = np.random.default_rng(0).standard_normal((a["batch"], 3, m.image_size, m.image_size),
                                                         dtype=np.float32)
        raw = {}
        for precision, amp in (("fp16", True), ("fp32", False)):
            if precision == "fp32" and device != "cuda":
                continue  # on the CPU there is no autocast: one precision
            m.amp = amp
            raw[precision] = m._raw(x).astype(np.float64) * 100.0  # warm-up (cuDNN autotuning) + unclipped scores
            t0 = time.perf_counter()
            for _ in range(a["repeats"]):
                m.predict_batch(x)  # returns numpy: synchronised
            key = name if precision == "fp16" else f"{name}_fp32"
            out[f"{key}_images_per_s"] = a["batch"] * a["repeats"] / (time.perf_counter() - t0)
        if "fp32" in raw:
            out[f"{name}_max_abs_diff_fp16_fp32"] = float(np.max(np.abs(raw["fp16"] - raw["fp32"])))
        out[f"{name}_image_size"] = m.image_size
        del m
    out["input"] = f"{len(photos)} photos" if photos else "noise"
    if device == "cuda":
        out["cuda_peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


SCENARIOS = {f.__name__: f for f in (photocull, inference, stages, brisque, laplacian, first_thumbnail,
                                       reopen, gui_open, accelerator, ceiling, cli_rank)}


def main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1])
    rss = PeakRSS()
    if args.get("profile"):
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    result = SCENARIOS[name](args, rss)
    if args.get("profile"):
        profiler.stop()
        Path(args["profile"]).write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    result["peak_rss_mb"] = rss.stop_mb()
    result["process_s"] = time.perf_counter() - T_START
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv[1:])
