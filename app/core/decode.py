"""Decode any supported photo into an RGB ``PIL.Image`` (read-only, never writes).

* The format is sniffed from the contents (a PNG named ``.jpg`` decodes);
  RAW files (by extension) go through rawpy: the embedded preview when there
  is one, else a half-size demosaic.
* ``min_side``: the caller only needs the short side to be at least this many
  pixels (model input size, thumbnail size). A JPEG that carries its camera's
  own reduced copy (an MPF "large thumbnail", e.g. 1620x1080) big enough for
  that is decoded from the copy, as RAW files are from their preview: it costs
  a few ms instead of entropy-decoding the whole 24 MP photo. Otherwise JPEGs
  are decoded at a reduced DCT scale (``Image.draft``), other formats are
  box-reduced by an integer factor; the result's short side is still
  ``>= min_side`` unless the image itself is smaller.
* Any size a camera or phone makes (200 MP phone HEIC, 150 MP medium format,
  400 MP pixel shift) decodes within a memory budget (``DECODE_BUDGET``): JPEGs
  at a DCT scale that fits it, HEIF/AVIF from their embedded thumbnail when it
  is big enough, large PNGs in row strips box-reduced as they are read. Pillow's
  megapixel limit is replaced by (a) a plausibility check of the header's
  claimed size against the file's byte count (PNG: deflate cannot pack more
  than 1032:1; Huffman JPEG: at least one bit per 8x8 block) and (b) the budget
  for the decode actually performed; either refusal reads ``image too large: ...``.
* A photo whose short side is under ``MIN_JUDGE_SIDE`` px is refused as
  ``too small to judge`` when the caller asks for a reduced decode
  (``min_side``: scoring, thumbnails, analysis); a full decode still returns it.
* EXIF orientation is applied; 16-bit, float, CMYK, palette, greyscale and
  alpha images all come out as 8-bit RGB (alpha composited on white);
  animated files give their first frame.
* Every failure is a :class:`DecodeError` with a short human reason.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from photocull.app.core.scan import RAW_EXTS
from photocull.model import defects

try:  # HEIC/HEIF support (pillow-heif is a dependency; guarded so a broken wheel degrades gracefully)
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - depends on the installation
    pillow_heif = None

__all__ = ["DecodeError", "load_image", "read_exif_summary"]


class DecodeError(Exception):
    """A photo could not be decoded. ``reason`` is a short human sentence.

    ``permanent`` is True when the problem is in the file's contents (it will
    fail again until the file changes, so the failure may be cached) and False
    for environmental problems (permissions, a vanished file, I/O errors).
    """

    def __init__(self, reason: str, permanent: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


MIN_JUDGE_SIDE = 64
"""Photos with a shorter short side are "too small to judge" (8x8 metadata test images, icons)."""

DECODE_BUDGET = 1 << 30
"""Most bytes of pixel buffers one decode may need (see ``_decode_bytes``); with the interpreter and
the libraries, decoding any photo for scoring stays under 1.5 GB of peak RSS."""

_HEIF_BYTES_PER_PIXEL = 7  # measured: libheif's YCbCr planes + its RGB output + Pillow's copy (200 MP: 1.36 GB)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} KB" if n >= 1e3 else f"{n:.0f} bytes"


def _decode_bytes(mode: str, size: tuple[int, int]) -> int:
    """Pixel-buffer bytes of decoding ``size`` in ``mode``: the buffer, one full-size copy (orientation or
    conversion) and, for high bit depths, the float conversion of ``_to_rgb``."""
    per = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    extra = 9 if mode.startswith("I") or mode == "F" else 0
    return size[0] * size[1] * (2 * per + extra)


def _over_budget(w: int, h: int, need: int) -> DecodeError:
    return DecodeError(f"image too large: decoding {w}×{h} ({w * h / 1e6:.0f} megapixels) would need "
                       f"{_mb(need)}, over the {_mb(DECODE_BUDGET)} memory budget")


def _implausible(w: int, h: int, fmt: str, nbytes: int) -> DecodeError:
    return DecodeError(f"image too large: the header claims {w}×{h} pixels, more than a {_mb(nbytes)} "
                       f"{fmt} can hold (a decompression bomb?)")


def _png_header(data: bytes) -> tuple[int, int, int, int, int]:
    """Width, height, bit depth, colour type, interlace of a PNG's IHDR."""
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return w, h, depth, ctype, interlace


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_row_bytes(w: int, depth: int, ctype: int) -> int:
    return 1 + (w * _PNG_CHANNELS.get(ctype, 4) * depth + 7) // 8


