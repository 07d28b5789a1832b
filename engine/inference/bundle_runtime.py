"""Opening a bundle in the runtime that will read images with it.

:func:`open_networks` reads the card, asks :func:`engine.runtime.choose_runtime` which runtime
runs (LiteRT when the bundle's networks are exported with everything the reading room needs,
and Grad-CAM is asked for, since Grad-CAM++ needs the backward pass), and loads only what that
runtime needs: with LiteRT the card and the exported graphs, so TensorFlow and Keras are never
imported; with TensorFlow the Keras models. An older bundle opened with TensorFlow is exported
on this first load when its folder is writable (:func:`engine.inference.network_export.
export_on_first_load`), and then read with LiteRT if that is the choice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from engine.errors import TrainingUnavailableError
from engine.inference.domain_features import extractors_for
from engine.inference.gradcam import GradCam, Method
from engine.inference.networks import FeatureRunner, Networks
from engine.modeling.bundles import Bundle, Member, load_bundle, read_card, without_networks
from engine.modeling.card import ModelCard
from engine.modeling.domain_reference import Entry
from engine.runtime import (
    LITERT,
    RUNTIMES,
    TENSORFLOW,
    choose_runtime,
    runtime_device,
    start_compute_threads,
    tensorflow_installed,
)


def domain_layers(card: ModelCard) -> dict[int, set[str]]:
    """Member index -> the layers the card's domain check reads (entries are written
    ``member:layer:statistic``)."""
    section = card.domain_check
    layers: dict[int, set[str]] = {}
    for entry in section.layers if section is not None else ():
        member, rest = entry.split(":", 1)
        layers.setdefault(int(member), set()).add(rest.rsplit(":", 1)[0])
    return layers


def exported(card: ModelCard) -> bool:
    """Whether the card's export holds every network with what the domain check reads."""
    section = card.runtime_export
    return section is not None and section.covers(1 + len(card.members), domain_layers(card))


def open_networks(
    bundle_dir: str | os.PathLike[str], method: Method = "gradcam", runtime: str | None = None
) -> tuple[Bundle, Networks]:
    """A bundle and its networks in the runtime that reads images (see the module docstring).

    Args:
        bundle_dir: the bundle folder.
        method: the heatmap method; ``"gradcam++"`` always runs with TensorFlow.
        runtime: force ``"tensorflow"`` (e.g. to hold the Keras models, for
            commissioning) or ``"litert"``; ``None`` chooses.

    Raises:
        ModelFileError: the bundle is missing, invalid or tampered with (its exported networks
            included, with LiteRT), or LiteRT was forced and the bundle is not exported.
        TrainingUnavailableError: TensorFlow would run the bundle, and this is the reading room.
        ValueError: ``runtime`` is not a runtime.
    """
    if runtime is not None and runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got '{runtime}'.")
    folder = Path(bundle_dir)
    card = read_card(folder)
    light = method == "gradcam"
    chosen = runtime or choose_runtime(light and exported(card))
    if chosen == LITERT:
        return _litert(folder, card)
    if not tensorflow_installed():  # the reading room: say what it would take, not ImportError
        why = f"Model bundle {folder.name} has no LiteRT export (`hilum export-runtime {folder}`"
        why += " makes one), so reading it"
        if exported(card):
            why = (
                f"Grad-CAM++ needs the backward pass, so reading model bundle {folder.name} with it"
            )
        raise TrainingUnavailableError(why, ["TensorFlow"])
    start_compute_threads()  # TensorFlow's pools at the compute niceness, before the model loads
    bundle = load_bundle(folder)
    if runtime is None and not exported(card):
        from engine.inference.network_export import export_on_first_load

        bundle = export_on_first_load(bundle)
        if choose_runtime(light and exported(bundle.card)) == LITERT:
            return _litert(folder, bundle.card)
    return bundle, tensorflow_networks(bundle.members, method)


def _litert(folder: Path, card: ModelCard) -> tuple[Bundle, Networks]:
    """The bundle without Keras models, and its exported networks in LiteRT."""
    from engine.inference.litert_networks import litert_networks

    bundle = without_networks(folder, card)
    return bundle, litert_networks(folder, card, bundle.members)


def tensorflow_networks(members: Sequence[Member], method: Method = "gradcam") -> Networks:
    """The Keras models of ``members`` run by TensorFlow (compiled Grad-CAM and features)."""
    cams = tuple(GradCam(member.model, member.gradcam_layer, method) for member in members)

    def features(entries: Sequence[Entry]) -> dict[int, FeatureRunner]:
        return dict(extractors_for(members, entries))

    return Networks(TENSORFLOW, runtime_device(TENSORFLOW), cams, features)
