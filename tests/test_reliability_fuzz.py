"""Property tests of the decode path: any bytes give an RGB image or a DecodeError, never anything
else, never a hang. Bounded (examples, per-example alarm) so the file runs in well under 30 s."""

import io
import os
import signal
import tempfile
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from photocull.app.core.decode import DecodeError, load_image

HANG_S = 10  # one tiny file must never take this long


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    out = {}
    for fmt, ext, kw in (("JPEG", ".jpg", {"quality": 80}), ("PNG", ".png", {}), ("GIF", ".gif", {}),
                         ("WEBP", ".webp", {"lossless": True}), ("TIFF", ".tif", {})):
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        out[ext] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)  # EXIF orientation: the exif_transpose path gets fuzzed too
    out[".exif.jpg"] = buf.getvalue()
    return out


SEEDS = _seeds()


@contextmanager
def alarm(seconds: int):
    def on_alarm(signum, frame):
        raise TimeoutError(f"decode took more than {seconds} s (hang?)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def check_decode(data: bytes, ext: str, min_side) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x" + ext)
        with open(path, "wb") as fh:
            fh.write(data)
        with alarm(HANG_S):
            try:
                img = load_image(path, min_side=min_side)
            except DecodeError as exc:
                assert exc.reason and isinstance(exc.reason, str)
                return
        assert isinstance(img, Image.Image) and img.mode == "RGB" and min(img.size) >= 1
        img.tobytes()  # fully decoded, usable pixels


@st.composite
def mutated(draw):
    ext = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[ext])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 32))]
    return ext.replace(".exif", ""), bytes(data)


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=2048), ext=st.sampled_from([".jpg", ".png", ".tif", ".dng", ".heic"]),
       min_side=st.sampled_from([None, 16]))
def test_random_bytes_decode_or_decode_error(data, ext, min_side):
    check_decode(data, ext, min_side)


@FUZZ
@given(case=mutated(), min_side=st.sampled_from([None, 8]))
def test_mutated_valid_images_decode_or_decode_error(case, min_side):
    ext, data = case
    check_decode(data, ext, min_side)


@pytest.mark.parametrize("ext", sorted(SEEDS))
def test_seeds_themselves_decode(ext):
    """The mutation seeds are valid images: the fuzz starts from files that decode."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x" + ext.replace(".exif", ""))
        with open(path, "wb") as fh:
            fh.write(SEEDS[ext])
        assert load_image(path).mode == "RGB"
