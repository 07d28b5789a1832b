"""Hilum's storage receiver (Storage SCP): X-ray units and PACSs send images to it.

It answers C-ECHO and C-STORE for the classes and transfer syntaxes of
:mod:`engine.pacs.storage` (images, and reports so that a study comes whole), on ``127.0.0.1``
unless told otherwise. An association whose calling AE title (and, when the entry names one,
host) is not on the allow-list is rejected at once (A-ASSOCIATE-RJ, "calling AE title not
recognised", PS3.8 9.3.4), before any data is exchanged.

Each instance is handled on its association's thread (pynetdicom runs one thread per
association): the header is checked and the bytes are written atomically; pixel data is not
decoded there. ``on_received`` is then called with a :class:`ReceivedInstance`, before the
sender hears the answer; it must return quickly (the viewer commits the file to its arrivals
queue and predicts it on its own worker threads). It may raise :class:`RefusedInstance` when it
cannot take charge of the instance (the arrivals queue cannot be written): the sender then hears
that failure status and keeps its copy, instead of a "success" after which it may delete it.
Instances arrive whole: pynetdicom calls the handler only once the last fragment is in, so a
connection dropped mid-transfer leaves nothing on disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from engine.errors import PacsError
from engine.pacs import network
from engine.pacs.nodes import ListenerSettings
from engine.pacs.storage import (
    ReceivedInstance,
    RefusedInstance,
    accepted_contexts,
    store_encoded,
)

OnReceived = Callable[[ReceivedInstance], None]

_log = logging.getLogger(__name__)

#: A-ASSOCIATE-RJ: rejected permanent, by the service user, calling AE title not recognised.
_REJECT_UNKNOWN_CALLER = (0x01, 0x01, 0x03)


def ignore_received(_: ReceivedInstance) -> None:
    """The default ``on_received``: nothing more to do."""


def store_handler(
    out_dir: Path, on_received: OnReceived, received: list[ReceivedInstance] | None = None
) -> Callable[[Any], int]:
    """An ``evt.EVT_C_STORE`` handler writing into ``out_dir`` (the listener's and C-GET's).

    Args:
        out_dir: the receive folder.
        on_received: called after each instance is on disk, before the answer; raising
            :class:`RefusedInstance` answers its status instead of success.
        received: when given, each instance is also appended here (a C-GET's result).
    """

    def handle(event: Any) -> int:
        request = event.request
        sender = event.assoc.requestor.ae_title
        if event.assoc.is_requestor:  # C-GET: the PACS sends on Hilum's own association
            sender = event.assoc.acceptor.ae_title
        try:
            instance = store_encoded(
                event.encoded_dataset(include_meta=True),
                out_dir,
                sop_instance_uid=str(request.AffectedSOPInstanceUID),
                sop_class=str(request.AffectedSOPClassUID),
                sender=sender,
            )
        except RefusedInstance as refused:
            _log.warning("Refused an instance from %s: %s.", sender, refused)
            return refused.status
        _log.info("Received a %s from %s.", instance.sop_class, sender)
        if received is not None:
            received.append(instance)
        try:
            on_received(instance)
        except RefusedInstance as refused:  # it cannot be taken in charge: the sender keeps it
            _log.warning("Could not take in an instance from %s: %s.", sender, refused)
            return refused.status
        except Exception:  # the instance is stored; a failing observer must not fail the store
            _log.exception("Handling a received instance failed.")
        return 0x0000

    return handle


class StorageListener:
    """A running (or stopped) Storage SCP.

    Args:
        settings: AE title, port, interface, receive folder, allow-list.
        on_received: called on the association's thread after each instance is written.

    Use :meth:`start` and :meth:`stop`, or ``with StorageListener(...) as listener:``.
    """

    def __init__(
        self, settings: ListenerSettings, on_received: OnReceived = ignore_received
    ) -> None:
        self.settings = settings
        self._on_received = on_received
        self._server: Any = None
        self._lock = threading.Lock()
        self._rejected = 0

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port listened on (the real one when the settings asked for port 0 in tests)."""
        if self._server is None:
            return self.settings.port
        return int(self._server.server_address[1])

    @property
    def rejected(self) -> int:
        """Associations rejected because the caller was not on the allow-list."""
        return self._rejected

    def start(self) -> StorageListener:
        """Create the receive folder, bind the port and start accepting associations.

        Raises:
            PacsError: the folder cannot be created or the port cannot be bound (in use, or
                below 1024 without administrator rights).
        """
        if self._server is not None:
            return self
        settings = self.settings
        try:
            settings.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PacsError(
                f"The receive folder {settings.out_dir} cannot be created ({error.strerror}). "
                "Choose another folder in the listener's settings."
            ) from None
        ae = AE(ae_title=settings.ae_title)
        network.configure(ae)
        for sop_class, syntaxes in accepted_contexts():
            ae.add_supported_context(sop_class, list(syntaxes))
        ae.add_supported_context(Verification)
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self._check_caller),
            (evt.EVT_C_STORE, store_handler(settings.out_dir, self._on_received)),
        ]
        try:
            self._server = ae.start_server(
                (settings.host, settings.port), block=False, evt_handlers=handlers
            )
        except OSError as error:
            raise PacsError(
                f"Hilum cannot listen on {settings.host}:{settings.port} ({error.strerror}). "
                "Another program may use this port, or ports below 1024 need administrator "
                "rights: choose another port (e.g. 11112) in the listener's settings."
            ) from None
        _log.info("Listening as %s on %s:%d.", settings.ae_title, settings.host, self.port)
        return self

    def stop(self) -> None:
        """Stop accepting associations and close the port (running transfers are aborted)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            for assoc in server.active_associations:
                assoc.abort()  # an instance still arriving is dropped whole, never half-written
            server.shutdown()
            _log.info("Stopped listening.")

    def active_associations(self) -> int:
        """Associations currently open with senders."""
        return 0 if self._server is None else len(self._server.active_associations)

    def __enter__(self) -> StorageListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _check_caller(self, event: Any) -> None:
        """``EVT_REQUESTED``: reject callers that are not on the allow-list."""
        assoc = event.assoc
        calling = str(assoc.requestor.primitive.calling_ae_title).strip()
        address = str(assoc.requestor.address)
        if not self.settings.admits(calling, address):
            with self._lock:
                self._rejected += 1
            _log.warning("Rejected an association from %s at %s: not allowed.", calling, address)
            assoc.acse.send_reject(*_REJECT_UNKNOWN_CALLER)
            assoc.kill()  # as pynetdicom does after its own rejections: end the DUL thread
