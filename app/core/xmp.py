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

from .decisions import Decision
from .scan import is_raw

__all__ = [
    "NS",
    "XmpError",
    "sidecar_path",
    "sidecar_target",
    "existing_sidecars",
    "read_sidecar",
    "merge_xmp",
    "new_packet",
    "write_sidecar",
    "write_decision",
]

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
_X, _RDF, _XMP = (f"{{{NS[k]}}}" for k in ("x", "rdf", "xmp"))
_PROPS = {"rating": _XMP + "Rating", "label": _XMP + "Label"}

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


def read_sidecar(path: str | os.PathLike) -> dict:
    """``{"rating": int | None, "label": str | None}`` of a sidecar (attribute or element form)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise XmpError(f"cannot read {path}: {e}") from e
    root, _ = _parse(data)
    _, descs = _descriptions(root)
    rating = _get(descs, _PROPS["rating"])
    try:
        rating_value = None if rating in (None, "") else int(float(rating))
    except ValueError as e:
        raise XmpError(f"{path}: xmp:Rating is not a number: {rating!r}") from e
    return {"rating": rating_value, "label": _get(descs, _PROPS["label"])}


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


def _fields(rating: int | None, label: str | None) -> dict[str, str]:
    out = {}
    if rating is not None:
        if not -1 <= int(rating) <= 5:
            raise ValueError(f"xmp:Rating must be -1..5, got {rating}")
        out[_PROPS["rating"]] = str(int(rating))
    if label is not None:
        out[_PROPS["label"]] = label
    return out


def new_packet(rating: int | None, label: str | None) -> bytes:
    """A fresh XMP packet (``<?xpacket?>`` wrapped) holding only rating and label."""
    root = ET.Element(_X + "xmpmeta", {_X + "xmptk": _XMPTK})
    rdf = ET.SubElement(root, _RDF + "RDF")
    ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": "", **_fields(rating, label)})
    ET.indent(root, space=" ")
    return (_PACKET_BEGIN + _serialise(root, {}) + _PACKET_END).encode("utf-8")


def merge_xmp(existing: bytes, rating: int | None, label: str | None) -> bytes:
    """``existing`` sidecar bytes with xmp:Rating / xmp:Label set; everything else kept."""
    fields = _fields(rating, label)
    try:
        text = existing.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise XmpError(f"sidecar is not UTF-8: {e}") from e
    root, prefixes = _parse(existing)
    rdf, descs = _descriptions(root)
    if not descs:
        descs = [ET.SubElement(rdf, _RDF + "Description", {_RDF + "about": ""})]
    for tag, value in fields.items():
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
) -> Path:
    """Merge rating/label into the sidecar of ``photo`` (its RAW for a pair); returns the sidecar path."""
    target = sidecar_target(photo, companions)
    path = sidecar_path(target, naming)
    if path.exists():
        try:
            existing = path.read_bytes()
        except OSError as e:
            raise XmpError(f"cannot read {path}: {e}") from e
        try:
            data = merge_xmp(existing, rating, label)
        except XmpError as e:
            raise XmpError(f"{path}: {e}") from e
    else:
        data = new_packet(rating, label)
    atomic_write_bytes(path, data)
    return path


def write_decision(
    photo: str | os.PathLike,
    decision: Decision,
    naming: str = "replace",
    companions: Iterable[str | os.PathLike] = (),
) -> Path | None:
    """Write a :class:`Decision`; returns the sidecar path, or None when there is nothing to write."""
    rating = decision.xmp_rating
    if rating is None and decision.label is None:
        return None
    return write_sidecar(photo, rating, decision.label, naming, companions)
