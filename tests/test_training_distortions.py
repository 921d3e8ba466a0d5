import numpy as np
import pytest
from PIL import Image

from photocull.training.distortions import DISTORTIONS, LEVELS, SyntheticRankingSet, apply


def _test_image(w=72, h=56):
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(3)
    arr = np.stack([xx * 255 / w, yy * 255 / h, 128 + 60 * np.sin(xx / 4.0) * np.cos(yy / 5.0)], -1)
    arr = arr * 0.7 + 40 + rng.normal(0, 12, arr.shape)   # texture, mid-tones, some headroom
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _mse(a, b):
    return float(((np.asarray(a, np.float32) - np.asarray(b, np.float32)) ** 2).mean())


def test_registry_size():
    assert len(DISTORTIONS) >= 15


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_distortion_shape_monotone_deterministic(name):
    img = _test_image()
    outs = [apply(name, img, lv, seed=7) for lv in LEVELS]
    for out in outs:
        assert out.mode == "RGB" and out.size == img.size
    errs = [_mse(img, o) for o in outs]
    assert errs[0] > 0.5, f"{name} level 1 is a no-op"
    assert errs[4] > errs[0] * 1.5, f"{name}: level 5 not clearly stronger than level 1 ({errs})"
    assert np.array_equal(np.asarray(apply(name, img, 3, seed=7)), np.asarray(outs[2]))


def test_random_distortions_depend_on_seed():
    img = _test_image()
    a, b = apply("white_noise", img, 3, seed=1), apply("white_noise", img, 3, seed=2)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


def test_bad_level_and_name():
    with pytest.raises(ValueError):
        apply("jpeg", _test_image(), 6)
    with pytest.raises(KeyError):
        apply("nope", _test_image(), 1)


def test_ranking_set_groups(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"p{i}.png"
        _test_image(40 + i, 40).save(p)
        paths.append(str(p))
    rs = SyntheticRankingSet(paths, levels_per_group=3, seed=5)
    g = rs.group(1, epoch=2)
    assert g == rs.group(1, epoch=2)                         # deterministic
    assert list(g.levels) == sorted(set(g.levels)) and len(g.levels) == 3
    assert {rs.group(i, e).distortion for i in range(3) for e in range(10)} != {g.distortion}
    imgs = rs.images(g, 32)
    assert len(imgs) == 3 and all(im.size == (32, 32) for im in imgs)
    base = rs.base_image(g.path, 32)
    errs = [_mse(base, im) for im in imgs]
    assert errs == sorted(errs) and errs[-1] > errs[0]       # known order: more level, more change
