"""A site's labelled images for commissioning: class folders, optionally with a manifest.

``SITE_DATA/NORMAL/*`` and ``SITE_DATA/PNEUMONIA/*`` as for training, and optionally
``SITE_DATA/manifest.csv`` with a ``file`` column (relative to SITE_DATA) and any of
``patient_id`` (groups images: a patient's films stay on one side of every split) and ``age``
(years; for the card's age bands). Without a manifest, or for a file it does not list, the
patient is guessed from the file name as for training (:func:`patient_id`).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DatasetError
from engine.modeling.labelled_folders import CLASS_NAMES, LabelledSet, patient_id, read_labelled_set

MANIFEST = "manifest.csv"
#: Age bands (years, upper bound exclusive) the card counts images in.
AGE_BANDS = ((0, 6, "0-5"), (6, 18, "6-17"), (18, 65, "18-64"), (65, 200, "65+"))


@dataclass(frozen=True)
class SiteData:
    """A site's images with their labels, patients and ages (``None`` where unknown)."""

    images: LabelledSet
    patients: tuple[str, ...]
    ages: tuple[float | None, ...]
    manifest_sha256: str | None

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class and age band (``"unknown"`` when the age is not known)."""
        result: dict[str, dict[str, int]] = {name: {} for name in CLASS_NAMES}
        for label, age in zip(self.images.labels, self.ages, strict=True):
            band = age_band(age)
            bands = result[CLASS_NAMES[label]]
            bands[band] = bands.get(band, 0) + 1
        return result


def age_band(age: float | None) -> str:
    """The :data:`AGE_BANDS` name of an age in years, or ``"unknown"``."""
    if age is None:
        return "unknown"
    return next((name for low, high, name in AGE_BANDS if low <= age < high), "unknown")


def read_site_data(folder: str | os.PathLike[str]) -> SiteData:
    """Read a site's class folders and its optional manifest.

    Raises:
        DatasetError: no class folders, or a manifest that cannot be read.
    """
    root = Path(folder)
    images = read_labelled_set(root)
    rows: dict[str, dict[str, str]] = {}
    digest = None
    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            data = manifest.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            reader = csv.DictReader(data.decode("utf-8-sig").splitlines())
            rows = {Path(row["file"]).as_posix(): row for row in reader if row.get("file")}
        except (OSError, UnicodeDecodeError, KeyError, csv.Error) as error:
            raise DatasetError(
                f"{manifest}: cannot be read as a CSV with a 'file' column ({error}). Fix or "
                "remove the manifest (patients are then guessed from file names)."
            ) from None
    patients, ages = [], []
    for path in images.paths:
        row = rows.get(path.relative_to(root).as_posix(), {})
        patients.append(row.get("patient_id") or patient_id(path))
        ages.append(_age(row.get("age")))
    return SiteData(images, tuple(patients), tuple(ages), digest)


def require_enough_patients(site: SiteData, test_folds: int, fit_folds: int) -> None:
    """Refuse a site with too few patients of a class to split and cross-fit.

    Commissioning keeps about ``1 / test_folds`` of each class's patients as the test part and
    cross-fits the rest in ``fit_folds`` folds: each class needs a patient per test fold and
    ``fit_folds`` patients left for fitting.

    Raises:
        DatasetError: naming the folder, the class, its patients and what to do.
    """
    needed = max(test_folds, math.ceil(fit_folds * test_folds / (test_folds - 1)))
    for label, name in enumerate(CLASS_NAMES):
        rows = [p for p, y in zip(site.patients, site.images.labels, strict=True) if y == label]
        if len(set(rows)) < needed:
            raise DatasetError(
                f"{site.images.root}: {len(set(rows))} {name} patient(s) ({len(rows)} images); "
                f"commissioning needs at least {needed} of each class (a test part of about "
                f"1/{test_folds} of them, {fit_folds}-fold cross-fitting on the rest). Add more "
                "of the site's labelled images (with a manifest.csv naming each image's "
                "patient_id)."
            )


def _age(text: str | None) -> float | None:
    """A manifest's age in years, or ``None`` when missing or not a plausible number."""
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < 150 else None
