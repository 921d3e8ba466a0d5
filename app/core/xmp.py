"""XMP sidecars: write a rating and a colour label without losing anything else.

A sidecar is the ``.xmp`` file next to a photo that Lightroom Classic,
darktable and Capture One read ratings and labels from. photocull never writes
into the photo itself, only into the sidecar:

* ``naming="replace"`` -> ``IMG_1.xmp`` (Lightroom / Capture One style);
  ``naming="append"`` -> ``IMG_1.CR2.xmp`` (darktable style). An existing
  ``.XMP`` (upper case) sidecar is reused instead of creating a second one.
* For a RAW+JPEG pair the sidecar belongs to the RAW (:func:`sidecar_target`).
* An existing sidecar is parsed (``defusedxml``: no DTDs, no entities) and
  merged: ``xmp:Rating`` / ``xmp:Label`` are updated where they are, in
  attribute form (``xmp:Rating="3"``) or element form
  (``<xmp:Rating>3</xmp:Rating>``), or added as attributes of the first
  ``rdf:Description``; every other element, attribute, namespace, structure
  (``rdf:Seq``/``Bag``/``Alt``), comment and the text before/after the root
  element (XML declaration, ``<?xpacket?>`` wrapper) are kept.
  Namespace prefixes are kept (registered with ElementTree before
  serialising); declarations are moved to the root element, which is the
  same document for any XMP reader.
* A sidecar that cannot be parsed is never overwritten: :class:`XmpError`.
* Writes are atomic (:mod:`photocull.model.fileio`).
* :func:`import_decisions` reads a photo's existing rating and label in as the photographer's
  decision when photocull first sees it.
* What auto-cull wrote is marked: ``photocull:AutoRating`` / ``photocull:AutoLabel`` hold the
  value photocull chose. A rating or label equal to its mark is photocull's own proposal; any
  other (set in Lightroom, darktable, ... or by the photographer here) is theirs
  (:func:`read_packet`). Writing a field without ``auto`` removes its mark.

Reading (:func:`read_photo`): the sidecars of a photo (both namings), else the XMP packet
embedded in the file: the JPEG APP1 ``http://ns.adobe.com/xap/1.0/`` segment, for other
formats (HEIC, DNG, CR3, TIFF ...; not the RAW formats that never embed XMP) the first
``<x:xmpmeta>`` packet in its first :data:`EMBEDDED_SCAN_BYTES`. The photo is only read, never written.
"""

from __future__ import annotations

import os
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from photocull.model.fileio import atomic_write_bytes

from .decisions import Decision, decision_from_xmp
from .scan import PhotoItem, is_raw

__all__ = [
    "NS",
    "XmpError",
    "sidecar_path",
    "sidecar_target",
    "existing_sidecars",
    "read_sidecar",
    "read_packet",
    "read_embedded",
    "read_photo",
    "merge_xmp",
    "new_packet",
    "write_sidecar",
    "write_decision",
    "import_decisions",
]

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photocull": "http://ns.photocull.org/xmp/1.0/",
}
_X, _RDF, _XMP, _PC = (f"{{{NS[k]}}}" for k in ("x", "rdf", "xmp", "photocull"))
_PROPS = {"rating": _XMP + "Rating", "label": _XMP + "Label"}
_MARKS = {"rating": _PC + "AutoRating", "label": _PC + "AutoLabel"}

EMBEDDED_SCAN_BYTES = 4 << 20  # how far into a non-JPEG file read_embedded looks for a packet
_SCAN_CHUNK = 256 << 10
# the RAW formats that embed XMP (DNG: TIFF tag 700, CR3: a uuid box); the others rely on sidecars
_RAW_WITH_XMP = frozenset({".dng", ".cr3"})
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"

_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'
_XMPTK = "photocull"

_ROOT_START = re.compile(r"<(?![?!])")

# ElementTree's prefix registry is process-global: register + serialise under one lock.
_ns_lock = threading.Lock()


class XmpError(Exception):
    """A sidecar that cannot be read or merged safely (it is left untouched)."""


# -- paths ------------------------------------------------------------------

