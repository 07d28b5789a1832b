"""Tiny, untrained model bundles for inference tests (built in a second, never committed), tiny
trained ones (one epoch on a tiny set), bundles whose ``model.keras`` is a stand-in (for checks
that read and verify cards, never load a network), tiny bundles with a domain check (for
commissioning), and the arguments of a tiny ``hilum train`` run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.modeling.bundles import MODEL_FILE, sha256_of, write_bundle
from engine.modeling.calibration import Calibration
from engine.modeling.card import CARD_FILE, ModelCard
from engine.modeling.operating_point import OperatingPoint
from engine.modeling.preprocessing import Preprocessing
from engine.runtime import tensorflow


def tiny_model(preprocessing: Preprocessing, *, seed: int = 0, zero_cam: bool = False) -> Any:
    """A small CNN with a ``last_conv`` layer, seeded so its outputs are reproducible.

    With ``zero_cam`` the output ignores the conv features (its kernel is zero), so every
    Grad-CAM gradient is zero: the all-zero-map case.
    """
    tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(preprocessing.input_shape, name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    output = keras.layers.Dense(1, activation="sigmoid", name="prediction")
    model = keras.Model(inputs, output(x), name="tiny")
    if zero_cam:
        kernel, bias = output.get_weights()
        output.set_weights([kernel * 0.0, bias + 0.3])
    return model


def tiny_card(
    preprocessing: Preprocessing,
    *,
    model_id: str = "tiny-test",
    calibration: Calibration | None = None,
    threshold: float = 0.5,
) -> ModelCard:
    """A complete model card for :func:`tiny_model`."""
    return ModelCard(
        model_id=model_id,
        name="tiny test model",
        variant="cnn",
        preprocessing=preprocessing,
        gradcam_layer="last_conv",
        threshold=threshold,
        calibration=calibration or Calibration("none"),
        device="CPU",
        created="2025-01-01T00:00:00Z",
    )


def make_bundle(folder: Path, preprocessing: Preprocessing | None = None, **options: Any) -> Path:
    """Write a tiny bundle to ``folder``; ``options`` go to :func:`tiny_card`, except
    ``zero_cam`` and ``seed`` which go to :func:`tiny_model`."""
    spec = preprocessing or Preprocessing(64)
    model = tiny_model(spec, seed=options.pop("seed", 0), zero_cam=options.pop("zero_cam", False))
    return write_bundle(model, tiny_card(spec, **options), folder)


def domain_checked_bundle(folder: Path, images: Path) -> Path:
    """A tiny bundle at ``folder`` with a domain check fitted on ``images`` (a labelled folder:
    every other JPEG for the source "home", the rest held out), as commissioning needs."""
    from engine.evaluation.domain_fitting import SourceImages, fit_domain_check, write_domain_check
    from engine.modeling.bundles import load_bundle

    make_bundle(folder)
    paths = tuple(sorted(images.rglob("*.jpeg")))
    reference, section = fit_domain_check(
        load_bundle(folder).members,
        SourceImages("home", paths[::2]),
        SourceImages("held", paths[1::2]),
    )
    write_domain_check(folder, reference, section)
    return folder


def external_figures(sensitivity: float, specificity: float) -> dict[str, Any]:
    """A card's ``external`` section with these expected figures on images from elsewhere."""
    return {"metrics": {"n": 313, "sensitivity": sensitivity, "specificity": specificity}}


def robustness_figures(worst_flip_rate: float) -> dict[str, Any]:
    """A card's ``robustness`` section whose worst change ('crop') flips this share."""
    return {
        "images": 200,
        "worst_change": "crop",
        "worst_flip_rate": worst_flip_rate,
        "changes": [{"name": "crop", "flip_rate": worst_flip_rate}],
    }


def promotable_card(model_id: str = "cnn-good", **changes: Any) -> ModelCard:
    """A card with everything a promotion wants: operating point, calibration, external and
    robustness figures within bounds."""
    card = replace(
        tiny_card(Preprocessing(64), model_id=model_id, threshold=0.4),
        operating_point=OperatingPoint(0.4, "target_sensitivity", 0.97, 0.97, 0.80),
        calibration=Calibration("platt", 1.2, -0.3),
        external=external_figures(0.95, 0.85),
        robustness=robustness_figures(0.04),
    )
    return replace(card, **changes)


def write_card_bundle(folder: Path, card: ModelCard) -> Path:
    """A bundle folder: a stand-in ``model.keras`` and ``card`` with its checksum."""
    folder.mkdir(parents=True)
    model = folder / MODEL_FILE
    model.write_bytes(b"stand-in for a network " + card.model_id.encode())
    card = replace(card, model_sha256=sha256_of(model))
    (folder / CARD_FILE).write_text(card.to_json(), encoding="utf-8")
    return folder


def train_tiny(data_dir: Path, out_dir: Path, variant: str, **options: Any) -> Path:
    """Train ``variant`` for one epoch on ``data_dir`` (a tiny set); return its bundle folder.

    ``options`` are further :class:`~engine.modeling.train_config.TrainConfig` fields.
    """
    from engine.modeling.train_config import TrainConfig
    from engine.workflows.training import train

    config = TrainConfig(variant=variant, data_dir=data_dir, out_dir=out_dir, epochs=1, **options)
    result = train(config)
    assert result.bundle is not None
    return result.bundle


def tiny_train_args(data: Path, *, epochs: int) -> list[str]:
    """``hilum train`` arguments: the CNN at 32 px, batches of 8, for ``epochs`` epochs."""
    return [
        "train",
        str(data),
        "--variant",
        "cnn",
        "--image-size",
        "32",
        "--epochs",
        str(epochs),
        "--batch-size",
        "8",
    ]
