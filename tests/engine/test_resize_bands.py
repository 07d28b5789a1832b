"""The model input's resize gives Pillow's pixels while it works in two bands on two threads.

:func:`engine.modeling.preprocessing.resize` reduces a large image in two bands of rows on two
threads and filters once. The oracle is the straightforward call it replaces, Pillow's
``Image.resize(..., BILINEAR, reducing_gap=3.0)`` of the whole float image: the model input
(hence the probability) must be identical on real images of every size the workstation meets
(2k films, original-resolution JPEGs with odd heights and thin strips, 512 px NIH PNGs, the
224 px training JPEGs) and at every size a model asks for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.imaging.images import load_image
from engine.modeling.preprocessing import resize


def _pillow_resize(pixels: np.ndarray, size: int) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    resized = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.float32)


@pytest.fixture(scope="module")
def real_images(fullres_dir: Path, dicom_dir: Path, shared_data: Path) -> list[np.ndarray]:
    files = [
        *sorted(fullres_dir.glob("*/*.jpeg")),
        *sorted(dicom_dir.glob("RG*_UNC*.dcm")),
        *sorted((shared_data / "sites" / "nih" / "NORMAL").glob("*.png"))[:3],
        *sorted((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jpeg"))[:3],
    ]
    return [load_image(path).pixels for path in files]


@pytest.mark.parametrize("size", [32, 224, 299])
def test_resize_equals_pillows_whole_image_resize(real_images: list[np.ndarray], size: int):
    assert any(min(pixels.shape) >= 6 * size for pixels in real_images[:-6])  # bands are used

    for pixels in real_images:
        np.testing.assert_array_equal(resize(pixels, size), _pillow_resize(pixels, size))
