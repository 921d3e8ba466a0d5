"""Any photo size: huge photos decode at reduced size within bounded memory, bombs are refused, tiny
images are "too small to judge". The big files are generated in a child process and decoded in another,
which reports its own peak RSS (VmHWM), so the test process's memory does not count."""

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photocull.app.core import decode
from photocull.app.core.cache import Cache
from photocull.app.core.decode import DecodeError, load_image
from photocull.app.core.engine import score_folder

from fakes import FakeScorer, write_photo

SCORING_SIDE = 448  # what the engine asks for (reasons.ANALYSIS_SIDE, the model input)
RSS_LIMIT_MB = 1500

# Writes one big, flat (fast to encode) file: python -c MAKE KIND PATH
MAKE = r"""
import struct, sys, zlib
from PIL import Image
kind, path = sys.argv[1], sys.argv[2]
if kind == "jpeg":  # 150 MP medium format
    Image.new("RGB", (15000, 10000), (120, 140, 160)).save(path, quality=70)
elif kind == "heic":  # 200 MP phone HEIC, 1024-px grid tiles like a phone's, with a 1024-px thumbnail
    import pillow_heif
    pillow_heif.register_heif_opener()
    Image.new("RGB", (12240, 16320), (120, 140, 160)).save(
        path, "HEIF", quality=30, thumbnails=[1024], tile_size=1024, enc_params={"preset": "ultrafast"})
elif kind == "png":  # 400 MP (20000x20000) RGB: a gradient row, then every row 'Up'-filtered from it
    w = h = 20000
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    z = zlib.compressobj(6)
    first = b"\x00" + bytes((x * 255 // w) for x in range(w) for _ in range(3))
    up = b"\x02" + bytes(3 * w)
    idat = [z.compress(first)] + [z.compress(up) for _ in range(h - 1)] + [z.flush()]
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        fh.write(chunk(b"IDAT", b"".join(idat)) + chunk(b"IEND", b""))
"""

# Decodes it for scoring and reports size, seconds and peak RSS: python -c DECODE PATH MIN_SIDE
DECODE = r"""
import json, sys, time
from photocull.app.core.decode import load_image
t = time.perf_counter()
img = load_image(sys.argv[1], min_side=int(sys.argv[2]))
seconds = time.perf_counter() - t
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"size": img.size, "mode": img.mode, "seconds": seconds, "rss_mb": hwm / 1024,
                  "pixel": img.getpixel((img.width // 2, img.height // 2))}))
"""


def _child(script: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def big_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("big")


def _decode_big(big_dir: Path, kind: str, name: str) -> dict:
    path = big_dir / name
    _child(MAKE, kind, str(path))
    result = json.loads(_child(DECODE, str(path), str(SCORING_SIDE)))
    print(f"{name}: {path.stat().st_size} bytes, decoded to {result['size']} in {result['seconds']:.2f} s, "
          f"peak RSS {result['rss_mb']:.0f} MB")
    assert result["mode"] == "RGB"
    assert result["rss_mb"] < RSS_LIMIT_MB
    return result


@pytest.mark.slow
def test_150_megapixel_jpeg_is_decoded_at_a_dct_scale(big_dir):
    r = _decode_big(big_dir, "jpeg", "medium_format.jpg")
    assert r["size"] == [938, 625]  # 1/8 DCT scale (1875x1250), then box-reduced by 1250 // 448
    assert all(abs(a - b) <= 3 for a, b in zip(r["pixel"], (120, 140, 160)))


@pytest.mark.slow
def test_200_megapixel_heic_is_decoded_from_its_thumbnail(big_dir):
    r = _decode_big(big_dir, "heic", "phone.heic")
    assert r["size"] == [768, 1024]  # the embedded 1024-px thumbnail, not the 12240x16320 photo
    assert all(abs(a - b) <= 6 for a, b in zip(r["pixel"], (120, 140, 160)))


@pytest.mark.slow
def test_400_megapixel_png_is_streamed_in_reduced_strips(big_dir):
    r = _decode_big(big_dir, "png", "pixel_shift.png")
    assert r["size"] == [455, 455]  # box-reduced by 20000 // 448 = 44 (edge boxes rounded up)
    assert all(abs(a - 127) <= 2 for a in r["pixel"])  # the middle of the grey gradient


def _heic(path: Path, size, thumbnails) -> Path:
    Image.new("RGB", size, (120, 140, 160)).save(path, "HEIF", quality=30, thumbnails=thumbnails)
    return path


def test_heic_thumbnail_is_used_only_when_big_enough_or_the_photo_is_over_budget(tmp_path, monkeypatch):
    path = _heic(tmp_path / "p.heic", (640, 480), [128, 320])
    assert load_image(path, min_side=200).size == (320, 240)  # the smallest thumbnail big enough
    assert load_image(path, min_side=448).size == (640, 480)  # none is: the photo itself
    monkeypatch.setattr(decode, "DECODE_BUDGET", 640 * 480 * 6)  # the photo would need 7 bytes a pixel
    assert load_image(path, min_side=448).size == (320, 240)  # over budget: the largest thumbnail
    bare = _heic(tmp_path / "bare.heic", (640, 480), [])
    with pytest.raises(DecodeError, match=r"image too large: decoding 640×480 \(0 megapixels\) would need"):
        load_image(bare, min_side=448)


# -- the strip decoder against Pillow's own full decode (small images, the budget lowered)

def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _cases():
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (150, 230, 3), np.uint8)  # noise: Pillow picks every filter type
    rgb = Image.fromarray(noise)
    yield "rgb", rgb, {}
    yield "grey", rgb.convert("L"), {}
    yield "rgba", Image.fromarray(np.dstack([noise, noise[..., :1]]), "RGBA"), {}
    yield "la", rgb.convert("LA"), {}
    yield "palette4", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), {"bits": 4}
    yield "palette_alpha", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=64), {"transparency": 3}
    yield "bilevel", rgb.convert("1"), {}
    yield "grey16", Image.fromarray(rng.integers(0, 65536, (150, 230), np.uint16)), {}


