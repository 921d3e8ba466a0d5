"""Data safety: no command changes a photo's bytes, sidecar writes are atomic and keep every
field, and nothing opens a network connection."""

import csv
import os
import socket
from pathlib import Path

import pytest
from test_reliability_bad_input import file_state

from photocull.app.core import cli, journal, xmp
from photocull.app.core.commands import common
from photocull.app.core.decisions import KEEP, CullResult, Decision
from photocull.app.core.scan import display_path
from photocull.model import fileio

from corpus import build_corpus, deny_read
from fakes import FakeScorer, write_photo

RICH_SIDECAR = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmp:Rating="1" crs:Exposure2012="+0.35" crs:WhiteBalance="Custom">
   <dc:subject><rdf:Bag><rdf:li>wedding</rdf:li><rdf:li>bride</rdf:li></rdf:Bag></dc:subject>
   <dc:creator><rdf:Seq><rdf:li>Ana</rdf:li></rdf:Seq></dc:creator>
   <!-- keep me -->
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


@pytest.fixture
def shoot(tmp_path, monkeypatch):
    """The bad-input corpus plus a RAW+JPEG pair with a rich sidecar, scored by a fake scorer."""
    root = tmp_path / "shoot"
    cases = build_corpus(root, panorama=(3000, 200))
    if os.geteuid() == 0:
        deny_read(monkeypatch, [c.path for c in cases if c.unreadable])
    write_photo(root / "pair" / "IMG_9.JPG", grey=240)
    (root / "pair" / "IMG_9.CR2").write_bytes(b"raw bytes of IMG_9" * 100)
    (root / "pair" / "IMG_9.xmp").write_bytes(RICH_SIDECAR)
    for i in range(4):
        write_photo(root / "more" / f"m{i}.jpg", grey=30 + 60 * i)
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())
    return root


def photos_only(state, root):
    """The entries of ``file_state`` that are not photocull's own files (sidecars, journals)."""
    own = (b".xmp", b".XMP")
    return {k: v for k, v in state.items()
            if not k.endswith(own) and os.fsencode(root / ".photocull") not in k}


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_no_command_changes_a_photo(shoot, tmp_path, capsys):
    before = file_state(shoot)

    assert run(["rank", shoot, "--no-progress", "--csv", tmp_path / "r.csv"], capsys)[0] == 0
    assert file_state(shoot) == before

    code, out, err = run(["cull", shoot, "--keep-top", "50%", "--xmp", "--no-progress",
                          "--csv", tmp_path / "c.csv"], capsys)
    assert code == 0 and "sidecar left unchanged" not in err, err
    after_xmp = file_state(shoot)
    assert photos_only(after_xmp, shoot) == photos_only(before, shoot)  # photos untouched
    new = set(after_xmp) - set(before)
    assert new and all(k.endswith(b".xmp") for k in new)  # only new sidecars appeared
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as fh:
        decided = [r["path"] for r in csv.DictReader(fh) if r["decision"] != "needs review"]
    # every decided photo has its sidecar (IMG_9's existed; animated.gif/.webp share animated.xmp)
    assert {str(Path(p).with_suffix(".xmp")) for p in decided} == \
           {display_path(os.fsdecode(k)) for k in new} | {str(shoot / "pair" / "IMG_9.xmp")}
    # IMG_9's sidecar holds the photographer's 1 star from Lightroom: left exactly as it was
    assert (shoot / "pair" / "IMG_9.xmp").read_bytes() == RICH_SIDECAR and "left 1 of yours alone" in out
    code, out, err = run(["cull", shoot, "--keep-top", "50%", "--xmp", "--overwrite", "--no-progress"], capsys)
    assert code == 0 and "sidecar left unchanged" not in err, err
    merged = (shoot / "pair" / "IMG_9.xmp").read_bytes()
    for field in (b"crs:Exposure2012=\"+0.35\"", b"crs:WhiteBalance", b"<rdf:li>wedding</rdf:li>",
                  b"<rdf:li>Ana</rdf:li>", b"<!-- keep me -->", b"Adobe XMP Core 7.0", b"<?xpacket end"):
        assert field in merged, field
    assert xmp.read_sidecar(shoot / "pair" / "IMG_9.xmp")["rating"] != 1  # --overwrite: the rating was updated
    assert photos_only(file_state(shoot), shoot) == photos_only(before, shoot)
    with_sidecars = file_state(shoot)

    code, out, err = run(["cull", shoot, "--keep-top", "50%", "--move", "--no-progress"], capsys)
    assert code == 0 and "moved" in out, err
    moved = file_state(shoot)
    assert moved != with_sidecars
    assert contents(moved) == contents(with_sidecars)  # moved, not changed: the same bytes elsewhere
    assert run(["undo", shoot], capsys)[0] == 0
    assert photos_only(file_state(shoot), shoot) == photos_only(with_sidecars, shoot)
    assert {k: v for k, v in file_state(shoot).items() if b"/.photocull" not in k} == with_sidecars

    code, out, err = run(["cull", shoot, "--keep-top", "50%", "--copy", "--no-progress"], capsys)
    assert code == 0 and "copied" in out, err
    copied = file_state(shoot)
    keep, reject = os.fsencode(shoot / "Keep"), os.fsencode(shoot / "Reject")
    assert {k: v for k, v in copied.items() if not k.startswith((keep, reject)) and b"/.photocull" not in k} \
        == with_sidecars  # sources untouched
    copies = [v[1] for k, v in copied.items() if k.startswith((keep, reject)) and v[0] == "file"]
    originals = {v[1] for v in with_sidecars.values() if v[0] == "file"}
    assert copies and all(h in originals for h in copies)  # copies are byte-identical


