"""Send the result on screen to a PACS, or export it as DICOM: two PACS menu actions, as jobs.

The result is the image shown, its result as on screen (the reading state's: the label and the
heatmap's strength at the threshold in force) and the model that made it; the work (building
the heatmap Secondary Capture and the SR, sending or writing them) runs on a worker thread.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from engine.errors import HilumError
from engine.pacs.nodes import PacsNode
from viewer.jobs import Job, JobRunner
from viewer.pacs.host import PacsHost, nodes_or_explain
from viewer.pacs.settings import PacsSettings

if TYPE_CHECKING:
    from engine.imaging.radiograph import Radiograph
    from engine.inference.shown_result import ShownResult
    from engine.modeling.card import ModelCard


def send_result(
    radiograph: Radiograph, prediction: ShownResult, card: ModelCard, node: PacsNode,
    local_ae_title: str, **callbacks: Any,
) -> Any:  # fmt: skip
    """Build the heatmap Secondary Capture and the SR, and store both on ``node`` (worker)."""
    from engine.pacs.derived_instances import ModelIdentity
    from engine.pacs.result_objects import build_results
    from engine.pacs.sending import send_instances

    results = build_results(radiograph, prediction, ModelIdentity.from_card(card))
    return send_instances(node, results.datasets, local_ae_title=local_ae_title, **callbacks)


def export_result(
    radiograph: Radiograph, prediction: ShownResult, card: ModelCard, folder: Path
) -> list[Path]:
    """Build both result objects and write them under ``folder`` (worker)."""
    from engine.pacs.derived_instances import ModelIdentity
    from engine.pacs.result_objects import build_results, export_results

    return export_results(
        build_results(radiograph, prediction, ModelIdentity.from_card(card)), folder
    )


class ResultActions(QObject):
    """The *Send result to PACS* and *Export result as DICOM* actions, enabled for a DICOM image
    with its prediction on screen.

    Args:
        window: the main window.
        settings: the PACS settings (nodes, Hilum's AE title).
        runner: runs the sends and exports.
        menu: where the two actions go.

    Signals:
        result_sent(object): a send ended (its summary).
        result_exported(list): the files an export wrote.
    """

    result_sent = Signal(object)
    result_exported = Signal(list)

    def __init__(
        self, window: PacsHost, settings: PacsSettings, runner: JobRunner, menu: QMenu
    ) -> None:
        super().__init__(menu)
        self._window = window
        self._settings = settings
        self._runner = runner
        self.send_action = QAction("&Send result to PACS…", menu)
        self.send_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self.send_action.triggered.connect(self.choose_node_and_send)
        self.export_action = QAction("&Export result as DICOM…", menu)
        self.export_action.triggered.connect(self.choose_export_folder)
        for action in (self.send_action, self.export_action):
            action.setEnabled(False)
            menu.addAction(action)
        window.prediction_shown.connect(self._on_prediction_shown)
        window.image_shown.connect(self._on_image_shown)

    @Slot(object)
    def _on_prediction_shown(self, _: object) -> None:
        radiograph = self._window.view.radiograph
        dicom = radiograph is not None and radiograph.format == "DICOM"
        for action in (self.send_action, self.export_action):
            action.setEnabled(dicom)

    @Slot(object)
    def _on_image_shown(self, _: object) -> None:
        for action in (self.send_action, self.export_action):
            action.setEnabled(False)

    def _current(self) -> tuple[Radiograph, ShownResult, ModelCard]:
        current = self._window.reading_room.result_on_screen()
        if current is None:
            raise HilumError("No result to send yet: open a DICOM image and wait for its result.")
        radiograph, prediction, predictor = current
        return radiograph, prediction, predictor.bundle.card

    @Slot()
    def choose_node_and_send(self) -> None:
        """Ask which PACS (when there are several) and send the result shown to it."""
        nodes = nodes_or_explain(self._window, self._settings.nodes)
        if not nodes:
            return
        node = nodes[0]
        if len(nodes) > 1:
            labels = [f"{n.label} ({n})" for n in nodes]
            chosen, ok = QInputDialog.getItem(
                self._window, "Send result to PACS", "PACS:", labels, 0, False
            )
            if not ok:
                return
            node = nodes[labels.index(chosen)]
        self.send_to(node)

    def _result_job(self, fn: Any, *args: Any, callbacks: bool = True) -> Job | None:
        """A job running ``fn(radiograph, prediction, card, *args)`` on the result shown, or
        ``None`` (and the reason in the banner) when there is none."""
        try:
            radiograph, prediction, card = self._current()
        except HilumError as error:
            self._window.banner.show_error(error)
            return None
        job = self._runner.submit(fn, radiograph, prediction, card, *args, callbacks=callbacks)
        job.failed.connect(self._window.banner.show_error)
        return job

    def send_to(self, node: PacsNode) -> None:
        """Send the heatmap image and the SR of the image shown to ``node`` (a job)."""
        job = self._result_job(send_result, node, self._settings.listener.ae_title)
        if job is not None:
            self._window.statusBar().showMessage(f"Sending the result to {node.label}…")
            job.succeeded.connect(partial(self._on_sent, node))
            job.start()

    def _on_sent(self, node: PacsNode, summary: Any) -> None:
        if summary.failed:
            _, reason = summary.failed[0]
            self._window.banner.show_error(
                HilumError(f"{node.label} did not store the result ({reason}).")
            )
        else:
            self._window.statusBar().showMessage(
                f"Sent the heatmap image and the report to {node.label}.", 10_000
            )
        self.result_sent.emit(summary)

    @Slot()
    def choose_export_folder(self) -> None:
        """Ask for a folder and export the result shown there as DICOM."""
        folder = QFileDialog.getExistingDirectory(self._window, "Export the result as DICOM")
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path) -> None:
        """Write the heatmap image and the SR of the image shown under ``folder`` (a job)."""
        job = self._result_job(export_result, folder, callbacks=False)
        if job is not None:
            job.succeeded.connect(self._on_exported)
            job.start()

    @Slot(object)
    def _on_exported(self, paths: list[Path]) -> None:
        self._window.statusBar().showMessage(
            f"Wrote {len(paths)} DICOM file(s) to {paths[0].parent}", 10_000
        )
        self.result_exported.emit(paths)