@pytest.mark.parametrize("name,img,kw", list(_cases()), ids=[c[0] for c in _cases()])
@pytest.mark.parametrize("min_side", [None, 48])
def test_png_strips_match_the_full_decode(tmp_path, monkeypatch, name, img, kw, min_side):
    path = tmp_path / f"{name}.png"
    path.write_bytes(_png(img, **kw))
    expected = np.asarray(load_image(path, min_side=min_side), np.int16)
    monkeypatch.setattr(decode, "DECODE_BUDGET", 65_000)  # no mode fits (grey: 69 KB): strips
    monkeypatch.setattr(decode, "_STRIP_BYTES", 3000)  # a few rows per strip, so many strips
    calls = []
    real = decode._load_png_strips
    monkeypatch.setattr(decode, "_load_png_strips", lambda *a: calls.append(a) or real(*a))
    streamed = load_image(path, min_side=min_side)
    assert len(calls) == 1
    assert streamed.mode == "RGB"
    if min_side is None:  # a full decode over the budget is reduced until it fits
        assert streamed.width * streamed.height * 8 <= 65_000 // 2
        return
    assert streamed.size == (230 // 3 + 1, 50)
    diff = np.abs(np.asarray(streamed, np.int16) - expected)
    assert diff.max() <= (1 if name == "grey16" else 0)  # 16-bit: top byte vs. rounded scaling


def test_truncated_streamed_png_is_an_error(tmp_path, monkeypatch):
    data = _png(Image.fromarray(np.random.default_rng(3).integers(0, 256, (100, 100, 3), np.uint8)))
    (tmp_path / "cut.png").write_bytes(data[: len(data) * 2 // 3])
    monkeypatch.setattr(decode, "DECODE_BUDGET", 50_000)
    with pytest.raises(DecodeError, match="truncated PNG|corrupt PNG"):
        load_image(tmp_path / "cut.png", min_side=32)


# -- bombs

def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def test_tiny_png_claiming_huge_dimensions_is_refused(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                                       + _chunk(b"IDAT", zlib.compress(bytes(5000))) + _chunk(b"IEND", b""))
    for min_side in (None, SCORING_SIDE):
        with pytest.raises(DecodeError) as info:
            load_image(tmp_path / "bomb.png", min_side=min_side)
        assert info.value.reason.startswith("image too large: the header claims 100000×100000 pixels, more than")
        assert "PNG can hold" in info.value.reason and info.value.permanent


def test_tiny_jpeg_claiming_huge_dimensions_is_refused(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(DecodeError, match="image too large: the header claims 60000×60000 pixels") as info:
        load_image(tmp_path / "bomb.jpg", min_side=SCORING_SIDE)
    assert "JPEG can hold" in info.value.reason


def test_a_plausible_file_over_the_memory_budget_is_refused(tmp_path, monkeypatch):
    Image.new("RGB", (300, 200), (1, 2, 3)).save(tmp_path / "wide.tif")
    monkeypatch.setattr(decode, "DECODE_BUDGET", 100_000)
    with pytest.raises(DecodeError) as info:
        load_image(tmp_path / "wide.tif", min_side=64)
    assert info.value.reason == ("image too large: decoding 300×200 (0 megapixels) would need 480 KB, "
                                 "over the 100 KB memory budget")


def test_a_big_jpeg_for_the_loupe_is_decoded_at_the_scale_that_fits(tmp_path, monkeypatch):
    Image.new("RGB", (800, 600), (10, 20, 30)).save(tmp_path / "big.jpg")
    monkeypatch.setattr(decode, "DECODE_BUDGET", 800 * 600 * 8 // 3)  # the full decode needs 8 bytes a pixel
    assert load_image(tmp_path / "big.jpg").size == (400, 300)  # min_side None: 1/2, not refused


# -- too small to judge

def test_tiny_image_is_too_small_to_judge(tmp_path):
    write_photo(tmp_path / "meta.png", size=(8, 8))
    with pytest.raises(DecodeError) as info:
        load_image(tmp_path / "meta.png", min_side=SCORING_SIDE)
    assert info.value.reason == "too small to judge: 8×8 pixels (under 64 px on the short side)"
    assert info.value.permanent
    assert load_image(tmp_path / "meta.png").size == (8, 8)  # the loupe's full decode still shows it


def test_too_small_is_an_error_status_when_scoring(tmp_path):
    root = tmp_path / "photos"
    write_photo(root / "meta.jpg", size=(8, 8))
    write_photo(root / "photo.jpg", size=(96, 72))
    with Cache(tmp_path / "cache.sqlite3") as cache:
        results = {r.path.name: r for r in score_folder(root, FakeScorer(), cache, workers=1)}
    assert results["meta.jpg"].status == "error" and results["meta.jpg"].score is None
    assert results["meta.jpg"].error.startswith("too small to judge")
    assert results["photo.jpg"].status == "ok"