def sidecar_target(path: str | os.PathLike, companions: Iterable[str | os.PathLike] = ()) -> Path:
    """The file of a shot that owns the sidecar: the RAW of a RAW+JPEG pair, else ``path``."""
    files = [Path(path), *map(Path, companions)]
    for f in files:
        if is_raw(f):
            return f
    return files[0]


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False too where the name cannot exist (a 255-byte photo name + ``.xmp``)."""
    try:
        return path.is_file()
    except OSError:
        return False


def sidecar_path(photo: str | os.PathLike, naming: str = "replace") -> Path:
    """Sidecar path of ``photo`` for a naming style; an existing ``.XMP`` variant wins."""
    photo = Path(photo)
    if naming == "replace":
        base = photo.with_suffix("")
        candidates = [base.with_name(base.name + ".xmp"), base.with_name(base.name + ".XMP")]
    elif naming == "append":
        candidates = [photo.with_name(photo.name + ".xmp"), photo.with_name(photo.name + ".XMP")]
    else:
        raise ValueError(f"naming must be 'replace' or 'append', got {naming!r}")
    if photo.suffix.lower() == ".xmp":
        raise ValueError(f"{photo} is itself a sidecar")
    for c in candidates:
        if _is_file(c):
            return c
    return candidates[0]


def existing_sidecars(photo: str | os.PathLike) -> list[Path]:
    """Sidecar files of ``photo`` present on disk, in both naming styles."""
    photo = Path(photo)
    stem = photo.with_suffix("").name
    names = (stem + ".xmp", stem + ".XMP", photo.name + ".xmp", photo.name + ".XMP")
    found: list[Path] = []
    for n in names:
        p = photo.with_name(n)
        if _is_file(p) and not any(p.samefile(q) for q in found):  # .xmp/.XMP on case-insensitive FS
            found.append(p)
    return found


# -- parsing ----------------------------------------------------------------

class _Builder(ET.TreeBuilder):
    """TreeBuilder that also records namespace declarations (prefix -> uri)."""

    def __init__(self):
        super().__init__(insert_comments=True, insert_pis=True)
        self.prefixes: dict[str, str] = {}

    def start_ns(self, prefix, uri):
        self.prefixes.setdefault(prefix, uri)


def _parse(data: bytes) -> tuple[ET.Element, dict[str, str]]:
    builder = _Builder()
    parser = DET.DefusedXMLParser(target=builder, forbid_dtd=True)
    try:
        parser.feed(data)
        root = parser.close()
    except (ET.ParseError, defusedxml.DefusedXmlException) as e:
        raise XmpError(f"not a readable XMP document: {e}") from e
    return root, builder.prefixes


def _descriptions(root: ET.Element) -> tuple[ET.Element, list[ET.Element]]:
    if root.tag == _RDF + "RDF":
        rdf = root
    else:
        rdf = root.find(_RDF + "RDF")
        if rdf is None:
            raise XmpError(f"no rdf:RDF in XMP root <{root.tag}>")
    return rdf, rdf.findall(_RDF + "Description")


def _get(descs: list[ET.Element], tag: str) -> str | None:
    for d in descs:
        if tag in d.attrib:
            return d.attrib[tag]
        child = d.find(tag)
        if child is not None:
            return (child.text or "").strip()
    return None


def _number(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except ValueError as e:
        raise XmpError(f"xmp:Rating is not a number: {value!r}") from e


def read_packet(data: bytes) -> dict:
    """Rating and label of an XMP document (attribute or element form), and whose they are:
    ``{"rating": int | None, "label": str | None, "auto": {"rating": bool, "label": bool}}``;
    ``auto[field]`` is True where the value is the one photocull's auto-cull wrote (its mark)."""
    root, _ = _parse(data)
    _, descs = _descriptions(root)
    out = {"rating": _number(_get(descs, _PROPS["rating"])), "label": _get(descs, _PROPS["label"]) or None}
    raw = {"rating": _get(descs, _PROPS["rating"]), "label": _get(descs, _PROPS["label"])}
    out["auto"] = {k: raw[k] not in (None, "") and _get(descs, _MARKS[k]) == raw[k] for k in _PROPS}
    return out


