"""A bundle's forward path: every member network, every test-time view, one raw probability.

A bundle holds one network or an ensemble of several (``members`` in its card), and a
test-time augmentation recipe (``tta``, :mod:`engine.modeling.tta`). Its raw probability is the
mean, over members and views, of each network's sigmoid output; the card's calibration is
fitted on, and applied to, that mean. Its heatmap is the mean of the members' Grad-CAM maps on
the ``identity`` view (the image the user sees).

Every consumer goes through :class:`Scorer` — the viewer's :class:`~engine.inference.predictor.
Predictor`, batch prediction, evaluation, calibration and the robustness battery — so the
probability a calibration was fitted on is the probability the viewer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.imaging.radiograph import FloatImage
from engine.inference.caveats import HEATMAP_NAMES
from engine.inference.gradcam import GradCam, Method, upsample
from engine.inference.networks import CamRunner
from engine.modeling.bundles import Member
from engine.modeling.preprocessing import Preprocessing, gray_input, network_input
from engine.modeling.tta import TtaRecipe, make_views


@dataclass(frozen=True)
class Scored:
    """One image's raw probability and (optionally) its mean heatmap at conv resolution."""

    raw: float
    heatmap: npt.NDArray[np.float32] | None
    empty: bool


class Scorer:
    """Compiled forward (and Grad-CAM) passes of a bundle's members under its TTA recipe.

    Args:
        members: the bundle's networks (at least one).
        tta: the test-time views (``("identity",)`` for plain inference).
        method: ``"gradcam"`` or ``"gradcam++"``.
        cams: the members' network runners (:mod:`engine.inference.networks`), e.g. LiteRT's;
            by default TensorFlow's :class:`GradCam` with ``method``.

    Raises:
        ModelFileError: a member's Grad-CAM layer is unusable.
        ValueError: no member.
    """

    def __init__(
        self,
        members: Sequence[Member],
        tta: TtaRecipe | None = None,
        method: Method = "gradcam",
        cams: Sequence[CamRunner] | None = None,
    ) -> None:
        if not members:
            raise ValueError("A scorer needs at least one member network.")
        self.members = tuple(members)
        self.tta = tta or TtaRecipe()
        self._cams: list[CamRunner] = (
            list(cams)
            if cams is not None
            else [GradCam(m.model, m.gradcam_layer, method) for m in self.members]
        )
        for member, cam in zip(self.members, self._cams, strict=True):
            cam.run(np.zeros((1, *member.preprocessing.input_shape), np.float32))  # warm up

    @property
    def runners(self) -> tuple[CamRunner, ...]:
        """Each member's network runner (TensorFlow's or LiteRT's), in card order."""
        return tuple(self._cams)

    @property
    def heatmap_kind(self) -> str:
        """What the heatmap shows, named for the user: e.g. "Grad-CAM", or "gradient × input" for
        a member without a convolutional layer (an ensemble of both names both)."""
        kinds = dict.fromkeys(HEATMAP_NAMES[cam.explains] for cam in self._cams)
        return " + ".join(kinds)

    @property
    def views(self) -> int:
        """Test-time views per image."""
        return len(self.tta.views)

    def inputs(self, pixels: FloatImage) -> list[npt.NDArray[np.float32]]:
        """Each member's views of one image, for :meth:`raw` and :meth:`raw_with_heatmaps`
        (thread-safe): ``(views, h, w, 1)`` gray in [0, 1], resized and stretched
        (:func:`~engine.modeling.preprocessing.gray_input`). The network's scaling and channels
        (:func:`~engine.modeling.preprocessing.network_input`) are applied when the batch runs:
        a third of the memory of a 3-channel input while files wait for the model."""
        batches: dict[Preprocessing, npt.NDArray[np.float32]] = {}
        for member in self.members:
            spec = member.preprocessing
            if spec not in batches:
                views = make_views(pixels, spec.image_size, self.tta.views)
                batches[spec] = np.stack([gray_input(view, spec) for view in views])
        return [batches[member.preprocessing] for member in self.members]

    def network_batch(
        self, inputs: Sequence[list[npt.NDArray[np.float32]]], member: int
    ) -> npt.NDArray[np.float32]:
        """The network input of member ``member`` for every view of several images, stacked."""
        gray = np.concatenate([image[member] for image in inputs])
        spec = self.members[member].preprocessing
        batch: npt.NDArray[np.float32] = network_input(gray, spec).astype(np.float32, copy=False)
        return batch

    def raw(self, inputs: Sequence[list[npt.NDArray[np.float32]]]) -> npt.NDArray[np.float64]:
        """Mean raw probability of several images from their :meth:`inputs`, no heatmaps."""
        if not inputs:
            return np.zeros(0)
        total = np.zeros(len(inputs))
        for index, cam in enumerate(self._cams):
            probabilities = cam.probabilities(self.network_batch(inputs, index)).reshape(
                len(inputs), self.views
            )
            total += probabilities.mean(axis=1)
        return total / len(self._cams)

    def raw_with_heatmap(self, inputs: list[npt.NDArray[np.float32]]) -> Scored:
        """One image's mean raw probability and mean heatmap (identity view, conv grid)."""
        return self.raw_with_heatmaps([inputs])[0]

    def raw_with_heatmaps(self, inputs: Sequence[list[npt.NDArray[np.float32]]]) -> list[Scored]:
        """Several images' mean raw probabilities and mean heatmaps (identity view, conv grid).

        Why one call per member: when a member's heatmap needs no backward pass
        (:attr:`GradCam.single_pass`), every view of every image goes through the network in one
        batch, which yields all the probabilities and the identity views' maps at once. A
        member that needs the tape runs it on the identity views only, and the forward pass
        alone on the other views.
        """
        count = len(inputs)
        if not count:
            return []
        probabilities = np.zeros((count, self.views))
        maps: list[list[npt.NDArray[np.float32]]] = [[] for _ in range(count)]
        for index, cam in enumerate(self._cams):
            stacked = self.network_batch(inputs, index)
            shown = slice(None, None, self.views)  # the identity view of each image
            if cam.single_pass:
                batch = cam.run(stacked)
                member = batch.probabilities.reshape(count, self.views)
                cams, empty = batch.maps[shown], batch.empty[shown]
            else:
                identity = cam.run(stacked[shown])
                others = np.arange(len(stacked)) % self.views != 0
                member = np.zeros((count, self.views), np.float32)
                member[:, 0] = identity.probabilities
                if others.any():
                    member[:, 1:] = cam.probabilities(stacked[others]).reshape(count, -1)
                cams, empty = identity.maps, identity.empty
            probabilities += member
            for image in range(count):
                if not empty[image]:
                    maps[image].append(cams[image])
        means = probabilities.mean(axis=1) / len(self._cams)
        return [_scored(float(raw), found) for raw, found in zip(means, maps, strict=True)]

    def raw_of_pixels(
        self, images: Sequence[FloatImage], batch_size: int = 32
    ) -> npt.NDArray[np.float64]:
        """Mean raw probability of display-ready images, in batches (no heatmaps)."""
        chunks = [
            self.raw([self.inputs(pixels) for pixels in images[start : start + batch_size]])
            for start in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0)


def _scored(raw: float, maps: list[npt.NDArray[np.float32]]) -> Scored:
    """One image's result from its raw probability and its members' non-empty maps (mean map,
    renormalised; empty when no member has one)."""
    if not maps:
        return Scored(raw, np.zeros((1, 1), np.float32), True)
    grid = max((m.shape for m in maps), key=lambda shape: shape[0] * shape[1])
    mean = np.mean([upsample(m, grid) for m in maps], axis=0)
    peak = float(mean.max())
    heatmap = (mean / peak if peak > 0 else mean).astype(np.float32)
    return Scored(raw, heatmap, peak <= 0)