def _jpeg_arithmetic(data: bytes) -> bool:
    """Whether the JPEG's frame is arithmetic-coded (SOF9-11, SOF13-15), which has no bits-per-block floor."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker >= 0xC9
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return False


def _check_plausible(img: Image.Image, data: bytes) -> None:
    """Refuse a header claiming more pixels than the file's bytes can encode (nothing decoded yet)."""
    w, h = img.size
    if img.format == "PNG" and data.startswith(b"\x89PNG") and len(data) >= 29:
        _, _, depth, ctype, _ = _png_header(data)
        if len(data) * 1032 < h * _png_row_bytes(w, depth, ctype):  # deflate's maximum ratio is 1032:1
            raise _implausible(w, h, "PNG", len(data))
    elif img.format in ("JPEG", "MPO") and not _jpeg_arithmetic(data):
        if len(data) * 8 < ((w + 7) // 8) * ((h + 7) // 8):  # Huffman coding: >= 1 bit per 8x8 block
            raise _implausible(w, h, "JPEG", len(data))


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except PermissionError:
        raise DecodeError("permission denied", permanent=False) from None
    except FileNotFoundError:
        raise DecodeError("file not found", permanent=False) from None
    except IsADirectoryError:
        raise DecodeError("not a file (a folder)", permanent=False) from None
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}", permanent=False) from None
    if not data:
        raise DecodeError("empty file (0 bytes)")
    return data


def _open(data: bytes) -> Image.Image:
    """Open (header only) an in-memory image; bomb and identification errors become DecodeError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        img = _open_unchecked(data)
    except UnidentifiedImageError:
        raise DecodeError("not an image (unrecognised file contents)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        fmt = _magic_format(data)
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise DecodeError(f"truncated {fmt} (incomplete header)") from None
        raise DecodeError(f"corrupt {fmt} header ({exc})") from None
    return img


_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF"), (b"II*\x00", "TIFF"),
          (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


def _magic_format(data: bytes) -> str:
    """Format name from the first bytes, for error messages only."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[4:8] == b"ftyp":
        return "HEIF"
    return next((name for magic, name in _MAGIC if data.startswith(magic)), "image")


