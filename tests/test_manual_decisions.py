"""The photographer's decisions are sacred: ratings and labels other tools wrote are read in,
and auto-cull (CLI and core rule) never changes them unless told to overwrite."""

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from photocull.app.core import cli, organise, xmp
from photocull.app.core.cache import Cache
from photocull.app.core.commands import common
from photocull.app.core.decisions import (
    KEEP,
    PICK,
    REJECT,
    REVIEW,
    UNFLAGGED,
    CullResult,
    Decision,
    cull_top,
    decision_from_xmp,
    keep_manual,
)
from photocull.app.core.scan import scan_folder
from photocull.app.core.session import CullSession, Entry

from fakes import FakeScorer, write_photo

# Sidecars in the layouts real tools write (modelled on their documented output).
LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
   xmp:ModifyDate="2024-05-01T10:00:00.00+02:00"
   xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.2 (Windows)"
   xmp:Rating="{rating}"
   xmp:Label="{label}"
   tiff:Make="Canon"
   xmpMM:DocumentID="xmp.did:5f3c2a"
   crs:Version="16.2"
   crs:ProcessVersion="11.0"
   crs:WhiteBalance="As Shot"
   crs:Exposure2012="+0.35"
   crs:HasSettings="True">
   <crs:ToneCurvePV2012>
    <rdf:Seq>
     <rdf:li>0, 0</rdf:li>
     <rdf:li>255, 255</rdf:li>
    </rdf:Seq>
   </crs:ToneCurvePV2012>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:darktable="http://darktable.sf.net/"
   exif:DateTimeOriginal="2024:05:01 09:12:33"
   xmp:Rating="{rating}"
   xmpMM:DerivedFrom="IMG_0002.CR2"
   darktable:import_timestamp="63848823153000000"
   darktable:xmp_version="5"
   darktable:raw_params="0"
   darktable:auto_presets_applied="1"
   darktable:history_end="1"
   darktable:iop_order_version="3">
   <darktable:colorlabels>
    <rdf:Seq>
     <rdf:li>0</rdf:li>
    </rdf:Seq>
   </darktable:colorlabels>
   <darktable:masks_history>
    <rdf:Seq/>
   </darktable:masks_history>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1"
      darktable:modversion="6" darktable:params="0000000000000000" darktable:multi_name=""
      darktable:multi_priority="0" darktable:blendop_version="11" darktable:blendop_params="gz11eJ"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmp:Rating="{rating}"
   MicrosoftPhoto:Rating="75"
   digiKam:ColorLabel="0"
   digiKam:PickLabel="0">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>Places/Lyon</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <MicrosoftPhoto:LastKeywordXMP>
    <rdf:Bag>
     <rdf:li>Places/Lyon</rdf:li>
    </rdf:Bag>
   </MicrosoftPhoto:LastKeywordXMP>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|Lyon</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Lyon</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

CAPTURE_ONE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.6-c140 79.160451, 2017/05/06-01:08:21        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/">
   <xmp:Rating>{rating}</xmp:Rating>
   <xmp:Label>{label}</xmp:Label>
   <photoshop:DateCreated>2024-05-01T09:12:33</photoshop:DateCreated>
   <tiff:Make>Phase One</tiff:Make>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

TOOLS = {"lightroom": LIGHTROOM, "darktable": DARKTABLE, "digikam": DIGIKAM, "captureone": CAPTURE_ONE}


def sidecar(tool: str, rating: int, label: str = "") -> str:
    return TOOLS[tool].format(rating=rating, label=label)


def jpeg_with_xmp(packet: str, size=(96, 72), grey=128) -> bytes:
    """A JPEG whose APP1 XMP segment (after an EXIF APP1) holds ``packet``."""
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    Image.new("RGB", size, (grey,) * 3).save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode("utf-8")
    seg = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    pos, markers = 2, []  # after the APPn segments PIL wrote (JFIF APP0, EXIF APP1)
    while data[pos + 1] in range(0xE0, 0xF0):
        markers.append(data[pos + 1])
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    assert markers == [0xE0, 0xE1]
    return data[:pos] + seg + data[pos:]


# -- reading ----------------------------------------------------------------

