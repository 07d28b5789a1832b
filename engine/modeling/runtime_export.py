"""The networks a bundle carries for the light runtime: the card's ``runtime_export`` section.

Why: reading images needs no TensorFlow when each network of a bundle travels as a float32
LiteRT (TFLite) graph beside its Keras file (``member_0.tflite`` for ``model.keras``,
``member_1.tflite`` for ``member_1.keras``, ...). Each graph takes the member's network input
(``(n, height, width, channels)``, the card's preprocessing) and gives, in one forward pass,
every output the reading room needs, in the order of :attr:`ExportedNetwork.outputs`:

* ``probability``: the sigmoid output, shape ``(n,)``;
* ``cam``: the class activation map on the last convolutional grid before normalisation,
  ``(n, h, w)`` (ReLU of the feature maps weighted by the head's weights over ``h w``: exactly
  what :class:`engine.inference.gradcam.GradCam` computes for a single-pass head);
* ``<layer>:mean`` and ``<layer>:std`` for each layer of :attr:`ExportedNetwork.layers`: the
  domain check's pooled features (:mod:`engine.inference.domain_features`), ``(n, channels)``.

Only networks whose head allows the class activation map (global average pooling + linear) are
exported; the others keep TensorFlow. The graphs are made by
:mod:`engine.inference.network_export` (it needs TensorFlow); this module is the value type and
its checksums are checked where they are read (:mod:`engine.inference.litert_networks`).
Cards written before the section existed read unchanged (no export).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import reading_card_section
from engine.modeling.domain_reference import STATISTICS

#: The format of the exported graphs.
FORMAT = "tflite"
PROBABILITY = "probability"
CAM = "cam"


def exported_file(index: int) -> str:
    """File name of the ``index``-th network's export (``model.keras`` is number 0)."""
    return f"member_{index}.tflite"


def output_names(layers: tuple[str, ...]) -> tuple[str, ...]:
    """The outputs of a graph with the pooled features of ``layers``, in graph order."""
    return (PROBABILITY, CAM, *(f"{layer}:{stat}" for layer in layers for stat in STATISTICS))


@dataclass(frozen=True)
class ExportedNetwork:
    """One exported network: its file, checksum, input and outputs (see the module docstring).

    Attributes:
        file: the ``.tflite`` file in the bundle.
        sha256: its checksum.
        input_shape: one image's input, ``(height, width, channels)``; the batch is free.
        layers: the layers whose pooled features the graph gives.
        outputs: the outputs, in the graph's order (:func:`output_names`).
    """

    file: str
    sha256: str
    input_shape: tuple[int, ...]
    layers: tuple[str, ...]
    outputs: tuple[str, ...]

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "input_shape": list(self.input_shape),
            "layers": list(self.layers),
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> ExportedNetwork:
        """Inverse of :meth:`to_card` (``ConfigError`` on a missing or bad field)."""
        with reading_card_section("runtime_export", card):
            layers = tuple(str(layer) for layer in card["layers"])
            outputs = tuple(str(name) for name in card["outputs"])
            if outputs != output_names(layers):
                raise ValueError(f"outputs {list(outputs)} do not match the layers")
            return cls(
                str(card["file"]),
                str(card["sha256"]),
                tuple(int(size) for size in card["input_shape"]),
                layers,
                outputs,
            )


@dataclass(frozen=True)
class RuntimeExport:
    """The card's ``runtime_export`` section: every network's export, and how it was made.

    Attributes:
        networks: one per network of the bundle, in card order (``model.keras`` first).
        converter: the converter that made them (e.g. ``"tensorflow 2.21.0 TFLiteConverter,
            float32"``).
        format: :data:`FORMAT`.
    """

    networks: tuple[ExportedNetwork, ...]
    converter: str
    format: str = FORMAT

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format": self.format,
            "converter": self.converter,
            "networks": [network.to_card() for network in self.networks],
        }

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> RuntimeExport:
        """Inverse of :meth:`to_card` (``ConfigError`` on a missing or bad field)."""
        with reading_card_section("runtime_export", card):
            if card["format"] != FORMAT:
                raise ValueError(f"format '{card['format']}' is not '{FORMAT}'")
            networks = tuple(ExportedNetwork.from_card(item) for item in card["networks"])
            return cls(networks, str(card["converter"]), FORMAT)

    def covers(self, count: int, layers: dict[int, set[str]]) -> bool:
        """Whether the export holds ``count`` networks whose features include ``layers``
        (member index -> layer names, e.g. those a domain reference reads)."""
        if len(self.networks) != count:
            return False
        return all(names <= set(self.networks[index].layers) for index, names in layers.items())
