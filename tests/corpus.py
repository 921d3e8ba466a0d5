"""A generated corpus of bad (and awkward-but-valid) inputs, as found on a messy card dump.

Reusable by tests, benchmarks and GUI tests::

    from corpus import build_corpus, deny_read
    cases = build_corpus(tmp_path / "dump")          # list[Case], files written under the root
    deny_read(monkeypatch, [c.path for c in cases if c.unreadable])   # as root, see below

Each :class:`Case` says what photocull must report for that file: ``status``
("ok" or "error") and, for errors, a substring of the human reason. Cases with
``listed=False`` are not photos at all (folder loops): the scan must simply
end, without listing anything for them.

Two cases need the caller's help because they are about *time* or *privilege*:

* ``unreadable.jpg`` is chmod 000, which root ignores (CI runs as root):
  :func:`deny_read` makes the engine see exactly what a normal user sees
  (``open`` -> ``PermissionError``, ``os.access`` -> False) for those paths.
* ``vanishes.jpg`` / ``rewritten.jpg`` change *while the scan runs*:
  :func:`mid_scan_faults` hooks the engine's decoder so that the first is
  deleted just before it is read and the second rewritten just after.

Nothing here imports pytest; ``monkeypatch`` is any object with ``setattr``.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["Case", "build_corpus", "deny_read", "mid_scan_faults", "LONG_NAME", "NON_UTF8_NAME"]

LONG_NAME = "L" * 251 + ".jpg"  # 255 bytes: the longest name most filesystems allow
LONG_UTF8_NAME = "é" * 125 + ".jpg"  # 254 bytes in 129 characters
NON_UTF8_NAME = b"caf\xe9-latin1.jpg"  # not valid UTF-8 (kept as bytes on disk)


@dataclass
class Case:
    name: str  # short label used in reports (printable)
    path: Path  # the file (str path with surrogate escapes for non-UTF-8 names)
    status: str  # expected engine status: "ok" | "error"
    reason: str = ""  # expected substring of the error reason ("" for ok)
    listed: bool = True  # does the scan list it (False: a folder loop, nothing to list)
    unreadable: bool = False  # needs deny_read() when running as root
    during_scan: bool = False  # needs mid_scan_faults()


def _rgb(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def _bomb_png(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims ``w``×``h`` pixels (no real pixel data)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=2)
def _panorama_jpeg(w: int, h: int) -> bytes:
    """A flat ``w``×``h`` JPEG (encoded once per process: 60 Mpx take a second)."""
    return _jpeg_bytes(Image.new("RGB", (w, h), (120, 140, 160)), quality=70)


def build_corpus(root: Path, panorama: tuple[int, int] = (30000, 2000)) -> list[Case]:
    """Write the corpus under ``root`` (created) and return its cases, sorted by name."""
    import tifffile

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def add(name: str, data: bytes | None, status: str, reason: str = "", **kw) -> Path:
        p = root / name
        if data is not None:
            p.write_bytes(data)
        cases.append(Case(name, p, status, reason, **kw))
        return p

    good = _jpeg_bytes(_rgb(96, 72, 1), quality=90)
    add("control.jpg", good, "ok")
    add("zero_bytes.jpg", b"", "error", "empty file (0 bytes)")
    add("truncated.jpg", _jpeg_bytes(_rgb(96, 64, 2))[:700], "error", "truncated JPEG")
    add("random_bytes.jpg", np.random.default_rng(3).bytes(4096), "error", "not an image")
    png = io.BytesIO()
    _rgb(80, 64, 4).save(png, "PNG")
    add("png_named.jpg", png.getvalue(), "ok")  # contents sniffed: it is a fine photo
    add("bomb.png", _bomb_png(40000, 40000), "error", "image too large")
    cmyk = io.BytesIO()
    Image.new("CMYK", (96, 64), (0, 255, 255, 0)).save(cmyk, "JPEG")
    add("cmyk.jpg", cmyk.getvalue(), "ok")
    tifffile.imwrite(root / "rgb16.tif", np.random.default_rng(5).integers(0, 65535, (64, 96, 3), dtype=np.uint16))
    add("rgb16.tif", None, "ok")
    Image.new("L", (96, 64), 90).save(root / "grey.png")
    add("grey.png", None, "ok")
    pal = _rgb(96, 64, 6).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(root / "palette.png")
    add("palette.png", None, "ok")
    rgba = Image.new("RGBA", (96, 64), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 48, 64))
    rgba.save(root / "alpha.png")
    add("alpha.png", None, "ok")
    frames = [Image.new("RGB", (96, 64), c) for c in ((200, 30, 30), (30, 30, 200), (30, 200, 30))]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:], duration=40, loop=0)
    add("animated.gif", None, "ok")
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:], duration=40, lossless=True)
    add("animated.webp", None, "ok")
    add("panorama.jpg", _panorama_jpeg(*panorama), "ok")
    p = add("unreadable.jpg", good, "error", "permission denied", unreadable=True)
    os.chmod(p, 0)
    add(LONG_NAME, good, "ok")
    add(LONG_UTF8_NAME, good, "ok")
    raw_name = os.path.join(os.fsencode(root), NON_UTF8_NAME)
    with open(raw_name, "wb") as fh:
        fh.write(good)
    cases.append(Case("non-UTF-8 name", Path(os.fsdecode(raw_name)), "ok"))
    # links: a file loop (a -> b -> a), a broken link, a folder loop (loop/self -> loop)
    os.symlink("link_loop_b.jpg", root / "link_loop_a.jpg")
    os.symlink("link_loop_a.jpg", root / "link_loop_b.jpg")
    add("link_loop_a.jpg", None, "error", "symbolic links")
    add("link_loop_b.jpg", None, "error", "symbolic links")
    os.symlink("nowhere.jpg", root / "dangling.jpg")
    add("dangling.jpg", None, "error", "broken symbolic link")
    (root / "loop").mkdir()
    os.symlink("../loop", root / "loop" / "self")
    add("loop/inside.jpg", good, "ok")
    cases.append(Case("loop/self (folder loop)", root / "loop" / "self", "ok", listed=False))
    os.mkfifo(root / "fifo.jpg")  # reading it would block forever
    add("fifo.jpg", None, "error", "not a regular file")
    add("vanishes.jpg", good, "error", "file not found", during_scan=True)
    add("rewritten.jpg", good, "error", "changed while it was being read", during_scan=True)
    return sorted(cases, key=lambda c: os.fsencode(c.path))


def deny_read(monkeypatch, paths) -> None:
    """Make ``paths`` unreadable to photocull even for root (what chmod 000 does for a user)."""
    import builtins

    from photocull.app.core import decode, scan

    denied = {os.path.abspath(os.fspath(p)) for p in paths}
    real_open, real_access = builtins.open, os.access

    def guarded_open(file, *a, **kw):
        if isinstance(file, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(file)) in denied:
            raise PermissionError(13, "Permission denied", os.fsdecode(file))
        return real_open(file, *a, **kw)

    def guarded_access(path, mode, *a, **kw):
        if os.path.abspath(os.fsdecode(path)) in denied:
            return False
        return real_access(path, mode, *a, **kw)

    monkeypatch.setattr(decode, "open", guarded_open, raising=False)
    monkeypatch.setattr(scan.os, "access", guarded_access)


def mid_scan_faults(monkeypatch, cases: list[Case]) -> None:
    """Delete ``vanishes.jpg`` just before it is decoded; rewrite ``rewritten.jpg`` right after."""
    from photocull.app.core import engine

    real = engine.load_image
    by_name = {c.name: c.path for c in cases if c.during_scan}

    def load_image(path, min_side=None):
        if Path(path) == by_name.get("vanishes.jpg"):
            os.unlink(path)
        img = real(path, min_side=min_side)
        if Path(path) == by_name.get("rewritten.jpg"):
            Path(path).write_bytes(_jpeg_bytes(_rgb(80, 60, 9)))
        return img

    monkeypatch.setattr(engine, "load_image", load_image)
