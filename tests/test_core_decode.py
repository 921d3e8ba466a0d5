import io
import struct
import zlib

import numpy as np
import pytest
from PIL import ExifTags, Image

from photocull.app.core import decode
from photocull.app.core.decode import DecodeError, load_image, read_exif_summary

from fakes import MPF_FULL_HD, MPF_UNDEFINED, add_mpf_preview, write_dng

RED, BLUE = (255, 0, 0), (0, 0, 255)


def two_halves(w=40, h=20) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", (w, h), RED)
    img.paste(BLUE, (w // 2, 0, w, h))
    return img


def close(px, colour, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(px, colour))


def test_jpeg_exif_orientation_6_is_rotated(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    p = tmp_path / "rot.jpg"
    two_halves().save(p, quality=95, exif=exif)
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (20, 40)
    assert close(img.getpixel((10, 5)), RED) and close(img.getpixel((10, 34)), BLUE)


@pytest.mark.parametrize("ext, kw", [("png", {}), ("webp", {"lossless": True}), ("bmp", {}),
                                     ("tiff", {}), ("heic", {"quality": 95}), ("gif", {})])
def test_formats_decode(tmp_path, ext, kw):
    p = tmp_path / f"x.{ext}"
    two_halves().save(p, **kw)
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (40, 20)
    assert close(img.getpixel((2, 10)), RED) and close(img.getpixel((37, 10)), BLUE)


def test_sixteen_bit_and_float_are_scaled_not_clipped(tmp_path):
    import tifffile

    grey16 = np.full((8, 8), 32896, np.uint16)  # 32896 / 257 = 128
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    rgb16 = np.zeros((8, 8, 3), np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 2] = 16448  # -> 64
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb16)
    tifffile.imwrite(tmp_path / "f.tif", np.full((8, 8), 0.5, np.float32))
    assert load_image(tmp_path / "g16.png").getpixel((0, 0)) == (128, 128, 128)
    assert close(load_image(tmp_path / "rgb16.tif").getpixel((0, 0)), (255, 0, 64), tol=1)
    assert close(load_image(tmp_path / "f.tif").getpixel((0, 0)), (128, 128, 128), tol=1)


def test_alpha_palette_cmyk_grey_and_animation(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 255, 0, 255))
    rgba.save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.getpixel((5, 5)) == (255, 255, 255) and img.getpixel((0, 0)) == (0, 255, 0)

    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0])
    pal.putpixel((1, 1), 1)
    pal.save(tmp_path / "p.gif", transparency=0)
    img = load_image(tmp_path / "p.gif")
    assert img.getpixel((5, 5)) == (255, 255, 255) and img.getpixel((1, 1)) == (255, 0, 0)

    Image.new("CMYK", (10, 10), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # red in CMYK
    assert close(load_image(tmp_path / "c.jpg").getpixel((5, 5)), RED)
    Image.new("L", (10, 10), 77).save(tmp_path / "g.jpg")
    assert close(load_image(tmp_path / "g.jpg").getpixel((5, 5)), (77, 77, 77), tol=2)

    frames = [Image.new("RGB", (10, 10), c) for c in (RED, BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    assert close(load_image(tmp_path / "anim.gif").getpixel((5, 5)), RED)


def test_draft_decode_is_smaller_but_not_below_min_side(tmp_path):
    Image.new("RGB", (800, 600), (90, 90, 90)).save(tmp_path / "big.jpg")
    assert load_image(tmp_path / "big.jpg").size == (800, 600)
    small = load_image(tmp_path / "big.jpg", min_side=64)
    assert small.size == (100, 75)  # 1/8 DCT scale
    Image.new("RGB", (800, 600)).save(tmp_path / "big.png")
    reduced = load_image(tmp_path / "big.png", min_side=100)
    assert reduced.size == (134, 100)  # integer box reduction by 6 (edge block kept)
    assert load_image(tmp_path / "big.png", min_side=1000).size == (800, 600)


def test_content_sniffing_png_named_jpg(tmp_path):
    p = tmp_path / "liar.jpg"
    two_halves().save(p, format="PNG")
    assert load_image(p).getpixel((2, 2)) == RED


def test_raw_dng_without_preview_is_demosaiced(tmp_path):
    p = write_dng(tmp_path / "raw.dng")
    img = load_image(p)
    assert img.mode == "RGB" and img.size == (48, 32)  # half-size postprocess of 96x64
    assert 0 < np.asarray(img).mean() < 255


def test_raw_dng_preview_and_orientation(tmp_path):
    preview = np.zeros((32, 48, 3), np.uint8)
    preview[:, :24] = RED  # left half red
    p = write_dng(tmp_path / "prev.DNG", preview=preview, orientation=6)
    img = load_image(p)
    assert img.size == (32, 48)  # the embedded preview, turned 90° clockwise
    assert img.getpixel((16, 2)) == RED and img.getpixel((16, 45)) == (0, 0, 0)


def test_raw_dng_jpeg_preview_is_draft_decoded(tmp_path):
    buf = io.BytesIO()
    two_halves(480, 320).save(buf, "JPEG", quality=95)
    p = write_dng(tmp_path / "jprev.dng", preview=buf.getvalue(), preview_size=(480, 320), orientation=3)
    img = load_image(p)
    assert img.size == (480, 320)
    assert close(img.getpixel((10, 10)), BLUE) and close(img.getpixel((470, 10)), RED)  # turned 180°
    assert load_image(p, min_side=40).size == (60, 40)  # 1/8 DCT scale


def test_jpeg_named_as_raw_still_decodes(tmp_path):
    p = tmp_path / "fake.cr2"
    two_halves().save(p, format="JPEG")
    assert load_image(p).size == (40, 20)


def bomb_png(w, h) -> bytes:
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def reason(path):
    with pytest.raises(DecodeError) as info:
        load_image(path)
    return info.value


def test_errors_have_human_reasons(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert reason(tmp_path / "empty.jpg").reason == "empty file (0 bytes)"

    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(1).bytes(2000))
    assert reason(tmp_path / "noise.jpg").reason.startswith("not an image")

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (200, 300, 3), np.uint8)).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert reason(tmp_path / "cut.jpg").reason == "truncated JPEG"

    (tmp_path / "bomb.png").write_bytes(bomb_png(30000, 30000))
    err = reason(tmp_path / "bomb.png")
    assert err.reason.startswith("image too large: the header claims 30000×30000 pixels, more than a ")
    assert "PNG can hold" in err.reason and err.permanent

    missing = reason(tmp_path / "gone.jpg")
    assert missing.reason == "file not found" and not missing.permanent

    rawjunk = tmp_path / "junk.nef"
    rawjunk.write_bytes(b"\x00" * 100)
    assert reason(rawjunk).reason.startswith("unreadable RAW file")


def test_permission_denied(tmp_path, monkeypatch):
    p = tmp_path / "secret.jpg"
    two_halves().save(p)

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decode, "open", deny, raising=False)
    err = reason(p)
    assert err.reason == "permission denied" and not err.permanent


