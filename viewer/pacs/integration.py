"""The PACS menu, the listener and the results, wired into the main window.

Like :mod:`viewer.records`, this plugs into the window through its public API only (the menu
bar, ``prediction_shown``, ``image_shown``, the study browser, the Worklist tab, ``open_image``)
with two lines on the window's side: create :class:`PacsIntegration` and call its
:meth:`~PacsIntegration.shutdown`.

Arrivals: the listener writes each instance on its network thread and hands it to a relay
signal; on the GUI thread, arrivals are gathered for :data:`FLUSH_MS` and then listed in the
study browser (their study folders are added to what is open, at most once per
:data:`BROWSER_REFRESH_MS`) and, when they are images and not Hilum's own results, queued in the
worklist, which predicts them with the active model and keeps its rows sorted by probability.
Nothing is decoded on the network thread or the GUI thread. Queries, retrieves, sends and
exports run as jobs.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from engine.errors import HilumError
from engine.pacs.nodes import PacsNode
from viewer.jobs import Job, JobRunner
from viewer.pacs.settings import PacsSettings
from viewer.pacs.settings_dialog import PacsSettingsDialog

if TYPE_CHECKING:  # pydicom and pynetdicom load on first use: viewer start-up stays fast
    from engine.inference import Prediction
    from engine.pacs.scp import StorageListener
    from engine.pacs.storage import ReceivedInstance
    from engine.radiograph import Radiograph
    from viewer.main_window import MainWindow
    from viewer.pacs.query_dialog import QueryDialog

#: Arrivals are gathered this long before they are queued for prediction.
FLUSH_MS = 200
#: The study browser is re-listed at most this often while images keep arriving: re-indexing
#: and rebuilding its tree for every few images of a 200-image burst stalled the GUI (0.3-0.5 s
#: here) where once a second keeps it responsive.
BROWSER_REFRESH_MS = 1000


def send_result(
    radiograph: Radiograph, prediction: Prediction, card: dict[str, Any], node: PacsNode,
    local_ae_title: str, **callbacks: Any,
) -> Any:  # fmt: skip
    """Build the heatmap Secondary Capture and the SR, and store both on ``node`` (worker)."""
    from engine.pacs.result_objects import ModelIdentity
    from engine.pacs.results import build_results
    from engine.pacs.sending import send_instances

    results = build_results(radiograph, prediction, ModelIdentity.from_card(card))
    return send_instances(node, results.datasets, local_ae_title=local_ae_title, **callbacks)


def export_result(
    radiograph: Radiograph, prediction: Prediction, card: dict[str, Any], folder: Path
) -> list[Path]:
    """Build both result objects and write them under ``folder`` (worker)."""
    from engine.pacs.result_objects import ModelIdentity, export_results
    from engine.pacs.results import build_results

    return export_results(
        build_results(radiograph, prediction, ModelIdentity.from_card(card)), folder
    )


class _Relay(QObject):
    """Carries received instances from network threads to the GUI thread."""

    received = Signal(object)


class PacsIntegration(QObject):
    """The PACS menu, the listener, arrivals, query/retrieve, and sending/exporting results.

    Args:
        window: the main window.

    Signals:
        arrivals_listed(list): received files were handed to the browser and the worklist.
        listener_changed(bool): the listener started (True) or stopped (False).
        result_sent(object): a send ended (its summary).
        result_exported(list): the files an export wrote.
    """

    arrivals_listed = Signal(list)
    listener_changed = Signal(bool)
    result_sent = Signal(object)
    result_exported = Signal(list)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.settings = PacsSettings(window.settings)
        self._runner = JobRunner(max_threads=2, parent=self)
        self._relay = _Relay(self)
        self._relay.received.connect(self._on_received)
        self._listener: StorageListener | None = None
        self._arrived: list[ReceivedInstance] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._new_studies: dict[Path, None] = {}  # ordered set of study folders to list
        self._browser_timer = QTimer(self)
        self._browser_timer.setSingleShot(True)
        self._browser_timer.timeout.connect(self._refresh_browser)
        self._since_refresh = QElapsedTimer()
        self._prediction: Prediction | None = None
        self.query_dialog: QueryDialog | None = None
        self._build_menu()
        window.prediction_shown.connect(self._on_prediction_shown)
        window.image_shown.connect(self._on_image_shown)
        if self.settings.listener_enabled:
            self.start_listener()

    def _build_menu(self) -> None:
        bar = self._window.menuBar()
        menu = QMenu("P&ACS", bar)

        def add(text: str, slot: Any, shortcut: str = "", checkable: bool = False) -> QAction:
            action = QAction(text, menu)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setCheckable(checkable)
            action.triggered.connect(slot)
            menu.addAction(action)
            return action

        add("&Query/Retrieve…", self.show_query_dialog, "Ctrl+Shift+Q")
        self.send_action = add("&Send result to PACS…", self.choose_node_and_send, "Ctrl+Shift+S")
        self.export_action = add("&Export result as DICOM…", self.choose_export_folder)
        menu.addSeparator()
        self.listener_action = add("&Receive images (listener)", self.set_listener, "", True)
        add("PACS &settings…", self.show_settings)
        for action in (self.send_action, self.export_action):
            action.setEnabled(False)
        # Before Records (and so before Help): the Records menu stays next to Help.
        after = next((a for a in bar.actions() if a.text() in ("&Records", "&Help")), None)
        if after is None:
            bar.addMenu(menu)
        else:
            bar.insertMenu(after, menu)

    # --- listener ------------------------------------------------------------------------------

    @property
    def listener(self) -> StorageListener | None:
        """The running listener, or ``None``."""
        return self._listener

    def start_listener(self) -> bool:
        """Start receiving with the saved settings; False (and the reason shown) on failure."""
        from engine.pacs.scp import StorageListener

        self.stop_listener()
        settings = self.settings.listener
        if not settings.allowed:
            self._window.banner.show_error(
                HilumError(
                    "The listener needs an allow-list: name the senders' AE titles in "
                    "PACS > PACS settings, then turn it on."
                )
            )
            self.listener_action.setChecked(False)
            return False
        listener = StorageListener(settings, self._relay.received.emit)
        try:
            listener.start()
        except HilumError as error:
            self._window.banner.show_error(error)
            self.listener_action.setChecked(False)
            return False
        self._listener = listener
        self.listener_action.setChecked(True)
        self._window.statusBar().showMessage(
            f"Receiving as {settings.ae_title} on {settings.host}:{listener.port}", 10_000
        )
        self.listener_changed.emit(True)
        return True

    def stop_listener(self) -> None:
        """Stop receiving (a transfer in progress is aborted, leaving no partial file)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            self.listener_changed.emit(False)
        self.listener_action.setChecked(False)

    @Slot(bool)
    def set_listener(self, on: bool) -> None:
        """Turn the listener on or off, and remember the choice."""
        self.settings.listener_enabled = on
        if on:
            self.start_listener()
        else:
            self.stop_listener()

    @Slot(object)
    def _on_received(self, instance: ReceivedInstance) -> None:
        self._arrived.append(instance)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot()
    def _flush(self) -> None:
        arrived, self._arrived = self._arrived, []
        if not arrived:
            return
        paths = [instance.path for instance in arrived]
        self._new_studies.update(dict.fromkeys(path.parent for path in paths))
        if not self._browser_timer.isActive():
            since = self._since_refresh.elapsed() if self._since_refresh.isValid() else None
            wait = 0 if since is None else max(0, BROWSER_REFRESH_MS - since)
            self._browser_timer.start(wait)
        self._window.records.worklist.enqueue([i.path for i in arrived if i.predictable])
        senders = ", ".join(sorted({instance.sender for instance in arrived}))
        self._window.statusBar().showMessage(
            f"Received {len(paths)} image(s) from {senders}; predicting them in the Worklist.",
            10_000,
        )
        self.arrivals_listed.emit(paths)

    @Slot()
    def _refresh_browser(self) -> None:
        studies, self._new_studies = list(self._new_studies), {}
        self._since_refresh.start()
        self._window.browser.add_paths(studies)

    def _nodes_or_say_none(self) -> list[PacsNode]:
        nodes = self.settings.nodes
        if not nodes:
            self._window.banner.show_error(
                HilumError("No PACS is configured: add one in PACS > PACS settings.")
            )
        return nodes

    # --- query / retrieve ----------------------------------------------------------------------

    @Slot()
    def show_query_dialog(self) -> QueryDialog | None:
        """Open the Query/Retrieve window (asks for a node first when there is none)."""
        from viewer.pacs.query_dialog import QueryDialog

        nodes = self._nodes_or_say_none()
        if not nodes:
            return None
        if self.query_dialog is not None:
            self.query_dialog.close()
        dialog = QueryDialog(
            nodes, self._runner, self.retrieve, self.settings.listener.ae_title, self._window
        )
        dialog.retrieved.connect(self._on_retrieved)
        dialog.show()
        self.query_dialog = dialog
        return dialog

    def retrieve(self, node: PacsNode, study_uid: str, **callbacks: Any) -> Any:
        """Bring ``study_uid`` from ``node`` into the receive folder (worker).

        C-GET writes the files itself; C-MOVE needs the listener running, with the node's AE
        title on its allow-list.

        Raises:
            HilumError: C-MOVE with the listener off or the node not allowed to send.
            PacsError: the PACS fails.
        """
        from engine.pacs.retrieve import get_study, move_study

        settings = self.settings.listener
        if node.retrieve == "C-GET":
            return get_study(
                node,
                study_uid,
                settings.out_dir,
                local_ae_title=settings.ae_title,
                on_received=self._relay.received.emit,
                **callbacks,
            )
        if self._listener is None or not any(
            entry.ae_title == node.ae_title for entry in settings.allowed
        ):
            raise HilumError(
                f"C-MOVE makes {node.label} send the study to Hilum's listener, which is off or "
                f"does not allow {node.ae_title}. Turn the listener on and add {node.ae_title} to "
                "its allowed senders (PACS > PACS settings), or set the node to C-GET."
            )
        return move_study(
            node,
            study_uid,
            destination=settings.ae_title,
            local_ae_title=settings.ae_title,
            **callbacks,
        )

    @Slot(object)
    def _on_retrieved(self, summary: Any) -> None:
        if summary.instances:
            self._window.tabs.setCurrentIndex(0)
            self._window.open_image(summary.instances[0].path)

    # --- results -------------------------------------------------------------------------------

    @Slot(object)
    def _on_prediction_shown(self, prediction: Prediction) -> None:
        self._prediction = prediction
        radiograph = self._window.view.radiograph
        dicom = radiograph is not None and radiograph.format == "DICOM"
        for action in (self.send_action, self.export_action):
            action.setEnabled(dicom)

    @Slot(object)
    def _on_image_shown(self, _: object) -> None:
        self._prediction = None
        for action in (self.send_action, self.export_action):
            action.setEnabled(False)

    def _current(self) -> tuple[Radiograph, Prediction, dict[str, Any]]:
        radiograph = self._window.view.radiograph
        prediction = self._prediction
        predictor = self._window.predictor
        if (
            radiograph is None
            or prediction is None
            or predictor is None
            or prediction.path != radiograph.source
            or prediction.model_id != predictor.model_id
        ):
            raise HilumError("No result to send yet: open a DICOM image and wait for its result.")
        return radiograph, prediction, predictor.bundle.card

    @Slot()
    def choose_node_and_send(self) -> None:
        """Ask which PACS (when there are several) and send the result shown to it."""
        nodes = self._nodes_or_say_none()
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
        job = self._result_job(send_result, node, self.settings.listener.ae_title)
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

    # --- settings and closing ------------------------------------------------------------------

    @Slot()
    def show_settings(self) -> None:
        """Edit the listener and the nodes; restart the listener when it should run."""
        dialog = PacsSettingsDialog(
            self.settings.listener,
            self.settings.listener_enabled,
            self.settings.nodes,
            self._window,
        )
        if dialog.exec():
            self.apply_settings(dialog.result_listener, dialog.result_enabled, dialog.result_nodes)

    def apply_settings(self, listener: Any, enabled: bool, nodes: list[PacsNode]) -> None:
        """Save new settings and start, restart or stop the listener accordingly."""
        self.settings.listener = listener
        self.settings.nodes = nodes
        self.set_listener(enabled)

    def shutdown(self, timeout_ms: int = 15_000) -> None:
        """Stop the listener, cancel network jobs, close the Query/Retrieve window."""
        self.stop_listener()
        if self.query_dialog is not None:
            self.query_dialog.close()
        self._runner.shutdown(timeout_ms)
