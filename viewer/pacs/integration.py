"""The PACS menu, the listener and its arrivals, and query/retrieve, wired into the main window.

Like :mod:`viewer.window.triage_and_history`, this plugs into the window through its public API only
(the menu bar, the study browser, the Triage tab, ``open_image``; see
:class:`viewer.pacs.host.PacsHost`) with two lines on the window's side: create
:class:`PacsIntegration` and call its :meth:`~PacsIntegration.shutdown`.

Arrivals: the listener writes each instance on its network thread; there too, before the
sender hears "success", an image that is not one of Hilum's own results is put in the triage
list's durable arrivals queue (:mod:`engine.workflows.arrivals`, in the history database), so
that nothing received is lost if Hilum dies before predicting it (when the queue cannot be
written, the sender hears a failure and keeps its copy). The instance then goes to a
relay signal; on the GUI thread, arrivals are gathered for :data:`FLUSH_MS` and then listed in the
study browser (their study folders are added to what is open, at most once per
:data:`BROWSER_REFRESH_MS`) and the triage list is told to predict the queued arrivals with the
active model (it keeps its rows sorted by probability).
Nothing is decoded on the network thread or the GUI thread. Queries and retrieves run as jobs;
sending and exporting results is :mod:`viewer.pacs.result_actions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from engine.errors import ConfigError, HilumError
from engine.pacs.nodes import PacsNode
from engine.workflows.history import HistoryError
from viewer.jobs import JobRunner
from viewer.pacs.host import PacsHost, nodes_or_explain
from viewer.pacs.result_actions import ResultActions
from viewer.pacs.settings import PacsSettings
from viewer.pacs.settings_dialog import PacsSettingsDialog

if TYPE_CHECKING:  # pydicom and pynetdicom load on first use: viewer start-up stays fast
    from engine.pacs.scp import StorageListener
    from engine.pacs.storage import ReceivedInstance
    from viewer.pacs.query_dialog import QueryDialog

#: Arrivals are gathered this long before they are queued for prediction.
FLUSH_MS = 200
#: The study browser is re-listed at most this often while images keep arriving: re-indexing
#: and rebuilding its tree for every few images of a 200-image burst stalled the GUI (0.3-0.5 s
#: here) where once a second keeps it responsive.
BROWSER_REFRESH_MS = 1000


class _Relay(QObject):
    """Carries received instances, and failures to queue them, from network threads to the GUI
    thread."""

    received = Signal(object)
    not_queued = Signal(object)


class PacsIntegration(QObject):
    """The PACS menu, the listener, arrivals, query/retrieve, and the result actions.

    Args:
        window: the main window.

    Attributes:
        results: the *Send result to PACS* and *Export result as DICOM* actions.

    Signals:
        arrivals_listed(list): received files were handed to the browser and the triage list.
        listener_changed(bool): the listener started (True) or stopped (False).
    """

    arrivals_listed = Signal(list)
    listener_changed = Signal(bool)

    def __init__(self, window: PacsHost) -> None:
        super().__init__(window)
        self._window = window
        self.settings = PacsSettings(window.settings)
        self._runner = JobRunner(max_threads=2, parent=self)
        self._relay = _Relay(self)
        self._relay.received.connect(self._on_received)
        self._relay.not_queued.connect(self._window.banner.show_error)
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
        self.query_dialog: QueryDialog | None = None
        self._build_menu()
        if self.settings.listener_enabled:
            self.start_listener()
        damaged = self.settings.check()  # after: it explains a listener that could not start
        if damaged:
            window.banner.show_error(ConfigError(" ".join(damaged)))

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
        self.results = ResultActions(self._window, self.settings, self._runner, menu)
        menu.addSeparator()
        self.listener_action = add("&Receive images (listener)", self.set_listener, "", True)
        add("PACS &settings…", self.show_settings)
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
        listener = StorageListener(settings, self._arrive)
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

    def _arrive(self, instance: ReceivedInstance) -> None:
        """Queue a received image for prediction, durably, then relay it (network thread).

        Raises:
            RefusedInstance: the queue cannot be written; the sender hears "out of resources"
                and keeps its copy (the banner says so).
        """
        if instance.predictable:
            try:
                self._window.triage_history.triage_list.arrivals.enqueue(
                    instance.path, instance.sender
                )
            except HistoryError as error:
                from engine.pacs.storage import STATUS_OUT_OF_RESOURCES, RefusedInstance

                self._relay.not_queued.emit(
                    HistoryError(
                        f"An image from {instance.sender} could not be queued for prediction: "
                        f"{error} {instance.sender} was answered that it failed, so it keeps "
                        "its copy: send it again once this is fixed."
                    )
                )
                raise RefusedInstance(STATUS_OUT_OF_RESOURCES, "it cannot be queued") from None
        self._relay.received.emit(instance)

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
        if any(instance.predictable for instance in arrived):
            self._window.triage_history.triage_list.predict_arrivals()
        senders = ", ".join(sorted({instance.sender for instance in arrived}))
        self._window.statusBar().showMessage(
            f"Received {len(paths)} image(s) from {senders}; predicting them in the triage list.",
            10_000,
        )
        self.arrivals_listed.emit(paths)

    @Slot()
    def _refresh_browser(self) -> None:
        studies, self._new_studies = list(self._new_studies), {}
        self._since_refresh.start()
        self._window.browser.add_paths(studies)

    # --- query / retrieve ----------------------------------------------------------------------

    @Slot()
    def show_query_dialog(self) -> QueryDialog | None:
        """Open the Query/Retrieve window (asks for a node first when there is none)."""
        from viewer.pacs.query_dialog import QueryDialog

        nodes = nodes_or_explain(self._window, self.settings.nodes)
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
                on_received=self._arrive,
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

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Stop the listener, cancel network jobs, close the Query/Retrieve window; True when
        the network jobs ended within ``timeout_ms``."""
        self.stop_listener()
        if self.query_dialog is not None:
            self.query_dialog.close()
        return self._runner.shutdown(timeout_ms)
