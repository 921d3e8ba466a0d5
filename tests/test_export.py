import csv
import io
import json
from collections import namedtuple
from pathlib import Path

from photocull.app.core import export
from photocull.app.core.decisions import cull_threshold

Scored = namedtuple("Scored", "path score status error")


def results(tmp_path):
    scored = [
        Scored(tmp_path / "a.jpg", 81.26, "ok", ""),
        Scored(tmp_path / "sub" / "b, with comma.jpg", 12.0, "ok", ""),
        Scored(tmp_path / "c.jpg", None, "error", 'cannot decode: "truncated"'),
        Scored(tmp_path / "d.jpg", 60.0, "ok", ""),
    ]
    return cull_threshold(scored, 60)


def test_lists(tmp_path):
    out = tmp_path / "lists"
    written = export.write_lists(results(tmp_path), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "reject.txt", "review.txt"]
    assert written["keep"].read_text() == f"{tmp_path / 'a.jpg'}\n{tmp_path / 'd.jpg'}\n"
    assert written["reject"].read_text() == f"{tmp_path / 'sub' / 'b, with comma.jpg'}\n"
    assert written["needs review"].read_text() == f"{tmp_path / 'c.jpg'}\n"
    # rewriting replaces the lists (no appending)
    export.write_lists(results(tmp_path)[:1], out)
    assert (out / "reject.txt").read_text() == "" and (out / "keep.txt").read_text().count("\n") == 1


def test_csv(tmp_path):
    path = export.write_csv(results(tmp_path), tmp_path / "out" / "cull.csv")
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["path", "score", "decision", "reason"]
    assert rows[1] == [str(tmp_path / "a.jpg"), "81.3", "keep", "score 81.3 >= 60"]
    assert rows[2] == [str(tmp_path / "sub" / "b, with comma.jpg"), "12.0", "reject", "score 12.0 < 60"]
    assert rows[3] == [str(tmp_path / "c.jpg"), "", "needs review", 'not scored: cannot decode: "truncated"']
    assert rows[4][2] == "keep" and len(rows) == 5


def test_json(tmp_path):
    path = export.write_json(results(tmp_path), tmp_path / "cull.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data[0] == {"path": str(tmp_path / "a.jpg"), "score": 81.3, "decision": "keep", "reason": "score 81.3 >= 60"}
    assert data[2]["score"] is None and data[2]["decision"] == "needs review"
    assert [d["decision"] for d in data] == ["keep", "reject", "needs review", "keep"]
    assert all(Path(d["path"]).is_absolute() for d in data)
