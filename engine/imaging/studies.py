"""Group image files into patients, studies and series for the study browser.

DICOM files are grouped by their identifiers (Patient ID, Study Instance UID, Series Instance
UID), read from the header only (no pixel decoding), so a folder of hundreds of files is indexed
quickly. Plain JPEG/PNG images have no such identifiers: each folder becomes one study with one
series. A file that cannot be indexed is listed in ``skipped`` with the reason; it never fails the
folder.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ImageReadError
from engine.imaging.files import read_head, sniff_kind, walk_images

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

UNKNOWN_PATIENT = "(no patient id)"


@dataclass
class StudyImage:
    """One image file of a series: a leaf of the patient/study/series tree, not the pixels
    (:class:`~engine.imaging.radiograph.Radiograph` is the image read)."""

    path: Path
    sop_instance_uid: str = ""
    instance_number: int | None = None
    frames: int = 1


@dataclass
class Series:
    """A series: images sharing a Series Instance UID (or one folder of plain images)."""

    uid: str
    description: str = ""
    modality: str = ""
    images: list[StudyImage] = field(default_factory=list)


@dataclass
class Study:
    """A study: series sharing a Study Instance UID (or one folder of plain images)."""

    uid: str
    description: str = ""
    date: str = ""
    series: list[Series] = field(default_factory=list)


@dataclass
class Patient:
    """A patient and their studies. ``id`` is :data:`UNKNOWN_PATIENT` for plain images."""

    id: str
    name: str = ""
    studies: list[Study] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the index, with the reason shown to the user."""

    path: Path
    reason: str


@dataclass
class StudyIndex:
    """What :func:`find_studies` found."""

    patients: list[Patient]
    skipped: list[SkippedFile]

    def images(self) -> list[Path]:
        """Every indexed image, in browser order."""
        return [
            image.path
            for patient in self.patients
            for study in patient.studies
            for series in study.series
            for image in series.images
        ]


def find_studies(paths: Iterable[str | os.PathLike[str]]) -> StudyIndex:
    """Index files and folders into patient / study / series / image.

    Args:
        paths: files and folders (walked recursively, hidden entries ignored).

    Returns:
        The index, patients and studies in order of first appearance, images ordered by Instance
        Number then name; and every file that was not indexed, with its reason.
    """
    walk = walk_images(paths)
    skipped = [SkippedFile(path, reason) for path, reason in walk.ignored]
    patients: dict[str, Patient] = {}
    studies: dict[tuple[str, str], Study] = {}
    series_by_key: dict[tuple[str, str, str], Series] = {}
    for path in walk.files:
        try:
            entry = _describe(path)
        except ImageReadError as error:
            skipped.append(SkippedFile(path, f"{error.problem} {error.remedy}"))
            continue
        patient = patients.setdefault(
            entry.patient_id, Patient(entry.patient_id, entry.patient_name)
        )
        study = studies.get((entry.patient_id, entry.study_uid))
        if study is None:
            study = Study(entry.study_uid, entry.study_description, entry.study_date)
            studies[(entry.patient_id, entry.study_uid)] = study
            patient.studies.append(study)
        key = (entry.patient_id, entry.study_uid, entry.series_uid)
        series = series_by_key.get(key)
        if series is None:
            series = Series(entry.series_uid, entry.series_description, entry.modality)
            series_by_key[key] = series
            study.series.append(series)
        series.images.append(entry.image)
    for series in series_by_key.values():
        series.images.sort(
            key=lambda image: (
                image.instance_number is None,
                image.instance_number or 0,
                image.path.name,
            )
        )
    return StudyIndex(list(patients.values()), skipped)


@dataclass
class _Entry:
    image: StudyImage
    patient_id: str
    patient_name: str
    study_uid: str
    study_description: str
    study_date: str
    series_uid: str
    series_description: str
    modality: str


def _describe(path: Path) -> _Entry:
    """Identify one file cheaply: DICOM header only, or the folder for plain images."""
    try:
        head = read_head(path)
    except OSError as error:
        raise ImageReadError(
            path,
            f"The file cannot be opened ({error.strerror or error}).",
            "Check that the disk or share is available.",
        ) from None
    if not head:
        raise ImageReadError(path, "The file is empty (0 bytes).", "Copy or export it again.")
    kind = sniff_kind(head)
    if kind in ("JPEG", "PNG"):
        folder = str(path.parent.resolve())
        return _Entry(
            StudyImage(path),
            UNKNOWN_PATIENT,
            "",
            folder,
            path.parent.name,
            "",
            folder,
            path.parent.name,
            "",
        )
    if kind is None and path.suffix.lower() not in (".dcm", ".dicom", ".dic", ""):
        raise ImageReadError(
            path,
            "The file is not a JPEG, PNG or DICOM image.",
            "Remove it from the folder or choose the image files.",
        )
    from engine.imaging.dicom_reading import read_header

    ds = read_header(path)
    if "PixelData" not in ds and "Rows" not in ds:
        raise ImageReadError(
            path,
            "This DICOM file holds no image (no pixel data).",
            "Open the image files of the study instead.",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # values pydicom repairs are labels here, not pixels
        return _dicom_entry(path, ds)


def _dicom_entry(path: Path, ds: Dataset) -> _Entry:
    """Identifiers and descriptions from a header; a malformed value is left out, never raised."""
    from engine.imaging import dicom_values

    def text(keyword: str) -> str:
        return dicom_values.text(ds, keyword)

    instance_number = _whole_number(ds, "InstanceNumber")
    frames = max(_whole_number(ds, "NumberOfFrames") or 1, 1)
    study_uid = text("StudyInstanceUID") or f"(no study uid) {path.parent}"
    return _Entry(
        StudyImage(path, text("SOPInstanceUID"), instance_number, frames),
        text("PatientID") or UNKNOWN_PATIENT,
        text("PatientName"),
        study_uid,
        text("StudyDescription"),
        text("StudyDate"),
        text("SeriesInstanceUID") or f"(no series uid) {study_uid}",
        text("SeriesDescription"),
        text("Modality"),
    )


def _whole_number(ds: Dataset, keyword: str) -> int | None:
    from engine.imaging import dicom_values

    try:
        found = dicom_values.values_of(ds, keyword)
        return dicom_values.as_integer(keyword, found[0]) if len(found) == 1 else None
    except dicom_values.MalformedValue:
        return None
