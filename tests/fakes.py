"""Test helpers shared by the test modules: fake Scorers, the tiny ViT config, and tiny photo/DNG
writers. Fixtures built on them live in ``conftest.py``."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]  # the source checkout
DEMO = ROOT / "resources" / "demo"

# A transformers-style ViT small enough to build, train and export in well under a second.
TINY_VIT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                image_size=32, patch_size=8)


class FakeScorer:
    """A Scorer whose score is the mean brightness (0-100); counts what it was asked."""

    def __init__(self, image_size: int = 16, model_id: str = "fake-v1"):
        self.model_id = model_id
        self.image_size = image_size
        self.preprocessed = 0
        self.predicted = 0
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def preprocess(self, img: Image.Image) -> np.ndarray:
        with self._lock:
            self.preprocessed += 1
        arr = np.asarray(img.convert("RGB").resize((self.image_size, self.image_size)), np.float32) / 255.0
        return arr.transpose(2, 0, 1)

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        assert x.ndim == 4 and x.shape[1:] == (3, self.image_size, self.image_size)
        self.predicted += len(x)
        self.batches.append(len(x))
        return np.clip(x.mean(axis=(1, 2, 3)) * 100.0, 0, 100)


def shared_data() -> Path:
    """The shared training/evaluation data (clive/, pristine/): ``$PHOTOCULL_DATA`` or
    ``../shared/data``. Fails the test, naming ``PHOTOCULL_DATA``, when it is absent: the tests that
    check the model on real photos must not pass without them."""
    import pytest

    from photocull.model.paths import DataNotFoundError, data_dir

    try:
        return data_dir()
    except DataNotFoundError as e:
        pytest.fail(f"{e} (the tests on real photos need it)", pytrace=False)


def kodak() -> Path:
    """The Kodak24 pristine photos (kodim01.webp ... kodim24.webp)."""
    return shared_data() / "pristine" / "kodak24"


class LaplacianScorer:
    """A Scorer that measures sharpness: 0-100 from the mean absolute Laplacian of the grey image
    (sharp > blurred). Records the threads it predicted on; ``delay`` slows every batch."""

    image_size = 64

    def __init__(self, model_id: str = "sharp-v1", delay: float = 0.0, gain: float = 400.0):
        self.model_id = model_id
        self.delay = delay
        self.gain = gain
        self.threads: set[str] = set()

    def preprocess(self, img: Image.Image) -> np.ndarray:
        arr = np.asarray(img.convert("RGB").resize((self.image_size, self.image_size)), np.float32) / 255.0
        return arr.transpose(2, 0, 1)

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        g = x.mean(axis=1)
        lap = np.abs(4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:])
        return np.clip(lap.mean(axis=(1, 2)) * self.gain, 0, 100)


def write_photo(path: Path, grey: int = 128, size: tuple[int, int] = (96, 72), fmt: str | None = None) -> Path:
    """A flat-grey image (score ~ grey/2.55 with FakeScorer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (grey, grey, grey)).save(path, fmt)
    return path


MPF_FULL_HD = 0x010002  # "Large Thumbnail (Full HD Equivalent)"
MPF_UNDEFINED = 0x000000  # e.g. an HDR gain map (Ultra HDR) stored as a second MPF image