def contents(state):
    """The multiset of file contents (sha256), photocull's journal folder left out."""
    return sorted(v[1] for k, v in state.items() if v[0] == "file" and b"/.photocull/" not in k)


# -- atomic sidecar writes -------------------------------------------------------------------

@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_failed_sidecar_write_keeps_the_old_one_and_leaves_no_temp_file(tmp_path, monkeypatch, where):
    photo = write_photo(tmp_path / "IMG_1.jpg")
    side = tmp_path / "IMG_1.xmp"
    side.write_bytes(RICH_SIDECAR)

    def boom(*a, **k):
        raise OSError(28, "No space left on device (injected)")

    if where == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self.fh.__exit__(*exc)

            def write(self, data):
                self.fh.write(data[: len(data) // 2])  # half of it reached the temp file
                boom()

            def __getattr__(self, name):
                return getattr(self.fh, name)

        monkeypatch.setattr(fileio.os, "fdopen", lambda *a, **k: Failing(real_fdopen(*a, **k)))
    elif where == "fsync":
        monkeypatch.setattr(fileio.os, "fsync", boom)
    else:
        monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(OSError, match="injected"):
        xmp.write_sidecar(photo, 5, "Green")
    monkeypatch.undo()
    assert side.read_bytes() == RICH_SIDECAR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_1.jpg", "IMG_1.xmp"]


def test_long_names_get_sidecars_and_copies(tmp_path):
    """255-byte photo names: the temp/part files next to them must not exceed the name limit."""
    photo = write_photo(tmp_path / ("L" * 251 + ".jpg"))
    side = xmp.write_sidecar(photo, 3, "Green")
    assert side.name == "L" * 251 + ".xmp" and xmp.read_sidecar(side) == {"rating": 3, "label": "Green"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([photo.name, side.name])
    results = [CullResult(photo, 90.0, KEEP, "test", Decision("pick", 3, None))]
    rep = journal.organize(tmp_path, results, mode="copy")
    assert len(rep.done) == 2 and (tmp_path / "Keep" / photo.name).read_bytes() == photo.read_bytes()
    assert journal.undo(tmp_path).removed and not (tmp_path / "Keep").exists()


# -- no network ------------------------------------------------------------------------------

def test_rank_and_cull_never_touch_the_network(tmp_path, monkeypatch, capsys):
    """With the real model loader (a tiny saved model) and every socket entry point trapped."""
    import torch

    from photocull.model import create_model

    torch.manual_seed(0)
    create_model(pretrained=False, image_size=32, hidden=(8, 8)).save(tmp_path / "model")
    for i in range(3):
        write_photo(tmp_path / "photos" / f"p{i}.jpg", grey=60 + 50 * i)
    attempts = []

    def trap(name):
        def refuse(*a, **k):
            attempts.append((name, a[:2]))
            raise AssertionError(f"network access at run time: {name}{a[:2]}")
        return refuse

    monkeypatch.setattr(socket.socket, "connect", trap("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", trap("connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", trap("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", trap("create_connection"))
    model = ["--model", tmp_path / "model", "--device", "cpu", "--no-progress"]
    assert run(["rank", tmp_path / "photos", *model], capsys)[0] == 0
    code, out, _ = run(["cull", tmp_path / "photos", "--keep-top", "50%", "--xmp", "--move", *model], capsys)
    assert code == 0 and "moved" in out
    assert attempts == []
