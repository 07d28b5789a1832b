"""The model card: what a bundle's ``card.json`` says, as one typed, validated record.

The card says how to feed the model (preprocessing, input shape), how to read its output
(threshold, operating point, calibration, class names), where its Grad-CAM layer is, how it was
trained and validated, and the sha256 of ``model.keras``. :class:`ModelCard` owns the schema and
its format version, the JSON round trip and validation, and operating-point edits; every part of
Hilum (training, bundles, evaluation, the card summary, the comparison, the viewer) passes this
object, never the raw dict.

Compatibility. Cards of format 1 written before this class existed read unchanged (the shipped
default model's among them). Keys this version does not know are kept in :attr:`ModelCard.extra`
and written back (after the known ones), so a newer Hilum's sections survive a round trip through
this one.

Adding an optional section (e.g. ``robustness``, ``external``, ``members``, ``tta``): write a
small frozen dataclass with ``to_card() -> dict`` and ``from_card(dict)`` (raising
:class:`~engine.errors.ConfigError` on bad input), then add one field to :class:`ModelCard`::

    robustness: Robustness | None = field(default=None, metadata={"section": Robustness})

Reading, writing and validation then follow from that line (its key is written after the keys
of :data:`KEY_ORDER`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, ModelFileError
from engine.modeling.calibration import Calibration
from engine.modeling.domain_reference import DomainCheckSection
from engine.modeling.labelled_folders import CLASS_NAMES
from engine.modeling.metrics import Metrics
from engine.modeling.operating_point import MANUAL, OperatingPoint, move_operating_point
from engine.modeling.preprocessing import Preprocessing
from engine.modeling.runtime_export import RuntimeExport
from engine.modeling.tta import TtaRecipe
from engine.modeling.validation_sites import ValidatedOn

CARD_FILE = "card.json"
#: The newest card format this Hilum writes and reads.
FORMAT_VERSION = 1
REMEDY = "Choose another model bundle, or retrain or re-copy this one."
#: Keys every card must have, with the JSON type each must be.
REQUIRED = {
    "format_version": int,
    "model_id": str,
    "variant": str,
    "preprocessing": dict,
    "class_names": list,
    "gradcam_layer": str,
    "threshold": float,
    "calibration": dict,
    "model_sha256": str,
}
#: The order of keys in ``card.json`` (format 1); fields added later follow them.
KEY_ORDER = (
    "format_version",
    "model_id",
    "name",
    "variant",
    "input",
    "preprocessing",
    "class_names",
    "gradcam_layer",
    "threshold",
    "operating_point",
    "calibration",
    "validation_metrics",
    "training",
    "data",
    "versions",
    "device",
    "created",
    "model_sha256",
    "command",
)
#: Keys derived from other fields: written for people and other tools, ignored when read.
DERIVED = ("input",)


def card_error(folder: Path, problem: str, remedy: str = REMEDY) -> ModelFileError:
    """The error for a bad bundle or card: names the folder, the problem and the remedy."""
    return ModelFileError(f"Model bundle {folder}: {problem} {remedy}")


@dataclass(frozen=True)
class MemberSpec:
    """One network of an ensemble besides ``model.keras``: its file, checksum and how to feed it.

    ``file`` and ``sha256`` are set when the bundle is written.
    """

    model_id: str
    variant: str
    preprocessing: Preprocessing
    gradcam_layer: str
    file: str = ""
    sha256: str = ""

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model_id": self.model_id,
            "variant": self.variant,
            "preprocessing": self.preprocessing.to_card(),
            "gradcam_layer": self.gradcam_layer,
            "file": self.file,
            "sha256": self.sha256,
        }

    @classmethod
    def from_card(cls, card: Any) -> MemberSpec:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: a field is missing or invalid.
        """
        try:
            return cls(
                str(card["model_id"]),
                str(card["variant"]),
                Preprocessing.from_card(card["preprocessing"]),
                str(card["gradcam_layer"]),
                str(card.get("file", "")),
                str(card.get("sha256", "")),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"An ensemble member entry is invalid ({error!r}): {card}") from None


