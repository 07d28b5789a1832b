"""The training settings form: its values are a :class:`engine.workflows.training.TrainConfig`.

Validation is the engine's: the form builds a ``TrainConfig`` for every checked variant after each
edit and shows the first :class:`~engine.errors.ConfigError` message beside the fields, marking
the field it names, so the rules live in one place (the spin boxes' own ranges are deliberately
wide: they would otherwise clamp a value silently instead of saying why it is refused).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.errors import ConfigError
from engine.modeling.train_config import TrainConfig
from engine.modeling.variants import get_variant

DEFAULTS: dict[str, Any] = {item.name: item.default for item in fields(TrainConfig)}
#: The test-time views the form's checkbox turns on (the shipped model's recipe).
TTA_VIEWS = ("identity", "hflip", "zoom_in", "zoom_out")
_INVALID_STYLE = "background: #fdecea;"


def _spin(low: int, high: int, value: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


class TrainForm(QWidget):
    """Epochs, image size, batch size, learning rate, augmentation, class weights, early
    stopping patience, ImageNet weights file (transfer variants only), seed and image limit.

    Signals:
        edited(): a value changed (the owner re-validates with :meth:`validate`).
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epochs = _spin(-1000, 100_000, DEFAULTS["epochs"])
        self.image_size = _spin(0, 100_000, 0, "variant default")
        self.batch_size = _spin(-1000, 100_000, DEFAULTS["batch_size"])
        self.learning_rate = QLineEdit(f"{DEFAULTS['learning_rate']:g}")
        self.augmentation = QCheckBox("framing, exposure, blur, noise, text")
        self.augmentation.setToolTip(
            "Framing: crop, zoom out, shift, rotate, mirror; then exposure, blur, noise and "
            "burned-in text, at random on each training image."
        )
        self.augmentation.setChecked(DEFAULTS["augmentation"])
        self.class_weighting = QCheckBox("balance NORMAL and PNEUMONIA in the loss")
        self.class_weighting.setChecked(DEFAULTS["class_weighting"])
        self.patience = _spin(-1000, 100_000, DEFAULTS["early_stopping_patience"])
        self.weights_file = QLineEdit()
        self.weights_file.setPlaceholderText("none: ImageNet backbones start from random weights")
        browse = QPushButton("…")
        browse.clicked.connect(self.choose_weights)
        self.seed = _spin(-(2**31) + 1, 2**31 - 1, DEFAULTS["seed"])
        self.limit = _spin(0, 10_000_000, 0, "all images")
        self.external_dir = QLineEdit()
        self.external_dir.setPlaceholderText(
            "none: figures on images from elsewhere are not measured"
        )
        self.external_dir.setToolTip(
            "Class folders (NORMAL/, PNEUMONIA/) of images from another hospital or time. Never "
            "trained on: they measure each candidate and can choose its calibration and threshold."
        )
        browse_external = QPushButton("…")
        browse_external.clicked.connect(self.choose_external)
        self.fit_on_external = QCheckBox("fit calibration and threshold on the external images")
        self.tta = QCheckBox("average over 4 views of each image")
        self.tta.setToolTip("The image, its mirror, a tighter and a wider framing.")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a11;")

        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights_file, 1)
        weights_row.addWidget(browse)
        layout = QFormLayout(self)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow: labels above
        layout.addRow("Epochs", self.epochs)
        layout.addRow("Image size (px)", self.image_size)
        layout.addRow("Batch size", self.batch_size)
        layout.addRow("Learning rate", self.learning_rate)
        layout.addRow("Augmentation", self.augmentation)
        layout.addRow("Class weights", self.class_weighting)
        layout.addRow("Early stopping patience", self.patience)
        layout.addRow("Weights file (transfer)", weights_row)
        layout.addRow("Seed", self.seed)
        layout.addRow("Limit (images)", self.limit)
        external_row = QHBoxLayout()
        external_row.addWidget(self.external_dir, 1)
        external_row.addWidget(browse_external)
        layout.addRow("External images", external_row)
        layout.addRow("", self.fit_on_external)
        layout.addRow("Test-time augmentation", self.tta)
        layout.addRow(self.error)
        self._fields: dict[str, QWidget] = {
            "epochs": self.epochs,
            "image_size": self.image_size,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "early_stopping_patience": self.patience,
            "weights": self.weights_file,
            "seed": self.seed,
            "limit": self.limit,
            "external_dir": self.external_dir,
            "fit_on": self.fit_on_external,
        }
        for box in (
            self.epochs,
            self.image_size,
            self.batch_size,
            self.patience,
            self.seed,
            self.limit,
        ):
            box.valueChanged.connect(self.edited)
        for edit in (self.learning_rate, self.weights_file, self.external_dir):
            edit.textChanged.connect(self.edited)
        for check in (self.augmentation, self.class_weighting, self.fit_on_external, self.tta):
            check.toggled.connect(self.edited)

    @Slot()
    def choose_weights(self) -> None:
        """Ask for a Keras ImageNet 'no top' weights file."""
        chosen, _ = QFileDialog.getOpenFileName(
            self, "ImageNet weights file (no top)", str(Path.home()), "Keras weights (*.h5)"
        )
        if chosen:
            self.weights_file.setText(chosen)

    @Slot()
    def choose_external(self) -> None:
        """Ask for a folder of external images (NORMAL/ and PNEUMONIA/)."""
        chosen = QFileDialog.getExistingDirectory(self, "External images", str(Path.home()))
        if chosen:
            self.external_dir.setText(chosen)

    def _external(self) -> Path | None:
        text = self.external_dir.text().strip()
        if not text:
            return None
        if not Path(text).is_dir():
            raise ConfigError(
                f"external_dir {text!r} is not a folder; choose a folder with NORMAL/ and "
                "PNEUMONIA/ images from elsewhere, or leave it empty."
            )
        return Path(text)

    def _learning_rate(self) -> float:
        text = self.learning_rate.text().strip()
        try:
            return float(text)
        except ValueError:
            raise ConfigError(
                f"learning_rate must be a number such as 0.001 or 1e-4, got {text!r}."
            ) from None

    def configs(self, variants: list[str], data_dir: Path, out_dir: Path) -> list[TrainConfig]:
        """One validated configuration per variant, in order.

        The weights file goes to transfer variants only (the others train from scratch).

        Raises:
            ConfigError: a value is invalid; the message says which and why.
        """
        weights = self.weights_file.text().strip()
        common = {
            "data_dir": data_dir,
            "out_dir": out_dir,
            "image_size": self.image_size.value() or None,
            "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "learning_rate": self._learning_rate(),
            "augmentation": self.augmentation.isChecked(),
            "class_weighting": self.class_weighting.isChecked(),
            "early_stopping_patience": self.patience.value(),
            "seed": self.seed.value(),
            "limit": self.limit.value() or None,
            "external_dir": self._external(),
            "fit_on": "external" if self.fit_on_external.isChecked() else "validation",
            "tta": TTA_VIEWS if self.tta.isChecked() else ("identity",),
        }
        return [
            TrainConfig(
                variant=name,
                weights_file=Path(weights) if weights and get_variant(name).transfer else None,
                **common,
            )
            for name in variants
        ]

    def validate(self, variants: list[str], data_dir: Path, out_dir: Path) -> str | None:
        """Show and return why the values are refused, or clear the message and return None."""
        try:
            self.configs(variants, data_dir, out_dir)
        except ConfigError as error:
            message = str(error)
        else:
            message = None
        self.show_error(message)
        return message

    def show_error(self, message: str | None) -> None:
        """Show ``message`` under the form and mark the field it names (None clears both)."""
        self.error.setText(message or "")
        lowered = (message or "").lower()
        for key, widget in self._fields.items():
            widget.setStyleSheet(_INVALID_STYLE if lowered.startswith(key) else "")
