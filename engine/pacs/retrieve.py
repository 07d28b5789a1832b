"""C-MOVE and C-GET: bring a study from a PACS into Hilum's receive folder (PS3.4 C.4.2, C.4.3).

* **C-MOVE** asks the PACS to send the study to an AE title; the PACS opens its own association
  to that AE, so Hilum's listener must be running and the PACS must know Hilum's AE title, host
  and port. The instances arrive through :class:`engine.pacs.scp.StorageListener`.
* **C-GET** brings the instances back on Hilum's own association (Hilum takes the Storage SCP
  role for it, PS3.7 D.3.3.4): nothing to configure on the PACS beyond the AE title, but not
  every PACS offers it. Instances are written exactly as the listener writes them.

Both report progress from the PACS's pending responses (remaining, completed, failed, warning
sub-operations) and cancel with a C-CANCEL; a PACS that keeps sending after the cancel has its
association aborted. Files already written stay (each is whole); nothing half-written remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from engine.errors import PacsError
from engine.pacs.network import IDENTIFIER_SYNTAXES, Context, associate, no_response
from engine.pacs.nodes import DEFAULT_AE_TITLE, PacsNode
from engine.pacs.scp import OnReceived, ignore_received, store_handler
from engine.pacs.storage import ReceivedInstance, accepted_contexts
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

_PENDING = (0xFF00, 0xFF01)
_FINAL_OK = (0x0000, 0xFE00, 0xB000)  # success, cancelled, some sub-operations failed


@dataclass(frozen=True)
class RetrieveSummary:
    """How a retrieve ended.

    Attributes:
        completed: instances the PACS sent successfully.
        failed: instances it could not send (or Hilum refused).
        warnings: instances sent with a warning.
        cancelled: the user stopped the retrieve.
        instances: with C-GET, the files written (C-MOVE's arrive through the listener).
    """

    completed: int
    failed: int
    warnings: int
    cancelled: bool
    instances: tuple[ReceivedInstance, ...] = ()


def _identifier(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    return ds


def move_study(
    node: PacsNode,
    study_uid: str,
    *,
    destination: str = DEFAULT_AE_TITLE,
    local_ae_title: str = DEFAULT_AE_TITLE,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> RetrieveSummary:
    """Ask ``node`` to send study ``study_uid`` to the AE ``destination`` (C-MOVE).

    Args:
        node: the PACS.
        study_uid: the Study Instance UID.
        destination: the AE title to send to: Hilum's listener, which must be running.
        local_ae_title: Hilum's calling AE title.
        on_progress: called at each pending response (stage ``"retrieve"``).
        should_stop: checked at each pending response; True sends a C-CANCEL.

    Returns:
        The PACS's counts.

    Raises:
        PacsError: the association fails, the PACS does not know ``destination``, or it
            answers with another failure.
    """
    model = StudyRootQueryRetrieveInformationModelMove
    with associate(node, local_ae_title, [(model, IDENTIFIER_SYNTAXES)]) as assoc:
        responses = assoc.send_c_move(_identifier(study_uid), destination, model, msg_id=1)
        return _follow(responses, assoc, model, node, "C-MOVE", on_progress, should_stop)


def get_study(
    node: PacsNode,
    study_uid: str,
    out_dir: Path,
    *,
    local_ae_title: str = DEFAULT_AE_TITLE,
    on_received: OnReceived = ignore_received,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> RetrieveSummary:
    """Fetch study ``study_uid`` from ``node`` on Hilum's own association (C-GET).

    Args:
        node: the PACS.
        study_uid: the Study Instance UID.
        out_dir: the receive folder (``out_dir/<study>/<instance>.dcm``).
        local_ae_title: Hilum's calling AE title.
        on_received: called after each instance is written.
        on_progress: called at each pending response (stage ``"retrieve"``).
        should_stop: checked at each pending response; True sends a C-CANCEL.

    Returns:
        The PACS's counts and the files written.

    Raises:
        PacsError: the association fails or the PACS answers with a failure.
    """
    model = StudyRootQueryRetrieveInformationModelGet
    storage = accepted_contexts()
    contexts: list[Context] = [(model, IDENTIFIER_SYNTAXES), *storage]
    roles = [build_role(sop_class, scp_role=True) for sop_class, _ in storage]
    received: list[ReceivedInstance] = []
    handlers = [(evt.EVT_C_STORE, store_handler(out_dir, on_received, received))]
    out_dir.mkdir(parents=True, exist_ok=True)
    with associate(node, local_ae_title, contexts, ext_neg=roles, evt_handlers=handlers) as assoc:
        responses = assoc.send_c_get(_identifier(study_uid), model, msg_id=1)
        counts = _follow(responses, assoc, model, node, "C-GET", on_progress, should_stop)
    return RetrieveSummary(
        counts.completed, counts.failed, counts.warnings, counts.cancelled, tuple(received)
    )


def _follow(
    responses: Any,
    assoc: Any,
    model: str,
    node: PacsNode,
    operation: str,
    on_progress: OnProgress,
    should_stop: ShouldStop,
) -> RetrieveSummary:
    """Read a C-MOVE/C-GET's responses to the end, reporting progress and cancelling."""
    counts = {"completed": 0, "failed": 0, "warnings": 0}
    cancelled = False
    for status, _identifier_ds in responses:
        if status is None or "Status" not in status:
            raise no_response(node, operation)
        code = int(status.Status)
        for key, keyword in (
            ("completed", "NumberOfCompletedSuboperations"),
            ("failed", "NumberOfFailedSuboperations"),
            ("warnings", "NumberOfWarningSuboperations"),
        ):
            if keyword in status and status[keyword].value is not None:
                counts[key] = int(status[keyword].value)
        if code in _PENDING:
            remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
            done = sum(counts.values())
            on_progress(
                Progress("retrieve", done, done + remaining, f"{done} of {done + remaining}")
            )
            if cancelled:  # the PACS ignores the C-CANCEL: stop it the hard way
                assoc.abort()
                break
            if should_stop():
                assoc.send_c_cancel(1, query_model=model)
                cancelled = True
            continue
        if code not in _FINAL_OK:
            raise _failure(node, operation, code, str(status.get("ErrorComment", "")).strip())
        cancelled = cancelled or code == 0xFE00
    return RetrieveSummary(counts["completed"], counts["failed"], counts["warnings"], cancelled)


def _failure(node: PacsNode, operation: str, code: int, comment: str) -> PacsError:
    if code == 0xA801:
        return PacsError(
            f"{node} does not know where to send the study (C-MOVE destination unknown). Add "
            "Hilum to the PACS's list of DICOM nodes (its AE title, this computer's address and "
            "the listener's port), or retrieve with C-GET."
        )
    if code in (0xA701, 0xA702):
        return PacsError(f"{node} is out of resources for the {operation} (0x{code:04X}).")
    said = f" ({comment})" if comment else ""
    hint = (
        " If the PACS does not know the destination, add Hilum to its DICOM nodes (AE title, "
        "this computer's address, the listener's port), or retrieve with C-GET."
        if operation == "C-MOVE"
        else ""
    )
    return PacsError(
        f"{node} answered the {operation} with failure status 0x{code:04X}{said}. Check the "
        f"PACS's logs; the study may have been deleted or Hilum may not be allowed to retrieve "
        f"it.{hint}"
    )
