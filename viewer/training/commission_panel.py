"""Commission a model for a new site from the Training tab: ``hilum commission`` with a form.

The form (:class:`viewer.training.commission_form.CommissionForm`) gives a
:class:`~engine.workflows.commissioning.CommissionConfig`; Start runs
:func:`engine.workflows.commissioning.commission` as one :class:`viewer.jobs.Job` on the Training
tab's TensorFlow runner (model work has one owner: it never runs beside a training run or an
evaluation), with progress and Cancel. Cancelling raises
:class:`~engine.progress.Cancelled` in the engine, which writes the bundle atomically at the very
end only: nothing is left. When done, the site's figures (before and after, on the site's test
part and on the "also measure on" images, each with its 95 % interval) are shown, and "Promote to
reading room" hands the new bundle to the tab's
:class:`~viewer.training.promotion_bar.PromotionBar`, which shows those figures first and may
refuse.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ConfigError
from engine.modeling.bundles import read_card
from engine.modeling.card import ModelCard
from engine.modeling.labelled_folders import read_labelled_set
from engine.progress import Cancelled, OnProgress, Progress, ShouldStop
from engine.workflows.commissioning import CommissionConfig, commission, read_site
from engine.workflows.site_card import site_lines
from viewer.errors import ErrorBanner
from viewer.jobs import Job, JobRunner
from viewer.settings import TrainingSettings
from viewer.training.commission_form import CommissionForm
from viewer.training.promotion_bar import PromotionBar


def commission_site(
    config: CommissionConfig, *, on_progress: OnProgress, should_stop: ShouldStop
) -> tuple[Path, ModelCard]:
    """Commission ``config.bundle`` and read the new bundle's card.

    The site's folder (and the "also measure on" folder) are read first: a folder without class
    folders, or with too few patients, is reported at once, not after the model has loaded.

    Raises:
        DatasetError, ConfigError, ModelFileError: as :func:`commission`.
        Cancelled: ``should_stop()`` became true; nothing was written.
    """
    read_site(config)
    if config.external is not None:
        read_labelled_set(config.external)
    on_progress(Progress("commission", 0, None, f"Loading {config.bundle.name}…"))
    bundle = commission(config, on_progress=on_progress, should_stop=should_stop)
    return bundle, read_card(bundle)


class CommissionPanel(QWidget):
    """The form, Start / Cancel, progress, the site's figures and "Promote to reading room".

    Args:
        settings: the Training tab's settings.
        tf_runner: the tab's runner of TensorFlow work.
        promotion: the tab's promotion bar (checks, refuses or promotes).
        parent: the Qt parent.

    Attributes:
        bundle: the last bundle commissioned here, or ``None``.

    Signals:
        progressed(object): a :class:`~engine.progress.Progress` report of the running job.
        commissioned(Path, object): a new bundle was written (folder, its ``ModelCard``).
        done(object): a run ended: the new bundle's ``Path``, or the exception it ended with
            (:class:`~engine.progress.Cancelled` when cancelled).
        running_changed(bool): a run started or ended.
    """

    progressed = Signal(object)
    commissioned = Signal(Path, object)
    done = Signal(object)
    running_changed = Signal(bool)

    def __init__(
        self,
        settings: TrainingSettings,
        tf_runner: JobRunner,
        promotion: PromotionBar,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tf = tf_runner
        self._promotion = promotion
        self._job: Job | None = None
        self._blocked: str | None = None
        self._promoting = False
        self.bundle: Path | None = None

        self.form = CommissionForm(settings)
        self.start_button = QPushButton("Start commissioning")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.status = QLabel("Not started.")
        self.status.setWordWrap(True)
        self.banner = ErrorBanner()
        self.figures = QPlainTextEdit()
        self.figures.setReadOnly(True)
        self.figures.setPlaceholderText("The site's figures, before and after, appear here.")
        self.promote_button = QPushButton("Promote to reading room")
        self.promote_button.clicked.connect(self.promote)
        self._build_layout()

        self.form.edited.connect(self._validate)
        promotion.message.connect(self._on_promotion_message)
        self._validate()

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        result_row = QHBoxLayout()
        result_row.addStretch(1)
        result_row.addWidget(self.promote_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.reason)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addWidget(self.figures, 1)
        layout.addLayout(result_row)

    def showEvent(self, event: QShowEvent) -> None:
        """Show the current active model and output folder each time the page is seen."""
        super().showEvent(event)
        self.form.refresh_defaults()

    @property
    def is_running(self) -> bool:
        """True while a commissioning job is queued or running."""
        return self._job is not None

    def set_blocked(self, reason: str | None) -> None:
        """Keep Start disabled for ``reason`` (the tab's training), or allow it (``None``)."""
        self._blocked = reason
        self._validate()

    @Slot()
    def _validate(self) -> None:
        reason = "Commissioning…" if self.is_running else self._blocked
        reason = reason or self.form.blocking_reason()
        self.reason.setText(reason or "Ready.")
        self.start_button.setEnabled(reason is None)
        self.cancel_button.setEnabled(self.is_running and not self._job_cancelled())
        self.promote_button.setEnabled(self.bundle is not None and not self.is_running)

    def _job_cancelled(self) -> bool:
        return self._job is not None and self._job.is_cancelled

    # --- the run -------------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Commission the form's bundle for its site, in the background."""
        if self.is_running or self._blocked or self.form.blocking_reason():
            return
        self.banner.hide()
        try:
            config = self.form.config()
        except ConfigError as error:
            self.banner.show_error(error)
            return
        self.bundle = None
        self._promoting = False
        self.figures.clear()
        self.progress_bar.setRange(0, 0)  # busy until the first report with a total
        self.status.setText(f"Commissioning {config.bundle.name} for {config.site}…")
        job = self._tf.submit(commission_site, config)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        self._job = job
        self._validate()
        self.running_changed.emit(True)
        job.start()

    @Slot()
    def cancel(self) -> None:
        """Stop the run at its next batch of images; nothing is written."""
        job = self._job
        if job is None:
            return
        if job.withdraw():  # still queued behind other model work: it never runs
            self._end(Cancelled())
            return
        job.cancel()
        self.status.setText("Cancelling after the current batch of images…")
        self._validate()

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if report.total:
            self.progress_bar.setRange(0, report.total)
            self.progress_bar.setValue(report.done)
            self.status.setText(f"{report.message} ({report.done}/{report.total})")
        else:
            self.status.setText(report.message)
        self.progressed.emit(report)

    @Slot(object)
    def _on_succeeded(self, result: tuple[Path, ModelCard]) -> None:
        bundle, card = result
        self.bundle = bundle
        self.figures.setPlainText("\n".join(site_lines(card)))
        self.status.setText(
            f"Written to {bundle}. Promote it to use it in the reading room "
            "(its figures on the site are shown first)."
        )
        self.commissioned.emit(bundle, card)
        self._end(bundle)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if not isinstance(error, Cancelled):
            self.banner.show_error(error)
        self._end(error)

    def _end(self, outcome: Path | BaseException) -> None:
        self._job = None
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1 if isinstance(outcome, Path) else 0)
        if isinstance(outcome, Cancelled):
            self.status.setText("Cancelled: nothing was written.")
        elif isinstance(outcome, BaseException):
            self.status.setText("Not commissioned: see the message above the figures.")
        self._validate()
        self.running_changed.emit(False)
        self.done.emit(outcome)

    # --- promotion -----------------------------------------------------------------------------

    @Slot()
    def promote(self) -> None:
        """Check the new bundle and promote it, through the tab's promotion bar."""
        if self.bundle is not None:
            self._promoting = True
            self._promotion.promote(self.bundle)

    @Slot(str)
    def _on_promotion_message(self, text: str) -> None:
        if self._promoting:  # the bar's messages about the bundle promoted from here
            self.status.setText(text)
