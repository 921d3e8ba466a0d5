import os
import threading

import pytest

from photocull.app.core import engine
from photocull.app.core.cache import Cache
from photocull.app.core.engine import ScoreResult, score_folder, score_items
from photocull.app.core.scan import scan_folder
from photocull.app.core.thumbs import make_thumbnail

from fakes import FakeScorer, write_photo


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    for i, grey in enumerate([0, 51, 102, 153, 204, 255]):
        write_photo(root / f"p{i}.jpg", grey=grey)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return root


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "cache.sqlite3") as c:
        yield c


def by_name(results):
    return {r.path.name: r for r in results}


def test_scores_errors_and_batches(folder, cache):
    scorer = FakeScorer()
    results = list(score_folder(folder, scorer, cache, batch_size=4, workers=2))
    assert len(results) == 7
    r = by_name(results)
    assert r["p0.jpg"] == ScoreResult(folder / "p0.jpg", pytest.approx(0, abs=1), "ok", "", False)
    assert r["p5.jpg"].score == pytest.approx(100, abs=1)
    assert r["p2.jpg"].score == pytest.approx(40, abs=1)
    assert r["broken.png"].status == "error" and r["broken.png"].score is None and r["broken.png"].error
    assert scorer.batches == [3, 3]  # 7 items in batches of 4, broken.png never reaches the model


def test_cache_hit_scores_nothing_and_change_invalidates(folder, cache):
    first = list(score_folder(folder, FakeScorer(), cache))
    scorer = FakeScorer()
    second = list(score_folder(folder, scorer, cache))
    assert scorer.preprocessed == 0 and scorer.predicted == 0
    assert all(r.cached for r in second)
    assert {(r.path, r.score, r.status, r.error) for r in second} == {(r.path, r.score, r.status, r.error)
                                                                       for r in first}
    write_photo(folder / "p0.jpg", grey=255)  # rewritten: new size/mtime
    os.utime(folder / "p0.jpg", ns=(1, 1))
    scorer = FakeScorer()
    third = by_name(score_folder(folder, scorer, cache))
    assert scorer.predicted == 1 and not third["p0.jpg"].cached
    assert third["p0.jpg"].score == pytest.approx(100, abs=1)
    assert third["p1.jpg"].cached
    other_model = FakeScorer(model_id="fake-v2")
    list(score_folder(folder, other_model, cache))
    assert other_model.predicted == 6


def test_cached_hits_come_first_and_use_cache_false(folder, cache):
    list(score_items(scan_folder(folder)[:3], FakeScorer(), cache))
    results = list(score_folder(folder, FakeScorer(), cache))
    assert [r.cached for r in results] == [True] * 3 + [False] * 4
    scorer = FakeScorer()
    assert not any(r.cached for r in score_folder(folder, scorer, cache, use_cache=False))
    assert scorer.predicted == 6
    scorer = FakeScorer()
    list(score_folder(folder, scorer, None))
    assert scorer.predicted == 6


def test_transient_errors_are_not_cached(folder, cache):
    items = scan_folder(folder)
    (folder / "p1.jpg").unlink()  # deleted between scan and scoring
    r = by_name(score_items(items, FakeScorer(), cache))
    assert r["p1.jpg"].status == "error" and "not found" in r["p1.jpg"].error
    write_photo(folder / "p1.jpg", grey=51)
    assert not by_name(score_folder(folder, FakeScorer(), cache))["p1.jpg"].cached
    assert by_name(score_folder(folder, FakeScorer(), cache))["broken.png"].cached  # content error cached


def test_file_rewritten_while_read(folder, cache, monkeypatch):
    real = engine.load_image

    def load_and_touch(path, min_side=None):
        img = real(path, min_side=min_side)
        if path.name == "p3.jpg":
            write_photo(path, grey=10, size=(100, 70))
        return img

    monkeypatch.setattr(engine, "load_image", load_and_touch)
    r = by_name(score_folder(folder, FakeScorer(), cache, workers=1))
    assert r["p3.jpg"].status == "error" and "changed" in r["p3.jpg"].error
    assert r["p2.jpg"].status == "ok"


