"""Atomic file writes: temp file in the destination directory, fsync, os.replace.

A reader of ``path`` sees either the old content or the new content, never a
partial file, even if the process is killed mid-write. Used for every file
photocull writes (sidecars, lists, journals, caches' side files); never used on
a user's photo.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "fsync_dir", "short_name"]


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


# Side files (temp, part) are named after their target plus a few bytes; a target name near the
# usual 255-byte limit must not make them impossible to create.
_SIDE_NAME_BYTES = 200


def short_name(name: str, limit: int = _SIDE_NAME_BYTES) -> str:
    """``name`` cut to at most ``limit`` bytes (as on disk), for naming a side file after it."""
    raw = os.fsencode(name)
    return name if len(raw) <= limit else os.fsdecode(raw[:limit])


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    The parent directory must exist. Permissions of an existing file are kept;
    a new file gets the default mode (umask applied), not mkstemp's 0600.
    """
    path = Path(path)
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{short_name(path.name)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (no newline translation); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))
