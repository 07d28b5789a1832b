"""The network runner: what the scorer and the domain check ask of a bundle's networks.

Two runtimes implement it (:func:`engine.runtime.choose_runtime` picks one): TensorFlow, with
the Keras models (:class:`~engine.inference.gradcam.GradCam`,
:class:`~engine.inference.domain_features.FeatureExtractor`), and LiteRT, with the graphs
exported beside them (:mod:`engine.inference.litert_networks`). The scorer and the domain check
see only these protocols, so the probability, the heatmap and the domain score are computed the
same way whichever runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from engine.imaging.radiograph import FloatImage
from engine.inference.gradcam import CamBatch
from engine.modeling.domain_reference import Entry
from engine.runtime import Device

Features = npt.NDArray[np.float32]


class CamRunner(Protocol):
    """One network's forward pass: probabilities, and heatmaps with them."""

    @property
    def single_pass(self) -> bool:
        """True when the map comes from the forward pass (no backward pass)."""
        ...

    @property
    def explains(self) -> str:
        """What the maps show (``"gradcam"``, ``"gradcam++"`` or ``"gradient x input"``)."""
        ...

    def run(self, images: npt.NDArray[np.float32]) -> CamBatch:
        """Probabilities and normalised conv-grid maps of a batch of network inputs."""
        ...

    def probabilities(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities only."""
        ...


class FeatureRunner(Protocol):
    """One network's pooled features for the domain check."""

    def input(self, canonical: FloatImage) -> FloatImage:
        """The network's input for a canonical image."""
        ...

    def __call__(self, inputs: npt.NDArray[np.float32]) -> dict[tuple[str, str], Features]:
        """``(layer, statistic)`` -> the ``(n, width)`` pooled features of a batch."""
        ...


@dataclass(frozen=True)
class Networks:
    """A bundle's networks in one runtime.

    Attributes:
        runtime: :data:`engine.runtime.TENSORFLOW` or :data:`engine.runtime.LITERT`.
        device: where and with what they run, for people.
        cams: one runner per network, in card order.
        features: the feature runners a domain reference's entries need (member index ->
            runner).
    """

    runtime: str
    device: Device
    cams: tuple[CamRunner, ...]
    features: Callable[[Sequence[Entry]], dict[int, FeatureRunner]]
