import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from photocull.app.core.analysis import Analysis, cached_analyses, store_analyses
from photocull.app.core.cache import Cache, CachedScore, default_cache_path, path_key
from photocull.app.core.decisions import Decision
from photocull.app.core.scan import PhotoItem


@pytest.fixture
def cache(tmp_path):
    with Cache(tmp_path / "c.sqlite3") as c:
        yield c


@pytest.mark.parametrize("form", ["a/b.jpg", "./a/b.jpg", "a/../a/b.jpg", "a//b.jpg", "a/./b.jpg", "x/../a/b.jpg"])
def test_path_key_is_the_absolute_normalised_path_whatever_its_form(tmp_path, monkeypatch, form):
    monkeypatch.chdir(tmp_path)
    expected = os.fsencode(os.path.join(str(tmp_path), "a", "b.jpg"))
    for p in (form, Path(form), tmp_path / form, f"{tmp_path}/{form}", Path(f"{tmp_path}/{form}")):
        assert path_key(p) == expected, p


def test_default_location_and_wal(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOCULL_CACHE_DIR", str(tmp_path / "cachedir"))
    assert default_cache_path() == tmp_path / "cachedir" / "cache.sqlite3"
    with Cache() as c:
        assert c.path.exists()
    conn = sqlite3.connect(tmp_path / "cachedir" / "cache.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_scores_keyed_by_size_mtime_and_model(cache, tmp_path):
    p = tmp_path / "a.jpg"
    cache.put_scores([(p, 10, 111, 55.5, ""), (tmp_path / "bad.jpg", 3, 5, None, "truncated JPEG")], "m1")
    assert cache.get_score(p, 10, 111, "m1") == CachedScore(55.5, "")
    assert cache.get_score(p, 11, 111, "m1") is None  # size changed
    assert cache.get_score(p, 10, 112, "m1") is None  # mtime changed
    assert cache.get_score(p, 10, 111, "m2") is None  # other model
    assert cache.get_score(tmp_path / "bad.jpg", 3, 5, "m1") == CachedScore(None, "truncated JPEG")
    cache.put_scores([(p, 11, 222, 60.0, "")], "m1")  # the file changed and was rescored
    assert cache.get_score(p, 10, 111, "m1") is None
    assert cache.get_scores([(p, 11, 222), (tmp_path / "x.jpg", 1, 1)], "m1") == {p: CachedScore(60.0, "")}


def test_scores_persist_and_non_utf8_paths(tmp_path):
    weird = Path(tmp_path / "caf\udce9.jpg")  # surrogate-escaped non-UTF-8 byte
    with Cache(tmp_path / "c.sqlite3") as c:
        c.put_scores([(weird, 1, 2, 42.0, "")], "m")
    with Cache(tmp_path / "c.sqlite3") as c:
        assert c.get_score(weird, 1, 2, "m") == CachedScore(42.0, "")


def test_decisions(cache, tmp_path):
    p = tmp_path / "a.jpg"
    assert cache.get_decision(p) == Decision()
    assert cache.set_decision(p, flag="pick") == Decision("pick", 0, None)
    assert cache.set_decision(p, stars=4, label="Red") == Decision("pick", 4, "Red")
    assert cache.set_decision(p, label=None) == Decision("pick", 4, None)
    cache.set_decisions({tmp_path / "b.jpg": Decision("reject", 1, "Blue")})
    assert cache.all_decisions() == {p: Decision("pick", 4, None), tmp_path / "b.jpg": Decision("reject", 1, "Blue")}
    cache.set_decision(p, flag="none", stars=0)  # cleared: kept as "seen, undecided"
    assert cache.get_decisions([p, tmp_path / "b.jpg"]) == {p: Decision(), tmp_path / "b.jpg": Decision("reject", 1, "Blue")}
    assert cache.get_decisions([tmp_path / "never.jpg"]) == {}
    with pytest.raises(ValueError):
        cache.set_decision(p, flag="maybe")


def test_thumbnails_and_exif(cache, tmp_path):
    p = tmp_path / "a.jpg"
    cache.put_thumbnail(p, 10, 20, 256, b"\xff\xd8jpeg")
    cache.put_exifs([(p, 10, 20, {"camera": "X", "iso": 100}), (tmp_path / "b.jpg", 5, 6, {"taken": 1.5})])
    assert cache.get_thumbnail(p, 10, 20, 256) == b"\xff\xd8jpeg"
    assert cache.get_thumbnail(p, 10, 21, 256) is None and cache.get_thumbnail(p, 10, 20, 128) is None
    assert cache.get_exifs([(p, 10, 20), (tmp_path / "b.jpg", 5, 6), (tmp_path / "c.jpg", 1, 2)]) == {
        p: {"camera": "X", "iso": 100}, tmp_path / "b.jpg": {"taken": 1.5}}
    assert cache.get_exifs([(p, 9, 20), (str(tmp_path / "b.jpg"), 5, 7)]) == {}  # changed files: stale


def test_analyses_keyed_by_size_mtime_and_version_in_chunks(cache, tmp_path):
    photos = [tmp_path / f"{i}.jpg" for i in range(1203)]  # more than one "IN (...)" chunk
    cache.put_analyses([(p, i, 7, {"hash": i}) for i, p in enumerate(photos)], "v1")
    got = cache.get_analyses([(p, i, 7) for i, p in enumerate(photos)], "v1")
    assert len(got) == len(photos) and got[photos[1202]] == {"hash": 1202}
    assert cache.get_analyses([(photos[3], 3, 8), (photos[4], 5, 7)], "v1") == {}  # changed files: stale
    assert cache.get_analyses([(photos[3], 3, 7)], "v2") == {}  # another analysis version
    cache.put_analyses([], "v1")  # nothing to store: no transaction


def test_a_move_carries_every_table(cache, tmp_path):
    p, q = tmp_path / "a.jpg", tmp_path / "Keep" / "a.jpg"
    cache.put_scores([(p, 10, 20, 70.0, "")], "m")
    cache.set_decision(p, flag="pick", stars=3)
    cache.put_thumbnail(p, 10, 20, 256, b"\xff\xd8jpeg")
    cache.put_exifs([(p, 10, 20, {"taken": 1.5})])
    cache.put_analyses([(p, 10, 20, {"hash": 42})], "v1")
    cache.put_analyses([(q, 1, 2, {"hash": 0})], "v1")  # a stale entry at the destination is replaced
    cache.move_path(p, q)
    assert cache.get_score(q, 10, 20, "m") == CachedScore(70.0, "")
    assert cache.get_decision(q) == Decision("pick", 3, None)
    assert cache.get_thumbnail(q, 10, 20, 256) == b"\xff\xd8jpeg"
    assert cache.get_exifs([(q, 10, 20)]) == {q: {"taken": 1.5}}
    assert cache.get_analyses([(q, 10, 20)], "v1") == {q: {"hash": 42}}
    assert cache.get_score(p, 10, 20, "m") is None and cache.get_decisions([p]) == {}
    assert cache.get_thumbnail(p, 10, 20, 256) is None and cache.get_exifs([(p, 10, 20)]) == {}
    assert cache.get_analyses([(p, 10, 20)], "v1") == {}


def test_reads_work_on_a_read_only_connection(tmp_path):
    """Reading never writes (no schema creation on a read path): every getter works on a
    connection SQLite opened read-only."""
    path, p = tmp_path / "c.sqlite3", tmp_path / "a.jpg"
    item = PhotoItem(tmp_path / "b.jpg", size=10, mtime_ns=20)
    with Cache(path) as c:
        c.put_analyses([(p, 10, 20, {"hash": 42})], "v1")
        store_analyses(c, [(item, Analysis(item.path, {"blur": 0.5}, 7, 1.5))])
        c.put_exifs([(p, 10, 20, {"taken": 1.5})])
        c.put_scores([(p, 10, 20, 70.0, "")], "m")
        c.set_decision(p, flag="pick")
    with Cache(path) as c:
        c._conn.close()
        c._conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False,
                                  isolation_level=None)
        assert c.get_analyses([(p, 10, 20)], "v1") == {p: {"hash": 42}}
        assert cached_analyses(c, [item]) == {item.path: Analysis(item.path, {"blur": 0.5}, 7, 1.5, cached=True)}
        assert c.get_exifs([(p, 10, 20)]) == {p: {"taken": 1.5}}
        assert c.get_score(p, 10, 20, "m") == CachedScore(70.0, "") and c.get_decision(p).flag == "pick"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # the connection is read-only
            c.put_analyses([(p, 10, 20, {"hash": 1})], "v1")


def test_corrupt_cache_is_moved_aside_and_rebuilt(tmp_path, caplog):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="photocull.app.core.cache"):
        with Cache(path) as c:
            c.put_scores([(tmp_path / "a.jpg", 1, 1, 1.0, "")], "m")
            assert c.get_score(tmp_path / "a.jpg", 1, 1, "m") is not None
    aside = list(tmp_path.glob("cache.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "unusable" in caplog.text


def test_damaged_pages_fail_the_check(tmp_path):
    path = tmp_path / "cache.sqlite3"
    with Cache(path) as c:
        c.put_scores([(tmp_path / f"{i}.jpg", i, i, float(i), "x" * 200) for i in range(300)], "m")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(2 * page, len(data) - page, page):  # scribble over every page but the header
        data[off + 8: off + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))
    with Cache(path) as c:
        assert c.get_score(tmp_path / "1.jpg", 1, 1, "m") is None  # fresh, empty cache
    assert list(tmp_path.glob("cache.sqlite3.corrupt-*"))


def test_thread_safety(cache, tmp_path):
    errors = []

    def work(t):
        try:
            for i in range(50):
                p = tmp_path / f"{t}-{i}.jpg"
                cache.put_scores([(p, i, i, float(i), "")], "m")
                assert cache.get_score(p, i, i, "m").score == float(i)
                cache.set_decision(p, stars=i % 6)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(cache.all_decisions()) == 4 * 50 - 4 * 9  # stars 0 on 9 of 50 per thread: undecided
