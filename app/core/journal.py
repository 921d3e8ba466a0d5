"""Sorting photos into ``Keep/`` and ``Reject/`` with a journal, and undoing it.

Layout: a photo ``FOLDER/sub/IMG_1.jpg`` goes to ``FOLDER/Keep/sub/IMG_1.jpg``
(or ``Reject/...``), together with the other files of its shot: the RAW of a
RAW+JPEG pair and any existing ``.xmp`` sidecars (both naming styles). Photos
that need review (not scored) stay where they are, and so do photos already
inside ``FOLDER/Keep`` or ``FOLDER/Reject``.

Journal-first protocol (``FOLDER/.photocull/journal-<utc timestamp>.json``):

1. Plan every operation (source, destination, the source's size and mtime)
   and write the journal atomically with ``state: "running"`` *before*
   touching any photo.
2. Do the operations in order; after each one append a line to
   ``journal-<ts>.log`` (flushed and fsync'ed): ``{"op": i, "status": "done"}``
   (``"skipped"`` when the destination turned out to be taken).
3. Rewrite the journal atomically with each op's status and
   ``state: "done"``, then delete the ``.log``.

Moves are renames within one filesystem and never overwrite: the file is
hard-linked to its destination (which fails if the name exists) and the old
name removed; where hard links are not supported (FAT/exFAT cards, some
network shares) the destination is checked and ``os.rename``d. A move that
would cross filesystems (``Keep/`` is a mount point of another device) is
refused before anything is written (:class:`CrossDeviceError`): photocull
never copies and deletes. Use copy mode instead, which never touches the
sources: each copy is written to a ``.part`` file, verified by SHA-256 against
the source and renamed into place.

Name collisions: a shot whose destination name is taken (on disk or by
another shot of the same batch, case-insensitively) gets ``name (1).jpg``,
``name (2).jpg``..., the same suffix for all files of the shot so a RAW, its
JPEG and its sidecar keep matching names.

:func:`undo` reverts the latest batch that is not undone yet, in reverse
order: a moved file goes back only if the file at its destination still has
the size and mtime it was planned with, and never onto an existing file; a
copy is deleted only if its bytes still hash to what was copied. Folders the
batch created are removed when empty. An interrupted batch (journal still
``running``) is rolled back the same way; :func:`recover` does that for every
interrupted batch and is called at the start of each new batch.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from photocull.model.fileio import atomic_write_text, fsync_dir, short_name

from .decisions import KEEP, REJECT, CullResult
from .scan import display_path
from .xmp import existing_sidecars

__all__ = [
    "JOURNAL_DIR",
    "TARGET_DIRS",
    "JournalError",
    "CrossDeviceError",
    "BatchReport",
    "UndoReport",
    "shot_files",
    "organize",
    "undo",
    "recover",
    "journals",
]

JOURNAL_DIR = ".photocull"
TARGET_DIRS = {KEEP: "Keep", REJECT: "Reject"}
MODES = ("move", "copy")
DONE = {"move": "moved", "copy": "copied"}  # what a report says a mode did
_PART = ".photocull-part"
_CHUNK = 1 << 20


class JournalError(Exception):
    """A batch cannot be planned or a journal cannot be read."""


class CrossDeviceError(JournalError):
    """A move would cross filesystems; photocull refuses instead of copy+delete."""


@dataclass
class BatchReport:
    journal: Path | None
    mode: str
    done: list[tuple[Path, Path]] = field(default_factory=list)  # (src, dst)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (src, why)
    recovered: list[UndoReport] = field(default_factory=list)  # interrupted batches rolled back first


@dataclass
class UndoReport:
    journal: Path | None
    mode: str = ""
    restored: list[tuple[Path, Path]] = field(default_factory=list)  # (from, back to)
    removed: list[Path] = field(default_factory=list)  # copies deleted
    problems: list[str] = field(default_factory=list)
    removed_dirs: list[Path] = field(default_factory=list)
    interrupted: bool = False


# -- helpers ------------------------------------------------------------------

def _rel(folder: Path, path: Path) -> str:
    return PurePosixPath(*Path(os.path.relpath(path, folder)).parts).as_posix()


def _abs(folder: Path, rel: str) -> Path:
    return folder.joinpath(*PurePosixPath(rel).parts)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _same_entry(a: Path, b: Path) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _rename(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno == errno.EXDEV:
            raise CrossDeviceError(f"{display_path(dst)} is on another filesystem") from e
        raise


def _move_noclobber(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; FileExistsError if ``dst`` exists; CrossDeviceError across devices."""
    if os.name == "nt":  # Windows' rename already refuses an existing destination
        _rename(src, dst)
        return
    try:
        os.link(src, dst, follow_symlinks=False)  # atomic: fails if dst exists
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno == errno.EXDEV:
            raise CrossDeviceError(f"{display_path(dst)} is on another filesystem") from e
        # no hard links here (FAT/exFAT, some shares): check, then rename
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst)) from e
        _rename(src, dst)
        return
    os.unlink(src)


