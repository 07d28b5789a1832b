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
2. **Pooled feature maps.** For each entry ``(member, layer, statistic)``, the per-channel
   spatial mean or standard deviation of the layer's output, from one forward pass of the member
   on the canonical copy (preprocessed with the member's card preprocessing).
   :func:`domain_entries` chooses them when a reference is fitted: the mean of the Grad-CAM
   layer (the features the head reads), and the mean and standard deviation of the last layer
   of the previous spatial stage (finer structure and texture). Measured on the shipped model,
   these three flag ~95 % of another hospital's films at ~1.5 % of the training hospital's later
   patients; adding earlier stages flagged the training hospital's own full-size files (14 %),
   dropping the finer stage halved the rate on the other hospital. For a network without a
   convolutional layer the entry is the input of the output layer.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.imaging.radiograph import FloatImage
from engine.inference.networks import FeatureRunner, Features
from engine.modeling.bundles import Member
from engine.modeling.domain_reference import STATISTICS, DomainReference, Entry
from engine.modeling.preprocessing import in_two_bands, preprocess
from engine.runtime import in_row_chunks, tensorflow

CANONICAL_SIZE = 224
CANONICAL_QUALITY = 75


def canonical_image(pixels: FloatImage) -> FloatImage:
    """A copy of display-ready ``pixels`` made as the training images were (see the module
    docstring): 8-bit, resized to 224 x 224 with Pillow's bicubic filter, JPEG quality 75.

    Why in two bands of rows: on a 2k film the full-resolution work (8-bit rounding, then a
    bicubic filter some 35 pixels wide) was most of the preprocessing (14 of 21 ms); the bottom
    half runs on a second thread (:func:`~engine.modeling.preprocessing.in_two_bands`) and
    gives exactly the pixels of one whole-image resize.

    Args:
        pixels: float in [0, 1], rows x columns (or rows x columns x channels: averaged).

    Returns:
        float32 (224, 224) in [0, 1].
    """
    gray = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
    levels = np.empty(gray.shape, np.uint8)
    rows = gray.shape[0]
    in_two_bands(lambda band: _eight_bit(gray[band], levels[band]), rows, rows // 2)
    # Resized as one gray band, then made RGB: Pillow resamples each band of an RGB image alike,
    # so this is the training images' RGB resize exactly, at a third of the cost on a 2k image.
    image = _bicubic(Image.fromarray(levels)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=CANONICAL_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255.0)


def _eight_bit(gray: FloatImage, out: npt.NDArray[np.uint8]) -> None:
    """``gray`` in [0, 1] rounded to 8-bit levels into ``out`` (one float32 scratch copy)."""
    levels = np.multiply(gray, np.float32(255.0), dtype=np.float32)
    np.clip(np.rint(levels, out=levels), 0.0, 255.0, out=levels)
    out[...] = levels


def _bicubic(image: Image.Image) -> Image.Image:
    """``image`` resized to the canonical size with Pillow's bicubic filter, each half of the
    output rows from its own ``box`` (the source rows that map onto it). Pillow places each
    output row's filter at the same source position and clips it at the image's edges, not the
    box's, so the two halves are the rows of the whole-image resize."""
    width, height = image.size
    size = CANONICAL_SIZE
    if height < 2 * size:  # small images: one call is cheaper than a second thread
        return image.resize((size, size), Image.Resampling.BICUBIC)

    def resize_band(band: slice) -> Image.Image:
        top, bottom = (height * row / size for row in (band.start, band.stop))
        return image.resize(
            (size, band.stop - band.start), Image.Resampling.BICUBIC, box=(0, top, width, bottom)
        )

    upper, lower = in_two_bands(resize_band, size, size // 2)
    result = Image.new(image.mode, (size, size))
    result.paste(upper, (0, 0))
    result.paste(lower, (0, upper.height))
    return result


def domain_entries(model: Any, gradcam_layer: str) -> tuple[tuple[str, str], ...]:
    """The ``(layer, statistic)`` pairs a new reference compares (see the module docstring).

    Args:
        model: a member's Keras model.
        gradcam_layer: its Grad-CAM layer (from the card).

    Returns:
        The finer stage's mean and standard deviation, then the Grad-CAM layer's mean; or the
        head's input alone for a network without a convolutional Grad-CAM layer.
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
        return ((_head_input(model), "mean"),)
    finer = [name for grid, name in last_at.items() if grid[0] > cam_grid[0]][-1:]
    return (*((name, stat) for name in finer for stat in STATISTICS), (gradcam_layer, "mean"))


def _head_input(model: Any) -> str:
    """The name of the layer that feeds the output layer."""
    inbound = model.layers[-1].input
    history = getattr(inbound, "_keras_history", None)
    if history is None:
        raise ValueError("The model's output layer has no single input layer.")
    return str(history[0].name)


def pooled_statistics(values: Any) -> list[Any]:
    """A layer output's pooled features (TensorFlow graph ops), in :data:`STATISTICS` order: the
    per-channel spatial mean and standard deviation of a feature map ``(n, h, w, c)``; a vector
    per image ``(n, c)`` is its own mean (standard deviation zero)."""
    tf = tensorflow()
    if len(values.shape) != 4:
        return [values, tf.zeros_like(values)]
    mean = tf.reduce_mean(values, axis=(1, 2))
    variance = tf.reduce_mean(tf.square(values), axis=(1, 2)) - mean**2
    return [mean, tf.sqrt(tf.maximum(variance, 0.0))]


class FeatureExtractor:
    """One member's pooled features (per layer: mean and standard deviation), compiled once.

    Args:
        member: the network and its preprocessing.
        layers: layer names (from the reference or :func:`domain_entries`).
    """

    def __init__(self, member: Member, layers: Sequence[str]) -> None:
        import keras

        tf = tensorflow()
        self.member = member
        self.layers = tuple(layers)
        outputs = [member.model.get_layer(name).output for name in layers]
        model = keras.Model(inputs=member.model.inputs, outputs=outputs)
        spec = tf.TensorSpec((None, *member.preprocessing.input_shape), tf.float32)

        def pooled(images: Any) -> list[Any]:
            maps = model(images, training=False)
            maps = maps if isinstance(maps, list | tuple) else [maps]
            return [statistic for values in maps for statistic in pooled_statistics(values)]

        self._pooled: Any = tf.function(
            pooled, input_signature=[spec], reduce_retracing=True, autograph=False
        )

    def input(self, canonical: FloatImage) -> FloatImage:
        """The member's input for a canonical image (its card preprocessing)."""
        return preprocess(canonical, self.member.preprocessing)

    def __call__(self, inputs: npt.NDArray[np.float32]) -> dict[tuple[str, str], Features]:
        """``(layer, statistic)`` -> the ``(n, width)`` pooled features of a batch of inputs."""
        values = in_row_chunks(self._pooled, inputs)
        keys = [(layer, stat) for layer in self.layers for stat in STATISTICS]
        return dict(zip(keys, values, strict=True))


def extractors_for(
    members: Sequence[Member], entries: Sequence[Entry]
) -> dict[int, FeatureExtractor]:
    """One feature extractor per member that ``entries`` read, over the layers they read."""
    return {
        index: FeatureExtractor(members[index], names)
        for index, names in layers_read(entries).items()
    }


def layers_read(entries: Sequence[Entry]) -> dict[int, list[str]]:
    """Member index -> the layers ``entries`` read from it, each once, in order."""
    layers: dict[int, dict[str, None]] = {}
    for member, layer, _ in entries:
        layers.setdefault(member, {})[layer] = None
    return {index: list(names) for index, names in layers.items()}


def entry_features(
    extractors: Mapping[int, FeatureRunner],
    entries: Sequence[Entry],
    canonicals: Sequence[FloatImage],
) -> list[Features]:
    """Per entry, the ``(n, width)`` features of canonical images (one pass per member)."""
    found: dict[Entry, Features] = {}
    for index, extractor in extractors.items():
        batch = np.stack([extractor.input(image) for image in canonicals])
        for (layer, stat), values in extractor(batch).items():
            found[(index, layer, stat)] = values
    return [found[entry] for entry in entries]


@dataclass(frozen=True)
class SiteResult:
    """A commissioned site's head's result for an image assigned to that site."""

    site: str
    probability: float
    threshold: float


@dataclass(frozen=True)
class DomainAssessment:
    """One image's domain score (above 1 is outside) and, for an image nearest to a site a
    bundle was commissioned for, that site's head's result."""

    score: float
    site: SiteResult | None


class DomainCheck:
    """A bundle's domain check: its reference and the feature extractors it needs.

    Args:
        members: the bundle's networks, in card order.
        reference: the bundle's domain reference.
        extractors: the feature runners the reference's entries need (member index -> runner,
            e.g. LiteRT's); by default TensorFlow's :class:`FeatureExtractor`.
    """

    def __init__(
        self,
        members: Sequence[Member],
        reference: DomainReference,
        extractors: Mapping[int, FeatureRunner] | None = None,
    ) -> None:
        self.reference = reference
        found = extractors_for(members, reference.entries) if extractors is None else extractors
        self._extractors = dict(found)

    def features(self, canonicals: Sequence[FloatImage]) -> list[Features]:
        """Per entry of the reference, the ``(n, width)`` features of canonical images."""
        return entry_features(self._extractors, self.reference.entries, canonicals)

    def assess(self, canonicals: Sequence[FloatImage]) -> list[DomainAssessment]:
        """The domain check's verdict on canonical images, with a site head's result where the
        component assigned to it has one (:meth:`DomainReference.assign`)."""
        if not canonicals:
            return []
        features = self.features(canonicals)
        scores, nearest = self.reference.assign(features)
        heads: dict[int, npt.NDArray[np.float64]] = {}
        for index in set(nearest.tolist()):
            head = self.reference.components[index].head
            if head is not None:
                heads[index] = head.probabilities(features)
        results = []
        for row, index in enumerate(nearest.tolist()):
            component = self.reference.components[index]
            site = None
            if component.head is not None:
                site = SiteResult(
                    component.source.name, float(heads[index][row]), component.head.threshold
                )
            results.append(DomainAssessment(float(scores[row]), site))
        return results