def read_sidecar(path: str | os.PathLike) -> dict:
    """``{"rating": int | None, "label": str | None}`` of a sidecar (attribute or element form)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise XmpError(f"cannot read {path}: {e}") from e
    try:
        fields = read_packet(data)
    except XmpError as e:
        raise XmpError(f"{path}: {e}") from e
    return {"rating": fields["rating"], "label": fields["label"]}


def _jpeg_packet(f) -> bytes | None:
    """The XMP APP1 payload of an open JPEG, reading its header segments only."""
    if f.read(2) != b"\xff\xd8":
        return None
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        while marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + f.read(1)
        if marker[1] in (0xD9, 0xDA):  # end of image / start of scan: no more metadata
            return None
        if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:  # stand-alone markers
            continue
        length = f.read(2)
        if len(length) < 2 or int.from_bytes(length, "big") < 2:
            return None
        payload = f.read(int.from_bytes(length, "big") - 2)
        if marker[1] == 0xE1 and payload.startswith(_JPEG_XMP):
            return payload[len(_JPEG_XMP):]


def _scan_packet(f) -> bytes | None:
    """The first ``<x:xmpmeta>...</x:xmpmeta>`` in the first EMBEDDED_SCAN_BYTES of an open file."""
    head, start = b"", -1
    while len(head) < EMBEDDED_SCAN_BYTES:
        chunk = f.read(min(_SCAN_CHUNK, EMBEDDED_SCAN_BYTES - len(head)))
        if not chunk:
            break
        seen = len(head)
        head += chunk
        if start < 0:
            start = head.find(b"<x:xmpmeta", max(0, seen - 16))
        if start >= 0:
            end = head.find(b"</x:xmpmeta>", start)
            if end >= 0:
                return head[start:end + len(b"</x:xmpmeta>")]
    return None


def read_embedded(photo: str | os.PathLike) -> bytes | None:
    """The XMP packet embedded in ``photo`` (see the module docstring), or None."""
    if is_raw(photo) and Path(photo).suffix.lower() not in _RAW_WITH_XMP:
        return None
    try:
        with open(photo, "rb") as f:
            if f.read(2) == b"\xff\xd8":
                f.seek(0)
                return _jpeg_packet(f)
            f.seek(0)
            return _scan_packet(f)
    except OSError as e:
        raise XmpError(f"cannot read {photo}: {e}") from e


def read_photo(photo: str | os.PathLike, companions: Iterable[str | os.PathLike] = ()) -> dict | None:
    """:func:`read_packet` of a shot's XMP: the first sidecar (of its RAW, then of its other files)
    that holds a rating or label, else the packet embedded in its files; None when there is none.
    Raises :class:`XmpError` for a sidecar or packet that cannot be read."""
    target = sidecar_target(photo, companions)
    files = [target, *(f for f in map(Path, [photo, *companions]) if f != target)]
    for f in files:
        for side in existing_sidecars(f):
            try:
                fields = read_packet(side.read_bytes())
            except (OSError, XmpError) as e:
                raise XmpError(f"{side}: {e}") from e
            if fields["rating"] is not None or fields["label"] is not None:
                return fields
    for f in files:
        packet = read_embedded(f)
        if packet is not None:
            try:
                fields = read_packet(packet)
            except XmpError as e:
                raise XmpError(f"XMP embedded in {f}: {e}") from e
            if fields["rating"] is not None or fields["label"] is not None:
                return fields
    return None


# -- writing ----------------------------------------------------------------

def _set(descs: list[ET.Element], tag: str, value: str) -> None:
    """Update every top-level occurrence of ``tag``; add an attribute when there is none."""
    found = False
    for d in descs:
        if tag in d.attrib:
            d.set(tag, value)
            found = True
        for child in d.findall(tag):
            child.text = value
            found = True
    if not found:
        descs[0].set(tag, value)


def _serialise(root: ET.Element, prefixes: dict[str, str]) -> str:
    with _ns_lock:
        for prefix, uri in {**NS, **prefixes}.items():
            if prefix and prefix != "xml" and not re.fullmatch(r"ns\d+", prefix):
                ET.register_namespace(prefix, uri)
        return ET.tostring(root, encoding="unicode")


def _fields(rating: int | None, label: str | None, auto: Iterable[str] = ()) -> dict[str, str | None]:
    """Tags to set (``None``: remove); ``auto`` names the fields ("rating", "label") that are
    auto-cull's proposal, whose value is also written to their mark (other marks are removed)."""
    values = {}
    if rating is not None:
        if not -1 <= int(rating) <= 5:
            raise ValueError(f"xmp:Rating must be -1..5, got {rating}")
        values["rating"] = str(int(rating))
    if label is not None:
        values["label"] = label
    auto = set(auto)
    out: dict[str, str | None] = {}
    for name, value in values.items():
        out[_PROPS[name]] = value
        out[_MARKS[name]] = value if name in auto else None
    return out


def new_packet(rating: int | None, label: str | None, auto: Iterable[str] = ()) -> bytes:
    """A fresh XMP packet (``<?xpacket?>`` wrapped) holding only rating and label (and their marks)."""
    root = ET.Element(_X + "xmpmeta", {_X + "xmptk": _XMPTK})
    rdf = ET.SubElement(root, _RDF + "RDF")
    fields = {k: v for k, v in _fields(rating, label, auto).items() if v is not None}
    ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": "", **fields})
    ET.indent(root, space=" ")
    return (_PACKET_BEGIN + _serialise(root, {}) + _PACKET_END).encode("utf-8")


def _remove(descs: list[ET.Element], tag: str) -> None:
    for d in descs:
        d.attrib.pop(tag, None)
        for child in d.findall(tag):
            d.remove(child)


