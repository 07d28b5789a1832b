"""Plain-image and synthetic DICOM reading: modes, bit depths, orientation, photometric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import load_image
from tests.engine.synthetic import dicom_dataset, gradient, write_dicom


def test_8bit_grayscale_png_is_read_exactly(tmp_path: Path) -> None:
    pixels = gradient()
    Image.fromarray(pixels).save(tmp_path / "g.png")
    image = load_image(tmp_path / "g.png")
    assert image.format == "PNG" and image.bits_stored == 8
    np.testing.assert_allclose(image.pixels, pixels / 255.0, atol=1e-6)
    np.testing.assert_array_equal(image.values, pixels.astype(np.float32))


def test_16bit_png_uses_its_full_stored_range(tmp_path: Path) -> None:
    pixels = gradient().astype(np.uint16) * 16  # 12-bit data in a 16-bit PNG
    Image.fromarray(pixels).save(tmp_path / "g16.png")
    image = load_image(tmp_path / "g16.png")
    assert image.bits_stored == 16
    assert image.stored_range == (0.0, 255.0 * 16)
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0
    np.testing.assert_allclose(image.pixels, pixels / (255.0 * 16), atol=1e-5)


def test_rgb_with_equal_channels_is_gray_without_warning(tmp_path: Path) -> None:
    pixels = gradient()
    Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(tmp_path / "rgb.png")
    image = load_image(tmp_path / "rgb.png")
    np.testing.assert_allclose(image.pixels, pixels / 255.0, atol=1e-6)
    assert image.warnings == ()


def test_colour_image_is_converted_with_a_warning(tmp_path: Path) -> None:
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "red.png")
    image = load_image(tmp_path / "red.png")
    assert any("colour image" in warning for warning in image.warnings)


def test_rgba_alpha_is_dropped_and_transparency_reported(tmp_path: Path) -> None:
    pixels = gradient()
    rgba = np.stack([pixels] * 3 + [np.full_like(pixels, 255)], axis=-1)
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    opaque = load_image(tmp_path / "opaque.png")
    np.testing.assert_allclose(opaque.pixels, pixels / 255.0, atol=1e-6)
    assert opaque.warnings == ()
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "transparent.png")
    assert any("transparent" in w for w in load_image(tmp_path / "transparent.png").warnings)


def test_exif_orientation_is_honoured(tmp_path: Path) -> None:
    pixels = gradient(40, 60)  # landscape; EXIF 6 = rotate 90 clockwise to display
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image = load_image(tmp_path / "rotated.jpg")
    assert image.pixels.shape == (60, 40)
    expected = np.rot90(pixels, k=-1) / 255.0
    assert float(np.abs(image.pixels - expected).mean()) < 0.02


def test_jpeg_named_png_is_read_by_content_with_warning(tmp_path: Path) -> None:
    Image.fromarray(gradient()).save(tmp_path / "actually.png", format="JPEG")
    image = load_image(tmp_path / "actually.png")
    assert image.format == "JPEG"
    assert any("name says PNG but the content is JPEG" in w for w in image.warnings)


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_8bit_dicom_displays_like_the_same_pixels_as_png(tmp_path: Path, photometric: str) -> None:
    pixels = gradient()
    ds = dicom_dataset(pixels, photometric)
    stored = np.frombuffer(ds.PixelData, np.uint8).reshape(pixels.shape)
    expected_stored = pixels if photometric == "MONOCHROME2" else 255 - pixels
    np.testing.assert_array_equal(stored, expected_stored)
    image = load_image(write_dicom(tmp_path / "x.dcm", ds))
    np.testing.assert_allclose(image.pixels, pixels / 255.0, atol=1e-6)
    assert image.inverted == (photometric == "MONOCHROME1")


def test_rescale_slope_intercept_is_the_modality_lut(tmp_path: Path) -> None:
    ds = dicom_dataset(gradient().astype(np.uint16) * 4)
    ds.RescaleSlope, ds.RescaleIntercept = 0.5, -100
    ds.WindowCenter, ds.WindowWidth = 100, 200
    image = load_image(write_dicom(tmp_path / "r.dcm", ds))
    np.testing.assert_allclose(
        image.values, gradient().astype(np.float64) * 4 * 0.5 - 100, atol=1e-4
    )
    assert image.windows[0].center == 100 and image.windows[0].width == 200


def test_dicom_named_jpg_is_read_as_dicom(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "mislabelled.jpg", dicom_dataset(gradient()))
    image = load_image(path)
    assert image.format == "DICOM"
    assert any("content is DICOM" in w for w in image.warnings)
