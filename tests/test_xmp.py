import xml.etree.ElementTree as ET

import pytest

from photocull.app.core import xmp
from photocull.app.core.decisions import PICK, REJECT, UNFLAGGED, Decision

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XMP = "{http://ns.adobe.com/xap/1.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
CRS = "{http://ns.adobe.com/camera-raw-settings/1.0/}"
DT = "{http://darktable.sf.net/}"

# A sidecar as Lightroom/darktable leave them: attribute-form crs:/darktable: settings,
# element-form xmp:Rating, a dc:subject Bag, a dc:title Alt with xml:lang, a darktable:history
# Seq of structs, a second rdf:Description, a comment, xpacket wrapper with padding.
EXISTING = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    crs:Version="15.0" crs:Exposure2012="+0.35" crs:WhiteBalance="As Shot"
    darktable:xmp_version="5" xmp:CreatorTool="Lightroom &amp; co">
   <!-- keep me -->
   <xmp:Rating>2</xmp:Rating>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>dog</rdf:li>
     <rdf:li>beach &amp; sun</rdf:li>
     <rdf:li>caf\u00e9 \u65e5\u672c</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000803f"/>
     <rdf:li darktable:operation="colorin" darktable:enabled="0" darktable:params="gz48eJ"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    photoshop:City="Lyon"/>
 </rdf:RDF>
</x:xmpmeta>
                                                                                
