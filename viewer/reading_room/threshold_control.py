"""The threshold control: the operating point in force, who set it, for how long, and a reset.

A view of the :class:`~engine.workflows.reading_state.ReadingState`: the slider only asks the
state to change, and everything shown (the slider's position and mark, the line under it, the
reset button) is read back from the state. A threshold the user set is shown plainly (highlighted,
with the model's own value beside it) and lasts for this image only unless the user ticks "Keep
for the next images" — issue 19: a value moved by a passing wheel used to carry silently to every
later image.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.workflows.reading_state import ReadingState, ThresholdScope
from viewer.widgets.marked_slider import MarkedSlider

SLIDER_STEPS = 1000
#: How a threshold the user set is shown: plainly, not as a footnote.
MOVED_STYLE = "background: #fff1c2; color: #6b4100; font-weight: bold; padding: 2px;"


def to_steps(value: float) -> int:
    """The slider position of a threshold in [0, 1]."""
    return round(min(max(float(value), 0.0), 1.0) * SLIDER_STEPS)


class ThresholdControl(QWidget):
    """Slider, reset button, "keep for the next images" box and the line saying who set it.

    Signals:
        changed(float): the user moved the slider (the threshold now in force).
    """

    changed = Signal(float)

    def __init__(self, state: ReadingState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._syncing = False  # the slider is being moved to the state's threshold
        self.slider = MarkedSlider()
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip(
            "Try another operating point: relabels the image; the model card is not changed."
        )
        self.slider.valueChanged.connect(self._on_slider)
        self.reset = QPushButton("Reset")
        self.reset.setToolTip("Back to the model's operating point")
        self.reset.clicked.connect(self.state.reset_threshold)
        self.keep = QCheckBox("Keep for the next images")
        self.keep.setToolTip(
            "Unticked: a threshold you set applies to this image only. Ticked: to every image "
            "until you reset it or load another model."
        )
        self.keep.toggled.connect(self._on_keep)
        self.note = QLabel("")
        self.note.setWordWrap(True)

        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Threshold (operating point):"))
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.keep)
        self.set_enabled(False)

    @property
    def scope(self) -> ThresholdScope:
        """How long a threshold the user sets lasts, as the user chose."""
        return ThresholdScope.SESSION if self.keep.isChecked() else ThresholdScope.IMAGE

    @property
    def value(self) -> float:
        """The threshold in force (the state's; the slider's position without a model)."""
        threshold = self.state.threshold
        return self.slider.value() / SLIDER_STEPS if threshold is None else threshold

    def set_enabled(self, enabled: bool) -> None:
        """Allow moving the threshold (only while a prediction is shown)."""
        self.slider.setEnabled(enabled)
        self.sync()

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        """The user moved the slider: a threshold of the user's, or the model's again when the
        slider is back on its mark."""
        if self._syncing:
            return
        model = self.state.model_threshold
        if model is not None and to_steps(model) == value:
            self.state.reset_threshold()
        else:
            self.state.set_threshold(value / SLIDER_STEPS, self.scope)
        self.changed.emit(self.value)

    @Slot(bool)
    def _on_keep(self, _checked: bool) -> None:
        """The user changed how long their threshold lasts: the one in force follows."""
        user = self.state.user_threshold
        if user is not None:
            self.state.set_threshold(user.value, self.scope)

    def sync(self) -> None:
        """Put the slider, its mark, the line under it and the reset button where the state
        says."""
        model, threshold = self.state.model_threshold, self.state.threshold
        if model is not None:
            self.slider.set_mark(to_steps(model))
        user = self.state.set_by_user
        if threshold is not None:
            self._syncing = True
            self.slider.setValue(to_steps(threshold))
            self._syncing = False
            text = f"{threshold:.3f} ({self.state.threshold_origin})"
            if user and model is not None:
                text += f" — the model's: {model:.3f}"
            self.note.setText(text)
        self.note.setStyleSheet(MOVED_STYLE if user else "")
        moved_from = model if user and model is not None else None
        self.reset.setText("Reset" if moved_from is None else f"Reset to {moved_from:.3f}")
        self.reset.setEnabled(self.slider.isEnabled() and user)
