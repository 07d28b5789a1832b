"""C-STORE as a client: send Hilum's result objects (or any DICOM files) to a PACS (PS3.4 B).

All instances go on one association, proposed in the transfer syntax they are encoded in (plus
the uncompressed ones, which pydicom can convert to). Each instance's status is reported; a
failure of one does not stop the others. Cancelling stops between instances.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from engine.errors import PacsError
from engine.pacs.network import IDENTIFIER_SYNTAXES, associate
from engine.pacs.nodes import DEFAULT_AE_TITLE, PacsNode
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

#: C-STORE statuses that mean "stored" (success, and the B0xx warnings: coerced, elements
#: discarded, data set does not match SOP class but stored).
_STORED = (0x0000, 0xB000, 0xB006, 0xB007)


@dataclass(frozen=True)
class SendSummary:
    """How a send ended.

    Attributes:
        sent: SOP Instance UIDs the PACS stored.
        failed: (SOP Instance UID, reason) of the others.
        cancelled: the user stopped before the end.
    """

    sent: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    cancelled: bool = False


def send_instances(
    node: PacsNode,
    instances: Sequence[Dataset | str | os.PathLike[str]],
    *,
    local_ae_title: str = DEFAULT_AE_TITLE,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> SendSummary:
    """Store every instance on ``node`` over one association.

    Args:
        node: the PACS.
        instances: data sets (with ``file_meta``) or DICOM files.
        local_ae_title: Hilum's calling AE title.
        on_progress: called after each instance (stage ``"send"``).
        should_stop: checked before each instance.

    Returns:
        What was stored and what was not.

    Raises:
        PacsError: a file cannot be read, or the association fails.
    """
    datasets = [_dataset(item) for item in instances]
    contexts = {
        str(ds.SOPClassUID): (str(ds.file_meta.TransferSyntaxUID), *IDENTIFIER_SYNTAXES)
        for ds in datasets
    }
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    with associate(node, local_ae_title, list(contexts.items())) as assoc:
        for number, ds in enumerate(datasets, start=1):
            if should_stop():
                return SendSummary(tuple(sent), tuple(failed), cancelled=True)
            uid = str(ds.SOPInstanceUID)
            try:
                status = assoc.send_c_store(ds, msg_id=number)
            except ValueError as error:  # no accepted context for this class / syntax
                failed.append((uid, f"the PACS does not accept it ({error})"))
            else:
                code = int(status.Status) if status is not None and "Status" in status else None
                if code in _STORED:
                    sent.append(uid)
                elif code is None:
                    failed.append((uid, "no answer (time-out or aborted)"))
                else:
                    failed.append((uid, f"refused with status 0x{code:04X}"))
            on_progress(Progress("send", number, len(datasets), str(ds.SOPClassUID.name)))
    return SendSummary(tuple(sent), tuple(failed))


def _dataset(item: Dataset | str | os.PathLike[str]) -> Dataset:
    if isinstance(item, Dataset):
        return item
    try:
        return pydicom.dcmread(Path(item))
    except Exception as error:  # pydicom reports damaged files with many exception types
        raise PacsError(
            f"{item}: cannot be sent, it is not a readable DICOM file ({error}). Choose "
            "another file."
        ) from None
