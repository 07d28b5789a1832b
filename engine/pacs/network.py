"""What every DICOM association of Hilum shares: timeouts, privacy of logs, typed failures.

* Timeouts: a PACS that stops answering must not hang a query or a retrieve for ever.
* Logs: pynetdicom logs every query identifier and response by default (patient names, IDs,
  birth dates). Hilum turns that off when this package is imported, so no patient data reaches
  a log beyond what the user sees on screen.
* Failures: a refused, rejected or aborted association becomes a
  :class:`~engine.errors.PacsError` that names the node and says what to check.
* A socket leak: pynetdicom 3.0.4 leaves the socket open when a connection is refused (its
  shutdown raises on an unconnected socket, so the close after it never runs; pynetdicom issue
  #979, fixed upstream by PR #999 but not yet released). Hilum closes it regardless; drop
  :func:`_close_socket` once a pynetdicom release includes the fix.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from pynetdicom import AE, _config
from pynetdicom.transport import AssociationSocket

from engine.errors import PacsError
from engine.pacs.nodes import PacsNode

_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False


def _close_socket(self: AssociationSocket) -> None:
    """Shut the socket down if it is connected, and close it in any case."""
    sock = self.socket
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


AssociationSocket._shutdown_socket = _close_socket  # type: ignore[method-assign]

#: Seconds to wait for a TCP connection, an association answer, a DIMSE message, and an idle
#: association before giving up.
CONNECTION_TIMEOUT = 10.0
ACSE_TIMEOUT = 30.0
DIMSE_TIMEOUT = 60.0
NETWORK_TIMEOUT = 60.0
#: The largest PDU Hilum accepts, in bytes. pynetdicom's default (16 kB) makes a pure-Python
#: receiver spend its time on PDU overhead: 128 kB received the 7 MB chest CR 1.6x faster here.
MAX_PDU_SIZE = 131_072

#: A-ASSOCIATE-RJ (source, diagnostic) -> what it means (PS3.8 9.3.4).
_REJECT_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognised",
    (1, 7): "called AE title not recognised",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}

Context = tuple[str, Sequence[str]]

VERIFICATION = "1.2.840.10008.1.1"

#: Query identifiers and status-only exchanges: Explicit VR Little Endian, and Implicit VR Little
#: Endian, the default every DICOM node accepts.
IDENTIFIER_SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")


def configure(ae: Any) -> None:
    """Give ``ae`` Hilum's timeouts and maximum PDU size (see the module constants)."""
    ae.maximum_pdu_size = MAX_PDU_SIZE
    ae.connection_timeout = CONNECTION_TIMEOUT
    ae.acse_timeout = ACSE_TIMEOUT
    ae.dimse_timeout = DIMSE_TIMEOUT
    ae.network_timeout = NETWORK_TIMEOUT


@contextlib.contextmanager
def associate(
    node: PacsNode,
    local_ae_title: str,
    contexts: Sequence[Context],
    *,
    ext_neg: Sequence[Any] = (),
    evt_handlers: Sequence[Any] = (),
) -> Iterator[Any]:
    """An established association with ``node``, released when the block ends.

    Args:
        node: the peer.
        local_ae_title: Hilum's (calling) AE title.
        contexts: (abstract syntax, transfer syntaxes) pairs to propose.
        ext_neg: extended negotiation items (SCP/SCU role selection for C-GET).
        evt_handlers: pynetdicom event handlers bound to the association.

    Yields:
        The pynetdicom ``Association``.

    Raises:
        PacsError: the node cannot be reached, rejects or aborts the association.
    """
    ae = AE(ae_title=local_ae_title)
    configure(ae)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, list(syntaxes))
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.ae_title,
        max_pdu=MAX_PDU_SIZE,
        ext_neg=list(ext_neg) or None,
        evt_handlers=list(evt_handlers) or None,
    )
    if not assoc.is_established:
        raise association_failure(node, local_ae_title, assoc)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def echo(node: PacsNode, *, local_ae_title: str) -> None:
    """Check that ``node`` answers a C-ECHO (verification, PS3.4 A).

    Raises:
        PacsError: no association, or no successful answer.
    """
    with associate(node, local_ae_title, [(VERIFICATION, IDENTIFIER_SYNTAXES)]) as assoc:
        status = assoc.send_c_echo()
    if status is None or int(status.get("Status", -1)) != 0:
        raise no_response(node, "C-ECHO")


def association_failure(node: PacsNode, local_ae_title: str, assoc: Any) -> PacsError:
    """The error for an association that was not established."""
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        key = (int(primitive.result_source or 0), int(primitive.diagnostic or 0))
        reason = _REJECT_REASONS.get(key, f"source {key[0]}, reason {key[1]}")
        return PacsError(
            f"{node} rejected the association ({reason}). Check that the PACS knows Hilum's AE "
            f"title {local_ae_title} and this computer's address, and that {node.ae_title} is "
            "the PACS's AE title."
        )
    return PacsError(
        f"Hilum could not open an association with {node}: no DICOM answer at "
        f"{node.host}:{node.port}. Check the node's host and port, that the PACS is running, "
        "and that no firewall blocks the port."
    )


def no_response(node: PacsNode, operation: str) -> PacsError:
    """The error for a request that got no valid answer (timeout or abort)."""
    return PacsError(
        f"{node} did not answer the {operation} request (time-out or the association was "
        "aborted). Try again; if it persists, check the PACS's logs."
    )