def test_decode_never_writes(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "r.jpg"
    two_halves(128, 64).save(p, exif=exif)
    before, st = p.read_bytes(), p.stat()
    load_image(p, min_side=24)
    read_exif_summary(p)
    assert p.read_bytes() == before and p.stat().st_mtime_ns == st.st_mtime_ns


def test_exif_summary(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = 0.004  # ExposureTime
    sub[0x829D] = 2.8  # FNumber
    sub[0x8827] = 400  # ISO
    sub[0x920A] = 50.0  # FocalLength
    sub[0x9003] = "2024:05:06 07:08:09"
    sub[0xA434] = "RF50mm F1.8 STM"
    p = tmp_path / "e.jpg"
    Image.new("RGB", (8, 8)).save(p, exif=exif)
    s = read_exif_summary(p)
    assert s["camera"] == "Canon EOS R5" and s["lens"] == "RF50mm F1.8 STM"
    assert (s["iso"], s["shutter"], s["aperture"], s["focal_length"]) == (400, "1/250", 2.8, 50.0)
    assert s["date_taken"] == "2024-05-06T07:08:09" and isinstance(s["taken"], float)
    assert read_exif_summary(tmp_path / "missing.jpg")["camera"] is None


# -- camera JPEGs with an MPF preview (the camera's own full-HD copy after the photo) -------------

def _jpeg(size, colour, exif=None) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG", quality=90, **({"exif": exif} if exif else {}))
    return buf.getvalue()


PHOTO, PREVIEW = (200, 30, 30), (30, 30, 200)  # colours telling which image was decoded


def _is(img, colour) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(img.getpixel((3, 3)), colour))


def camera_jpeg(tmp_path, preview_size=(900, 600), mp_type=MPF_FULL_HD, orientation=1, cut=0):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = add_mpf_preview(_jpeg((1800, 1200), PHOTO, exif.tobytes()), _jpeg(preview_size, PREVIEW), mp_type)
    path = tmp_path / "cam.jpg"
    path.write_bytes(data[:len(data) - cut])
    return path


def test_camera_preview_is_decoded_when_big_enough(tmp_path):
    path = camera_jpeg(tmp_path)
    small = load_image(path, min_side=448)
    assert small.size == (900, 600) and _is(small, PREVIEW)  # the preview, not the 24 MP photo
    assert _is(load_image(path, min_side=600), PREVIEW)
    big = load_image(path, min_side=700)  # the preview is too small for that: the photo itself
    assert big.size == (1800, 1200) and _is(big, PHOTO)
    assert _is(load_image(path), PHOTO)  # full decode: always the photo


def test_camera_preview_gets_the_photos_orientation(tmp_path):
    path = camera_jpeg(tmp_path, orientation=6)
    assert load_image(path, min_side=448).size == (600, 900)
    assert load_image(path, min_side=700).size == (1200, 1800)


@pytest.mark.parametrize("case", [
    {"mp_type": MPF_UNDEFINED},  # an HDR gain map or other data, not a copy of the photo
    {"preview_size": (900, 450)},  # another aspect ratio: cropped / letterboxed copy
    {"preview_size": (600, 900)},  # rotated copy
    {"cut": 300},  # preview truncated (a card read cut short after the photo)
])
def test_other_mpf_images_are_never_used_for_the_photo(tmp_path, case):
    img = load_image(camera_jpeg(tmp_path, **case), min_side=448)
    assert _is(img, PHOTO) and img.size[0] > img.size[1]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_camera_preview_is_turned_like_the_photo(tmp_path, orientation):
    a = np.zeros((1200, 1800, 3), np.uint8)
    a[:600, :900] = 255  # a white top-left quadrant shows any flip or turn
    photo = Image.fromarray(a)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    main, preview = io.BytesIO(), io.BytesIO()
    photo.save(main, "JPEG", exif=exif.tobytes())
    photo.resize((900, 600)).save(preview, "JPEG")
    path = tmp_path / "cam.jpg"
    path.write_bytes(add_mpf_preview(main.getvalue(), preview.getvalue()))
    from_preview, from_photo = load_image(path, min_side=448), load_image(path, min_side=700)
    assert from_preview.size == (from_photo.width // 2, from_photo.height // 2)
    diff = np.abs(np.asarray(from_preview.resize(from_photo.size), np.float32) - np.asarray(from_photo, np.float32))
    assert diff.mean() < 10
