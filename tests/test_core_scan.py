import os
from pathlib import Path

import pytest

from photocull.app.core import scan
from photocull.app.core.scan import display_path, scan_folder

from fakes import write_photo


def names(items, root):
    return [str(it.path.relative_to(root)) for it in items]


def test_finds_photos_sorted_case_insensitive_and_skips_others(tmp_path):
    for name in ["b.JPG", "A.png", "c.TiFF", "d.webp", "e.bmp", "f.gif", "g.HEIC", "h.jpeg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "._b.JPG").write_bytes(b"x")  # macOS resource fork
    (tmp_path / ".thumbs").mkdir()
    (tmp_path / ".thumbs" / "t.jpg").write_bytes(b"x")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "z.jpg").write_bytes(b"x")
    (tmp_path / "sub" / "deeper" / "a.jpg").write_bytes(b"x")
    (tmp_path / "Zz.jpg").write_bytes(b"x")

    items = scan_folder(tmp_path)
    assert names(items, tmp_path) == [
        "A.png", "b.JPG", "c.TiFF", "d.webp", "e.bmp", "f.gif", "g.HEIC", "h.jpeg", "Zz.jpg",
        "sub/z.jpg", "sub/deeper/a.jpg",
    ]
    assert all(it.ok and it.size == 1 and it.mtime_ns > 0 for it in items)
    assert names(scan_folder(tmp_path, recursive=False), tmp_path)[-1] == "Zz.jpg"
    assert scan_folder(tmp_path) == items  # deterministic


def test_raw_jpeg_pair_is_one_item(tmp_path):
    jpg = write_photo(tmp_path / "IMG_0001.JPG")
    (tmp_path / "IMG_0001.CR2").write_bytes(b"raw")
    (tmp_path / "IMG_0001.dng").write_bytes(b"raw2")
    (tmp_path / "IMG_0002.NEF").write_bytes(b"raw only")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "IMG_0001.ARW").write_bytes(b"raw in another dir")

    items = scan_folder(tmp_path)
    assert names(items, tmp_path) == ["IMG_0001.JPG", "IMG_0002.NEF", "other/IMG_0001.ARW"]
    pair = items[0]
    assert pair.path == jpg and not pair.is_raw
    assert pair.companions == [tmp_path / "IMG_0001.CR2", tmp_path / "IMG_0001.dng"]
    assert pair.size == jpg.stat().st_size
    assert items[1].is_raw and items[1].companions == []
    assert items[2].companions == []


def test_symlink_loop_and_broken_link(tmp_path):
    write_photo(tmp_path / "a" / "p.jpg")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")  # a/loop -> a
    os.symlink(tmp_path / "a", tmp_path / "b")  # second route to the same real dir
    os.symlink(tmp_path / "missing.jpg", tmp_path / "broken.jpg")
    items = scan_folder(tmp_path)
    assert names(items, tmp_path) == ["broken.jpg", "a/p.jpg"]
    assert items[0].error == "broken symbolic link"
    assert items[1].ok


def test_unreadable_folder_and_file_become_error_items(tmp_path, monkeypatch):
    write_photo(tmp_path / "ok.jpg")
    write_photo(tmp_path / "locked.jpg")
    write_photo(tmp_path / "private" / "x.jpg")
    real_scandir, real_access = os.scandir, os.access

    def scandir(path):
        if Path(path).name == "private":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def access(path, mode):
        return Path(path).name != "locked.jpg" and real_access(path, mode)

    monkeypatch.setattr(scan.os, "scandir", scandir)
    monkeypatch.setattr(scan.os, "access", access)
    items = scan_folder(tmp_path)
    by_name = {it.path.name: it for it in items}
    assert by_name["locked.jpg"].error == "permission denied"
    assert by_name["private"].error == "cannot read folder: permission denied"
    assert by_name["ok.jpg"].ok


def test_non_utf8_name(tmp_path):
    raw_name = b"caf\xe9.jpg"  # latin-1, invalid UTF-8
    try:
        with open(os.path.join(os.fsencode(tmp_path), raw_name), "wb") as fh:
            fh.write(b"data")
    except (OSError, UnicodeError):
        pytest.skip("filesystem refuses non-UTF-8 names")
    (item,) = scan_folder(tmp_path)
    assert item.ok and os.fsencode(item.path.name) == raw_name
    assert display_path(item.path).endswith("caf\\xe9.jpg")
    assert item.path.read_bytes() == b"data"


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_photocull_output_folders_are_not_scanned_as_new_photos(tmp_path, mode):
    from photocull.app.core import journal
    from photocull.app.core.decisions import KEEP, REJECT, CullResult, Decision

    shoot = tmp_path / "shoot"
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        write_photo(shoot / name)
    write_photo(shoot / "day2" / "d.jpg")
    verdicts = {"a.jpg": KEEP, "b.jpg": REJECT}
    results = [CullResult(shoot / n, 50.0, v, "test", Decision()) for n, v in verdicts.items()]
    rep = journal.organize(shoot, results, mode=mode)
    assert len(rep.done) == 2 and (shoot / "Keep" / "a.jpg").is_file() and (shoot / "Reject" / "b.jpg").is_file()
    # copies: no duplicate tiles; moves: each photo once, where it is now
    found = ["a.jpg", "b.jpg", "c.jpg"] if mode == "copy" else ["c.jpg", "Keep/a.jpg", "Reject/b.jpg"]
    found.insert(3 if mode == "copy" else 1, "day2/d.jpg")
    assert names(scan_folder(shoot), shoot) == found
    # opened from the parent: the same rule for the sorted sub-folder
    assert names(scan_folder(tmp_path), tmp_path) == [f"shoot/{n}" for n in found]
    journal.undo(shoot)
    assert names(scan_folder(shoot), shoot) == ["a.jpg", "b.jpg", "c.jpg", "day2/d.jpg"]


def test_a_keep_folder_of_the_photographers_own_is_scanned(tmp_path):
    write_photo(tmp_path / "Keep" / "mine.jpg")
    (tmp_path / ".photocull").mkdir()  # photocull has a cache/journal dir here, but sorted nothing
    (tmp_path / ".photocull" / "journal-broken.json").write_text("{not json")
    assert names(scan_folder(tmp_path), tmp_path) == ["Keep/mine.jpg"]


def test_exclude_folders_and_root_errors(tmp_path):
    write_photo(tmp_path / "Keep" / "a.jpg")
    write_photo(tmp_path / "reject" / "b.jpg")
    write_photo(tmp_path / "c.jpg")
    assert len(scan_folder(tmp_path)) == 3  # cull's folders are scanned by default
    assert names(scan_folder(tmp_path, exclude=("keep", "Reject")), tmp_path) == ["c.jpg"]
    with pytest.raises(FileNotFoundError):
        scan_folder(tmp_path / "nope")
    with pytest.raises(NotADirectoryError):
        scan_folder(tmp_path / "c.jpg")
