"""The settings of a training run: :class:`TrainConfig`, validated when created.

Shared by :func:`engine.workflows.training.train`, ``hilum train`` and the viewer's training form
(which shows a refused value's message as it is). Stored in the model card as
``training.config`` so that a run can be repeated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.modeling import variants
from engine.modeling.architectures import IMAGENET
from engine.modeling.calibration import CALIBRATION_METHODS
from engine.modeling.operating_point import OPERATING_POINT_METHODS
from engine.modeling.tta import TtaRecipe
from engine.modeling.validation_sites import checked_ages

DEFAULT_OUT_DIR = Path("runs")


def _check_range(name: str, value: float | int, low: float, high: float) -> None:
    if isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}.")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; validated when created.

    Attributes:
        variant: a name from :func:`engine.modeling.variants.list_variants`.
        data_dir: a folder with NORMAL/ and PNEUMONIA/, or a chest_xray root with train/.
        out_dir: parent folder of the bundle (``out_dir/<model_id>``); ``runs`` by default.
        image_size: input side in pixels; ``None`` uses the variant's default.
        epochs: epochs of the first phase (the only phase of non-transfer variants).
        batch_size: images per batch (global batch when distributed).
        learning_rate: Adam's initial learning rate.
        augmentation: augment training images (see :mod:`engine.modeling.datasets`).
        class_weighting: weight the loss to balance NORMAL and PNEUMONIA.
        early_stopping_patience: epochs without validation-AUC gain before stopping.
        seed: seed of the split, subset, shuffling, augmentation and initial weights.
        weights_file: ImageNet weights file for a transfer variant's backbone.
        download_weights: download ImageNet weights through Keras (needs internet).
        limit: use at most this many training-folder images, stratified (quick runs).
        fine_tune_epochs: epochs of the fine-tuning phase (transfer variants; ignored otherwise).
        fine_tune_learning_rate: its learning rate; ``None`` = ``learning_rate / 10``.
        fine_tune_from: first backbone layer opened for fine-tuning; ``None`` = the variant's.
        validation_fraction: share of train carved out for validation when there is no val/.
        operating_point: ``"target_sensitivity"`` or ``"youden"``.
        target_sensitivity: minimum validation sensitivity of the operating point.
        calibration: ``"none"``, ``"temperature"`` or ``"platt"``.
        external_dir: images from elsewhere (class folders) to measure the model on and, with
            ``fit_on="external"``, to fit calibration and threshold on; never trained on.
        fit_on: ``"validation"`` or ``"external"``: the set that fits the calibration and
            chooses the threshold (recorded in the card).
        tta: the test-time views the bundle averages over (:mod:`engine.modeling.tta`).
        deterministic: enable TensorFlow op determinism (process-wide, cannot be undone).
        name: a display name for the model; ``None`` uses the model id.
        site: where the training images come from, for the card's ``validated_on``; ``None``
            records "unspecified" with the data folder.
        ages: the patients' ages in whole years (min, max), when known; predictions for
            patients outside them carry a warning. ``None``: not recorded, no age warning.
    """

    variant: str
    data_dir: Path
    out_dir: Path = DEFAULT_OUT_DIR
    image_size: int | None = None
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    augmentation: bool = True
    class_weighting: bool = True
    early_stopping_patience: int = 4
    seed: int = 42
    weights_file: Path | None = None
    download_weights: bool = False
    limit: int | None = None
    fine_tune_epochs: int = 3
    fine_tune_learning_rate: float | None = None
    fine_tune_from: str | None = None
    validation_fraction: float = 0.125
    operating_point: str = "target_sensitivity"
    target_sensitivity: float = 0.97
    calibration: str = "temperature"
    external_dir: Path | None = None
    fit_on: str = "validation"
    tta: tuple[str, ...] = ("identity",)
    deterministic: bool = True
    name: str | None = None
    site: str | None = None
    ages: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        spec = variants.get_variant(self.variant)
        spec.preprocessing_for(self.image_size)
        _check_range("epochs", self.epochs, 1, 1000)
        _check_range("batch_size", self.batch_size, 1, 4096)
        _check_range("learning_rate", self.learning_rate, 1e-7, 1.0)
        _check_range("early_stopping_patience", self.early_stopping_patience, 1, 1000)
        _check_range("seed", self.seed, 0, 2**31 - 1)
        _check_range("fine_tune_epochs", self.fine_tune_epochs, 0, 1000)
        _check_range("validation_fraction", self.validation_fraction, 0.05, 0.5)
        _check_range("target_sensitivity", self.target_sensitivity, 0.5, 1.0)
        if self.limit is not None:
            _check_range("limit", self.limit, 20, 10_000_000)
        if self.fine_tune_learning_rate is not None:
            _check_range("fine_tune_learning_rate", self.fine_tune_learning_rate, 1e-8, 1.0)
        _check_choice("operating_point", self.operating_point, OPERATING_POINT_METHODS)
        _check_choice("calibration", self.calibration, CALIBRATION_METHODS)
        _check_choice("fit_on", self.fit_on, ("validation", "external"))
        TtaRecipe(tuple(self.tta))  # raises ConfigError for an unknown view
        checked_ages(self.ages)
        if self.fit_on == "external" and self.external_dir is None:
            raise ConfigError("fit_on='external' needs an external folder (external_dir).")
        if self.weights_file is not None and self.download_weights:
            raise ConfigError(
                "weights_file and download_weights are both set; choose one source of ImageNet "
                "weights."
            )
        if (self.weights_file is not None or self.download_weights) and not spec.transfer:
            raise ConfigError(
                f"Variant '{self.variant}' trains from scratch and takes no ImageNet weights; "
                "unset the weights or pick a transfer variant."
            )
        if self.weights_file is not None:
            variants.weights_source(self.weights_file)  # raises when the file is missing

    @property
    def weights(self) -> str | None:
        """The ``weights`` argument of :func:`engine.modeling.variants.build_model`."""
        if self.download_weights:
            return IMAGENET
        return None if self.weights_file is None else str(self.weights_file)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths as strings), as stored in the card's ``training.config``."""
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: an unknown key, a missing ``variant``/``data_dir``, or a bad value.
        """
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown training settings {unknown}; known: {sorted(known)}.")
        if "variant" not in values or "data_dir" not in values:
            raise ConfigError("A training configuration needs at least 'variant' and 'data_dir'.")
        converted = dict(values)
        for key in ("tta", "ages"):
            if converted.get(key) is not None:
                converted[key] = tuple(converted[key])
        for key in ("data_dir", "out_dir", "weights_file", "external_dir"):
            if converted.get(key) is not None:
                converted[key] = Path(converted[key])
        return cls(**converted)