def merge_xmp(existing: bytes, rating: int | None, label: str | None, auto: Iterable[str] = ()) -> bytes:
    """``existing`` sidecar bytes with xmp:Rating / xmp:Label (and their marks, see :func:`_fields`)
    set; everything else kept."""
    fields = _fields(rating, label, auto)
    try:
        text = existing.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise XmpError(f"sidecar is not UTF-8: {e}") from e
    root, prefixes = _parse(existing)
    rdf, descs = _descriptions(root)
    if not descs:
        descs = [ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": ""})]
    for tag, value in fields.items():
        if value is None:
            _remove(descs, tag)
        else:
            _set(descs, tag, value)
    # keep what surrounds the root element verbatim (XML declaration, xpacket wrapper)
    start = _ROOT_START.search(text)
    head = text[: start.start()] if start else ""
    last_end = text.rfind("</")
    close = text.find(">", last_end) if last_end >= 0 else -1
    tail = text[close + 1:] if close >= 0 else "\n"
    return (head + _serialise(root, prefixes) + tail).encode("utf-8")


def write_sidecar(
    photo: str | os.PathLike,
    rating: int | None,
    label: str | None,
    naming: str = "replace",
    companions: Iterable[str | os.PathLike] = (),
    auto: Iterable[str] = (),
) -> Path:
    """Merge rating/label into the sidecar of ``photo`` (its RAW for a pair); returns the sidecar path.
    ``auto``: the fields that are auto-cull's proposal (marked as such, see the module docstring)."""
    target = sidecar_target(photo, companions)
    path = sidecar_path(target, naming)
    if path.exists():
        try:
            existing = path.read_bytes()
        except OSError as e:
            raise XmpError(f"cannot read {path}: {e}") from e
        try:
            data = merge_xmp(existing, rating, label, auto)
        except XmpError as e:
            raise XmpError(f"{path}: {e}") from e
    else:
        data = new_packet(rating, label, auto)
    atomic_write_bytes(path, data)
    return path


def write_decision(
    photo: str | os.PathLike,
    decision: Decision,
    naming: str = "replace",
    companions: Iterable[str | os.PathLike] = (),
) -> Path | None:
    """Write a :class:`Decision` (its rating, and its label unless ``decision.own_label``, marked
    as auto-cull's when ``decision.auto``); returns the sidecar path, or None when there is
    nothing to write."""
    rating = decision.xmp_rating
    if rating is None and decision.label is None:
        return None
    auto = (("rating",) if decision.own_label else ("rating", "label")) if decision.auto else ()
    return write_sidecar(photo, rating, decision.label, naming, companions, auto)


def _xmp_changed_since(item: PhotoItem, when: float) -> bool:
    """Whether a sidecar or a file of ``item``'s shot (its embedded XMP) changed after ``when``."""
    files = [Path(item.path), *map(Path, item.companions)]
    for path in [*files, *(side for f in files for side in existing_sidecars(f))]:
        try:
            if path.stat().st_mtime > when:
                return True
        except OSError:
            continue
    return False


def import_decisions(items: Iterable[PhotoItem], cache=None) -> tuple[dict[Path, Decision], list[str]]:
    """The photographer's decisions on ``items`` and the XMP problems met reading them.

    A photo the cache (a :class:`~photocull.app.core.cache.Cache`, or None) holds a decision for
    keeps it; for the others, the rating and label of their XMP (:func:`read_photo`; values
    photocull's auto-cull wrote excluded) are read in with :func:`decision_from_xmp` and stored
    in the cache as theirs, an empty one as "seen, undecided". An undecided photo's XMP is read
    again only when one of its sidecars or files changed since that was stored (another tool
    rated it meanwhile), so a rating the photographer cleared here does not come back, and a
    rating set later elsewhere is still theirs. A sidecar that cannot be read is reported, not
    imported (and read again next time).
    """
    items = [it for it in items if not it.error]
    stored = cache.get_decisions([it.path for it in items]) if cache is not None else {}
    undecided = cache.undecided_since(stored) if cache is not None else {}
    found: dict[Path, Decision] = {}
    problems: list[str] = []
    for it in items:
        if it.path in stored and not (it.path in undecided and _xmp_changed_since(it, undecided[it.path])):
            continue
        try:
            fields = read_photo(it.path, it.companions)
        except XmpError as e:
            problems.append(str(e))
            continue
        if fields is None:
            found[it.path] = Decision()
            continue
        found[it.path] = decision_from_xmp(None if fields["auto"]["rating"] else fields["rating"],
                                           None if fields["auto"]["label"] else fields["label"])
    if found and cache is not None:
        cache.set_decisions(found)
    decided = {p: d for p, d in {**stored, **found}.items() if d != Decision()}
    return decided, problems
