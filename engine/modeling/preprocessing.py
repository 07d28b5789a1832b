"""The one function that turns a radiograph into model input.

Training (through the ``tf.data`` pipeline) and inference both call :func:`preprocess`, and the
:class:`Preprocessing` that parametrises it is written into every model card, so a model is
always fed exactly as it was trained (the top complaint against chest X-ray libraries is a
preprocessing mismatch between the two).

Steps, in order:

1. Resize the display-ready pixels (float in [0, 1], bone bright) to ``image_size`` x
   ``image_size`` without keeping the aspect ratio, as the training set was made, with Pillow's
   antialiased bilinear filter (a full-resolution image and its 224 px copy then agree).
2. Optionally stretch the intensities per image: the 1st..99th percentile is mapped to [0, 1]
   and clipped. This removes exposure and processing differences between X-ray units, which is
   what tends to generalise beyond the training hospital.
3. Scale for the network: ``unit`` keeps [0, 1]; ``minus_one_one`` maps to [-1, 1] (MobileNet,
   Xception); ``caffe`` gives 0..255 minus the ImageNet BGR means (VGG); ``standardize`` gives
   zero mean and unit variance per image.
4. Repeat the gray channel when the network expects 3 channels.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from engine.errors import ConfigError
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage

SCALINGS = ("unit", "minus_one_one", "caffe", "standardize")
_CAFFE_MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


@dataclass(frozen=True)
class Preprocessing:
    """How a model wants its input. Stored in the model card as a dict (:meth:`to_card`).

    Attributes:
        image_size: side of the square input, in pixels.
        channels: 1 (gray) or 3 (gray repeated, for ImageNet backbones).
        stretch: per-image 1st..99th percentile contrast stretch before scaling.
        scaling: one of :data:`SCALINGS`.
    """

    image_size: int
    channels: int = 1
    stretch: bool = True
    scaling: str = "unit"

    def __post_init__(self) -> None:
        if not 32 <= self.image_size <= 1024:
            raise ConfigError(
                f"image_size must be between 32 and 1024 pixels, got {self.image_size}."
            )
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}.")
        if self.scaling not in SCALINGS:
            raise ConfigError(
                f"scaling must be one of {', '.join(SCALINGS)}, got '{self.scaling}'."
            )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The model's input shape (height, width, channels)."""
        return (self.image_size, self.image_size, self.channels)

    def to_card(self) -> dict[str, Any]:
        """JSON-ready description, with the name of the function that applies it."""
        return {"function": "engine.modeling.preprocessing.preprocess", **asdict(self)}

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> Preprocessing:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: the card's preprocessing is missing a field or has an invalid value.
        """
        try:
            return cls(
                int(card["image_size"]),
                int(card["channels"]),
                bool(card["stretch"]),
                str(card["scaling"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(
                f"The model card's preprocessing is invalid ({error!r}): {card}"
            ) from None


def resize(pixels: FloatImage, size: int) -> FloatImage:
    """Resize a float image to ``size`` x ``size`` (antialiased bilinear, aspect not kept)."""
    if pixels.shape == (size, size):
        return pixels.astype(np.float32, copy=False)
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    resized = image.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.float32)


def preprocess(pixels: FloatImage, spec: Preprocessing) -> FloatImage:
    """Turn display-ready pixels into one model input of shape ``spec.input_shape``.

    Args:
        pixels: a radiograph's ``pixels`` (float32 in [0, 1], rows x columns).
        spec: the model's preprocessing, from its card.

    Returns:
        float32 array (image_size, image_size, channels).
    """
    x = resize(pixels, spec.image_size)
    if spec.stretch:
        low, high = np.percentile(x, (1.0, 99.0))
        if high - low > 1e-3:
            x = np.clip((x - low) / (high - low), 0.0, 1.0)
    x = x.astype(np.float32, copy=False)
    if spec.scaling == "minus_one_one":
        x = x * np.float32(2.0) - np.float32(1.0)
    elif spec.scaling == "standardize":
        x = (x - x.mean()) / np.float32(max(float(x.std()), 1e-3))
    x = x[..., np.newaxis]
    if spec.channels == 3:
        x = np.repeat(x, 3, axis=-1)
    if spec.scaling == "caffe":
        x = x * np.float32(255.0) - _CAFFE_MEANS_BGR[: spec.channels]
    return x.astype(np.float32, copy=False)


def load_and_preprocess(path: str | os.PathLike[str], spec: Preprocessing) -> FloatImage:
    """:func:`engine.load_image` then :func:`preprocess`: a file straight to model input.

    Raises:
        ImageReadError: the file cannot be read.
    """
    return preprocess(load_image(path).pixels, spec)
