"""The comparison's promotion buttons: promote a model to the reading room, revert, use the
shipped default.

The transitions and the checks are the engine's (:mod:`engine.workflows.promotion`); this widget
runs the check in the background (it hashes the model files), refuses a bundle with a blocking
error, asks before promoting over warnings, persists the new state in the settings
(:attr:`TrainingSettings.previous_model`) and asks the window, by signal, to load the model.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from engine.workflows.promotion import PromotionCheck, ReadingRoomModels, check_promotion
from viewer.errors import describe
from viewer.jobs import JobRunner
from viewer.resource_paths import default_model_dir
from viewer.settings import TrainingSettings


class PromotionBar(QWidget):
    """ "Promote to reading room", "Revert to previous model" and "Use shipped default".

    Args:
        settings: where the previous model is kept; the active one is
            ``settings.settings.model_path``.
        io_runner: the runner of the background check.

    Attributes:
        candidate: the bundle "Promote" promotes (the comparison's current row), or ``None``.

    Signals:
        promoted(Path): make this bundle the reading room's model.
        default_requested(): make the shipped default the reading room's model.
        checked(object): a promotion check ended (:class:`PromotionCheck`), before any dialog.
        message(str): a line for the comparison's status.
    """

    promoted = Signal(Path)
    default_requested = Signal()
    checked = Signal(object)
    message = Signal(str)

    def __init__(
        self, settings: TrainingSettings, io_runner: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.candidate: Path | None = None
        self._io = io_runner
        self.promote_button = QPushButton("Promote to reading room")
        self.promote_button.clicked.connect(self.promote_candidate)
        self.revert_button = QPushButton("Revert to previous model")
        self.revert_button.clicked.connect(self.revert)
        self.default_button = QPushButton("Use shipped default")
        self.default_button.clicked.connect(self.use_default)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.promote_button, self.revert_button, self.default_button):
            layout.addWidget(button)
        self.active_label = QLabel()
        self.update_controls()

    def set_candidate(self, bundle: Path | None) -> None:
        """The bundle "Promote" would promote."""
        self.candidate = bundle
        self.update_controls()

    def update_controls(self) -> None:
        """Enable what applies and name the reading room's model."""
        self.promote_button.setEnabled(self.candidate is not None)
        self.revert_button.setEnabled(self.settings.reading_models.can_revert)
        active = self.settings.settings.model_path
        self.active_label.setText(
            f"Reading room model: {active.name if active else 'the shipped default'}"
        )

    @Slot()
    def promote_candidate(self) -> None:
        """Check the candidate and promote it if it passes (asking first over warnings)."""
        if self.candidate is not None:
            self.promote(self.candidate)

    def promote(self, bundle: Path) -> None:
        """Check ``bundle`` in the background, then promote it, ask, or refuse."""
        self.message.emit(f"Checking {bundle.name} before promoting it…")
        active = self.settings.settings.model_path or default_model_dir()
        job = self._io.submit(check_promotion, bundle, active, callbacks=False)
        job.succeeded.connect(self._on_checked)
        job.failed.connect(lambda error: self.message.emit(describe(error)[1]))
        job.start()

    @Slot(object)
    def _on_checked(self, check: PromotionCheck) -> None:
        self.checked.emit(check)
        if not check.allowed:
            self.message.emit(f"Not promoted: {check.errors[0]}")
            self.show_refusal(check)
        elif (check.warnings or check.site) and not self.confirm_promotion(check):
            self.message.emit(f"Not promoted: {check.bundle.name} (cancelled).")
        else:
            self._apply(self.settings.reading_models.promote(check.bundle))

    def confirm_promotion(self, check: PromotionCheck) -> bool:
        """Show the warnings and ask whether to promote anyway (tests replace this method)."""
        answer = QMessageBox.question(
            self,
            "Promote this model?",
            "\n".join(check.site)
            + ("\n\n" if check.site else "")
            + "Before this model replaces the one the reading room reads with:\n\n• "
            + "\n\n• ".join(check.warnings or ("nothing else to check.",))
            + "\n\nPromote it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def show_refusal(self, check: PromotionCheck) -> None:
        """Say why the bundle cannot be promoted (a window-modal box; returns at once)."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Model not promoted",
            "\n".join(check.site)
            + ("\n\n" if check.site else "")
            + "This model cannot become the reading room's model:\n\n• "
            + "\n\n• ".join(check.errors),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    @Slot()
    def revert(self) -> None:
        """Go back to the model active before the last change (no checks: it was in use)."""
        models = self.settings.reading_models
        if models.can_revert:
            self._apply(models.revert())

    @Slot()
    def use_default(self) -> None:
        """Make the shipped default the reading room's model (the previous one is remembered)."""
        self._apply(self.settings.reading_models.use_default())

    def _apply(self, models: ReadingRoomModels) -> None:
        self.settings.previous_model = models.previous
        if isinstance(models.active, Path):
            self.promoted.emit(models.active)
        else:
            self.default_requested.emit()
        self.update_controls()
