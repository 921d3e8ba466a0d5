"""Generate (once) and cache the benchmark workloads under ``benchmarks/out/workload``.

* ``large``: N camera-sized JPEGs (default 6000×4000, 24 MP) made from the Kodak24 photos:
  upscaled, flipped/cropped per index so no two files are the same, Gaussian sensor-like noise,
  JPEG q=95 4:2:0 with a small EXIF block: 8-12 MB files (~3.5 bits/pixel), the entropy of a real
  camera's. An upscaled photo without that noise compresses several times better and decodes
  much faster, which would make every decode-bound measure look better than it is.
* ``camera``: the same N JPEGs, each with a full-HD MPF preview after it (many cameras write one).
* ``mixed``: a few PNG, WebP, HEIC (pillow-heif) and DNG (with a full-size embedded JPEG
  preview, as cameras write them, plus preview-less DNGs demosaiced at half size).
* ``scale``: K small JPEGs for the memory-flatness and re-open measures, as hard links to a
  handful of distinct files (100 per sub-folder, like a photo library), so 10,000 photos cost
  a few MB of disk.

Files are only written when missing (``--n 8`` then ``--n 200`` reuses the first 8); a
``params.json`` per workload drops the folder's files when the generation parameters change.
"""
from __future__ import annotations

import io
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

OUT_DIR = Path(__file__).resolve().parent / "out"


def kodak_sources() -> list[Path]:
    from photocull.model.paths import data_dir

    files = sorted((data_dir() / "pristine" / "kodak24").glob("*.webp"))
    if not files:
        raise FileNotFoundError(f"no Kodak24 images under {data_dir() / 'pristine' / 'kodak24'}")
    return files


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhotocullBench"  # Make
    exif[0x0110] = "Synthetic 24MP"  # Model
    exif[0x0112] = orientation
    return exif.tobytes()


