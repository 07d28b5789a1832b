"""The domain check's canonical copy is made exactly as the training images were.

The training images were saved as RGB: 8-bit, resized with Pillow's bicubic filter in RGB, JPEG
quality 75. :func:`canonical_image` resizes one gray band and makes it RGB afterwards (a third of
the work on a 2k film), the rounding and the resize of a large image in two bands of rows on two
threads; the copy must be identical, pixel for pixel, on real full-size images of every shape
(odd and even heights, strips, 2k films), or the domain scores of the fitted reference would move.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from engine.imaging.images import load_image
from engine.inference.domain_features import CANONICAL_QUALITY, CANONICAL_SIZE, canonical_image


def _as_training_images_were_made(pixels: np.ndarray) -> np.ndarray:
    """The reference: 8-bit, RGB, then bicubic resize of the RGB image, JPEG q75, back to gray."""
    eight_bit = np.clip(np.rint(pixels.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    rgb = Image.fromarray(eight_bit).convert("RGB")
    small = rgb.resize((CANONICAL_SIZE, CANONICAL_SIZE), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=CANONICAL_QUALITY)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255.0)


def test_the_canonical_copy_of_full_size_films_is_the_training_images_way(
    fullres_dir: Path, dicom_dir: Path
):
    files = [*sorted(fullres_dir.glob("*/*.jpeg")), *sorted(dicom_dir.glob("RG*_UNC*.dcm"))]

    for path in files:
        pixels = load_image(path).pixels
        copy = canonical_image(pixels)
        assert copy.shape == (CANONICAL_SIZE, CANONICAL_SIZE), path.name
        np.testing.assert_array_equal(copy, _as_training_images_were_made(pixels), path.name)
