"""What Hilum accepts over the network and how a received instance lands on disk.

Hilum stores the chest radiographs it can read: Computed Radiography, Digital X-Ray (for
presentation and for processing) and Secondary Capture images (PS3.4 B.5), in the transfer
syntaxes its decoder plugins handle. It also stores structured reports (uncompressed), so that a
study holding reports, Hilum's own included, comes back whole from a retrieve; reports and
Hilum's own heatmap images are marked as not to be predicted. JPEG Extended (12-bit,
1.2.840.10008.1.2.4.51) is left out on purpose: no installed plugin decodes it reliably, so a
sender is asked to choose another syntax at association instead of delivering a file Hilum
cannot show.

A received instance is written exactly as it was encoded by the sender (no pixel data is
decoded here: that happens later, through :func:`engine.load_image`, off the network thread) to
``out_dir/<StudyInstanceUID>/<SOPInstanceUID>.dcm``, atomically
(:func:`engine.atomic_files.write_bytes`): a crash or a dropped connection never leaves half a
file under a real name. The file is flushed to disk before the sender hears "success", because
a modality may delete its own copy on that answer (this costs about a third of the receive
rate, and is not negotiable). UIDs become file names only after checking they are UIDs (digits and
dots), so a hostile sender cannot write outside ``out_dir``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.uid import (
    JPEG2000,
    UID,
    BasicTextSRStorage,
    ComprehensiveSRStorage,
    ComputedRadiographyImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    EnhancedSRStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from engine.atomic_files import write_bytes
from engine.imaging.dicom_values import text
from engine.pacs.derived_instances import MANUFACTURER

#: The image storage SOP classes Hilum accepts, by the modality name users know.
IMAGE_STORAGE: dict[str, UID] = {
    "CR": ComputedRadiographyImageStorage,
    "DX": DigitalXRayImageStorageForPresentation,
    "DX (for processing)": DigitalXRayImageStorageForProcessing,
    "SC": SecondaryCaptureImageStorage,
}

#: Structured reports: stored, listed, never predicted.
REPORT_STORAGE = (BasicTextSRStorage, EnhancedSRStorage, ComprehensiveSRStorage)

#: Uncompressed syntaxes first: they are what a sender should prefer.
_CANDIDATE_SYNTAXES = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
    JPEGBaseline8Bit,
)

#: C-STORE response statuses (PS3.4 B.2.3 and PS3.7 C.4.2.1.4).
STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_DOES_NOT_MATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000

#: A UID (PS3.5 9.1): digit groups separated by dots, at most 64 characters. Leading zeros are
#: tolerated (some devices write them); anything that could name another folder is not.
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def decodable_transfer_syntaxes() -> tuple[UID, ...]:
    """The transfer syntaxes Hilum accepts: those an installed pydicom decoder handles."""
    from pydicom.pixels.decoders.base import get_decoder

    return tuple(uid for uid in _CANDIDATE_SYNTAXES if get_decoder(uid).is_available)


def accepted_contexts() -> list[tuple[UID, tuple[UID, ...]]]:
    """(SOP class, transfer syntaxes) Hilum accepts as a storage SCP (listener and C-GET)."""
    images = decodable_transfer_syntaxes()
    uncompressed = images[:3]
    return [(uid, images) for uid in IMAGE_STORAGE.values()] + [
        (uid, uncompressed) for uid in REPORT_STORAGE
    ]


def is_safe_uid(value: str) -> bool:
    """Whether ``value`` is a UID that can safely be used as a file or folder name."""
    return len(value) <= 64 and _UID.match(value) is not None


@dataclass(frozen=True)
class ReceivedInstance:
    """One DICOM instance written to disk by the listener or a retrieve.

    Attributes:
        path: ``out_dir/<StudyInstanceUID>/<SOPInstanceUID>.dcm``.
        study_uid: its Study Instance UID (the folder's name).
        sop_instance_uid: its SOP Instance UID (the file's stem).
        sop_class: the SOP class's name, e.g. "Computed Radiography Image Storage".
        sender: the calling AE title of the association it came on.
        predictable: True for an image that is not one of Hilum's own results (those and
            reports are stored and listed, not predicted).
    """

    path: Path
    study_uid: str
    sop_instance_uid: str
    sop_class: str
    sender: str
    predictable: bool = True


class RefusedInstance(Exception):
    """A received data set Hilum will not store; ``status`` is the C-STORE status to answer.

    Internal to the receivers: the peer gets the status, the user a log line without patient
    data.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def store_encoded(
    encoded: bytes, out_dir: Path, *, sop_instance_uid: str, sop_class: str, sender: str
) -> ReceivedInstance:
    """Write one encoded instance (Part 10 file bytes, as received) into ``out_dir``.

    Only the header is parsed, to find the Study Instance UID and check the SOP Instance UID
    against the request's; pixel data is neither decoded nor altered.

    Args:
        encoded: the DICOM file bytes (preamble, file meta, data set as the sender encoded it).
        out_dir: the receive folder.
        sop_instance_uid: the request's Affected SOP Instance UID.
        sop_class: the request's Affected SOP Class UID.
        sender: the calling AE title.

    Returns:
        Where it went.

    Raises:
        RefusedInstance: the header cannot be parsed, its UIDs are not UIDs or do not match the
            request, or the file cannot be written (disk full, permissions).
    """
    try:
        header = pydicom.dcmread(
            io.BytesIO(encoded),
            stop_before_pixels=True,
            specific_tags=["StudyInstanceUID", "SOPInstanceUID", "Manufacturer"],
        )
        study_uid = text(header, "StudyInstanceUID")
        instance_uid = text(header, "SOPInstanceUID")
        ours = text(header, "Manufacturer") == MANUFACTURER
    except Exception as error:  # pydicom reports damaged headers with many exception types
        raise RefusedInstance(
            STATUS_CANNOT_UNDERSTAND, f"the data set cannot be parsed ({type(error).__name__})"
        ) from None
    if not is_safe_uid(study_uid) or not is_safe_uid(instance_uid):
        raise RefusedInstance(
            STATUS_CANNOT_UNDERSTAND, "its Study or SOP Instance UID is missing or not a UID"
        )
    if instance_uid != sop_instance_uid.strip():
        raise RefusedInstance(
            STATUS_DOES_NOT_MATCH, "its SOP Instance UID differs from the request's"
        )
    target = out_dir / study_uid / f"{instance_uid}.dcm"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(target, encoded)
    except OSError as error:
        raise RefusedInstance(
            STATUS_OUT_OF_RESOURCES, f"it cannot be written to {out_dir} ({error.strerror})"
        ) from None
    image = sop_class in IMAGE_STORAGE.values()
    return ReceivedInstance(
        target, study_uid, instance_uid, UID(sop_class).name, sender, image and not ours
    )