def test_stop_midway_shuts_the_pool_down(tmp_path, cache):
    root = tmp_path / "many"
    for i in range(40):
        write_photo(root / f"{i:02d}.png", grey=i * 5, size=(64, 64))
    scorer = FakeScorer()
    before = {t.ident for t in threading.enumerate()}
    gen = score_folder(root, scorer, cache, batch_size=4, workers=2)
    got = [next(gen) for _ in range(5)]  # into the second batch
    gen.close()
    assert len(got) == 5 and scorer.predicted == 8
    assert scorer.preprocessed <= 16  # at most the batch being prefetched, not all 40
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("photocull")]
    assert leftover == []
    # what was scored before stopping is cached: a new run only scores the rest
    scorer2 = FakeScorer()
    results = list(score_folder(root, scorer2, cache, batch_size=4))
    assert sum(r.cached for r in results) == 8 and scorer2.predicted == 32


def test_thumbnail_is_small_jpeg_and_cached(tmp_path, cache):
    from io import BytesIO

    from PIL import Image

    p = write_photo(tmp_path / "big.jpg", grey=90, size=(1200, 800))
    data = make_thumbnail(p, size=256, cache=cache)
    thumb = Image.open(BytesIO(data))
    assert thumb.format == "JPEG" and thumb.size == (256, 171)
    st = p.stat()
    assert cache.get_thumbnail(p, st.st_size, st.st_mtime_ns, 256) == data
    p.write_bytes(b"")  # a cached thumbnail is served without decoding only while the file is unchanged
    with pytest.raises(Exception, match="empty file"):
        make_thumbnail(p, size=256, cache=cache)


def test_score_items_caches_thumbnails_from_the_same_decode(tmp_path, cache, monkeypatch):
    root = tmp_path / "photos"
    for i in range(3):
        write_photo(root / f"p{i}.jpg", grey=60 * i, size=(1200, 800))
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    decodes = []
    real_load = engine.load_image
    monkeypatch.setattr(engine, "load_image", lambda *a, **kw: decodes.append(a[0]) or real_load(*a, **kw))
    results = list(score_folder(root, FakeScorer(), cache, batch_size=2, thumb_size=256))
    assert sorted(r.status for r in results) == ["error", "ok", "ok", "ok"]
    assert len(decodes) == 4  # one decode per photo, thumbnails included
    for i in range(3):
        p = root / f"p{i}.jpg"
        st = p.stat()
        stored = cache.get_thumbnail(p, st.st_size, st.st_mtime_ns, 256)
        # byte-identical to what the viewer's make_thumbnail would have produced by decoding again
        assert stored is not None and stored == make_thumbnail(p, size=256)
    st = (root / "broken.png").stat()
    assert cache.get_thumbnail(root / "broken.png", st.st_size, st.st_mtime_ns, 256) is None
    # without a cache the option does nothing (and nothing fails)
    assert len(list(score_folder(root, FakeScorer(), None, thumb_size=256))) == 4


def textured_folder(root, n=5):
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(n):  # large enough for a reduced (draft) decode; blurred differently each
        img = Image.fromarray(rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(i))
        img.save(root / f"t{i}.jpg", quality=90)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    return root


def test_scoring_decode_also_caches_the_analysis(tmp_path, cache, monkeypatch):
    from photocull.app.core import analysis

    folder = textured_folder(tmp_path / "t")
    items = scan_folder(folder)
    standalone = {a.path: a for a in analysis.analyze_items(items)}  # no cache: its own decodes
    results = list(score_items(items, FakeScorer(), cache, analyze=True))
    assert sum(r.status == "ok" for r in results) == 5

    def no_decode(*a, **k):
        raise AssertionError("analysis decoded a photo the scoring decode had analysed")

    monkeypatch.setattr(analysis, "load_image", no_decode)
    got = {a.path: a for a in analysis.analyze_items([it for it in items if it.path.stem != "broken"], cache)}
    assert len(got) == 5 and all(a.cached for a in got.values())
    for path, a in got.items():  # same decode size, same numbers as analysing on its own
        assert (a.indicators, a.hash, a.taken) == (standalone[path].indicators, standalone[path].hash,
                                                   standalone[path].taken)
    assert got[folder / "t0.jpg"].indicators["blur"] < got[folder / "t4.jpg"].indicators["blur"]


def test_photos_already_analysed_are_not_analysed_again(tmp_path, cache, monkeypatch):
    folder = textured_folder(tmp_path / "t", n=3)
    items = scan_folder(folder)
    list(score_items(items, FakeScorer(), cache, analyze=True))
    calls = []
    real = engine.analyze_image
    monkeypatch.setattr(engine, "analyze_image", lambda item, img, exif=None: calls.append(item.path) or real(item, img, exif))
    list(score_items(items, FakeScorer(model_id="fake-v2"), cache, analyze=True))  # rescored: new model
    assert calls == []
    write_photo(folder / "t1.jpg", grey=90)  # changed file: analysed again
    list(score_items(scan_folder(folder), FakeScorer(model_id="fake-v3"), cache, analyze=True))
    assert calls == [folder / "t1.jpg"]
    assert list(score_items(items, FakeScorer(), None, analyze=True))  # no cache: nothing to store, still scores


