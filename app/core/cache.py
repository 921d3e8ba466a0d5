"""Persistent SQLite cache: scores, decisions, thumbnails, EXIF summaries and analyses.

Location: ``$PHOTOCULL_CACHE_DIR/cache.sqlite3``, else platformdirs'
``user_cache_dir("photocull")/cache.sqlite3``; ``Cache(path)`` overrides it.

* WAL mode, ``busy_timeout`` (a CLI and a GUI may share the file), one
  connection guarded by a lock (thread-safe; SQLite calls are short).
* Photos are keyed by their absolute path as the exact OS bytes
  (``os.fsencode``), so names that are not valid UTF-8 work.
* Scores are valid for ``(path, size, mtime_ns, model_id)``: a file whose size
  or mtime changed is a miss (and is rescored). Only the latest entry per
  ``(path, model_id)`` is kept. Failures are cached with their reason.
* Thumbnails are keyed like scores minus the model (plus the thumbnail size);
  EXIF summaries likewise; analyses (:mod:`photocull.app.core.analysis`, stored as
  JSON) also by the analysis version. Decisions are per path (independent of the content).
* Every table is created once at open, and :meth:`Cache.move_path` carries all of
  them; reads never write.
* At open, ``PRAGMA quick_check`` runs; a file that is not a database or
  fails the check is renamed ``<name>.corrupt-<timestamp>`` (kept, not
  deleted: it may hold decisions) and a fresh cache is created, with a logged
  warning.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from photocull.app.core.decisions import UNFLAGGED, Decision
from photocull.app.core.paths import as_path

__all__ = ["Cache", "CachedScore", "default_cache_path", "path_key"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    path BLOB NOT NULL, model_id TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    score REAL, error TEXT NOT NULL DEFAULT '', updated REAL NOT NULL,
    PRIMARY KEY (path, model_id));
CREATE TABLE IF NOT EXISTS decisions (
    path BLOB PRIMARY KEY,
    flag TEXT NOT NULL DEFAULT 'none' CHECK (flag IN ('pick', 'reject', 'none')),
    stars INTEGER NOT NULL DEFAULT 0 CHECK (stars BETWEEN 0 AND 5),
    label TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS thumbnails (
    path BLOB NOT NULL, thumb_size INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    jpeg BLOB NOT NULL, PRIMARY KEY (path, thumb_size));
CREATE TABLE IF NOT EXISTS exif (
    path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS analysis (
    path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    version TEXT NOT NULL, data TEXT NOT NULL);
"""
_TABLES = ("scores", "decisions", "thumbnails", "exif", "analysis")
_CHUNK = 500  # keys per "IN (...)" query (well under SQLite's variable limit)


def default_cache_path() -> Path:
    env = os.environ.get("PHOTOCULL_CACHE_DIR")
    if env:
        return Path(env) / "cache.sqlite3"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photocull")) / "cache.sqlite3"


def path_key(path: str | os.PathLike) -> bytes:
    """The cache key of a photo: its absolute path as OS bytes."""
    return os.fsencode(os.path.abspath(os.fspath(path)))


@dataclass(frozen=True)
class CachedScore:
    score: float | None
    error: str


