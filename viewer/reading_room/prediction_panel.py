"""The prediction panel: probability, label at the operating point, heatmap controls, caveats.

The panel only displays an ``engine.inference.predictor.Prediction`` (anything with ``probability``,
``threshold``, ``warnings`` and ``model_id``); it computes nothing but the label at the threshold
the user is trying out. Moving the threshold slider relabels live and never edits the model card;
the card's own operating point stays marked on the slider. What is shown of an image outside what
the model was validated on is decided by a :class:`viewer.disclosure.Disclosure`: its headline
takes the label's place, and the result appears, marked unvalidated, only once revealed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.inference.caveats import (
    DISCLAIMER,
    GRAD_CAM,
    HEATMAP_NOTE,
    heatmap_kind_note,
    heatmap_scale_label,
)
from engine.inference.heatmap_strength import strength_legend
from viewer.disclosure import Disclosure
from viewer.reading_room.outside_notice import OutsideNotice
from viewer.widgets.marked_slider import MarkedSlider
from viewer.widgets.rendering import COLORMAPS, heatmap_rgba, rgba_qimage

SLIDER_STEPS = 1000
#: How a threshold moved away from the card's is shown: plainly, not as a footnote.
MOVED_STYLE = "background: #fff1c2; color: #6b4100; font-weight: bold; padding: 2px;"


class PredictionLike(Protocol):
    """What the panel reads from ``engine.inference.predictor.Prediction``."""

    probability: float
    threshold: float
    warnings: Sequence[str]
    model_id: str
    heatmap_kind: str


class PredictionPanel(QWidget):
    """Shows a prediction and the heatmap controls.

    Signals:
        heatmap_toggled(bool), opacity_changed(float in [0, 1]), colormap_changed(str),
        threshold_changed(float): the user changed a control.
        reveal_toggled(bool): the user asked to show or hide the unvalidated result of an image
            outside what the model was validated on.
    """

    reveal_toggled = Signal(bool)
    heatmap_toggled = Signal(bool)
    opacity_changed = Signal(float)
    colormap_changed = Signal(str)
    threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prediction: PredictionLike | None = None
        self._card_threshold: float | None = None
        self._class_names: tuple[str, str] = ("NORMAL", "PNEUMONIA")
        self._disclosure = Disclosure()
        self._notice = OutsideNotice()
        self._notice.reveal_toggled.connect(self.reveal_toggled)

        self._status = QLabel("No image")
        self._status.setWordWrap(True)
        self._probability = QLabel("–")
        self._label = QLabel("")
        self._label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self._slider = MarkedSlider()
        self._slider.setRange(0, SLIDER_STEPS)
        self._slider.setToolTip(
            "Try another operating point: relabels this image only; the model card is not changed."
        )
        self._slider.valueChanged.connect(self._on_slider)
        self._threshold_text = QLabel("")
        self._reset_threshold = QPushButton("Reset")
        self._reset_threshold.setToolTip("Back to the operating point stored in the model card")
        self._threshold_text.setWordWrap(True)
        self._reset_threshold.clicked.connect(self.reset_threshold)
        self._warnings = QLabel("")
        self._warnings.setWordWrap(True)
        self._warnings.setStyleSheet("color: #8a4b00;")
        self._warnings.hide()
        self._model = QLabel("Model: not loaded")
        self._model.setWordWrap(True)

        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self._slider, 1)
        threshold_row.addWidget(self._reset_threshold)
        result = QGroupBox("Prediction")
        form = QVBoxLayout(result)
        form.addWidget(self._status)
        form.addWidget(self._notice)
        form.addWidget(self._probability)
        form.addWidget(self._label)
        form.addWidget(QLabel("Threshold (operating point):"))
        form.addLayout(threshold_row)
        form.addWidget(self._threshold_text)
        form.addWidget(self._warnings)
        form.addWidget(self._model)

        self._heat_toggle = QCheckBox("Show heatmap (H)")
        self._heat_toggle.setChecked(True)
        self._heat_toggle.toggled.connect(self.heatmap_toggled)
        self._opacity = QSlider(Qt.Orientation.Horizontal)
        self._opacity.setRange(0, 100)
        self._opacity.valueChanged.connect(lambda v: self.opacity_changed.emit(v / 100))
        self._colormap = QComboBox()
        self._colormap.addItems(COLORMAPS)
        self._colormap.currentTextChanged.connect(self.colormap_changed)
        self._colormap.currentTextChanged.connect(
            lambda name: self._draw_scale(name) if not self._scale.pixmap().isNull() else None
        )
        self._scale = QLabel()
        self._heat_box = QGroupBox()
        self._set_heatmap_kind(GRAD_CAM)
        self._strength = QLabel("")
        self._strength.setWordWrap(True)
        note = QLabel(HEATMAP_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid); font-style: italic;")
        heat = self._heat_box
        heat_form = QFormLayout(heat)
        heat_form.addRow(self._heat_toggle)
        heat_form.addRow("Opacity", self._opacity)
        heat_form.addRow("Colours", self._colormap)
        heat_form.addRow("Weak → strong", self._scale)
        heat_form.addRow(self._strength)
        heat_form.addRow(note)

        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setWordWrap(True)
        disclaimer.setStyleSheet("font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.addWidget(result)
        layout.addWidget(heat)
        layout.addStretch(1)
        layout.addWidget(disclaimer)
        self._set_threshold_enabled(False)
        self.set_disclosure(self._disclosure)

    # --- model and prediction ------------------------------------------------------------------

    def set_model(
        self,
        name: str,
        device: str,
        threshold: float,
        class_names: Sequence[str] = ("NORMAL", "PNEUMONIA"),
    ) -> None:
        """Describe the active model; its card threshold becomes the slider's mark and value."""
        self._model.setText(f"Model: {name}\nDevice: {device}")
        self._card_threshold = threshold
        if len(class_names) == 2:
            self._class_names = (str(class_names[0]), str(class_names[1]))
        self._slider.set_mark(self._to_steps(threshold))
        self.reset_threshold()

    def set_model_status(self, text: str) -> None:
        """Say what the model is doing (loading, unavailable) when there is no model to describe."""
        self._model.setText(text)

    def set_status(self, text: str) -> None:
        """One line about the prediction's state ("Predicting…", "No model", ...)."""
        self._status.setText(text)
        self._status.setVisible(bool(text))

    def show_prediction(
        self, prediction: PredictionLike, disclosure: Disclosure | None = None
    ) -> None:
        """Show ``prediction`` as ``disclosure`` allows (hidden if outside, by default); the
        slider keeps the threshold the user is trying out."""
        self._prediction = prediction
        self._disclosure = disclosure or Disclosure.of(prediction)
        if self._card_threshold is None:
            self._card_threshold = float(prediction.threshold)
            self._slider.set_mark(self._to_steps(prediction.threshold))
            self.reset_threshold()
        self.set_status("")
        warnings = list(prediction.warnings)
        self._warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
        self._warnings.setVisible(bool(warnings))
        self._set_threshold_enabled(True)
        self._heatmap_kind = prediction.heatmap_kind
        self.set_disclosure(self._disclosure)

    def set_disclosure(self, disclosure: Disclosure) -> None:
        """Show as much of the prediction as ``disclosure`` allows: the outside notice in the
        label's place, the probability and label only when shown, marked unvalidated."""
        self._disclosure = disclosure
        self._notice.show_disclosure(disclosure)
        self._probability.setVisible(disclosure.shows_result)
        self._label.setVisible(disclosure.shows_result)
        self._probability.setStyleSheet(
            "font-size: 22pt; font-weight: bold;"
            + ("" if disclosure.validated else " color: #6b6b6b;")
        )
        if self._prediction is not None:
            self._probability.setText(
                disclosure.mark(f"{100 * self._prediction.probability:.1f} %")
            )
            self._probability.setToolTip(
                disclosure.mark("Model probability of pneumonia (calibrated per the card)")
            )
        self._set_heatmap_kind(self._heatmap_kind)
        self._relabel()

    @property
    def notice(self) -> OutsideNotice:
        """The outside notice (headline, sentence, reveal button)."""
        return self._notice

    def _set_heatmap_kind(self, kind: str) -> None:
        """Name what the heatmap shows (Grad-CAM, or gradient × input for the dense baseline)."""
        self._heatmap_kind = kind
        self._heat_box.setTitle(self._disclosure.mark(f"Heatmap: {kind}"))
        self._scale.setToolTip(f"Colour and opacity grow with the {heatmap_scale_label(kind)}.")

    @property
    def heatmap_title(self) -> str:
        """The heatmap box's title, naming what the map shows."""
        return self._heat_box.title()

    def clear_prediction(self, status: str = "") -> None:
        """Forget the prediction shown (a new image is being read)."""
        self._prediction = None
        self._probability.setText("–")
        self._label.setText("")
        self._warnings.hide()
        self._set_threshold_enabled(False)
        self.set_disclosure(Disclosure())
        self.set_status(status)

    # --- threshold -----------------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        """The threshold the label is computed at (the slider's value)."""
        return self._slider.value() / SLIDER_STEPS

    def set_threshold(self, value: float) -> None:
        """Move the slider to ``value`` in [0, 1]."""
        self._slider.setValue(self._to_steps(value))

    @Slot()
    def reset_threshold(self) -> None:
        """Back to the card's operating point."""
        if self._card_threshold is not None:
            self.set_threshold(self._card_threshold)

    @property
    def label_text(self) -> str:
        """The label shown for the current prediction and threshold ("" without a prediction
        or while an unvalidated result is hidden)."""
        return self._label.text() if not self._label.isHidden() else ""

    @property
    def probability_text(self) -> str:
        """The probability shown ("" while an unvalidated result is hidden)."""
        return self._probability.text() if not self._probability.isHidden() else ""

    @property
    def warnings_text(self) -> str:
        """The warnings shown, one per line."""
        return self._warnings.text() if self._warnings.isVisible() else ""

    @property
    def model_text(self) -> str:
        """The model description shown."""
        return self._model.text()

    @property
    def threshold_note(self) -> str:
        """The line under the slider: the threshold, and whether it is the card's."""
        return self._threshold_text.text()

    @property
    def threshold_moved(self) -> bool:
        """True while the threshold differs from the model card's."""
        card = self._card_threshold
        return card is not None and self._to_steps(card) != self._slider.value()

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        card, moved = self._card_threshold, self.threshold_moved
        text = f"{value / SLIDER_STEPS:.3f}"
        if card is not None:
            text += f": moved away from the model card's {card:.3f}" if moved else " (model card)"
        self._threshold_text.setText(text)
        self._threshold_text.setStyleSheet(MOVED_STYLE if moved else "")
        self._reset_threshold.setText(f"Reset to {card:.3f}" if moved and card else "Reset")
        self._reset_threshold.setEnabled(moved and self._slider.isEnabled())
        self._relabel()
        self.threshold_changed.emit(value / SLIDER_STEPS)

    def _relabel(self) -> None:
        prediction = self._prediction
        if prediction is None:
            self._strength.setText("")
            return
        disclosure = self._disclosure
        if not disclosure.shows_result:
            self._strength.setText(
                "Not drawn: the image is outside what the model was validated on."
            )
            return
        legend = strength_legend(prediction.probability, self.threshold)
        note = heatmap_kind_note(self._heatmap_kind)
        self._strength.setText(disclosure.mark(f"{note} {legend}" if note else legend))
        if self._scale.pixmap().isNull():  # drawn with the first heatmap: matplotlib loads late
            self._draw_scale(self._colormap.currentText())
        positive = prediction.probability >= self.threshold
        negative_name, positive_name = self._class_names
        self._label.setText(disclosure.mark(positive_name if positive else negative_name))
        colour = "#b3261e;" if positive else "#1b6e20;"
        self._label.setStyleSheet(
            "font-size: 13pt; font-weight: bold; color: "
            + (colour if disclosure.validated else "#6b6b6b;")
        )

    def _set_threshold_enabled(self, enabled: bool) -> None:
        self._slider.setEnabled(enabled)
        self._reset_threshold.setEnabled(enabled and self.threshold_moved)

    @staticmethod
    def _to_steps(value: float) -> int:
        return round(min(max(float(value), 0.0), 1.0) * SLIDER_STEPS)

    # --- heatmap controls ----------------------------------------------------------------------

    @property
    def heatmap_checkbox(self) -> QCheckBox:
        """The heatmap toggle (checked = shown)."""
        return self._heat_toggle

    def set_heatmap_controls(self, visible: bool, opacity: float, colormap: str) -> None:
        """Set the controls without emitting (restoring settings)."""
        for widget in (self._heat_toggle, self._opacity, self._colormap):
            widget.blockSignals(True)
        self._heat_toggle.setChecked(visible)
        self._opacity.setValue(round(opacity * 100))
        self._colormap.setCurrentText(colormap)
        for widget in (self._heat_toggle, self._opacity, self._colormap):
            widget.blockSignals(False)

    @property
    def strength_text(self) -> str:
        """The legend line saying how strongly the heatmap is drawn ("" without a prediction)."""
        return self._strength.text()

    @Slot(str)
    def _draw_scale(self, colormap: str) -> None:
        """The colour scale as drawn over the image: colour and opacity from 0 to 1."""
        ramp = np.linspace(0.0, 1.0, 160, dtype=np.float32)[None, :].repeat(12, axis=0)
        rgba = heatmap_rgba(ramp, colormap)
        rgba[..., 3] = np.maximum(rgba[..., 3], 40)  # the weak end stays visible on the panel
        self._scale.setPixmap(QPixmap.fromImage(rgba_qimage(rgba)))

    def set_opacity(self, opacity: float) -> None:
        """Move the opacity slider (emits ``opacity_changed``)."""
        self._opacity.setValue(round(opacity * 100))

    def set_colormap(self, name: str) -> None:
        """Choose a colormap (emits ``colormap_changed``)."""
        self._colormap.setCurrentText(name)
