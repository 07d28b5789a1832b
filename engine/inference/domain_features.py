"""The features the domain check reads: what a bundle's own networks compute for an image.

Two steps, both written once here and used alike when a reference is fitted
(:mod:`engine.evaluation.domain_fitting`) and when an image is checked (the predictor):

1. **A canonical copy of the image.** The training images are 224 px JPEGs (Pillow's default
   resize, quality 75). A network's early and middle layers see how an image was resampled and
   compressed as much as what it shows: measured on the shipped model, the original-resolution
   files of the *training images themselves* were all flagged when their features were taken
   from Hilum's own resize. So the check reads a copy made the way the training images were
   (:data:`engine.modeling.domain_reference.CANONICAL`); then a full-size film from the training
   hospital passes and what remains is what differs between hospitals (patients, units,
   exposure, processing). The probability is still computed from the image as shown.
2. **Pooled feature maps.** For each entry ``(member, layer)``, the spatial mean of the layer's
   output, from one forward pass of the member on the canonical copy (preprocessed with the
   member's card preprocessing). :func:`domain_layers` chooses the layers when a reference is
   fitted: the Grad-CAM layer (the features the head reads) and the last layer of the previous
   spatial stage (finer structure). For a network without a convolutional layer it is the
   input of the output layer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.imaging.radiograph import FloatImage
from engine.modeling.bundles import Member
from engine.modeling.domain_reference import DomainReference
from engine.modeling.preprocessing import preprocess
from engine.runtime import tensorflow

CANONICAL_SIZE = 224
CANONICAL_QUALITY = 75

Features = npt.NDArray[np.float32]


def canonical_image(pixels: FloatImage) -> FloatImage:
    """A copy of display-ready ``pixels`` made as the training images were (see the module
    docstring): 8-bit, resized to 224 x 224 with Pillow's bicubic filter, JPEG quality 75.

    Args:
        pixels: float in [0, 1], rows x columns (or rows x columns x channels: averaged).

    Returns:
        float32 (224, 224) in [0, 1].
    """
    gray = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
    eight_bit = np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)
    image = Image.fromarray(eight_bit).convert("RGB")
    image = image.resize((CANONICAL_SIZE, CANONICAL_SIZE), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=CANONICAL_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255.0)


def domain_layers(model: Any, gradcam_layer: str) -> tuple[str, ...]:
    """The layers whose pooled outputs a new reference compares (see the module docstring).

    Args:
        model: a member's Keras model.
        gradcam_layer: its Grad-CAM layer (from the card).

    Returns:
        One or two layer names, the finer one first.
    """
    import keras

    last_at: dict[tuple[int, int], str] = {}
    cam_grid: tuple[int, int] | None = None
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = None if shape is None else tuple(shape.shape)
        skipped = (keras.layers.InputLayer, keras.layers.ZeroPadding2D)
        if shape is None or len(shape) != 4 or isinstance(layer, skipped):
            continue
        grid = (int(shape[1]), int(shape[2]))
        if layer.name == gradcam_layer:
            cam_grid = grid
            break
        last_at[grid] = layer.name
    if cam_grid is None:  # no convolutional Grad-CAM layer: the head's input
        return (_head_input(model),)
    finer = [name for grid, name in last_at.items() if grid[0] > cam_grid[0]]
    return (*finer[-1:], gradcam_layer)


def _head_input(model: Any) -> str:
    """The name of the layer that feeds the output layer."""
    inbound = model.layers[-1].input
    history = getattr(inbound, "_keras_history", None)
    if history is None:
        raise ValueError("The model's output layer has no single input layer.")
    return str(history[0].name)


class FeatureExtractor:
    """One member's pooled features at the given layers, compiled once.

    Args:
        member: the network and its preprocessing.
        layers: layer names (from the reference or :func:`domain_layers`).
    """

    def __init__(self, member: Member, layers: Sequence[str]) -> None:
        import keras

        tf = tensorflow()
        self.member = member
        outputs = [member.model.get_layer(name).output for name in layers]
        model = keras.Model(inputs=member.model.inputs, outputs=outputs)
        spec = tf.TensorSpec((None, *member.preprocessing.input_shape), tf.float32)

        def pooled(images: Any) -> list[Any]:
            maps = model(images, training=False)
            maps = maps if isinstance(maps, list | tuple) else [maps]
            return [tf.reduce_mean(m, axis=(1, 2)) if len(m.shape) == 4 else m for m in maps]

        self._pooled: Any = tf.function(
            pooled, input_signature=[spec], reduce_retracing=True, autograph=False
        )

    def input(self, canonical: FloatImage) -> FloatImage:
        """The member's input for a canonical image (its card preprocessing)."""
        return preprocess(canonical, self.member.preprocessing)

    def __call__(self, inputs: npt.NDArray[np.float32]) -> list[Features]:
        """Per layer, an ``(n, width)`` array of pooled features for a batch of inputs."""
        return [np.asarray(values, dtype=np.float32) for values in self._pooled(inputs)]


class DomainCheck:
    """A bundle's domain check: its reference and the feature extractors it needs.

    Args:
        members: the bundle's networks, in card order.
        reference: the bundle's domain reference.
    """

    def __init__(self, members: Sequence[Member], reference: DomainReference) -> None:
        self.reference = reference
        by_member: dict[int, list[str]] = {}
        for member, layer in reference.entries:
            by_member.setdefault(member, []).append(layer)
        self._extractors = {
            index: FeatureExtractor(members[index], layers) for index, layers in by_member.items()
        }

    def features(self, canonicals: Sequence[FloatImage]) -> list[Features]:
        """Per entry of the reference, the ``(n, width)`` features of canonical images."""
        found: dict[tuple[int, str], Features] = {}
        for index, extractor in self._extractors.items():
            batch = np.stack([extractor.input(image) for image in canonicals])
            layers = [layer for member, layer in self.reference.entries if member == index]
            found.update(zip(((index, layer) for layer in layers), extractor(batch), strict=True))
        return [found[entry] for entry in self.reference.entries]

    def scores(self, canonicals: Sequence[FloatImage]) -> npt.NDArray[np.float64]:
        """Domain scores of canonical images (above 1 is outside)."""
        if not canonicals:
            return np.zeros(0)
        return self.reference.scores(self.features(canonicals))
