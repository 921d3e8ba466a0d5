"""Grad-CAM on the real-weights EfficientNet default and on a tiny ViT."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from photocull.model import create_model
from photocull.model.explain import gradcam, jet, overlay_heatmap

from fakes import TINY_VIT


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return create_model(pretrained=True, image_size=128, hidden=(32, 16)).eval()


@pytest.fixture(scope="module")
def photo(kodak):
    return Image.open(kodak / "kodim23.webp").convert("RGB").resize((192, 128))


def half_blurred(img):
    w, h = img.size
    out = img.copy()
    out.paste(img.crop((w // 2, 0, w, h)).filter(ImageFilter.GaussianBlur(6)), (w // 2, 0))
    return out


def test_gradcam_shape_range_and_modes(cnn, photo):
    low = gradcam(cnn, photo, mode="low")
    high = gradcam(cnn, photo, mode="high")
    for cam in (low, high):
        assert cam.shape == (photo.height, photo.width) and cam.dtype == np.float32
        assert cam.min() >= 0 and cam.max() <= 1
    # a map is min-max normalised unless nothing pushes that way (then it is all zero)
    assert max(low.max(), high.max()) > 0.99
    # the two targets have opposite gradients, so their positive parts are (nearly) disjoint
    assert np.mean(low * high) <= 0.25 * max(np.mean(low), np.mean(high))
    with pytest.raises(ValueError, match="mode"):
        gradcam(cnn, photo, mode="mid")


def test_gradcam_sees_the_blur(cnn, photo):
    sharp = gradcam(cnn, photo, mode="low")
    blurred = gradcam(cnn, half_blurred(photo), mode="low")
    assert np.abs(sharp - blurred).mean() > 0.02
    assert not cnn.training


def test_gradcam_tiny_vit(photo):
    torch.manual_seed(0)
    m = create_model(backbone="dinov3", pretrained=False, image_size=32, hidden=(16, 8), backbone_config=dict(
        TINY_VIT, num_register_tokens=2))
    m.train()
    cam = gradcam(m, photo, mode="high")
    assert cam.shape == (photo.height, photo.width) and 0 <= cam.min() and cam.max() <= 1
    assert cam.std() > 0  # spatial structure from the 4x4 patch grid
    assert m.training  # restored


def test_overlay_and_colormap(photo):
    assert jet(np.array([0.0, 0.5, 1.0])).tolist() == [[0, 0, 128], [128, 255, 128], [128, 0, 0]]
    cam = np.zeros((photo.height, photo.width), np.float32)
    cam[:, photo.width // 2:] = 1.0
    out = overlay_heatmap(photo, cam, alpha=0.5)
    assert out.mode == "RGB" and out.size == photo.size
    arr, base = np.asarray(out, np.float32), np.asarray(photo, np.float32)
    assert np.allclose(arr[:, -1, 0], 0.5 * base[:, -1, 0] + 0.5 * 128, atol=1)  # dark red on the right
    assert np.allclose(arr[:, 0, 2], 0.5 * base[:, 0, 2] + 0.5 * 128, atol=1)  # dark blue on the left
    small = overlay_heatmap(photo, cam[::4, ::4], alpha=0.0)  # resized to the image, alpha 0 = original
    assert np.array_equal(np.asarray(small), np.asarray(photo))


def test_gradcam_needs_no_matplotlib():
    """The GUI's heatmap path imports no plotting library (Matplotlib's first-run font cache
    took 30-65 s)."""
    import subprocess
    import sys

    script = ("import sys, torch; from PIL import Image\n"
              "from photocull.model import create_model\n"
              "from photocull.model.explain import heatmap\n"
              "m = create_model(pretrained=False, image_size=64, hidden=(8, 4)).eval()\n"
              "h = heatmap(m, Image.new('RGB', (96, 64), (90, 120, 60)))\n"
              "assert h.shape == (64, 96), h.shape\n"
              "print(sorted(n for n in sys.modules if n.split('.')[0] in ('matplotlib', 'pytorch_grad_cam', 'cv2')))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
