"""The app's demo shoot: 6 Kodak photos (released for unrestricted use), each as the original plus
degraded takes (defocus, motion blur, sensor noise, underexposure) at clearly visible levels."""
from __future__ import annotations

import os
import zlib
from pathlib import Path

from PIL import Image

from photocull.model.fileio import atomic_path

from .distortions import apply

DEMO_IMAGES = ("kodim03", "kodim05", "kodim14", "kodim15", "kodim20", "kodim23")
# suffix -> (distortion, level); levels chosen to be obvious at 768x512 but still "a real take"
DEMO_TAKES = {
    "defocus": ("lens_blur", 4),
    "motion": ("motion_blur", 3),
    "noise": ("sensor_noise", 4),
    "underexposed": ("underexposure", 4),
}
JPEG_QUALITY = 92


def _save_jpeg(img: Image.Image, path: Path) -> None:
    with atomic_path(path) as tmp:
        img.save(tmp, format="JPEG", quality=JPEG_QUALITY, optimize=True)


def build_demo_shoot(out_dir: str | os.PathLike, kodak_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write ``<name>.jpg`` and ``<name>_<take>.jpg`` for every demo image; returns the paths.
    Deterministic: each take's noise/angle seed is a CRC of its file name."""
    if kodak_dir is None:
        from photocull.model.paths import data_dir

        kodak_dir = data_dir() / "pristine" / "kodak24"
    kodak_dir, out_dir = Path(kodak_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DEMO_IMAGES:
        src = next((kodak_dir / f"{name}{ext}" for ext in (".webp", ".png", ".jpg")
                    if (kodak_dir / f"{name}{ext}").exists()), None)
        if src is None:
            raise FileNotFoundError(f"Kodak image {name} not found in {kodak_dir}")
        with Image.open(src) as im:
            original = im.convert("RGB")
        outputs = {f"{name}.jpg": original}
        for take, (distortion, level) in DEMO_TAKES.items():
            fname = f"{name}_{take}.jpg"
            outputs[fname] = apply(distortion, original, level, seed=zlib.crc32(fname.encode()))
        for fname, img in outputs.items():
            _save_jpeg(img, out_dir / fname)
            written.append(out_dir / fname)
    return written