@dataclass(frozen=True)
class ModelCard:
    """A validated model card. See the module docstring.

    Attributes:
        model_id: unique id (``<variant>-<UTC time>``).
        variant: the variant name (``cnn``, ``mobilenet``, ...).
        preprocessing: how to turn a radiograph into this model's input.
        gradcam_layer: name of the convolution layer Grad-CAM reads.
        threshold: call PNEUMONIA when the calibrated probability is >= this.
        calibration: the probability calibration fit on validation.
        class_names: ``("NORMAL", "PNEUMONIA")``.
        name: a name for people; :attr:`display_name` falls back to the id.
        operating_point: how the threshold was chosen, when known.
        validation_metrics: the figures on the validation set at the threshold, when known.
        training: how it was trained (config, history, epochs, times, parameters, weights).
        data: what it was trained on (root, counts, file list checksum, split).
        versions: package versions of the training run.
        device: what it was trained on.
        created: ISO 8601 time of creation.
        model_sha256: checksum of ``model.keras`` (set when the bundle is written).
        command: the command line that reproduces the run, when known.
        tta: the test-time views the bundle averages over (:mod:`engine.modeling.tta`);
            ``None`` is plain inference.
        members: an ensemble's networks besides ``model.keras`` (:class:`MemberSpec`).
        selection: which data fitted the calibration and chose the threshold.
        external: figures on images from elsewhere (:mod:`engine.evaluation.assessment`).
        robustness: the robustness battery's results (:mod:`engine.evaluation.robustness`).
        domain_check: the domain check's reference file and figures
            (:mod:`engine.modeling.domain_reference`); ``None`` for a bundle made without one.
        validated_on: the sites, ages, views and image counts the model was trained and
            validated on (:mod:`engine.modeling.validation_sites`); ``None`` when not recorded.
        runtime_export: the networks exported for the light runtime
            (:mod:`engine.modeling.runtime_export`); ``None`` when not exported.
        extra: keys this Hilum does not know, kept for the round trip.
        format_version: the card format (:data:`FORMAT_VERSION` when written by this Hilum).
    """

    model_id: str
    variant: str
    preprocessing: Preprocessing
    gradcam_layer: str
    threshold: float
    calibration: Calibration = field(default_factory=lambda: Calibration("none"))
    class_names: tuple[str, ...] = CLASS_NAMES
    name: str = ""
    operating_point: OperatingPoint | None = field(
        default=None, metadata={"section": OperatingPoint}
    )
    validation_metrics: Metrics | None = field(default=None, metadata={"section": Metrics})
    training: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    device: str = ""
    created: str = ""
    model_sha256: str = ""
    command: str | None = None
    tta: TtaRecipe | None = field(default=None, metadata={"section": TtaRecipe})
    members: tuple[MemberSpec, ...] = field(default=(), metadata={"items": MemberSpec})
    selection: dict[str, Any] = field(default_factory=dict)
    external: dict[str, Any] = field(default_factory=dict)
    robustness: dict[str, Any] = field(default_factory=dict)
    domain_check: DomainCheckSection | None = field(
        default=None, metadata={"section": DomainCheckSection}
    )
    validated_on: ValidatedOn | None = field(default=None, metadata={"section": ValidatedOn})
    runtime_export: RuntimeExport | None = field(default=None, metadata={"section": RuntimeExport})
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def display_name(self) -> str:
        """The name for people, or the id when the card has none."""
        return self.name or self.model_id

    @property
    def training_facts(self) -> dict[str, Any]:
        """Parameters, epochs, times and the per-epoch history (``None`` where unknown)."""
        keys = ("parameters", "epochs_run", "best_epoch", "total_seconds", "seconds_per_epoch")
        return {
            **{key: self.training.get(key) for key in (*keys, "stopped")},
            "history": self.training.get("history") or {},
        }

    @property
    def validation_roc(self) -> dict[str, list[float]]:
        """The validation ROC (``fpr``, ``tpr``, ``thresholds``); empty lists when unknown."""
        roc = self.validation_metrics.roc if self.validation_metrics else {}
        return {key: list(roc.get(key) or []) for key in ("fpr", "tpr", "thresholds")}

    def with_operating_point(
        self, index: int, method: str = MANUAL, target: float | None = None
    ) -> ModelCard:
        """This card with its threshold moved to validation ROC point ``index``.

        The validation figures are recomputed at the new threshold (see
        :func:`engine.modeling.operating_point.move_operating_point`).

        Raises:
            ValueError: the card has no validation ROC curve.
        """
        if self.validation_metrics is None:
            raise ValueError("This model's card has no validation ROC curve.")
        point, metrics = move_operating_point(self.validation_metrics, index, method, target)
        return replace(
            self, threshold=point.threshold, operating_point=point, validation_metrics=metrics
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready values: format 1's keys in its order, then newer sections,
        then the unknown keys it was read with."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        values["input"] = {"shape": list(self.preprocessing.input_shape)}
        if self.command is None:
            del values["command"]
        extra = values.pop("extra")
        ordered = [key for key in KEY_ORDER if key in values]
        ordered += [key for key in values if key not in KEY_ORDER]
        return {**{key: _plain(values[key]) for key in ordered}, **_plain(extra)}

    def to_json(self) -> str:
        """The card as ``card.json`` text (NaN and infinities become ``null``)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, card: Any, folder: Path) -> ModelCard:
        """Validate a card's JSON value and build the record.

        Args:
            card: the parsed ``card.json``.
            folder: the bundle folder, named in error messages.

        Raises:
            ModelFileError: naming the folder and the first problem found.
        """
        _check_required(card, folder)
        known = {item.name: item for item in fields(cls) if item.name != "extra"}
        values: dict[str, Any] = {}
        try:
            for key, value in card.items():
                item = known.get(key)
                if item is None:
                    continue
                kind = item.metadata.get("section")
                items = item.metadata.get("items")
                if kind is not None:
                    values[key] = kind.from_card(value) if value else None
                elif items is not None:
                    if not isinstance(value, list):
                        raise ConfigError(f"'{key}' must be a list, got {value!r}.")
                    values[key] = tuple(items.from_card(entry) for entry in value)
                else:
                    values[key] = value
            values["preprocessing"] = Preprocessing.from_card(card["preprocessing"])
            values["calibration"] = Calibration.from_card(card["calibration"])
        except ConfigError as error:
            raise card_error(folder, str(error)) from None
        values["class_names"] = tuple(card["class_names"])
        values["threshold"] = float(card["threshold"])
        unknown = {key: value for key, value in card.items() if key not in known}
        return cls(**values, extra={k: v for k, v in unknown.items() if k not in DERIVED})

    @classmethod
    def from_json(cls, text: str, folder: Path) -> ModelCard:
        """Parse and validate ``card.json`` text.

        Raises:
            ModelFileError: invalid JSON or an invalid card.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise card_error(folder, f"{CARD_FILE} is not valid JSON ({error}).") from None
        return cls.from_dict(data, folder)

    def validated(self, folder: Path) -> ModelCard:
        """This card after a JSON round trip (what a reader will get), or ModelFileError."""
        return type(self).from_json(self.to_json(), folder)


def _check_required(card: Any, folder: Path) -> None:
    if not isinstance(card, dict):
        raise card_error(
            folder, f"{CARD_FILE} holds a {type(card).__name__}, expected a JSON object."
        )
    missing = [key for key in REQUIRED if key not in card]
    if missing:
        raise card_error(folder, f"{CARD_FILE} lacks {', '.join(missing)}.")
    for key, kind in REQUIRED.items():
        value = card[key]
        numeric = kind is float and isinstance(value, int | float)
        if isinstance(value, bool) or not (isinstance(value, kind) or numeric):
            raise card_error(
                folder, f"{CARD_FILE}: '{key}' is {value!r}, expected a {kind.__name__}."
            )
    if card["format_version"] > FORMAT_VERSION:
        raise card_error(
            folder,
            f"card format {card['format_version']} is newer than this Hilum "
            f"reads ({FORMAT_VERSION}).",
            "Update Hilum, or choose another bundle.",
        )
    if list(card["class_names"]) != list(CLASS_NAMES):
        raise card_error(
            folder, f"class_names are {card['class_names']}, expected {list(CLASS_NAMES)}."
        )
    if not (math.isfinite(card["threshold"]) and 0.0 <= card["threshold"] <= 1.0):
        raise card_error(folder, f"threshold is {card['threshold']}, expected a number in [0, 1].")


def _plain(value: Any) -> Any:
    """Plain JSON values: sections and numpy values to Python, paths to str, NaN/inf to None."""
    if hasattr(value, "to_card"):
        return _plain(value.to_card())
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