@pytest.mark.parametrize("tool,rating,label,expected", [
    ("lightroom", 1, "Yellow", Decision(UNFLAGGED, 1, "Yellow")),
    ("lightroom", 0, "", Decision()),  # 0 = unrated, an empty label = none
    ("darktable", -1, "", Decision(REJECT, 0, None)),  # -1 = rejected
    ("darktable", 3, "", Decision(UNFLAGGED, 3, None)),  # darktable:colorlabels is not xmp:Label
    ("digikam", 4, "", Decision(UNFLAGGED, 4, None)),  # xmp:Rating, not MicrosoftPhoto:Rating (75)
    ("captureone", 5, "purple", Decision(UNFLAGGED, 5, "Purple")),  # element form; colour spelled ours
])
@pytest.mark.parametrize("naming", ["replace", "append"])
def test_sidecars_of_real_tools_are_read_in(tmp_path, tool, rating, label, expected, naming):
    photo = write_photo(tmp_path / "IMG_1.jpg")
    side = tmp_path / ("IMG_1.xmp" if naming == "replace" else "IMG_1.jpg.xmp")
    side.write_text(sidecar(tool, rating, label), encoding="utf-8")
    fields = xmp.read_photo(photo)
    assert decision_from_xmp(fields["rating"], fields["label"]) == expected
    assert fields["auto"] == {"rating": False, "label": False}
    with Cache(tmp_path / "c.sqlite3") as cache:
        decisions, problems = xmp.import_decisions(scan_folder(tmp_path), cache)
        assert not problems
        assert decisions.get(photo, Decision()) == expected
        assert cache.get_decision(photo) == expected


def test_decision_from_xmp_semantics():
    assert decision_from_xmp(-1, "Red") == Decision(REJECT, 0, "Red")
    assert decision_from_xmp(0, None) == Decision()
    assert decision_from_xmp(None, " green ") == Decision(UNFLAGGED, 0, "Green")
    assert decision_from_xmp(7, "Client A") == Decision(UNFLAGGED, 0, "Client A")  # out of range: unrated
    assert decision_from_xmp(2, "") == Decision(UNFLAGGED, 2, None)


def test_raw_pair_reads_the_raw_sidecar_first(tmp_path):
    jpg = write_photo(tmp_path / "IMG_2.jpg")
    (tmp_path / "IMG_2.CR2").write_bytes(b"raw")
    (tmp_path / "IMG_2.CR2.xmp").write_text(sidecar("darktable", 2))
    (tmp_path / "IMG_2.jpg.xmp").write_text(sidecar("lightroom", 5, "Red"))
    items = scan_folder(tmp_path)
    assert [(it.path, it.companions) for it in items] == [(jpg, [tmp_path / "IMG_2.CR2"])]
    decisions, _ = xmp.import_decisions(items, None)
    assert decisions == {jpg: Decision(UNFLAGGED, 2, None)}  # darktable's, on the RAW


def test_embedded_xmp_in_jpeg_is_read_in(tmp_path):
    photo = tmp_path / "embedded.jpg"
    photo.write_bytes(jpeg_with_xmp(sidecar("lightroom", 4, "Blue")))
    with Image.open(photo) as im:  # still a valid JPEG
        assert im.size == (96, 72)
    before = photo.read_bytes()
    assert xmp.read_photo(photo)["rating"] == 4
    with Cache(tmp_path / "c.sqlite3") as cache:
        decisions, _ = xmp.import_decisions(scan_folder(tmp_path), cache)
    assert decisions == {photo: Decision(UNFLAGGED, 4, "Blue")}
    assert photo.read_bytes() == before  # the photo is only read
    # a sidecar wins over the embedded packet
    (tmp_path / "embedded.xmp").write_text(sidecar("darktable", -1))
    assert xmp.read_photo(photo)["rating"] == -1
    # a JPEG without XMP has nothing to read in
    plain = write_photo(tmp_path / "plain.jpg")
    assert xmp.read_embedded(plain) is None and xmp.read_photo(plain) is None


def test_embedded_packet_found_in_other_formats(tmp_path):
    # a TIFF/DNG/HEIC-like file: the packet somewhere in its first bytes (element form here)
    heic = tmp_path / "IMG_3.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 5000 + sidecar("captureone", 3, "Green").encode()
                     + b"\x00" * 100)
    fields = xmp.read_photo(heic)
    assert (fields["rating"], fields["label"]) == (3, "Green")
    far = tmp_path / "IMG_4.tif"
    far.write_bytes(b"II*\x00" + b"\x00" * xmp.EMBEDDED_SCAN_BYTES + sidecar("lightroom", 2, "").encode())
    assert xmp.read_photo(far) is None  # beyond the bounded scan
    # a packet across two read chunks is found; RAW formats that never embed XMP are not scanned
    dng = tmp_path / "IMG_5.dng"
    packet = sidecar("darktable", -1).encode()
    pad = (256 << 10) - 5 - 4 - packet.index(b"<x:xmpmeta")  # "<x:xmpmeta" straddles the chunk end
    dng.write_bytes(b"II*\x00" + b"\x00" * pad + packet)
    assert dng.read_bytes().index(b"<x:xmpmeta") == (256 << 10) - 5
    assert xmp.read_photo(dng)["rating"] == -1
    nef = tmp_path / "IMG_6.nef"
    nef.write_bytes(dng.read_bytes())
    assert xmp.read_embedded(nef) is None