def render(src: Path, index: int, size: tuple[int, int], noise: float) -> Image.Image:
    """A realistic large photo: the source cropped/flipped by ``index``, upscaled, with noise."""
    rng = np.random.default_rng(index)
    img = Image.open(src).convert("RGB")
    w, h = img.size
    portrait = h > w
    tw, th = (size[1], size[0]) if portrait else size
    # a random 85-100 % crop keeps files distinct even when sources repeat
    f = rng.uniform(0.85, 1.0)
    cw, ch = int(w * f), int(h * f)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = img.crop((x0, y0, x0 + cw, y0 + ch))
    if index % 2:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = img.resize((tw, th), Image.Resampling.BICUBIC)
    if noise > 0:
        # a 509×1021 noise tile repeated (odd sizes: no alignment with 8×8 JPEG blocks) costs
        # a fraction of drawing 72 M normals and compresses like real sensor noise
        tile = rng.normal(0.0, noise, (509, 1021, 3)).round().astype(np.int16)
        reps = (-(-th // tile.shape[0]), -(-tw // tile.shape[1]), 1)
        arr = np.asarray(img, dtype=np.int16) + np.tile(tile, reps)[:th, :tw]
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img


def _write_jpeg(args) -> int:
    src, dst, index, size, noise, quality = args
    img = render(Path(src), index, tuple(size), noise)
    tmp = Path(dst).with_suffix(".tmp")
    img.save(tmp, "JPEG", quality=quality, subsampling="4:2:0", exif=_exif())
    os.replace(tmp, dst)
    return Path(dst).stat().st_size


def _prepared_dir(name: str, params: dict) -> Path:
    folder = OUT_DIR / "workload" / name
    meta = folder / "params.json"
    if folder.exists() and (not meta.exists() or json.loads(meta.read_text()) != params):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps(params, sort_keys=True))
    return folder


def large_jpegs(n: int, size=(6000, 4000), quality: int = 95, noise: float = 7.0, jobs: int = 1,
                log=print) -> Path:
    """Folder ``workload/large-N`` holding exactly ``img_0000.jpg`` ... for ``i < n``."""
    params = {"size": list(size), "quality": quality, "noise": noise, "v": 3}
    pool_dir = _prepared_dir("large-pool", params)  # every file ever generated with these params
    sources = kodak_sources()
    todo = [(str(sources[i % len(sources)]), str(pool_dir / f"img_{i:04d}.jpg"), i, list(size), noise, quality)
            for i in range(n) if not (pool_dir / f"img_{i:04d}.jpg").exists()]
    if todo:
        log(f"generating {len(todo)} {size[0]}x{size[1]} JPEGs (once; cached in {pool_dir}) ...")
        if jobs > 1:
            with ProcessPoolExecutor(jobs) as pool:
                list(pool.map(_write_jpeg, todo))
        else:
            for t in todo:
                _write_jpeg(t)
    # the measured folder: hard links to the first n files, so --n selects the workload size
    folder = OUT_DIR / "workload" / f"large-{n}"
    _link_tree(folder, [pool_dir / f"img_{i:04d}.jpg" for i in range(n)], per_dir=0)
    return folder


def camera_jpegs(n: int, preview_short: int = 1080, log=print) -> Path:
    """The photos of :func:`large_jpegs` byte for byte, each followed by the camera's own full-HD
    copy (1620×1080 for 3:2) as a second MPF image, which is how many cameras write JPEGs."""
    from tests.fakes import add_mpf_preview

    large = large_jpegs(n, log=log)
    pool_dir = _prepared_dir("camera-pool", {"preview_short": preview_short, "v": 1})
    files = []
    for src in sorted(large.glob("*.jpg")):
        dst = pool_dir / src.name
        files.append(dst)
        if dst.exists():
            continue
        with Image.open(src) as img:
            img.draft("RGB", (preview_short, preview_short))
            scale = preview_short / min(img.size)
            preview = img.convert("RGB").resize((round(img.width * scale), round(img.height * scale)),
                                                Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        preview.save(buf, "JPEG", quality=90)
        tmp = dst.with_suffix(".tmp")
        tmp.write_bytes(add_mpf_preview(src.read_bytes(), buf.getvalue()))
        os.replace(tmp, dst)
    folder = OUT_DIR / "workload" / f"camera-{n}"
    _link_tree(folder, files, per_dir=0)
    return folder


def _link_tree(folder: Path, files: list[Path], per_dir: int, count: int | None = None) -> None:
    """``folder`` holds ``count`` hard links cycling through ``files`` (``per_dir`` per sub-folder)."""
    count = len(files) if count is None else count
    stamp = folder / ".complete"
    want = f"{count}:{per_dir}:{[str(f) for f in files]}"
    if stamp.exists() and stamp.read_text() == want:
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i in range(count):
        src = files[i % len(files)]
        sub = folder / f"d{i // per_dir:03d}" if per_dir else folder
        sub.mkdir(exist_ok=True)
        dst = sub / f"{src.stem}_{i:05d}{src.suffix}"
        try:
            os.link(src, dst)
        except OSError:  # a file system without hard links: copy
            shutil.copyfile(src, dst)
    stamp.write_text(want)


def mixed_folder(per_format: int = 3, size=(4000, 3000), log=print) -> Path:
    """PNG, WebP, HEIC, DNG-with-preview and preview-less DNG files (``per_format`` of each)."""
    params = {"per_format": per_format, "size": list(size), "v": 1}
    folder = _prepared_dir("mixed", params)
    if (folder / ".complete").exists():
        return folder
    import pillow_heif

    pillow_heif.register_heif_opener()
    from tests.fakes import write_dng

    log(f"generating the mixed-format folder ({per_format} per format) ...")
    sources = kodak_sources()
    for i in range(per_format):
        img = render(sources[(i + 5) % len(sources)], 1000 + i, size, noise=2.5)
        img.save(folder / f"png_{i}.png", "PNG", compress_level=6)
        img.save(folder / f"webp_{i}.webp", "WEBP", quality=90)
        img.save(folder / f"heic_{i}.heic", "HEIF", quality=90)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        write_dng(folder / f"raw_{i}.dng", preview=buf.getvalue(), preview_size=img.size)
        write_dng(folder / f"rawnp_{i}.dng")  # no preview: LibRaw half-size demosaic
    (folder / ".complete").write_text("ok")
    return folder


def scale_folder(count: int, distinct: int = 48, size=(1600, 1067), log=print) -> Path:
    """``count`` small JPEGs (hard links to ``distinct`` files), 100 per sub-folder."""
    params = {"distinct": distinct, "size": list(size), "v": 1}
    base = _prepared_dir("scale-base", params)
    sources = kodak_sources()
    files = []
    for i in range(distinct):
        f = base / f"small_{i:03d}.jpg"
        if not f.exists():
            _write_jpeg((str(sources[i % len(sources)]), str(f), 2000 + i, list(size), 2.5, 90))
        files.append(f)
    folder = OUT_DIR / "workload" / f"scale-{count}"
    _link_tree(folder, files, per_dir=100, count=count)
    return folder


def describe(folder: Path) -> dict:
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
             and p.name != "params.json"]
    return {"files": len(sizes), "mean_mb": round(float(np.mean(sizes)) / 1e6, 2) if sizes else 0.0}