def add_mpf_preview(jpeg: bytes, preview: bytes, mp_type: int = MPF_FULL_HD) -> bytes:
    """``jpeg`` with ``preview`` (JPEG bytes) appended as a second MPF image, the layout many
    cameras write (CIPA DC-007): an APP2 "MPF" segment after the APPn segments of the photo, whose
    little-endian TIFF directory lists both images, and the preview after the photo's EOI. The
    photo's own bytes are unchanged."""
    pos = 2
    while jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:  # skip APP0..APP15
        pos += 2 + struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
    n = 3  # IFD entries: MPFVersion, NumberOfImages, MPEntry
    ifd_size = 2 + 12 * n + 4
    entries_at = 8 + ifd_size  # offset of the MP entries from the TIFF header
    tiff_len = entries_at + 32
    segment_len = 2 + 4 + tiff_len  # length field + "MPF\0" + TIFF data
    main_size = len(jpeg) + 2 + segment_len
    tiff_start = pos + 2 + 2 + 4  # marker, length, "MPF\0"
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", n)
    tiff += struct.pack("<HHI4s", 0xB000, 7, 4, b"0100")
    tiff += struct.pack("<HHII", 0xB001, 4, 1, 2)
    tiff += struct.pack("<HHII", 0xB002, 7, 32, entries_at) + struct.pack("<I", 0)
    tiff += struct.pack("<IIIHH", 0x20000000 | 0x030000, main_size, 0, 0, 0)  # representative, primary
    tiff += struct.pack("<IIIHH", mp_type, len(preview), main_size - tiff_start, 0, 0)
    segment = b"\xff\xe2" + struct.pack(">H", segment_len) + b"MPF\x00" + tiff
    return jpeg[:pos] + segment + jpeg[pos:] + preview


def write_dng(path: Path, preview: np.ndarray | bytes | None = None, orientation: int = 1,
              preview_size: tuple[int, int] = (0, 0)) -> Path:
    """A minimal valid DNG (12-bit RGGB CFA, identity colour matrix) that LibRaw opens.

    With ``preview`` IFD0 holds a preview and the CFA data is a SubIFD, as
    cameras write it: an (H,W,3) uint8 array is stored uncompressed; ``bytes``
    are a JPEG stream of ``preview_size`` (w, h), stored as a compression-7
    strip (tifffile cannot encode JPEG without imagecodecs, so the strip is
    written as bytes and its tags patched). ``orientation`` is the TIFF tag.
    """
    import struct

    import tifffile

    cfa = np.random.default_rng(0).integers(0, 4000, (64, 96)).astype(np.uint16)
    matrix: list[int] = []
    for v in (1, 0, 0, 0, 1, 0, 0, 0, 1):
        matrix += [v * 10000, 10000]
    dng_tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Photocull Test", True),  # UniqueCameraModel
        (50721, "2i", 9, tuple(matrix), True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1 = D65
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
        (274, "H", 1, orientation, True),
    ]
    raw_tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern RGGB
        (50717, "I", 1, 4095, True),  # WhiteLevel
    ]
    with tifffile.TiffWriter(path) as tw:
        if preview is None:
            tw.write(cfa, photometric=32803, extratags=dng_tags + raw_tags, metadata=None)
        else:
            if isinstance(preview, bytes):
                tw.write(np.frombuffer(preview, np.uint8).reshape(1, -1), photometric="minisblack",
                         subfiletype=1, subifds=1, extratags=dng_tags, metadata=None)
            else:
                tw.write(preview, photometric="rgb", subfiletype=1, subifds=1, extratags=dng_tags, metadata=None)
            tw.write(cfa, photometric=32803, subfiletype=0, extratags=raw_tags, metadata=None)
    if isinstance(preview, bytes):
        data = bytearray(Path(path).read_bytes())
        with tifffile.TiffFile(path) as tf:
            tags = tf.pages[0].tags
            # Compression = JPEG, Photometric = YCbCr, the preview's real width/height
            for code, value in ((259, 7), (262, 6), (256, preview_size[0]), (257, preview_size[1])):
                struct.pack_into("<H" if tags[code].dtype == 3 else "<I", data, tags[code].valueoffset, value)
        Path(path).write_bytes(bytes(data))
    return path


def crash_file_ops_after(monkeypatch, n: int):
    """A kill mid-move: ``photocull.app.core.journal``'s file operation number ``n + 1`` raises
    KeyboardInterrupt (the first ``n`` run for real). Returns the real operation, to put back."""
    from photocull.app.core import journal

    real, done = journal._move_noclobber, [0]

    def crash(src, dst):
        if done[0] == n:
            raise KeyboardInterrupt("killed")
        done[0] += 1
        real(src, dst)

    monkeypatch.setattr(journal, "_move_noclobber", crash)
    return real
