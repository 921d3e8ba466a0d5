"""photocull.model.fileio: the one atomic-write implementation (modes, cleanup, both entry points)."""
import os

import pytest

from photocull.model.fileio import atomic_path, atomic_write_bytes, atomic_write_text


def _umask_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def test_new_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    atomic_write_text(tmp_path / "a.csv", "x\n")
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"y")
    for name in ("a.csv", "b.bin"):
        assert (tmp_path / name).stat().st_mode & 0o777 == _umask_mode()
    assert (tmp_path / "b.bin").read_bytes() == b"y"


def test_existing_mode_is_kept_and_content_replaced(tmp_path):
    f = tmp_path / "keep.txt"
    f.write_text("old")
    f.chmod(0o640)
    atomic_write_bytes(f, b"new")
    assert f.read_bytes() == b"new" and f.stat().st_mode & 0o777 == 0o640


def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path):
    f = tmp_path / "model.onnx"
    f.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(f) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer died")
    assert f.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
