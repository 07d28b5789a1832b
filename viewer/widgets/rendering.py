"""Pure numpy -> QImage helpers: grayscale display, colormaps and heatmap compositing.

Kept apart from the widgets (compute and display apart, as keras-io's Grad-CAM example does) so
that every pixel the viewer shows can be checked in a test without a window. Only
:func:`gray_qimage` and :func:`rgba_qimage` touch Qt, and only ``QImage``, which is safe to build
on a worker thread.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from PySide6.QtGui import QImage

from engine import Window, apply_window

U8Image = npt.NDArray[np.uint8]

#: Colormaps offered for the heatmap overlay, in menu order. ``jet`` is what Grad-CAM papers show;
#: ``inferno``/``viridis`` are perceptually uniform and readable by colour-blind users.
COLORMAPS = ("jet", "inferno", "viridis", "turbo", "magma")


def to_uint8(display: npt.NDArray[np.floating]) -> U8Image:
    """Scale a display image in [0, 1] to 8-bit levels (rounded, clipped)."""
    out = np.clip(np.asarray(display, dtype=np.float32), 0.0, 1.0) * np.float32(255.0)
    return np.rint(out, out=out).astype(np.uint8)


def window_levels(values: npt.NDArray[np.floating], window: Window, invert: bool) -> U8Image:
    """Display levels (uint8) of modality values through a VOI window, inverted if asked.

    The engine's :func:`engine.apply_window` does the DICOM VOI maths (PS3.3 C.11.2); this only
    quantises its result for the screen.
    """
    return to_uint8(apply_window(values, window, invert))


def downsample(image: npt.NDArray[np.generic], max_side: int) -> npt.NDArray[np.generic]:
    """Every n-th pixel so that neither side exceeds ``max_side`` (a cheap preview, no copy)."""
    step = max(1, -(-max(image.shape[:2]) // max_side))
    return image[::step, ::step]


@cache
def colormap_lut(name: str) -> U8Image:
    """A 256 x 3 uint8 RGB lookup table for a matplotlib colormap, computed once per name.

    Raises:
        ValueError: ``name`` is not one of :data:`COLORMAPS`.
    """
    if name not in COLORMAPS:
        raise ValueError(f"Unknown colormap {name!r}; expected one of {', '.join(COLORMAPS)}.")
    from matplotlib import colormaps  # imported on first use: keeps start-up fast

    rgba = colormaps[name](np.linspace(0.0, 1.0, 256))
    return np.rint(rgba[:, :3] * 255.0).astype(np.uint8)


def heatmap_rgba(heatmap: npt.NDArray[np.floating], colormap: str) -> U8Image:
    """Colour a heatmap in [0, 1] as RGBA whose alpha is the heat itself.

    Why alpha = heat: regions with no evidence stay transparent, so the anatomy under them remains
    readable; the overlay's overall opacity is applied separately (a cheap item opacity on screen,
    ``opacity`` in :func:`composite`).
    """
    levels = to_uint8(np.nan_to_num(heatmap, nan=0.0))
    rgba = np.empty((*levels.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colormap_lut(colormap)[levels]
    rgba[..., 3] = levels
    return rgba


def composite(gray: U8Image, rgba: U8Image | None, opacity: float) -> U8Image:
    """Alpha-composite a heatmap (from :func:`heatmap_rgba`) over a grayscale image.

    Args:
        gray: H x W uint8 display image.
        rgba: H x W x 4 uint8 heatmap of the same shape, or ``None`` for no overlay.
        opacity: overall overlay opacity in [0, 1], multiplied with the per-pixel alpha.

    Returns:
        H x W x 3 uint8 RGB image.
    """
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    if rgba is None or opacity <= 0:
        return base.astype(np.uint8)
    if rgba.shape[:2] != gray.shape:
        raise ValueError(f"Heatmap shape {rgba.shape[:2]} differs from the image's {gray.shape}.")
    alpha = rgba[..., 3:4].astype(np.float32) * np.float32(min(opacity, 1.0) / 255.0)
    out = base * (1.0 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return np.rint(out).astype(np.uint8)


def gray_qimage(levels: U8Image) -> QImage:
    """An 8-bit grayscale QImage holding a copy of ``levels`` (H x W uint8)."""
    return _filled_qimage(levels, QImage.Format.Format_Grayscale8, 1)


def rgba_qimage(rgba: U8Image) -> QImage:
    """A non-premultiplied RGBA QImage holding a copy of ``rgba`` (H x W x 4 uint8)."""
    return _filled_qimage(rgba, QImage.Format.Format_RGBA8888, 4)


def _filled_qimage(pixels: U8Image, image_format: QImage.Format, channels: int) -> QImage:
    """A QImage allocated by Qt, filled row by row from ``pixels``.

    Why not ``QImage(buffer, ...)``: wrapping a numpy buffer ties Qt to memory Python may free,
    and was seen to corrupt the heap under load; a Qt-owned image with its own 4-byte-aligned
    rows has no such lifetime question.
    """
    height, width = pixels.shape[:2]
    image = QImage(width, height, image_format)
    stride = image.bytesPerLine()
    rows = np.frombuffer(image.bits(), dtype=np.uint8, count=stride * height).reshape(
        height, stride
    )
    rows[:, : width * channels] = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(height, -1)
    return image


def qimage_to_array(image: QImage) -> U8Image:
    """The pixels of a QImage as H x W x 4 RGBA uint8 (for tests and exports)."""
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=converted.sizeInBytes())
    return (
        buffer.reshape(height, converted.bytesPerLine())[:, : 4 * width]
        .reshape(height, width, 4)
        .copy()
    )
