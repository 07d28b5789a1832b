"""New DICOM instances derived from a source image, in its study: what Hilum's result objects share.

The two result objects (:mod:`engine.pacs.result_objects`) are built on these parts: a new
instance in a new series of the source's study, with the patient and study attributes copied
from the source so that the PACS files it with the study (text in UTF-8, ``ISO_IR 192``), Hilum
as the manufacturer, the model's identity, references to the source and coded concepts.
"""

from __future__ import annotations

import datetime
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from engine.errors import HilumError

if TYPE_CHECKING:
    from engine.modeling.card import ModelCard

#: Attributes copied from the source image: Patient, General Study and Patient Study modules.
COPIED_ATTRIBUTES = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
)
#: Type 2 attributes of those modules: present (maybe empty) even when the source lacks them.
_REQUIRED_EMPTY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)
#: Manufacturer (0008,0070) of the objects Hilum makes; the store recognises its own objects by it.
MANUFACTURER = "Hilum"


@dataclass(frozen=True)
class ModelIdentity:
    """Which model made the result, as recorded in the objects.

    Attributes:
        name: the model's display name.
        model_id: its unique id (recorded as the algorithm version).
        sha256: the sha256 of its weights file.
    """

    name: str
    model_id: str
    sha256: str

    @classmethod
    def from_card(cls, card: ModelCard) -> ModelIdentity:
        """From a model card."""
        return cls(card.display_name, card.model_id, card.model_sha256)


def software_version() -> str:
    """Hilum's version, as installed (``"unknown"`` when the package metadata is missing)."""
    try:
        return importlib.metadata.version("hilum")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def new_instance(source: Dataset, sop_class: str, modality: str, series_number: int) -> Dataset:
    """A data set in a new series of ``source``'s study, with the source's patient and study.

    Sets the SOP Common, Patient, General Study, General Series and General Equipment
    attributes and the file meta (Explicit VR Little Endian); the caller adds the rest.
    """
    now = datetime.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in COPIED_ATTRIBUTES:
        if keyword in source:
            value = source.data_element(keyword).value  # type: ignore[union-attr]
            setattr(ds, keyword, str(value) if keyword == "PatientName" else value)
        elif keyword in _REQUIRED_EMPTY:
            setattr(ds, keyword, "")
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    ds.InstanceCreationDate = ds.SeriesDate = ds.ContentDate = date
    ds.InstanceCreationTime = ds.SeriesTime = ds.ContentTime = time
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = "Hilum chest X-ray workstation"
    ds.SoftwareVersions = software_version()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationVersionName = "HILUM"
    ds.file_meta = meta
    return ds


def image_reference(source: Dataset) -> Dataset:
    """A Referenced SOP item (class + instance) for ``source``."""
    item = Dataset()
    item.ReferencedSOPClassUID = source.SOPClassUID
    item.ReferencedSOPInstanceUID = source.SOPInstanceUID
    return item


def code(value: str, scheme: str, meaning: str) -> Dataset:
    """A Code Sequence item (PS3.3 8.8): value, coding scheme designator, meaning."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def read_source(path: Path) -> Dataset:
    """The source image's header, checked to be usable for results (no pixel data is read).

    Raises:
        ImageReadError: the file cannot be read.
        HilumError: it is not a DICOM image with a study, series and instance UID.
    """
    from engine.imaging.dicom_reading import read_header

    header = read_header(path)
    missing = [
        keyword
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
        if not str(header.get(keyword, "")).strip()
    ]
    if missing:
        raise HilumError(
            f"{path}: results go back into the image's DICOM study, but this file has no "
            f"{', '.join(missing)}. Open the image as DICOM from the PACS or the X-ray unit."
        )
    return header