def test_unreadable_sidecar_is_reported_not_imported(tmp_path):
    write_photo(tmp_path / "a.jpg")
    (tmp_path / "a.xmp").write_text("<x:xmpmeta>not closed")
    decisions, problems = xmp.import_decisions(scan_folder(tmp_path), None)
    assert decisions == {} and len(problems) == 1 and "a.xmp" in problems[0]


def test_import_happens_once_per_photo(tmp_path):
    photo = write_photo(tmp_path / "a.jpg")
    (tmp_path / "a.xmp").write_text(sidecar("lightroom", 3, "Red"))
    with Cache(tmp_path / "c.sqlite3") as cache:
        xmp.import_decisions(scan_folder(tmp_path), cache)
        cache.set_decision(photo, stars=5)  # the photographer changes it in photocull
        decisions, _ = xmp.import_decisions(scan_folder(tmp_path), cache)
    assert decisions[photo] == Decision(UNFLAGGED, 5, "Red")  # the cache's decision stands


def test_a_rating_cleared_in_photocull_does_not_come_back_from_the_sidecar(tmp_path, monkeypatch):
    photo = write_photo(tmp_path / "a.jpg")
    plain = write_photo(tmp_path / "b.jpg")  # no XMP at all
    (tmp_path / "a.xmp").write_text(sidecar("lightroom", 3, ""))
    with Cache(tmp_path / "c.sqlite3") as cache:
        assert xmp.import_decisions(scan_folder(tmp_path), cache)[0] == {photo: Decision(UNFLAGGED, 3, None)}
        cache.set_decision(photo, stars=0)  # the photographer clears the stars
        reads = []
        real = xmp.read_photo
        monkeypatch.setattr(xmp, "read_photo", lambda p, c=(): reads.append(p) or real(p, c))
        assert xmp.import_decisions(scan_folder(tmp_path), cache)[0] == {}
        assert reads == []  # both photos were seen: no XMP is read again
        assert cache.get_decision(photo) == Decision() and cache.get_decision(plain) == Decision()


def test_a_rating_set_in_another_tool_after_photocull_saw_the_photo_is_read_in(tmp_path):
    import os
    import time

    photo = write_photo(tmp_path / "a.jpg")
    with Cache(tmp_path / "c.sqlite3") as cache:
        assert xmp.import_decisions(scan_folder(tmp_path), cache)[0] == {}  # seen: no rating yet
        side = tmp_path / "a.xmp"
        side.write_text(sidecar("lightroom", 3, ""))  # rated in Lightroom afterwards
        later = time.time() + 5
        os.utime(side, (later, later))
        assert xmp.import_decisions(scan_folder(tmp_path), cache)[0] == {photo: Decision(UNFLAGGED, 3, None)}
        assert cache.get_decision(photo) == Decision(UNFLAGGED, 3, None)


def test_auto_marks_tell_photocull_proposals_from_the_photographers(tmp_path):
    photo = write_photo(tmp_path / "a.jpg")
    side = xmp.write_decision(photo, Decision(PICK, 4, "Green", auto=True))
    fields = xmp.read_photo(photo)
    assert (fields["rating"], fields["label"]) == (4, "Green") and fields["auto"] == {"rating": True, "label": True}
    assert xmp.import_decisions(scan_folder(tmp_path), None)[0] == {}  # photocull's own: not theirs
    # the photographer changes the rating in another tool: it becomes theirs, the label stays auto
    side.write_text(re.sub(r'xmp:Rating="4"', 'xmp:Rating="2"', side.read_text()))
    assert xmp.import_decisions(scan_folder(tmp_path), None)[0] == {photo: Decision(UNFLAGGED, 2, None)}
    # writing a decision that is not auto-cull's removes the marks
    xmp.write_decision(photo, Decision(PICK, 4, "Green"))
    assert xmp.read_photo(photo)["auto"] == {"rating": False, "label": False}
    assert "AutoRating" not in side.read_text()


