"""Find the photos under a folder.

:func:`scan_folder` walks a folder (recursively by default) and returns one
:class:`PhotoItem` per *shot*, in a deterministic order: the files of a folder
sorted by name (case-insensitively), then its sub-folders in the same order.

Choices (documented because the GUI and ``cull`` rely on them):

* Hidden entries are skipped: names starting with ``.`` (this includes macOS
  ``._IMG_0001.JPG`` resource forks and our own ``.photocull`` folders) and,
  on Windows, entries with the hidden attribute.
* Folders named in ``exclude`` (compared case-insensitively, by name, at any
  depth) are skipped. photocull's own copies are always skipped: a ``Keep``/
  ``Reject`` folder that a copy batch (not undone) of its parent copied photos
  into (``journal.output_dirs``), so the copies never come back as duplicates.
  Moved photos are scanned where they are now; a ``Keep`` folder the user made
  themselves is scanned.
* Symbolic links are followed, but each real directory is visited once
  (tracked by ``(st_dev, st_ino)``), so link loops end and a folder reachable
  twice is not listed twice. A symlinked *file* is listed under its link path.
* A RAW file and a JPEG/HEIF of the same shot (same folder, same stem compared
  case-insensitively) are ONE item: ``path`` is the JPEG/HEIF (what we decode,
  and what the camera rendered), ``companions`` holds the RAW file(s). A RAW
  without such a partner is an item of its own.
* Per-entry problems (a broken link, an unreadable file, a folder that cannot
  be listed) become items with ``error`` set; :func:`scan_folder` only raises
  when ``root`` itself is not a readable folder.
* Names that are not valid UTF-8 are kept as Python ``str`` with
  surrogate escapes (``os.fsdecode``), which round-trips to the exact bytes on
  disk; use :func:`display_path` to print one.
"""

from __future__ import annotations

import os
import stat as stat_mod
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "JPEG_EXTS",
    "HEIF_EXTS",
    "RAW_EXTS",
    "IMAGE_EXTS",
    "PHOTO_EXTS",
    "PhotoItem",
    "scan_folder",
    "is_photo_name",
    "is_raw",
    "display_path",
    "relative_display",
]