def _open_unchecked(data: bytes) -> Image.Image:
    """Open an image Pillow refused for its megapixel limit, without that limit.

    Runs the format plugins' header parsers directly (what ``Image.open`` does
    before its size check), so no global limit is touched and no pixel decoded;
    ``_check_plausible`` and the memory budget take the limit's place.
    """
    prefix = data[:16]
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        try:
            if accept is None or accept(prefix):
                return factory(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - try the next plugin, as Image.open does
            continue
    raise DecodeError("image too large (decompression bomb)")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode -> 8-bit RGB; alpha composited on white, high bit depths scaled (not clipped)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if mode == "F":
            top = 1.0 if arr.max(initial=0.0) <= 1.0 else max(arr.max(initial=1.0), 1.0)
        else:
            top = 255.0 if arr.max(initial=0) <= 255 else 65535.0
        arr = np.clip(np.nan_to_num(arr) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "CMYK" and img.info.get("icc_profile"):
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
            return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception:  # noqa: BLE001 - a broken profile falls back to the naive conversion
            pass
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError:
        raise DecodeError(f"unsupported colour mode {mode}") from None


def _reduce(img: Image.Image, min_side: int | None) -> Image.Image:
    if not min_side:
        return img
    factor = min(img.size) // min_side
    return img.reduce(factor) if factor >= 2 else img


# MPF image types of a camera's own reduced copy of the photo (CIPA DC-007; Pillow's names)
_LARGE_THUMBNAILS = ("Large Thumbnail (VGA Equivalent)", "Large Thumbnail (Full HD Equivalent)")


def _camera_preview(data: bytes, main: Image.Image, min_side: int) -> Image.Image | None:
    """The smallest MPF "large thumbnail" (the full-HD or VGA copy many cameras store after the
    photo) whose short side is still >= ``min_side`` and whose aspect ratio is the photo's, opened
    at that frame; None when there is none. Other MPF frames (stereo views, HDR gain maps) and
    rotated or cropped copies are never used."""
    try:
        entries = main.mpinfo[0xB002]
        best = None
        for index, entry in enumerate(entries[1:], start=1):
            if entry["Attribute"]["MPType"] not in _LARGE_THUMBNAILS:
                continue
            frame = _open(data)
            frame.seek(index)
            w, h = frame.size
            same_aspect = abs(w * main.height - h * main.width) <= 0.01 * main.width * h
            if same_aspect and min_side <= min(w, h) and w < main.width and (best is None or w < best.width):
                best = frame
        return best
    except Exception:  # noqa: BLE001 - a malformed MPF directory (or DecodeError): decode the photo itself
        return None


def _orientation(img: Image.Image) -> int:
    """EXIF orientation from the header's EXIF block only (``getexif`` would decode a whole PNG)."""
    try:
        exif = Image.Exif()
        exif.load(img.info.get("exif") or b"")
        return int(exif.get(ExifTags.Base.Orientation, 1))
    except Exception:  # noqa: BLE001 - a damaged EXIF block: as shot
        return 1


def _oriented(img: Image.Image, orientation: int) -> Image.Image:
    if orientation == 1:
        return img
    img.getexif()[ExifTags.Base.Orientation] = orientation
    return ImageOps.exif_transpose(img)


def _heif_thumbnail(data: bytes, min_side: int | None, any_size: bool) -> Image.Image | None:
    """The HEIF/AVIF's embedded thumbnail: the smallest with the photo's aspect ratio whose short side is
    >= ``min_side``, or (``any_size``) the largest one; None when there is none."""
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data))
        main = heif[heif.primary_index]
        W, H = main.size
        thumbs = [main.get_thumbnail(i) for i in range(len(main.info.get("thumbnails", [])))]
        thumbs = sorted((t for t in thumbs if abs(t.size[0] * H - t.size[1] * W) <= 0.01 * W * t.size[1]),
                        key=lambda t: min(t.size))
        big = [t for t in thumbs if min_side and min(t.size) >= min_side]
        chosen = big[0] if big else (thumbs[-1] if thumbs and any_size else None)
        return chosen.to_pillow() if chosen is not None else None
    except Exception:  # noqa: BLE001 - a damaged thumbnail: decode the photo itself
        return None


_STRIP_BYTES = 16 << 20  # filtered PNG bytes decoded at a time by _load_png_strips
_PNG_STRIP_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # bytes per pixel -> an 8-bit colour type with as many


def _png_chunk(tag: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))


def _png_filtered(data: bytes, nbytes: int):
    """The PNG's inflated (still filtered) scanline bytes, ``nbytes`` at a time (the last piece shorter)."""
    inflate, buf, pos = zlib.decompressobj(), bytearray(), 8
    while pos + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[pos:pos + 8])
        if tag == b"IEND":
            break
        if tag == b"IDAT":
            pending = data[pos + 8:pos + 8 + length]
            while pending:
                buf += inflate.decompress(pending, nbytes)
                pending = inflate.unconsumed_tail
                while len(buf) >= nbytes:
                    yield bytes(buf[:nbytes])
                    del buf[:nbytes]
        pos += 12 + length
    if buf:
        yield bytes(buf)