class Cache:
    """See the module docstring. Usable as a context manager; :meth:`close` when done."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._conn = self._connect_checked()
        except sqlite3.OperationalError:  # locked, read-only, unopenable: not corruption
            raise
        except sqlite3.DatabaseError as exc:  # not a database / malformed / failed check
            self._move_aside(exc)
            self._conn = self._connect_checked()

    # ----------------------------------------------------------- setup
    def _connect_checked(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if [r[0] for r in rows] != ["ok"]:
                raise sqlite3.DatabaseError("quick_check: " + "; ".join(str(r[0]) for r in rows[:3]))
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"unknown cache schema version {row[0]}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):  # stale journals must not be applied to the new file
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        log.warning("photocull cache %s is unusable (%s); moved it to %s and started a new one",
                    self.path, exc, target.name)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (all or nothing)."""
        with self._lock:
            if self._conn is None:
                raise RuntimeError("cache is closed")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("cache is closed")
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _rows_for(self, select: str, keys: list[bytes], params: Iterable = ()) -> Iterator[tuple]:
        """Rows of ``select`` (ending in ``WHERE ... AND`` or ``WHERE``) for the path ``keys``:
        the ``path IN (...)`` test is added, ``_CHUNK`` keys per query."""
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            yield from self._query(f"{select} path IN ({','.join('?' * len(chunk))})", [*params, *chunk])

    def _fresh(self, select: str, entries: Iterable[tuple[str | os.PathLike, int, int]],
               params: Iterable = ()) -> Iterator[tuple[Path, list]]:
        """``(path, values)`` of the rows ``select`` finds (:meth:`_rows_for`; it yields
        ``path, size, mtime_ns, *values``) for ``(path, size, mtime_ns)`` entries whose file is unchanged."""
        wanted = {path_key(p): (as_path(p), size, mtime) for p, size, mtime in entries}
        for key, size, mtime, *values in self._rows_for(select, list(wanted), params):
            path, want_size, want_mtime = wanted[key]
            if size == want_size and mtime == want_mtime:
                yield path, values

    # ----------------------------------------------------------- scores
    def get_scores(self, entries: Iterable[tuple[str | os.PathLike, int, int]],
                   model_id: str) -> dict[Path, CachedScore]:
        """Valid cached scores of ``(path, size, mtime_ns)`` entries; misses are absent."""
        return {path: CachedScore(*values) for path, values in self._fresh(
            "SELECT path, size, mtime_ns, score, error FROM scores WHERE model_id = ? AND", entries, [model_id])}

    def get_score(self, path: str | os.PathLike, size: int, mtime_ns: int, model_id: str) -> CachedScore | None:
        return self.get_scores([(path, size, mtime_ns)], model_id).get(as_path(path))

    def put_scores(self, rows: Iterable[tuple[str | os.PathLike, int, int, float | None, str]],
                   model_id: str) -> None:
        """Store ``(path, size, mtime_ns, score|None, error)`` rows in one transaction."""
        now = time.time()
        data = [(path_key(p), model_id, size, mtime, None if score is None else float(score), error or "", now)
                for p, size, mtime, score, error in rows]
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?)", data)

    # ----------------------------------------------------------- decisions
    def get_decisions(self, paths: Iterable[str | os.PathLike]) -> dict[Path, Decision]:
        """Stored decisions of ``paths`` (paths without one are absent)."""
        wanted = {path_key(p): as_path(p) for p in paths}
        return {wanted[key]: Decision(flag, stars, label) for key, flag, stars, label
                in self._rows_for("SELECT path, flag, stars, label FROM decisions WHERE", list(wanted))}

    def undecided_since(self, paths: Iterable[str | os.PathLike]) -> dict[Path, float]:
        """For the ``paths`` stored as undecided (the default Decision), when that was stored."""
        wanted = {path_key(p): as_path(p) for p in paths}
        return {wanted[key]: updated for key, updated in self._rows_for(
            "SELECT path, updated FROM decisions WHERE flag = 'none' AND stars = 0 AND label IS NULL AND",
            list(wanted))}

    def get_decision(self, path: str | os.PathLike) -> Decision:
        """The decision of ``path``, or the default (unflagged, 0 stars, no label)."""
        return self.get_decisions([path]).get(Path(path), Decision())

    def set_decisions(self, decisions: dict[str | os.PathLike, Decision]) -> None:
        """Store several decisions in one transaction. A default Decision is stored too: it
        records that the photo was seen and left undecided (or cleared by the photographer), so
        a rating in its XMP is not read in again over their choice (``xmp.import_decisions``)."""
        now = time.time()
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?)",
                             [(path_key(p), d.flag, int(d.stars), d.label, now) for p, d in decisions.items()])

    def set_decision(self, path: str | os.PathLike, flag: str | None = None, stars: int | None = None,
                     label: object = ...) -> Decision:
        """Change some fields of a decision (``None``/``...`` = keep); returns the new decision.

        ``label`` is a colour name or ``None`` to clear it; leave it out to keep the old one.
        """
        with self._lock:
            old = self.get_decision(path)
            new = Decision(old.flag if flag is None else flag,
                           old.stars if stars is None else stars,
                           old.label if label is ... else label)
            self.set_decisions({path: new})
        return new

    def all_decisions(self) -> dict[Path, Decision]:
        rows = self._query("SELECT path, flag, stars, label FROM decisions WHERE flag != ? OR stars != 0 "
                           "OR label IS NOT NULL", [UNFLAGGED])
        return {Path(os.fsdecode(k)): Decision(f, s, lb) for k, f, s, lb in rows}

    # ----------------------------------------------------------- thumbnails / EXIF / analyses
    def get_thumbnail(self, path: str | os.PathLike, size: int, mtime_ns: int, thumb_size: int) -> bytes | None:
        rows = self._query("SELECT jpeg FROM thumbnails WHERE path = ? AND thumb_size = ? AND size = ? "
                           "AND mtime_ns = ?", [path_key(path), thumb_size, size, mtime_ns])
        return rows[0][0] if rows else None

    def put_thumbnail(self, path: str | os.PathLike, size: int, mtime_ns: int, thumb_size: int,
                      jpeg: bytes) -> None:
        self.put_thumbnails([(path, size, mtime_ns, thumb_size, jpeg)])

    def put_thumbnails(self, rows: Iterable[tuple[str | os.PathLike, int, int, int, bytes]]) -> None:
        """Store ``(path, size, mtime_ns, thumb_size, jpeg)`` rows in one transaction."""
        data = [(path_key(p), thumb_size, size, mtime, sqlite3.Binary(jpeg))
                for p, size, mtime, thumb_size, jpeg in rows]
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO thumbnails VALUES (?, ?, ?, ?, ?)", data)

    def get_exifs(self, entries: Iterable[tuple[str | os.PathLike, int, int]]) -> dict[Path, dict]:
        """Cached EXIF summaries of ``(path, size, mtime_ns)`` entries; misses are absent."""
        return {path: json.loads(summary)
                for path, (summary,) in self._fresh("SELECT path, size, mtime_ns, summary FROM exif WHERE", entries)}

    def put_exifs(self, rows: Iterable[tuple[str | os.PathLike, int, int, dict]]) -> None:
        """Store ``(path, size, mtime_ns, summary)`` rows in one transaction."""
        data = [(path_key(p), size, mtime, json.dumps(summary)) for p, size, mtime, summary in rows]
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO exif VALUES (?, ?, ?, ?)", data)

    def get_analyses(self, entries: Iterable[tuple[str | os.PathLike, int, int]], version: str) -> dict[Path, dict]:
        """Cached analyses (their JSON objects) of ``(path, size, mtime_ns)`` entries made by
        analysis ``version``; misses are absent."""
        return {path: json.loads(data) for path, (data,) in self._fresh(
            "SELECT path, size, mtime_ns, data FROM analysis WHERE version = ? AND", entries, [version])}

    def put_analyses(self, rows: Iterable[tuple[str | os.PathLike, int, int, dict]], version: str) -> None:
        """Store ``(path, size, mtime_ns, data)`` rows of analysis ``version`` in one transaction."""
        data = [(path_key(p), size, mtime, version, json.dumps(d)) for p, size, mtime, d in rows]
        if not data:
            return
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO analysis VALUES (?, ?, ?, ?, ?)", data)

    # ----------------------------------------------------------- moves
    def move_path(self, old: str | os.PathLike, new: str | os.PathLike) -> None:
        """Carry everything cached for ``old`` over to ``new`` (after the file was moved)."""
        self.move_paths([(old, new)])

    def move_paths(self, moves: Iterable[tuple[str | os.PathLike, str | os.PathLike]]) -> None:
        """:meth:`move_path` for ``(old, new)`` pairs, in order, in one transaction. In each table
        what ``old`` holds replaces what ``new`` held; where ``old`` holds nothing, ``new`` keeps
        its rows (so putting back a file whose entries were never carried loses nothing)."""
        pairs = [(path_key(old), path_key(new)) for old, new in moves]
        with self._tx() as conn:
            for old_key, new_key in pairs:
                for table in _TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE path = ? AND EXISTS "
                                 f"(SELECT 1 FROM {table} WHERE path = ?)", (new_key, old_key))
                    conn.execute(f"UPDATE {table} SET path = ? WHERE path = ?", (new_key, old_key))