JPEG_EXTS = frozenset({".jpg", ".jpeg", ".jpe"})
HEIF_EXTS = frozenset({".heic", ".heif"})
RAW_EXTS = frozenset({".cr2", ".cr3", ".nef", ".arw", ".dng", ".raf", ".orf", ".rw2"})
IMAGE_EXTS = JPEG_EXTS | HEIF_EXTS | frozenset({".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})
PHOTO_EXTS = IMAGE_EXTS | RAW_EXTS
# Renderings a camera writes next to its RAW file (the pairing partners).
_PARTNER_EXTS = JPEG_EXTS | HEIF_EXTS


@dataclass
class PhotoItem:
    """One shot found by the scan.

    ``size``/``mtime_ns`` are those of ``path`` (the file we decode) at scan
    time, the cache key together with the path. ``error`` is non-empty when the
    entry could not even be stat'ed or read; such an item is never decoded.
    """

    path: Path
    companions: list[Path] = field(default_factory=list)
    size: int = 0
    mtime_ns: int = 0
    error: str = ""

    @property
    def is_raw(self) -> bool:
        return is_raw(self.path)

    @property
    def ok(self) -> bool:
        return not self.error


def is_raw(path: str | os.PathLike) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in RAW_EXTS


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTS


def display_path(path: str | os.PathLike) -> str:
    """A printable form of a path: undecodable bytes shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def relative_display(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """``path`` relative to ``root`` when inside it, printable (see :func:`display_path`)."""
    try:
        return display_path(Path(path).relative_to(root))
    except ValueError:
        return display_path(path)


def _sort_key(name: str) -> tuple[str, bytes]:
    return (name.casefold(), os.fsencode(name))


def _is_hidden(entry: os.DirEntry) -> bool:
    if entry.name.startswith("."):
        return True
    if os.name == "nt":
        try:
            attrs = entry.stat(follow_symlinks=False).st_file_attributes
        except (OSError, AttributeError):
            return False
        return bool(attrs & stat_mod.FILE_ATTRIBUTE_HIDDEN)
    return False


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    return exc.strerror or str(exc)


def _file_item(path: Path, companions: list[Path] | None = None) -> PhotoItem:
    companions = companions or []
    try:
        st = os.stat(path)
    except FileNotFoundError:
        reason = "broken symbolic link" if os.path.islink(path) else "file not found"
        return PhotoItem(path, companions, error=reason)
    except OSError as exc:
        return PhotoItem(path, companions, error=_os_reason(exc))
    item = PhotoItem(path, companions, st.st_size, st.st_mtime_ns)
    if not stat_mod.S_ISREG(st.st_mode):
        item.error = "not a regular file"
    elif not os.access(path, os.R_OK):
        item.error = "permission denied"
    return item


def _group_shots(files: list[Path]) -> list[PhotoItem]:
    """Pair RAW files with a JPEG/HEIF of the same stem; ``files`` are sorted."""
    stems = [os.path.splitext(f.name)[0].casefold() for f in files]
    by_stem: dict[str, list[Path]] = {}
    for f, stem in zip(files, stems):
        by_stem.setdefault(stem, []).append(f)
    items: list[PhotoItem] = []
    for f, stem in zip(files, stems):
        group = by_stem[stem]
        if len(group) == 1:  # most photos: no RAW+JPEG partner to look for
            items.append(_file_item(f))
            continue
        raws = [g for g in group if is_raw(g)]
        partner = next((g for g in group if g.suffix.lower() in _PARTNER_EXTS), None)
        if raws and partner is not None:
            if f == partner:
                items.append(_file_item(f, raws))
            elif f in raws:
                continue  # listed as a companion of its partner
            else:
                items.append(_file_item(f))
        else:
            items.append(_file_item(f))
    return items


def scan_folder(
    root: str | os.PathLike,
    recursive: bool = True,
    exclude: tuple[str, ...] | list[str] = (),
) -> list[PhotoItem]:
    """All photos under ``root`` (see the module docstring for the rules).

    Raises ``NotADirectoryError``/``FileNotFoundError``/``PermissionError``
    only for ``root`` itself.
    """
    root_path = Path(os.path.abspath(os.fspath(root)))
    if not root_path.is_dir():
        if root_path.exists():
            raise NotADirectoryError(f"not a folder: {display_path(root_path)}")
        raise FileNotFoundError(f"folder not found: {display_path(root_path)}")
    os.listdir(root_path)  # raises PermissionError for an unreadable root
    from .journal import JOURNAL_DIR, output_dirs  # journal builds on this module

    excluded = {name.casefold() for name in exclude}
    seen_dirs: set[tuple[int, int]] = set()
    items: list[PhotoItem] = []

    def walk(directory: Path) -> None:
        try:
            st = os.stat(directory)
        except OSError as exc:
            items.append(PhotoItem(directory, error=f"cannot read folder: {_os_reason(exc)}"))
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: _sort_key(e.name))
        except OSError as exc:
            items.append(PhotoItem(directory, error=f"cannot read folder: {_os_reason(exc)}"))
            return
        files: list[Path] = []
        subdirs: list[Path] = []
        skip = excluded
        if any(e.name == JOURNAL_DIR for e in entries):
            skip = excluded | output_dirs(directory)
        for entry in entries:
            if _is_hidden(entry):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                if recursive and entry.name.casefold() not in skip:
                    subdirs.append(Path(entry.path))
            elif is_photo_name(entry.name):
                files.append(Path(entry.path))
        items.extend(_group_shots(files))
        for sub in subdirs:
            walk(sub)

    walk(root_path)
    return items