@pytest.mark.parametrize("cores,expected", [(1, 2), (3, 3), (8, 8), (64, 16)])
def test_default_workers_is_one_decode_thread_per_core_from_2_to_16(monkeypatch, cores, expected):
    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert engine.default_workers() == expected
    monkeypatch.delattr(engine.os, "sched_getaffinity")  # not on Linux: the core count
    monkeypatch.setattr(engine.os, "cpu_count", lambda: cores)
    assert engine.default_workers() == expected


def test_score_items_decodes_on_default_workers_threads_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    barrier = threading.Barrier(3, timeout=10)  # breaks unless 3 photos are decoded at the same time

    class Together(FakeScorer):
        def preprocess(self, img):
            barrier.wait()
            return super().preprocess(img)

    for i in range(6):
        write_photo(tmp_path / f"p{i}.jpg", grey=40 * i)
    results = list(score_items(scan_folder(tmp_path), Together(), batch_size=6))
    assert [r.status for r in results] == ["ok"] * 6, [r.error for r in results]


def test_the_default_cpu_model_scores_in_the_pipeline_as_on_its_own(tmp_path, kodak):
    """The embedded model on the CPU (its int8 file when shipped), through the engine's threads and
    batches: the same scores as preprocessing its decodes and scoring them in one batch."""
    import numpy as np

    from photocull.app.core.decode import load_image
    from photocull.model import load_scorer

    for p in sorted(kodak.glob("*.webp"))[:6]:
        load_image(p).save(tmp_path / f"{p.stem}.jpg", quality=90)
    scorer = load_scorer(device="cpu")
    items = scan_folder(tmp_path)
    got = {r.path: r.score for r in score_items(items, scorer, None, batch_size=4, workers=3)}
    side = engine.decode_side(scorer)
    x = np.stack([scorer.preprocess(load_image(it.path, min_side=side)) for it in items])
    expected = scorer.predict_batch(x)
    assert [got[it.path] for it in items] == pytest.approx(expected.tolist(), abs=1e-4)
    assert np.ptp(expected) > 1.0  # photos the model tells apart


def test_inference_starts_on_the_first_decoded_chunk_of_a_batch(tmp_path):
    """With an ``inference_chunk``, a batch's first photos are scored while its last one is still
    being decoded (the cores never wait for a whole batch), in chunks, with the same scores."""
    greys = [10, 60, 110, 160, 210, 250]
    for i, grey in enumerate(greys):
        write_photo(tmp_path / f"p{i}.jpg", grey=grey)

    class Chunked(FakeScorer):
        inference_chunk = 2

        def __init__(self):
            super().__init__()
            self.scored_once = threading.Event()
            self.last_waited = []

        def preprocess(self, img):
            if img.getpixel((0, 0))[0] > 240:  # the last photo: its decode ends after a first inference
                self.last_waited.append(self.scored_once.wait(timeout=60))
            return super().preprocess(img)

        def predict_batch(self, x):
            self.scored_once.set()
            return super().predict_batch(x)

    scorer = Chunked()
    results = list(score_items(scan_folder(tmp_path), scorer, None, batch_size=6, workers=2))
    assert scorer.last_waited == [True]  # not a timeout: inference did not wait for the whole batch
    assert scorer.batches == [2, 2, 2]
    plain = {r.path: r.score for r in score_items(scan_folder(tmp_path), FakeScorer(), None, batch_size=6)}
    assert {r.path: r.score for r in results} == plain


def test_inference_chunk_of_the_real_scorers(tmp_path):
    from photocull.model import create_model
    from photocull.model.onnx_backend import OnnxScorer, export_onnx
    from photocull.model.scoring import CPU_CHUNK

    m = create_model(pretrained=False, image_size=32, hidden=(8, 8)).eval()
    assert m.inference_chunk == CPU_CHUNK
    assert OnnxScorer(export_onnx(m, tmp_path / "m" / "model.onnx"), "cpu").inference_chunk == CPU_CHUNK
    assert engine.inference_chunk(FakeScorer(), 16) == 16  # no chunk: the whole batch (a GPU's way)
    assert engine.inference_chunk(m, 3) == 3
