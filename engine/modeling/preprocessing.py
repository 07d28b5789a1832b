"""The one path from a radiograph to model input, shared by training and inference.

The :class:`Preprocessing` that parametrises it is written into every model card, so a model is
always fed exactly as it was trained (the top complaint against chest X-ray libraries is a
preprocessing mismatch between the two). The path has two halves, each written once:

* :func:`gray_input` (steps 1-2, numpy and Pillow): display-ready pixels to one gray channel in
  [0, 1] at the model's size. The ``tf.data`` pipeline caches this half.
* :func:`network_input` (steps 3-4): the scaling and channel repetition the network wants,
  written once with array-API operations, so the same code runs on a numpy array (inference)
  and on a batch of TensorFlow tensors after augmentation (``tf.experimental.numpy``, training).

:func:`preprocess` is the two in a row. Steps, in order:

1. Resize the display-ready pixels (float in [0, 1], bone bright) to ``image_size`` x
   ``image_size`` without keeping the aspect ratio, as the training set was made, with Pillow's
   antialiased bilinear filter (a full-resolution image and its 224 px copy then agree).
2. Optionally stretch the intensities per image: the 1st..99th percentile is mapped to [0, 1]
   and clipped. This removes exposure and processing differences between X-ray units, which is
   what tends to generalise beyond the training hospital.
3. Scale for the network: ``unit`` keeps [0, 1]; ``minus_one_one`` maps to [-1, 1] (MobileNet,
   Xception); ``caffe`` gives 0..255 minus the ImageNet BGR means (VGG); ``standardize`` gives
   zero mean and unit variance per image.
4. Repeat the gray channel when the network expects 3 channels (``caffe`` then subtracts the
   ImageNet means per channel).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from engine.errors import ConfigError, reading_card_section
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage

SCALINGS = ("unit", "minus_one_one", "caffe", "standardize")
_CAFFE_MEANS_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
_MIN_STD = np.float32(1e-3)
_REDUCING_GAP = 3.0
Result = TypeVar("Result")
#: The second thread of :func:`in_two_bands`, started on first use.
_SECOND_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preprocessing")


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
        with reading_card_section("preprocessing", card):
            return cls(
                int(card["image_size"]),
                int(card["channels"]),
                bool(card["stretch"]),
                str(card["scaling"]),
            )


def resize(pixels: FloatImage, size: int) -> FloatImage:
    """Resize a float image to ``size`` x ``size`` (antialiased bilinear, aspect not kept).

    Pillow's ``reducing_gap=3``: first a box reduction by the whole factor that leaves at least
    three source pixels per output pixel, then the bilinear filter. On a 2k film the reduction
    and Pillow's copy of the float pixels are most of the work, so a large image is reduced in
    two bands of rows on two threads (:func:`in_two_bands`; each band starts on a multiple of
    the factor, so its boxes are the whole image's), then filtered once: the same pixels as
    ``Image.resize(..., reducing_gap=3.0)`` of the whole image.
    """
    if pixels.shape == (size, size):
        return pixels.astype(np.float32, copy=False)
    rows, columns = pixels.shape
    factor = (int(columns / size / _REDUCING_GAP) or 1, int(rows / size / _REDUCING_GAP) or 1)
    if factor == (1, 1):
        reduced = _float_image(pixels)
    else:
        split = rows // 2 // factor[1] * factor[1]
        top, bottom = in_two_bands(
            lambda band: np.asarray(_float_image(pixels[band]).reduce(factor)),
            rows,
            split,
        )
        reduced = Image.fromarray(np.concatenate([top, bottom]), mode="F")
    box = (0.0, 0.0, columns / factor[0], rows / factor[1])
    resized = reduced.resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(resized, dtype=np.float32)


def _float_image(pixels: FloatImage) -> Image.Image:
    """Pillow's 32-bit float image of ``pixels`` (a copy)."""
    return Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")


def in_two_bands(work: Callable[[slice], Result], rows: int, split: int) -> tuple[Result, Result]:
    """``work(slice(0, split))`` here and ``work(slice(split, rows))`` on a second thread.

    Why: on a 2k film a few full-resolution passes are most of the preprocessing, numpy and
    Pillow release the GIL while they run, and the workstation has at least two cores.
    """
    bottom = _SECOND_THREAD.submit(work, slice(split, rows))
    return work(slice(0, split)), bottom.result()


def gray_input(pixels: FloatImage, spec: Preprocessing) -> FloatImage:
    """Steps 1-2: resize (and stretch) display-ready pixels into one gray channel in [0, 1].

    Args:
        pixels: a radiograph's ``pixels`` (float32 in [0, 1], rows x columns).
        spec: the model's preprocessing; only its size and stretch are used here.

    Returns:
        float32 array (image_size, image_size, 1).
    """
    x = resize(pixels, spec.image_size)
    if spec.stretch:
        low, high = np.percentile(x, (1.0, 99.0))
        if high - low > 1e-3:
            x = np.clip((x - low) / (high - low), 0.0, 1.0)
    return x.astype(np.float32, copy=False)[..., np.newaxis]


def network_input(gray: Any, spec: Preprocessing, xp: ModuleType = np) -> Any:
    """Steps 3-4: scale gray ``[0, 1]`` images and repeat their channel as the network wants.

    Args:
        gray: float32 ``[..., h, w, 1]``: one image or a batch, numpy or TensorFlow.
        spec: the model's preprocessing.
        xp: the array namespace of ``gray``: ``numpy`` (default) or
            ``tensorflow.experimental.numpy`` (inside a ``tf.data`` map).

    Returns:
        float32 ``[..., h, w, spec.channels]`` of the same kind as ``gray``.
    """
    x = gray
    if spec.scaling == "minus_one_one":
        x = x * np.float32(2.0) - np.float32(1.0)
    elif spec.scaling == "standardize":
        axes = (-3, -2, -1)
        mean = xp.mean(x, axis=axes, keepdims=True)
        std = xp.maximum(xp.std(x, axis=axes, keepdims=True), _MIN_STD)
        x = (x - mean) / std
    if spec.channels == 3:
        x = xp.repeat(x, 3, axis=-1)
    if spec.scaling == "caffe":
        x = x * np.float32(255.0) - xp.asarray(_CAFFE_MEANS_BGR[: spec.channels])
    return x


def preprocess(pixels: FloatImage, spec: Preprocessing) -> FloatImage:
    """Turn display-ready pixels into one model input of shape ``spec.input_shape``.

    Args:
        pixels: a radiograph's ``pixels`` (float32 in [0, 1], rows x columns).
        spec: the model's preprocessing, from its card.

    Returns:
        float32 array (image_size, image_size, channels).
    """
    result: FloatImage = network_input(gray_input(pixels, spec), spec).astype(
        np.float32, copy=False
    )
    return result


def load_and_preprocess(path: str | os.PathLike[str], spec: Preprocessing) -> FloatImage:
    """:func:`engine.load_image` then :func:`preprocess`: a file straight to model input.

    Raises:
        ImageReadError: the file cannot be read.
    """
    return preprocess(load_image(path).pixels, spec)


def load_gray_input(path: str | os.PathLike[str], spec: Preprocessing) -> FloatImage:
    """:func:`engine.load_image` then :func:`gray_input`: what the training pipeline caches.

    Raises:
        ImageReadError: the file cannot be read.
    """
    return gray_input(load_image(path).pixels, spec)
