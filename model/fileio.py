"""Atomic file writes, the one implementation every package uses (model, training, app).

A temp file in the destination's directory is written, fsynced, given the destination's mode
(or the umask default for a new file, not mkstemp's 0600) and renamed over it with os.replace,
then the directory entry is fsynced. A reader sees the old content or the new, never a partial
file, even if the process is killed mid-write; on error the temp file is removed. Never used on a
user's photo.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "fsync_dir", "short_name"]

# Side files (temp, part) are named after their target plus a few bytes; a target name near the
# usual 255-byte limit must not make them impossible to create.
_SIDE_NAME_BYTES = 200


def short_name(name: str, limit: int = _SIDE_NAME_BYTES) -> str:
    """``name`` cut to at most ``limit`` bytes (as on disk), for naming a side file after it."""
    raw = os.fsencode(name)
    return name if len(raw) <= limit else os.fsdecode(raw[:limit])


def fsync_dir(directory: str | os.PathLike) -> None:
    """Flush a directory entry change (rename/create) to disk where the OS allows it."""
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(os.fspath(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems (e.g. certain network mounts) refuse it
        pass
    finally:
        os.close(fd)


def _new_temp(path: Path) -> tuple[int, Path]:
    fd, tmp = tempfile.mkstemp(prefix=f".{short_name(path.name)}.", suffix=".tmp", dir=path.parent)
    return fd, Path(tmp)


def _commit(tmp: Path, path: Path) -> None:
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temp path next to ``path`` for a writer that wants a file name (safetensors, PIL,
    ONNX); when the block succeeds it replaces ``path`` atomically, on error it is removed."""
    path = Path(path)
    fd, tmp = _new_temp(path)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (its parent must exist); returns the path."""
    path = Path(path)
    fd, tmp = _new_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _commit(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
