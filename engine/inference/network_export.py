"""Exporting a bundle's networks for the light runtime (LiteRT), with TensorFlow's converter.

For each network whose head allows the class activation map (global average pooling + linear,
:attr:`engine.inference.gradcam.GradCam.single_pass`), one inference graph gives the
probability, the raw class activation map and the domain check's pooled features (the layers
:func:`engine.inference.domain_features.domain_entries` names) from one forward pass, converted
to a float32 ``.tflite`` file (no quantisation) described by the card's ``runtime_export``
section (:mod:`engine.modeling.runtime_export`). A bundle with any other head is not exported:
TensorFlow keeps running it.

Made when a bundle is written (``write_bundle(..., export=export_networks)``), for an older
bundle on its first load with TensorFlow present (:func:`export_on_first_load`), and by
``hilum export-runtime``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.atomic_files import write_bytes, write_synced
from engine.inference.domain_features import domain_entries, pooled_statistics
from engine.inference.gradcam import cam_weights, class_activation_map, logit_head
from engine.modeling.bundles import Bundle, load_bundle, sha256_of, update_card
from engine.modeling.card import ModelCard
from engine.modeling.runtime_export import (
    ExportedNetwork,
    RuntimeExport,
    exported_file,
    output_names,
)
from engine.runtime import tensorflow

Writer = Callable[[Path, bytes], None]


def serving_graph(model: Any, gradcam_layer: str) -> tuple[Any, tuple[str, ...]] | None:
    """The traced inference function of one network and the layers it pools, or ``None`` when
    its head needs Grad-CAM's backward pass (see the module docstring).

    The function maps a ``(n, h, w, c)`` float32 batch to the outputs
    :func:`engine.modeling.runtime_export.output_names` lists, in that order, all from one
    forward pass of one Keras model (the backbone runs once).
    """
    import keras

    tf = tensorflow()
    layer = model.get_layer(gradcam_layer)  # checked when the bundle was loaded
    weights = None if isinstance(layer, keras.layers.InputLayer) else cam_weights(model, layer)
    if weights is None or len(layer.output.shape) != 4:
        return None
    layers = tuple(dict.fromkeys(name for name, _ in domain_entries(model, gradcam_layer)))
    head_input, to_logit = logit_head(model)
    pooled = [model.get_layer(name).output for name in layers]
    network = keras.Model(inputs=model.inputs, outputs=[layer.output, head_input, *pooled])
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)

    def serve(images: Any) -> tuple[Any, ...]:
        activations, features, *maps = network(images, training=False)
        statistics = [value for values in maps for value in pooled_statistics(values)]
        cam = class_activation_map(activations, weights())
        return (tf.sigmoid(to_logit(features)), cam, *statistics)

    function = tf.function(serve, input_signature=[spec], autograph=False)
    return function, layers


def converted(model: Any, gradcam_layer: str) -> tuple[bytes, tuple[str, ...]] | None:
    """One network's float32 ``.tflite`` graph and the layers it pools (``None``: not
    exportable)."""
    graph = serving_graph(model, gradcam_layer)
    if graph is None:
        return None
    function, layers = graph
    # Without a trackable object the converter freezes the variables into constants: every
    # weight is in the file, and the outputs keep the function's order.
    converter = tensorflow().lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()]
    )
    return bytes(converter.convert()), layers


def converter_name() -> str:
    """What makes the exported graphs, for the card."""
    return f"tensorflow {tensorflow().__version__} TFLiteConverter, float32 (no quantisation)"


def _export(folder: Path, card: ModelCard, networks: Sequence[Any], write: Writer) -> ModelCard:
    """Convert every network, write the files with ``write``, and return the card naming them
    (the card unchanged when a network is not exportable)."""
    layers = (card.gradcam_layer, *(member.gradcam_layer for member in card.members))
    exported = []
    for index, (model, gradcam_layer) in enumerate(zip(networks, layers, strict=True)):
        try:
            result = converted(model, gradcam_layer)
        except Exception as error:  # the converter raises many kinds; the bundle stays usable
            warnings.warn(
                f"{folder}: network {index} was not exported for LiteRT "
                f"({type(error).__name__}: {str(error)[:200]}); TensorFlow will run it.",
                stacklevel=2,
            )
            return card
        if result is None:
            return card
        flat, pooled = result
        name = exported_file(index)
        write(folder / name, flat)
        shape = tuple(int(size) for size in model.input_shape[1:])
        exported.append(
            ExportedNetwork(name, sha256_of(folder / name), shape, pooled, output_names(pooled))
        )
    return replace(card, runtime_export=RuntimeExport(tuple(exported), converter_name()))


def export_networks(folder: Path, card: ModelCard, networks: Sequence[Any]) -> ModelCard:
    """The exporter for :func:`engine.modeling.bundles.write_bundle`: writes the exports into
    the bundle's temporary folder (moved into place with the rest of the bundle)."""
    return _export(folder, card, networks, write_synced)


def export_bundle(bundle: Bundle) -> ModelCard:
    """Export a loaded bundle's networks into its folder and update its card.

    Each file is written atomically before the card names it. Returns the new card (the old
    one, unchanged, when a network is not exportable).

    Raises:
        ModelFileError: the card cannot be updated (e.g. the bundle changed meanwhile).
        OSError: the folder is not writable.
    """
    networks = [member.model for member in bundle.members]
    card = _export(bundle.path, bundle.card, networks, write_bytes)
    if card.runtime_export is None:
        return card
    return update_card(bundle.path, card)


def export_folder(folder: str | os.PathLike[str]) -> ModelCard:
    """Load a bundle folder with Keras and export it (``hilum export-runtime``)."""
    return export_bundle(load_bundle(folder))


def export_on_first_load(bundle: Bundle) -> Bundle:
    """An older bundle (without an export the light runtime could use) loaded with TensorFlow,
    exported into its folder when the folder is writable; the bundle with its new card, or as
    given when it cannot be exported."""
    if not os.access(bundle.path, os.W_OK):
        return bundle
    try:
        card = export_bundle(bundle)
    except OSError as error:
        warnings.warn(f"{bundle.path}: the LiteRT export was not written ({error}).", stacklevel=2)
        return bundle
    return replace(bundle, card=card)