# -- the rule ---------------------------------------------------------------

class R:
    def __init__(self, path, score):
        self.path, self.score, self.status, self.error = Path(path), score, "ok", ""


def test_keep_manual_leaves_theirs_alone_unless_overwrite():
    results = cull_top([R("/a", 90), R("/b", 70), R("/c", 50), R("/d", 30)], 0.5)
    manual = {Path("/a"): Decision(REJECT, 0, None),  # rejected in Lightroom though it scores best
              Path("/d"): Decision(UNFLAGGED, 1, None),  # 1 star
              Path("/c"): Decision(UNFLAGGED, 0, "Blue")}  # only a label
    p = keep_manual(results, manual)
    by = {r.path.name: r for r in p.results}
    assert (by["a"].verdict, by["a"].decision) == (REJECT, Decision(REJECT, 0, None))
    assert (by["d"].verdict, by["d"].decision) == (KEEP, Decision(UNFLAGGED, 1, None))
    assert by["d"].reason == "yours: 1\u2605" and not by["d"].decision.auto
    assert (by["c"].verdict, by["c"].decision) == (REJECT, Decision(REJECT, 0, "Blue"))  # auto flag, their label
    assert by["b"] is results[1]  # not theirs: the proposal as is
    assert sorted(x.name for x in p.left_alone) == ["a", "d"] and [x.name for x in p.labels_kept] == ["c"]
    written = {r.path.name: r.decision for r in p.to_write()}
    assert written["a"] == Decision() and written["d"] == Decision()  # nothing of ours over theirs
    assert written["c"] == Decision(REJECT, 0, None) and written["c"].auto
    assert written["b"] == Decision(PICK, 4, "Green") and written["b"].auto
    over = keep_manual(results, manual, overwrite=True)
    assert over.results == results and not over.theirs


def test_keep_manual_keeps_review_for_failed_photos():
    failed = CullResult(Path("/x"), None, REVIEW, "not scored: broken", Decision())
    p = keep_manual([failed], {Path("/x"): Decision(PICK, 3, None)})
    assert p.results == [failed] and not p.theirs


def test_gui_export_marks_auto_culls_proposals_only(tmp_path):
    a, b = write_photo(tmp_path / "a.jpg", grey=200), write_photo(tmp_path / "b.jpg", grey=50)
    s = CullSession([Entry(a, score=80.0), Entry(b, score=20.0)])
    s.auto_cull(top_percent=50)
    s.set_flag([b], "pick")  # the photographer overrules auto-cull's reject
    sides = organise.write_sidecars(organise.results_from_entries(s.entries))
    assert sides.written == 2
    assert xmp.read_photo(a)["auto"] == {"rating": True, "label": True}
    assert xmp.read_photo(b)["auto"] == {"rating": False, "label": False}
    assert xmp.import_decisions(scan_folder(tmp_path), None)[0] == {b: Decision(UNFLAGGED, 1, "Green")}


def test_a_label_the_photographer_put_on_an_auto_cull_proposal_stays_theirs(tmp_path):
    a, b = write_photo(tmp_path / "a.jpg", grey=200), write_photo(tmp_path / "b.jpg", grey=50)
    s = CullSession([Entry(a, score=80.0), Entry(b, score=20.0)])
    s.auto_cull(top_percent=50)
    s.toggle_label([a], "Purple")  # their label on auto-cull's pick
    organise.write_sidecars(organise.results_from_entries(s.entries))
    assert xmp.read_photo(a)["label"] == "Purple"
    assert xmp.read_photo(a)["auto"] == {"rating": True, "label": False}  # the pick is auto-cull's, the label theirs
    assert xmp.import_decisions(scan_folder(tmp_path), None)[0] == {a: Decision(UNFLAGGED, 0, "Purple")}


# -- the CLI ----------------------------------------------------------------

@pytest.fixture
def fake_scorer(monkeypatch):
    monkeypatch.setattr(common, "load_scorer_from_args", lambda args, **kw: FakeScorer())


