"""Occlusion-sensitivity heatmaps (photocull.model.occlusion) and the heatmap dispatch (photocull.model.explain.heatmap)."""
import numpy as np
import pytest
from PIL import Image, ImageFilter

from photocull.model.explain import heatmap
from photocull.model.occlusion import occlusion_map
from photocull.model.scoring import Preprocessor, ScorerMixin


class SharpnessScorer(ScorerMixin):
    """A stand-in Scorer that measures sharpness like an IQA model: the mean, over 8x8 tiles with
    texture, of Laplacian energy relative to the tile's contrast; flat tiles carry no evidence."""

    image_size = 64
    model_id = "sharpness-v1"
    preprocessor = Preprocessor(64, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))

    def predict_batch(self, x):
        grey = np.asarray(x, np.float32).mean(axis=1)  # (N, S, S)
        lap = np.abs(4 * grey[:, 1:-1, 1:-1] - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1]
                     - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:])
        n, s = lap.shape[0], lap.shape[1] // 8 * 8
        tiles = lambda a: a[:, :s, :s].reshape(n, s // 8, 8, s // 8, 8)  # noqa: E731
        energy = tiles(lap).mean(axis=(2, 4))
        contrast = tiles(grey[:, 1:-1, 1:-1]).std(axis=(2, 4))
        textured = contrast > 0.05
        ratio = np.where(textured, energy / np.maximum(contrast, 1e-6), 0.0)
        score = ratio.sum(axis=(1, 2)) / np.maximum(textured.sum(axis=(1, 2)), 1) * 25.0
        return np.clip(score, 0, 100).astype(np.float32)


def half_blurred(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (48, 64), dtype=np.uint8)
    img = Image.fromarray(noise).resize((128, 96), Image.Resampling.NEAREST).convert("RGB")
    right = img.crop((64, 0, 128, 96)).filter(ImageFilter.GaussianBlur(2.5))
    img.paste(right, (64, 0))
    return img


def test_shape_range_and_modes():
    img = half_blurred()
    scorer = SharpnessScorer()
    for mode in ("low", "high"):
        heat = occlusion_map(scorer, img, mode=mode)
        assert heat.shape == (96, 128) and heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() <= 1.0 and heat.max() > 0.5
    with pytest.raises(ValueError, match="mode"):
        occlusion_map(scorer, img, mode="why")


def test_low_map_finds_the_blurred_half_and_high_map_the_sharp_half():
    img = half_blurred()
    scorer = SharpnessScorer()
    assert scorer.predict([img])[0] < scorer.predict([img.crop((0, 0, 64, 96))])[0]  # the blur costs score
    low = occlusion_map(scorer, img, mode="low")
    assert low[:, 72:].mean() > 4 * low[:, :56].mean()
    assert low[:, 64:].sum() / low.sum() > 0.8
    high = heatmap(scorer, img, mode="high")  # not a torch model -> occlusion
    assert high[:, :56].mean() > 4 * high[:, 72:].mean()


def test_all_zero_when_nothing_moves_the_score():
    class Constant(SharpnessScorer):
        def predict_batch(self, x):
            return np.full(len(x), 42.0, np.float32)

    heat = occlusion_map(Constant(), half_blurred(), mode="low")
    assert heat.shape == (96, 128) and not heat.any()


def test_small_changes_stay_faint():
    """A model whose score moves by a fraction of a point gets a faint map, not a full-red one."""
    class Tiny(SharpnessScorer):
        def predict_batch(self, x):
            return SharpnessScorer.predict_batch(self, x) * 0.001 + 50.0

    heat = occlusion_map(Tiny(), half_blurred(), mode="low", floor=1.0)
    assert 0 < heat.max() < 0.2
