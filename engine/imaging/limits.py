"""What every image reader refuses, and the remedy it suggests: one place for both readers.

The Pillow reader (:mod:`engine.imaging.images`) and the DICOM reader
(:mod:`engine.imaging.dicom_reading`) share the pixel limit and the "choose another file" remedy.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import ImageReadError

#: Largest image Hilum decodes, in pixels (rows x columns of one frame). The biggest digital
#: radiography detectors are about 4300 x 4300 (18.5 MP); 60 MP leaves room for odd exports while
#: refusing decompression bombs before any pixel buffer is allocated.
MAX_PIXELS = 60_000_000

REMEDY_OTHER_FILE = (
    "Choose another file, or re-export the image from the X-ray unit or PACS as DICOM, PNG or JPEG."
)


def check_pixel_limit(file: Path, width: int, height: int) -> None:
    """Refuse an image over :data:`MAX_PIXELS` before any pixel buffer is allocated."""
    if width * height > MAX_PIXELS:
        raise too_large(file, width * height, f"{width} x {height} = ")


def too_large(file: Path, pixels: int | None, dimensions: str) -> ImageReadError:
    """The error for an image over :data:`MAX_PIXELS` (``pixels`` when known)."""
    size = f"{dimensions}{pixels / 1e6:.0f} megapixels" if pixels else "too many megapixels"
    return ImageReadError(
        file,
        f"The image is {size}, over Hilum's limit of {MAX_PIXELS / 1e6:.0f} megapixels "
        "(a radiograph is under 20): it may be a decompression bomb.",
        "If this really is a radiograph, downsample it before opening it.",
    )
