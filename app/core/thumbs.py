"""JPEG thumbnails of photos (draft-decoded), optionally cached."""

from __future__ import annotations

import io
import os

from PIL import Image

from photocull.app.core.cache import Cache
from photocull.app.core.decode import DecodeError, load_image

__all__ = ["encode_thumbnail", "make_thumbnail", "THUMB_SIZE"]

THUMB_SIZE = 256


def encode_thumbnail(img: Image.Image, size: int = THUMB_SIZE, quality: int = 85) -> bytes:
    """JPEG bytes of an already decoded RGB image fitted into ``size``×``size`` (``img`` is kept)."""
    img = img.copy()
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def make_thumbnail(path: str | os.PathLike, size: int = THUMB_SIZE, cache: Cache | None = None,
                   quality: int = 85) -> bytes:
    """JPEG bytes of ``path`` fitted into ``size``×``size`` (aspect kept, EXIF-oriented).

    With a ``cache``, a thumbnail of the same file (path, size, mtime) is reused
    and a new one stored. Raises :class:`~photocull.app.core.decode.DecodeError`.
    """
    st = None
    if cache is not None:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise DecodeError("file not found" if isinstance(exc, FileNotFoundError) else
                              f"cannot read file: {exc.strerror or exc}", permanent=False) from None
        hit = cache.get_thumbnail(path, st.st_size, st.st_mtime_ns, size)
        if hit is not None:
            return hit
    data = encode_thumbnail(load_image(path, min_side=size), size, quality)
    if cache is not None:
        cache.put_thumbnail(path, st.st_size, st.st_mtime_ns, size, data)
    return data