def _unfilter(filtered: bytes, rows: int, row: int, bpp: int) -> bytes:
    """Undo the PNG row filters of ``rows`` scanlines with Pillow's decoder: the bytes are wrapped as an 8-bit
    PNG with as many bytes per pixel (filters work on bytes, ``bpp`` apart), whose pixels are the bytes."""
    ihdr = struct.pack(">IIBBBBB", (row - 1) // bpp, rows, 8, _PNG_STRIP_TYPE[bpp], 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(filtered, 0))
           + _png_chunk(b"IEND", b""))
    with Image.open(io.BytesIO(png)) as strip:
        return strip.tobytes()


def _load_png_strips(data: bytes, img: Image.Image, min_side: int | None) -> Image.Image:
    """A PNG too large to decode whole, read in row strips, each box-reduced as it arrives: memory is the
    reduced image plus one strip. Interlaced and 16-bit colour PNGs cannot be streamed this way."""
    w, h, depth, ctype, interlace = _png_header(data)
    bpp = max(1, _PNG_CHANNELS.get(ctype, 4) * depth // 8)
    if interlace or bpp not in _PNG_STRIP_TYPE:
        raise _over_budget(w, h, _decode_bytes(img.mode, img.size))
    factor = max(1, min(w, h) // min_side) if min_side else 1
    while _decode_bytes("RGB", (-(-w // factor), -(-h // factor))) > DECODE_BUDGET // 2:
        factor += 1
    row = _png_row_bytes(w, depth, ctype)
    rows = factor * max(1, _STRIP_BYTES // (row * factor))
    rawmode = img.tile[0].args
    out = Image.new("RGB", (-(-w // factor), -(-h // factor)))
    prev, y = b"", 0
    try:
        for filtered in _png_filtered(data, rows * row):
            n = min(len(filtered) // row, h - y)
            if n <= 0:
                break
            raw = _unfilter(prev + filtered[:n * row], n + bool(prev), row, bpp)[len(prev) and row - 1:]
            prev = b"\x00" + raw[-(row - 1):]
            strip = Image.frombytes(img.mode, (w, n), raw, "raw", rawmode)
            if strip.mode == "P":
                strip.putpalette(img.palette.copy())
                if "transparency" in img.info:
                    strip.info["transparency"] = img.info["transparency"]
            elif strip.mode == "I;16":  # 16-bit grey: the top byte (the whole image's scale, not the strip's)
                strip = Image.fromarray((np.asarray(strip) >> 8).astype(np.uint8))
            strip = _to_rgb(strip)
            out.paste(strip.reduce(factor) if factor > 1 else strip, (0, y // factor))
            y += n
    except (zlib.error, OSError, ValueError, SyntaxError) as exc:
        raise DecodeError(f"corrupt PNG ({exc})") from None
    if y < h:
        raise DecodeError("truncated PNG")
    return _oriented(out, _orientation(img))


def _load_pillow(data: bytes, min_side: int | None) -> Image.Image:
    img = _open(data)
    # what the reasons need of a JPEG decoded at a reduced scale, whose pixels lose its 8x8 grid
    quality = defects.jpeg_quality(getattr(img, "quantization", None)) if img.format in ("JPEG", "MPO") else None
    size = img.size  # before the draft decode reduces it
    out = _decode_pillow(img, data, min_side)
    if quality is not None:
        out.info[defects.JPEG_SOURCE] = {"size": size, "quality": quality}
    return out


def _decode_pillow(img: Image.Image, data: bytes, min_side: int | None) -> Image.Image:
    _check_plausible(img, data)
    w, h = img.size
    if min_side and min(w, h) < MIN_JUDGE_SIDE:
        raise DecodeError(f"too small to judge: {w}×{h} pixels (under {MIN_JUDGE_SIDE} px on the short side)")
    need = _decode_bytes(img.mode, img.size)
    if img.format in ("HEIF", "AVIF") and pillow_heif is not None:
        need = w * h * _HEIF_BYTES_PER_PIXEL  # libheif has no reduced decode: its preview, or the whole photo
        thumb = _heif_thumbnail(data, min_side, any_size=need > DECODE_BUDGET) if min_side or need > DECODE_BUDGET else None
        if thumb is not None:
            return _reduce(_to_rgb(thumb), min_side)
    if min_side and img.format == "MPO":
        preview = _camera_preview(data, img, min_side)
        if preview is not None:
            try:  # the preview carries no orientation of its own: the photo's applies
                preview.draft("RGB", (min_side, min_side))
                preview.load()
                preview.getexif()[ExifTags.Base.Orientation] = img.getexif().get(ExifTags.Base.Orientation, 1)
                return _reduce(_to_rgb(ImageOps.exif_transpose(preview)), min_side)
            except Exception:  # noqa: BLE001 - a damaged preview: decode the photo itself
                pass
    fmt = "JPEG" if img.format == "MPO" else (img.format or "image")  # MPF: a JPEG to the user
    if fmt == "JPEG":  # the DCT scale min_side allows, halved until the decode fits the budget
        scale = next(s for s in (8, 4, 2, 1) if min_side and min(w, h) // min_side >= s or s == 1)
        while scale < 8 and _decode_bytes(img.mode, (-(-w // scale), -(-h // scale))) > DECODE_BUDGET:
            scale *= 2
        img.draft("RGB", (max(1, w // scale), max(1, h // scale)))
        need = _decode_bytes(img.mode, img.size)
    elif fmt == "PNG" and need > DECODE_BUDGET:
        return _load_png_strips(data, img, min_side)
    if need > DECODE_BUDGET:
        raise _over_budget(w, h, need)
    try:
        img.load()
        img = ImageOps.exif_transpose(img)
    except DecodeError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc).lower()
        if "truncated" in text or "broken data stream" in text or isinstance(exc, EOFError):
            raise DecodeError(f"truncated {fmt}") from None
        raise DecodeError(f"corrupt {fmt} ({exc})") from None
    return _reduce(_to_rgb(img), min_side)


def _flip_raw(img: Image.Image, flip: int) -> Image.Image:
    """Apply LibRaw's ``sizes.flip`` code (0 none, 3 180°, 5 90° CCW, 6 90° CW)."""
    op = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}.get(flip)
    return img.transpose(op) if op is not None else img


def _load_raw(data: bytes, min_side: int | None) -> Image.Image:
    import rawpy

    try:
        raw_ctx = rawpy.imread(io.BytesIO(data))
    except (rawpy.LibRawError, ValueError) as exc:
        raise DecodeError(f"unreadable RAW file ({exc})") from None
    with raw_ctx as raw:
        flip = raw.sizes.flip
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            thumb = None
        except rawpy.LibRawError as exc:
            raise DecodeError(f"corrupt RAW file ({exc})") from None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            preview = _load_pillow(thumb.data, min_side)
            # A preview with its own EXIF orientation was already turned by _load_pillow.
            oriented = _open(thumb.data).getexif().get(ExifTags.Base.Orientation, 1) != 1
            return preview if oriented else _flip_raw(preview, flip)
        if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
            return _reduce(_flip_raw(_to_rgb(Image.fromarray(thumb.data)), flip), min_side)
        try:  # no usable preview: demosaic at half size (postprocess applies the flip itself)
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
        except rawpy.LibRawError as exc:
            raise DecodeError(f"corrupt RAW file ({exc})") from None
        return _reduce(Image.fromarray(rgb), min_side)


def load_image(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB image, EXIF-oriented; see the module docstring.

    Raises :class:`DecodeError` (never another exception for a bad file).
    """
    data = _read_bytes(path)
    try:
        if os.path.splitext(os.fspath(path))[1].lower() not in RAW_EXTS:
            return _load_pillow(data, min_side)
        try:
            return _load_raw(data, min_side)
        except DecodeError as raw_error:
            try:  # a mislabelled ordinary image (e.g. a JPEG named .dng) still decodes
                return _load_pillow(data, min_side)
            except DecodeError:
                raise raw_error from None
    except MemoryError:
        raise DecodeError("out of memory while decoding", permanent=False) from None


# --------------------------------------------------------------------------- EXIF

EXIF_KEYS = ("camera", "lens", "iso", "shutter", "aperture", "focal_length", "date_taken", "taken")


def _ratio(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if np.isfinite(f) else None


def _shutter_text(value) -> str | None:
    seconds = _ratio(value)
    if seconds is None or seconds <= 0:
        return None
    if seconds >= 1:
        return f"{seconds:g}s"
    frac = Fraction(seconds).limit_denominator(100000)
    return f"1/{round(1 / seconds)}" if frac.numerator != 1 else f"1/{frac.denominator}"


def _clean(text) -> str | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return None
    text = text.replace("\x00", "").strip()
    return text or None


def _date(text, offset) -> tuple[str | None, float | None]:
    text = _clean(text)
    if not text:
        return None, None
    try:
        dt = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None, None
    off = _clean(offset)
    if off and len(off) == 6 and off[0] in "+-":
        try:
            sign = 1 if off[0] == "+" else -1
            hours, minutes = int(off[1:3]), int(off[4:6])
            dt = dt.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
        except ValueError:
            pass
    return dt.isoformat(), dt.timestamp()  # naive -> interpreted as local time


def read_exif_summary(path: str | os.PathLike) -> dict:
    """Camera, lens, ISO, shutter, aperture, focal length and capture date of a photo.

    Always returns a dict with the keys of ``EXIF_KEYS`` (``None`` when
    unknown or unreadable): ``camera``/``lens``/``shutter`` (e.g. ``"1/250"``)/
    ``date_taken`` (ISO 8601) are strings, ``iso`` an int, ``aperture``
    (f-number), ``focal_length`` (mm) and ``taken`` (POSIX seconds with the EXIF
    sub-seconds: the one capture time of photocull, for sorting and bursts) floats.
    Reads TIFF-based RAW files (CR2, NEF, ARW, DNG...) too.
    """
    out: dict = dict.fromkeys(EXIF_KEYS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                exif = img.getexif()
                sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # noqa: BLE001 - EXIF is optional information, never an error
        return out
    T = ExifTags.Base
    make, model = _clean(exif.get(T.Make)), _clean(exif.get(T.Model))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        out["camera"] = model
    else:
        out["camera"] = " ".join(p for p in (make, model) if p) or None
    out["lens"] = _clean(sub.get(T.LensModel))
    iso = sub.get(T.ISOSpeedRatings)
    if isinstance(iso, (tuple, list)):
        iso = iso[0] if iso else None
    out["iso"] = int(iso) if isinstance(iso, (int, float)) and iso > 0 else None
    out["shutter"] = _shutter_text(sub.get(T.ExposureTime))
    aperture = _ratio(sub.get(T.FNumber))
    out["aperture"] = round(aperture, 1) if aperture else None
    focal = _ratio(sub.get(T.FocalLength))
    out["focal_length"] = round(focal, 1) if focal else None
    original = sub.get(T.DateTimeOriginal)
    out["date_taken"], out["taken"] = _date(original or exif.get(T.DateTime), sub.get(T.OffsetTimeOriginal))
    if out["taken"] is not None:  # sub-seconds keep a 10 fps burst in order
        digits = "".join(ch for ch in str(sub.get(T.SubsecTimeOriginal if original else T.SubsecTime) or "")
                         if ch.isdigit())
        out["taken"] += int(digits) / 10 ** len(digits) if digits else 0.0
    return out
