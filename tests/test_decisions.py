from dataclasses import dataclass
from pathlib import Path

import pytest

from photocull.app.core.decisions import (
    KEEP,
    PICK,
    REJECT,
    REVIEW,
    UNFLAGGED,
    Decision,
    Labels,
    cull_threshold,
    cull_top,
    parse_fraction,
    stars_for_score,
)


@dataclass
class R:  # the fields of engine.ScoreResult that auto-cull reads
    path: Path
    score: float | None
    status: str = "ok"
    error: str = ""
    cached: bool = False


def res(*scores):
    return [R(Path(f"/p/{i:02d}.jpg"), s) if s is not None else R(Path(f"/p/{i:02d}.jpg"), None, "error", "bad file")
            for i, s in enumerate(scores)]


def verdicts(out):
    return [c.verdict for c in out]


def test_cull_top_keeps_best_fraction_in_input_order():
    rs = res(10, 90, 50, 70, 30, 20, 80, 60, 40, 0)
    out = cull_top(rs, 0.3)
    assert [c.path for c in out] == [r.path for r in rs]
    kept = {c.score for c in out if c.verdict == KEEP}
    assert kept == {90, 80, 70}  # 0.3 * 10 must not round up to 4
    assert verdicts(out).count(REJECT) == 7
    assert all(c.decision.flag == PICK and c.decision.label == "Green" for c in out if c.verdict == KEEP)
    assert all(c.decision.flag == REJECT and c.decision.xmp_rating == -1 for c in out if c.verdict == REJECT)


def test_cull_top_rounds_up_and_keeps_ties_together_regardless_of_order():
    rs = res(50, 50, 10, 50, 20)
    out = cull_top(rs, 0.25)  # ceil(1.25) = 2 -> cut at 50 -> all three 50s kept
    assert verdicts(out) == [KEEP, KEEP, REJECT, KEEP, REJECT]
    rev = cull_top(list(reversed(rs)), 0.25)
    assert sorted((c.path, c.verdict) for c in rev) == sorted((c.path, c.verdict) for c in out)
    assert verdicts(cull_top(res(5), 0.01)) == [KEEP]  # any fraction keeps at least one
    assert verdicts(cull_top(res(5, 6), 0.0)) == [REJECT, REJECT]


def test_failed_files_are_never_auto_rejected():
    rs = res(None, 10, None, 90)
    rs.append(R(Path("/p/nan.jpg"), float("nan")))
    for out in (cull_top(rs, 0.5), cull_threshold(rs, 50)):
        assert verdicts(out) == [REVIEW, REJECT, REVIEW, KEEP, REVIEW]
        assert out[0].decision == Decision() and out[0].decision.xmp_rating is None
        assert "bad file" in out[0].reason
    # the failed ones don't count in the population: 1 of 2 scored kept
    assert verdicts(cull_top(res(None, 10, 90), 0.5)) == [REVIEW, REJECT, KEEP]


def test_cull_threshold_and_reasons():
    out = cull_threshold(res(59.9, 60, 75), 60)
    assert verdicts(out) == [REJECT, KEEP, KEEP]
    assert out[0].reason == "score 59.9 < 60" and out[1].reason == "score 60.0 >= 60"
    assert out[2].decision.stars == 4


def test_star_bands_and_xmp_mapping():
    assert [stars_for_score(s) for s in (0, 19.9, 20, 39.9, 40, 59.9, 60, 79.9, 80, 100)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert Decision(PICK, 0).xmp_rating == 1
    assert Decision(PICK, 4).xmp_rating == 4
    assert Decision(REJECT, 3).xmp_rating == -1
    assert Decision(UNFLAGGED, 0).xmp_rating is None
    assert Decision(UNFLAGGED, 2).xmp_rating == 2
    d = Decision(PICK, 3, "Blue")
    assert Decision.from_dict(d.to_dict()) == d
    with pytest.raises(ValueError):
        Decision("maybe")
    with pytest.raises(ValueError):
        Decision(PICK, 6)


def test_labels_are_configurable():
    out = cull_threshold(res(10, 90), 50, Labels(keep="Purple", reject=None))
    assert [c.decision.label for c in out] == [None, "Purple"]


@pytest.mark.parametrize("text,value", [("30%", 0.3), ("0.3", 0.3), ("30", 0.3), ("100%", 1.0), (" 5 % ", 0.05), ("1", 1.0)])
def test_parse_fraction(text, value):
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "-5%", "150%", ""])
def test_parse_fraction_rejects(text):
    with pytest.raises(ValueError):
        parse_fraction(text)
