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
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
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
from engine.workflows.reading_state import ReadingState
from viewer.disclosure import Disclosure
from viewer.reading_room.outside_notice import OutsideNotice
from viewer.reading_room.threshold_control import ThresholdControl, to_steps
from viewer.widgets.rendering import COLORMAPS, heatmap_rgba, rgba_qimage

if TYPE_CHECKING:
    from engine.inference.prediction import Prediction


class PredictionPanel(QWidget):
    """Shows the prediction of the image on screen and the heatmap controls: a view of a
    :class:`~engine.workflows.reading_state.ReadingState` (label, threshold and its author,
    heatmap strength all come from it; the slider only asks it to change).

    Args:
        state: the reading state shown; a new one when ``None`` (a panel on its own).
        parent: the Qt parent.

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

    def __init__(self, state: ReadingState | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state if state is not None else ReadingState()
        self._class_names: tuple[str, str] = ("NORMAL", "PNEUMONIA")
        self._disclosure = Disclosure()
        self._notice = OutsideNotice()
        self._notice.reveal_toggled.connect(self.reveal_toggled)

        self._status = QLabel("No image")
        self._status.setWordWrap(True)
        self._probability = QLabel("–")
        self._label = QLabel("")
        self._label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self._threshold = ThresholdControl(self.state)
        self._threshold.changed.connect(self.threshold_changed)
        self._warnings = QLabel("")
        self._warnings.setWordWrap(True)
        self._warnings.setStyleSheet("color: #8a4b00;")
        self._warnings.hide()
        self._model = QLabel("Model: not loaded")
        self._model.setWordWrap(True)

        result = QGroupBox("Prediction")
        form = QVBoxLayout(result)
        form.addWidget(self._status)
        form.addWidget(self._notice)
        form.addWidget(self._probability)
        form.addWidget(self._label)
        form.addWidget(self._threshold)
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
        self.set_disclosure(self._disclosure)
        self.state.subscribe(self._on_state)

    # --- model and prediction ------------------------------------------------------------------

    def set_model(
        self,
        name: str,
        device: str,
        threshold: float,
        class_names: Sequence[str] = ("NORMAL", "PNEUMONIA"),
        model_id: str | None = None,
    ) -> None:
        """Describe the active model (``model_id``, by default ``name``); its card threshold
        becomes the slider's mark (through the reading state)."""
        self._model.setText(f"Model: {name}\nDevice: {device}")
        if len(class_names) == 2:
            self._class_names = (str(class_names[0]), str(class_names[1]))
        self.state.set_model(model_id or name, threshold)

    def set_model_status(self, text: str) -> None:
        """Say what the model is doing (loading, unavailable) when there is no model to describe."""
        self._model.setText(text)

    def set_status(self, text: str) -> None:
        """One line about the prediction's state ("Predicting…", "No model", ...)."""
        self._status.setText(text)
        self._status.setVisible(bool(text))

    def show_prediction(self, prediction: Prediction, disclosure: Disclosure | None = None) -> None:
        """Give ``prediction`` to the reading state and show it as ``disclosure`` allows (hidden
        if outside, by default); a threshold the user set stays in force."""
        self._disclosure = disclosure or Disclosure.of(prediction)
        self.state.show_prediction(prediction)

    def _show_state_prediction(self) -> None:
        """Show the state's prediction, or clear the panel (and say why) when there is none."""
        prediction = self.state.prediction
        if prediction is None:
            self._probability.setText("–")
            self._label.setText("")
            self._warnings.hide()
            self._threshold.set_enabled(False)
            self._disclosure = Disclosure()
            if self.state.failure is not None:
                self.set_status("No image")
        else:
            self.set_status("")
            warnings = list(prediction.warnings)
            self._warnings.setText("\n".join(f"⚠ {w}" for w in warnings))
            self._warnings.setVisible(bool(warnings))
            self._threshold.set_enabled(True)
            self._heatmap_kind = prediction.heatmap_kind
        self.set_disclosure(self._disclosure)

    def _on_state(self, change: str) -> None:
        """Follow the reading state: the prediction, the slider and its mark, the label."""
        if change in ("image", "prediction"):
            self._show_state_prediction()
        self._threshold.sync()
        self._relabel()

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
        if self.state.prediction is not None:
            self._probability.setText(
                disclosure.mark(f"{100 * self.state.prediction.probability:.1f} %")
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
        """Forget the prediction shown (a new image is being read) and say ``status``."""
        self.state.reading()
        self.set_status(status)

    # --- threshold -----------------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        """The threshold in force (the reading state's)."""
        return self._threshold.value

    def set_threshold(self, value: float) -> None:
        """Move the slider to ``value`` in [0, 1] (as the user would)."""
        self._threshold.slider.setValue(to_steps(value))

    @Slot()
    def reset_threshold(self) -> None:
        """Back to the model's operating point."""
        self.state.reset_threshold()

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
        """The line under the slider: the threshold in force and who set it."""
        return self._threshold.note.text()

    def _relabel(self) -> None:
        result = self.state.result()
        if result is None:
            self._strength.setText("")
            return
        disclosure = self._disclosure
        if not disclosure.shows_result:
            self._strength.setText(
                "Not drawn: the image is outside what the model was validated on."
            )
            return
        legend = strength_legend(result.probability, result.threshold)
        note = heatmap_kind_note(self._heatmap_kind)
        self._strength.setText(disclosure.mark(f"{note} {legend}" if note else legend))
        if self._scale.pixmap().isNull():  # drawn with the first heatmap: matplotlib loads late
            self._draw_scale(self._colormap.currentText())
        positive = result.label == "PNEUMONIA"
        negative_name, positive_name = self._class_names
        self._label.setText(disclosure.mark(positive_name if positive else negative_name))
        colour = "#b3261e;" if positive else "#1b6e20;"
        self._label.setStyleSheet(
            "font-size: 13pt; font-weight: bold; color: "
            + (colour if disclosure.validated else "#6b6b6b;")
        )

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
    def threshold_control(self) -> ThresholdControl:
        """The threshold control (its slider sets the user's threshold in the reading state)."""
        return self._threshold

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