<?xpacket end="w"?>"""


def canon(elem, drop=()):
    """Everything of an element tree by value: tag, attributes, stripped text, children."""
    attrs = tuple(sorted((k, v) for k, v in elem.attrib.items() if k not in drop))
    kids = tuple(canon(c, drop) for c in elem if c.tag not in drop)
    return (str(elem.tag), attrs, (elem.text or "").strip(), (elem.tail or "").strip(), kids)


def parse(data: bytes):
    return ET.fromstring(data.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])


def test_merge_preserves_every_other_field(tmp_path):
    photo = tmp_path / "IMG_1.CR2"
    photo.write_bytes(b"raw bytes")
    side = tmp_path / "IMG_1.xmp"
    side.write_text(EXISTING, encoding="utf-8")
    assert xmp.read_sidecar(side) == {"rating": 2, "label": None}

    out = xmp.write_sidecar(photo, 5, "Green", naming="replace")
    assert out == side
    assert photo.read_bytes() == b"raw bytes"
    new = side.read_bytes()
    assert xmp.read_sidecar(side) == {"rating": 5, "label": "Green"}

    before, after = parse(EXISTING.encode()), parse(new)
    # element-form Rating updated in place, not duplicated as an attribute
    desc = after.find(f"{RDF}RDF/{RDF}Description")
    assert desc.find(f"{XMP}Rating").text == "5" and f"{XMP}Rating" not in desc.attrib
    assert desc.get(f"{XMP}Label") == "Green"
    # all the rest identical by value
    assert canon(after, drop={f"{XMP}Rating", f"{XMP}Label"}) == canon(before, drop={f"{XMP}Rating", f"{XMP}Label"})
    assert [li.text for li in after.iter(f"{RDF}li") if li.text] == ["dog", "beach & sun", "caf\u00e9 \u65e5\u672c", "Title"]
    # wrapper, prefixes and comment survive
    text = new.decode("utf-8")
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert text.rstrip().endswith('<?xpacket end="w"?>')
    for prefix in ("crs:Exposure2012", "darktable:history", "dc:subject", "photoshop:City", "<!-- keep me -->"):
        assert prefix in text
    assert "ns0:" not in text


def test_attribute_form_rating_updated_in_place(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"jpeg")
    side = tmp_path / "a.jpg.xmp"  # darktable style
    side.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:darktable="http://darktable.sf.net/" xmp:Rating="3" xmp:Label="Blue" darktable:auto_presets_applied="1"/>'
        "</rdf:RDF></x:xmpmeta>\n",
        encoding="utf-8",
    )
    assert xmp.write_decision(photo, Decision(REJECT, 0, "Red"), naming="append") == side
    text = side.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta')  # no wrapper added
    assert xmp.read_sidecar(side) == {"rating": -1, "label": "Red"}
    desc = ET.fromstring(text.split("?>", 1)[1]).find(f"{RDF}RDF/{RDF}Description")
    assert desc.get(f"{XMP}Rating") == "-1" and desc.find(f"{XMP}Rating") is None
    assert desc.get(f"{DT}auto_presets_applied") == "1"
    assert not (tmp_path / "a.xmp").exists()


def test_fresh_packet_both_namings(tmp_path):
    photo = tmp_path / "IMG_7.JPG"
    photo.write_bytes(b"jpeg")
    a = xmp.write_decision(photo, Decision(PICK, 4, "Green"), naming="replace")
    b = xmp.write_decision(photo, Decision(PICK, 4, "Green"), naming="append")
    assert (a.name, b.name) == ("IMG_7.xmp", "IMG_7.JPG.xmp")
    for side in (a, b):
        data = side.read_bytes()
        assert data.startswith('<?xpacket begin="\ufeff"'.encode())
        assert data.rstrip().endswith(b'<?xpacket end="w"?>')
        root = parse(data)
        assert root.tag == "{adobe:ns:meta/}xmpmeta"
        assert xmp.read_sidecar(side) == {"rating": 4, "label": "Green"}
        assert b"xmlns:xmp=" in data and b"xmlns:rdf=" in data
    assert photo.read_bytes() == b"jpeg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_7.JPG", "IMG_7.JPG.xmp", "IMG_7.xmp"]


def test_raw_pair_sidecar_goes_with_raw_and_uppercase_is_reused(tmp_path):
    jpg, raw = tmp_path / "DSC_1.JPG", tmp_path / "DSC_1.NEF"
    jpg.write_bytes(b"j")
    raw.write_bytes(b"r")
    assert xmp.write_sidecar(jpg, 3, None, naming="append", companions=[raw]).name == "DSC_1.NEF.xmp"
    upper = tmp_path / "DSC_1.XMP"
    upper.write_bytes(xmp.new_packet(1, None))
    assert xmp.write_sidecar(jpg, 2, None, naming="replace", companions=[raw]) == upper
    assert not (tmp_path / "DSC_1.xmp").exists() or (tmp_path / "DSC_1.xmp").samefile(upper)
    assert xmp.read_sidecar(upper)["rating"] == 2


def test_nothing_written_for_unflagged(tmp_path):
    photo = tmp_path / "x.jpg"
    photo.write_bytes(b"x")
    assert xmp.write_decision(photo, Decision(UNFLAGGED)) is None
    assert list(tmp_path.iterdir()) == [photo]


def test_broken_or_hostile_sidecar_is_left_untouched(tmp_path):
    photo = tmp_path / "x.jpg"
    photo.write_bytes(b"x")
    side = tmp_path / "x.xmp"
    for bad in (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><oops",
                b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
                b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"):
        side.write_bytes(bad)
        with pytest.raises(xmp.XmpError):
            xmp.write_sidecar(photo, 5, "Green")
        assert side.read_bytes() == bad
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg", "x.xmp"]  # no temp files left


def test_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        xmp.sidecar_path(tmp_path / "a.jpg", naming="sideways")
    with pytest.raises(ValueError):
        xmp.sidecar_path(tmp_path / "a.xmp")
    with pytest.raises(ValueError):
        xmp.new_packet(7, None)


def test_description_without_rating_gets_attribute_and_keeps_prefixes():
    src = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description rdf:about="" xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
           b"<lr:hierarchicalSubject><rdf:Bag><rdf:li>a|b</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
           b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    out = xmp.merge_xmp(src, 1, "Yellow")
    root = ET.fromstring(out)
    desc = root.find(f"{RDF}RDF/{RDF}Description")
    assert desc.get(f"{XMP}Rating") == "1" and desc.get(f"{XMP}Label") == "Yellow"
    assert b"<lr:hierarchicalSubject>" in out
    assert [li.text for li in root.iter(f"{RDF}li")] == ["a|b"]