@pytest.fixture
def tools_shoot(tmp_path):
    """Scores (FakeScorer = brightness): a 90, b 70, c 50, d 30 (+ e 10).
    a: rated 1 star in Lightroom (IMG.xmp); d: embedded 5 stars; c: darktable reject (IMG.jpg.xmp);
    b and e: nobody's decision."""
    root = tmp_path / "shoot"
    for name, grey in (("a.jpg", 230), ("b.jpg", 179), ("c.jpg", 128), ("e.jpg", 26)):
        write_photo(root / name, grey=grey)
    (root / "d.jpg").write_bytes(jpeg_with_xmp(sidecar("captureone", 5, "Yellow"), grey=77))
    (root / "a.xmp").write_text(sidecar("lightroom", 1, ""))
    (root / "c.jpg.xmp").write_text(sidecar("darktable", -1))
    return root


def run(argv, capsys):
    code = cli.main([str(a) for a in argv] + ["--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cull_xmp_keeps_ratings_other_tools_wrote(tools_shoot, fake_scorer, capsys, tmp_path):
    root = tools_shoot
    lightroom_before = (root / "a.xmp").read_bytes()
    d_before = (root / "d.jpg").read_bytes()
    code, out, err = run(["cull", root, "--keep-top", "50%", "--xmp", "--csv", tmp_path / "c.csv"], capsys)
    assert code == 0, err
    assert "5 photos (best 50% kept): 3 keep, 2 reject, 0 need review, left 3 of yours alone" in out
    assert "xmp: 2 sidecars written" in out
    assert (root / "a.xmp").read_bytes() == lightroom_before  # their 1 star, untouched
    assert xmp.read_sidecar(root / "c.jpg.xmp")["rating"] == -1
    assert not (root / "d.xmp").exists() and (root / "d.jpg").read_bytes() == d_before
    assert xmp.read_sidecar(root / "b.xmp") == {"rating": 4, "label": "Green"}  # top 50%: a, b, c
    assert xmp.read_sidecar(root / "e.xmp") == {"rating": -1, "label": "Red"}
    csv_text = (tmp_path / "c.csv").read_text()
    assert "yours: 1\u2605" in csv_text and "yours: rejected" in csv_text

    # the run again: photocull's own proposals are its own, the photographer's still theirs
    code, out, err = run(["cull", root, "--keep-top", "20%", "--xmp"], capsys)
    assert code == 0, err
    assert "left 3 of yours alone" in out
    assert xmp.read_sidecar(root / "b.xmp") == {"rating": -1, "label": "Red"}  # auto changed its mind
    assert (root / "a.xmp").read_bytes() == lightroom_before


def test_cull_overwrite_does_overwrite(tools_shoot, fake_scorer, capsys):
    root = tools_shoot
    code, out, err = run(["cull", root, "--keep-top", "50%", "--xmp", "--overwrite"], capsys)
    assert code == 0, err
    assert "of yours alone" not in out and "xmp: 5 sidecars written" in out
    assert xmp.read_sidecar(root / "a.xmp") == {"rating": 5, "label": "Green"}  # 90 -> 5 stars
    assert xmp.read_sidecar(root / "c.xmp")["rating"] == 3  # replace naming: IMG.xmp (c.jpg.xmp is darktable's)
    assert b'crs:Exposure2012="+0.35"' in (root / "a.xmp").read_bytes()  # merged, nothing lost


def test_exiftool_reads_back_what_photocull_wrote(tools_shoot, fake_scorer, capsys):
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (Debian/Ubuntu: apt-get install libimage-exiftool-perl)")
    root = tools_shoot
    (root / "f.jpg.xmp").write_text(sidecar("digikam", 2))
    write_photo(root / "f.jpg", grey=200)
    (root / "g.xmp").write_text(sidecar("captureone", 4, "Purple"))
    write_photo(root / "g.jpg", grey=20)
    code, out, err = run(["cull", root, "--keep-top", "50%", "--xmp"], capsys)
    assert code == 0, err
    sidecars = sorted(p for p in root.iterdir() if p.suffix == ".xmp")
    proc = subprocess.run([exiftool, "-j", "-XMP:Rating", "-XMP:Label", *map(str, sidecars)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = {Path(d["SourceFile"]).name: (d.get("Rating"), d.get("Label")) for d in json.loads(proc.stdout)}
    assert got == {
        "a.xmp": (1, ""),  # Lightroom's 1 star (and its empty label), kept
        "b.xmp": (4, "Green"),  # photocull's proposal
        "c.jpg.xmp": (-1, None),  # darktable's reject, kept
        "e.xmp": (-1, "Red"),
        "f.jpg.xmp": (2, None),  # digiKam's 2 stars, kept
        "g.xmp": (4, "Purple"),  # Capture One's, kept though it scores lowest
    }