def _part_path(dst: Path) -> Path:
    """The temporary name a copy is written to (short enough even for a 255-byte ``dst`` name)."""
    return dst.with_name("." + short_name(dst.name) + _PART)


def _copy_verified(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` via a ``.part`` file, verify by SHA-256, never overwrite; returns the hash."""
    part = _part_path(dst)
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(part, "xb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    digest = h.hexdigest()
    try:
        shutil.copystat(src, part)
        if _sha256(part) != digest:
            raise OSError(errno.EIO, "copy does not match its source", str(src))
        _move_noclobber(part, dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return digest


def shot_files(path: str | os.PathLike, companions: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The files of one shot: ``path``, its companions, and their existing sidecars."""
    files: list[Path] = []
    for f in [Path(path), *map(Path, companions)]:
        for g in [f, *existing_sidecars(f)]:
            if g not in files:
                files.append(g)
    return files


def _with_suffix_n(name: str, stem: str, n: int) -> str:
    if n == 0:
        return name
    if name.casefold().startswith(stem.casefold() + "."):
        return f"{name[:len(stem)]} ({n}){name[len(stem):]}"
    base, ext = os.path.splitext(name)
    return f"{base} ({n}){ext}"


def _device_of(path: Path) -> int:
    while not os.path.lexists(path):
        path = path.parent
    return os.stat(path).st_dev


# -- journal files ------------------------------------------------------------

def _journal_dir(folder: Path) -> Path:
    return folder / JOURNAL_DIR


def journals(folder: str | os.PathLike) -> list[Path]:
    """Journal files of ``folder``, oldest first."""
    d = _journal_dir(Path(os.path.abspath(folder)))
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.name.startswith("journal-") and p.suffix == ".json")


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise JournalError(f"cannot read journal {path}: {e}") from e
    if data.get("version") != 1 or data.get("mode") not in MODES:
        raise JournalError(f"unsupported journal {path}")
    return data


def _save(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def _log_path(journal: Path) -> Path:
    return journal.with_suffix(".log")


def _read_log(journal: Path) -> dict[int, dict]:
    entries: dict[int, dict] = {}
    try:
        text = _log_path(journal).read_text(encoding="utf-8")
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:  # a line torn by a crash: that op was not recorded
            continue
        entries[int(e["op"])] = e
    return entries


def _statuses(journal: Path, data: dict) -> dict[int, dict]:
    """Per-op log entries: from the final journal, else from the progress log."""
    final = {i: op["result"] for i, op in enumerate(data["ops"]) if "result" in op}
    return final or _read_log(journal)


def _new_journal_path(folder: Path) -> Path:
    d = _journal_dir(folder)
    d.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path, n = d / f"journal-{stamp}.json", 1
    while path.exists() or _log_path(path).exists():
        path, n = d / f"journal-{stamp}-{n}.json", n + 1
    return path


# -- planning and running -----------------------------------------------------

def _plan(folder: Path, results: Sequence[CullResult], companions: dict[Path, list[Path]], mode: str):
    ops: list[dict] = []
    created: set[str] = set()  # folders the batch will create (removed again by undo when empty)
    taken: set[str] = set()  # casefolded destination paths of this batch
    claimed: set[Path] = set()  # files already part of an earlier shot
    skipped: list[tuple[Path, str]] = []
    target_roots = {name.casefold() for name in TARGET_DIRS.values()}
    for r in results:
        if r.verdict not in TARGET_DIRS:
            continue
        path = Path(os.path.abspath(r.path))
        rel = Path(os.path.relpath(path, folder))
        if rel.parts[0] == os.pardir:
            skipped.append((path, "outside the folder"))
            continue
        if len(rel.parts) > 1 and rel.parts[0].casefold() in target_roots:
            skipped.append((path, f"already in {rel.parts[0]}/"))
            continue
        files = [f for f in shot_files(path, companions.get(Path(r.path), ())) if f not in claimed]
        missing = [f for f in files if not os.path.lexists(f)]
        if missing:
            skipped.append((path, f"file vanished: {display_path(missing[0])}"))
            continue
        claimed.update(files)
        dst_dir = folder / TARGET_DIRS[r.verdict] / rel.parent
        if mode == "move" and _device_of(dst_dir) != os.lstat(path).st_dev:
            raise CrossDeviceError(
                f"{display_path(folder / TARGET_DIRS[r.verdict])} is on another filesystem than "
                f"{display_path(path)}; photocull does not move photos across devices "
                "(that would mean copy + delete). Use copy mode instead."
            )
        stem = path.with_suffix("").name
        n = 0
        while True:
            names = [_with_suffix_n(f.name, stem, n) for f in files]
            dsts = [dst_dir / name for name in names]
            keys = [_rel(folder, d).casefold() for d in dsts]
            if not any(k in taken or os.path.lexists(d) for k, d in zip(keys, dsts)):
                break
            n += 1
        taken.update(keys)
        d = dst_dir
        while d != folder and not d.exists() and _rel(folder, d) not in created:
            created.add(_rel(folder, d))
            d = d.parent
        for f, dst in zip(files, dsts):
            st = os.lstat(f)
            ops.append({"src": _rel(folder, f), "dst": _rel(folder, dst),
                        "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return ops, sorted(created, key=lambda p: (p.count("/"), p)), skipped


class _Log:
    """Append-only progress log, each record flushed and fsync'ed before the next op."""

    def __init__(self, journal: Path):
        self._fh = open(_log_path(journal), "a", encoding="utf-8")

    def record(self, i: int, **fields) -> dict:
        entry = {"op": i, **fields}
        self._fh.write(json.dumps(entry) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return entry

    def close(self):
        self._fh.close()


def organize(
    folder: str | os.PathLike,
    results: Sequence[CullResult],
    companions: dict[Path, list[Path]] | None = None,
    mode: str = "move",
) -> BatchReport:
    """Move (or copy) kept/rejected shots into ``Keep/`` / ``Reject/`` under a journal.

    ``companions`` maps a result's path to the other files of its shot (the
    RAW of a pair, as in ``scan.PhotoItem.companions``). Interrupted batches
    are rolled back first (:func:`recover`).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    folder = Path(os.path.abspath(folder))
    recovered = recover(folder)
    ops, created, skipped = _plan(folder, results, companions or {}, mode)
    report = BatchReport(None, mode, skipped=skipped, recovered=recovered)
    if not ops:
        return report
    journal = _new_journal_path(folder)
    data = {"version": 1, "mode": mode, "folder": str(folder), "state": "running",
            "created_dirs": created, "ops": ops}
    _save(journal, data)  # the plan is on disk before the first photo moves
    report.journal = journal
    log = _Log(journal)
    try:
        for i, op in enumerate(ops):
            src, dst = _abs(folder, op["src"]), _abs(folder, op["dst"])
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                if mode == "move":
                    _move_noclobber(src, dst)
                    entry = log.record(i, status="done")
                else:
                    entry = log.record(i, status="done", sha256=_copy_verified(src, dst))
                fsync_dir(dst.parent)
                report.done.append((src, dst))
            except FileExistsError:
                entry = log.record(i, status="skipped", why="destination appeared meanwhile")
                report.skipped.append((src, f"{display_path(dst)} appeared meanwhile"))
            except FileNotFoundError:
                entry = log.record(i, status="skipped", why="source vanished")
                report.skipped.append((src, "vanished before it could be moved"))
            op["result"] = entry
    finally:
        log.close()
    data["state"] = "done"
    _save(journal, data)
    _log_path(journal).unlink(missing_ok=True)
    return report


# -- undo / recovery ----------------------------------------------------------

def _revert_move(folder: Path, op: dict, entry: dict | None, rep: UndoReport) -> None:
    src, dst = _abs(folder, op["src"]), _abs(folder, op["dst"])
    if entry is not None and entry.get("status") != "done":
        return  # skipped: nothing of ours to revert
    src_there, dst_there = os.path.lexists(src), os.path.lexists(dst)
    if src_there and dst_there:
        if _same_entry(src, dst):  # interrupted between link and unlink
            os.unlink(dst)
            return
        if entry is not None:
            rep.problems.append(f"{display_path(src)} exists again; left {display_path(dst)} where it is")
        return
    if not dst_there:
        if not src_there:
            rep.problems.append(f"{display_path(dst)} is missing (moved or deleted since)")
        return  # src in place: the op never ran
    st = os.lstat(dst)
    if (st.st_size, st.st_mtime_ns) != (op["size"], op["mtime_ns"]):
        rep.problems.append(f"{display_path(dst)} changed since it was moved; left where it is")
        return
    src.parent.mkdir(parents=True, exist_ok=True)
    try:
        _move_noclobber(dst, src)
    except FileExistsError:
        rep.problems.append(f"{display_path(src)} exists again; left {display_path(dst)} where it is")
        return
    fsync_dir(src.parent)
    rep.restored.append((dst, src))


def _revert_copy(folder: Path, op: dict, entry: dict | None, rep: UndoReport) -> None:
    src, dst = _abs(folder, op["src"]), _abs(folder, op["dst"])
    _part_path(dst).unlink(missing_ok=True)
    if entry is not None and entry.get("status") != "done":
        return
    if not os.path.lexists(dst):
        if entry is not None:
            rep.problems.append(f"copy {display_path(dst)} is missing")
        return
    if entry is not None:
        expected = entry["sha256"]
    elif os.path.lexists(src):  # interrupted between rename and log: compare with the source
        expected = _sha256(src)
    else:
        rep.problems.append(f"{display_path(dst)}: cannot verify it is our copy; left in place")
        return
    if _sha256(dst) != expected:
        rep.problems.append(f"{display_path(dst)} changed since it was copied; left in place")
        return
    os.unlink(dst)
    rep.removed.append(dst)


def _revert(journal: Path) -> UndoReport:
    data = _load(journal)
    folder = Path(data["folder"])
    if not folder.is_dir():
        # the folder was moved or renamed: it is where the journal is
        folder = journal.parent.parent
    rep = UndoReport(journal, data["mode"], interrupted=data["state"] == "running")
    statuses = _statuses(journal, data)
    revert = _revert_move if data["mode"] == "move" else _revert_copy
    for i in reversed(range(len(data["ops"]))):
        revert(folder, data["ops"][i], statuses.get(i), rep)
    for rel_d in sorted(data["created_dirs"], key=lambda p: -p.count("/")):
        d = _abs(folder, rel_d)
        try:
            d.rmdir()
        except OSError:  # not empty (the user's files) or already gone
            continue
        rep.removed_dirs.append(d)
    data["state"] = "undone"
    _save(journal, data)
    _log_path(journal).unlink(missing_ok=True)
    return rep


def undo(folder: str | os.PathLike) -> UndoReport:
    """Revert the latest batch not undone yet (interrupted or complete); empty report if none."""
    for journal in reversed(journals(folder)):
        if _load(journal)["state"] != "undone":
            return _revert(journal)
    return UndoReport(None)


def recover(folder: str | os.PathLike) -> list[UndoReport]:
    """Roll back every interrupted batch of ``folder`` (newest first)."""
    return [_revert(j) for j in reversed(journals(folder)) if _load(j)["state"] == "running"]


def output_dirs(folder: str | os.PathLike) -> set[str]:
    """The names (casefolded) of ``folder``'s Keep/Reject folders that hold photocull's own
    copies: a copy batch not undone put them there. The scan skips them, so the copies do not
    come back as duplicate photos. (Moved photos are the photos themselves: they are scanned
    where they now are, and their cache entries moved with them.) Unreadable journals count as
    not ours."""
    names: set[str] = set()
    targets = {name.casefold() for name in TARGET_DIRS.values()}
    for journal in journals(folder):
        try:
            data = _load(journal)
        except JournalError:
            continue
        if data["state"] == "undone" or data["mode"] != "copy":
            continue
        for op in data["ops"]:
            top = op["dst"].split("/", 1)[0].casefold()
            if top in targets:
                names.add(top)
    return names
