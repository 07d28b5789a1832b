"""Drift per source: which sites send images the model was not validated on, from the history.

A model validated at one hospital fails quietly at another (Zech et al., PLoS Med 2018); the
domain check flags single images, and this module watches each *source* of images over time.
Every prediction recorded in the history carries its source (:func:`image_source`): the DICOM
Institution Name (0008,0080), else the Station Name (0008,1010), else the calling AE title of
the association it arrived on, else the folder the file is in. Per source, the statistics are
computed by SQL over the history (:func:`source_statistics`, a few milliseconds per source
through an index, whatever the history's size): over the source's newest ``window`` distinct
images, the share the domain check called out of domain and the mean probability.

What counts as out of domain: ``in_domain is False`` only. An image the chest-radiograph check
rejects (``out_of_distribution``: a hand, a document) says the wrong study was sent, not that
the site differs from the training data, so it does not count; images predicted by a model
without a domain check (``in_domain is None``) are left out of the share's denominator too.

Distinct images: an image shown again (or re-run in a batch) counts once, with its newest
verdict, so reopening one NIH image eleven times does not make a site drift. Images are told
apart by their content hash, or by their path when the file could not be hashed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.workflows.history import History

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

#: The rolling window: a source's newest this many distinct images.
WINDOW = 50
#: A source drifts when more than this share of its window is out of domain.
THRESHOLD = 0.2
#: Fewest images with a domain verdict before a source can drift. Why 10: it is the smallest
#: count where passing 20 % takes three flagged images. At the shipped model's false-alarm rate
#: on its own hospital (2.2 %), three chance flags among 10 images happen about once in 900;
#: with 9 images two suffice (about 1 in 60), with 3 images a single one (about 1 in 15).
MINIMUM = 10

#: How many of a source's newest rows are searched for its window's distinct images (an image
#: reopened hundreds of times in a row leaves the window short rather than scanning the table).
SEARCHED_ROWS_PER_IMAGE = 10

# Each source: predictions recorded, newest row id. Reads the (image_source, id) index only.
_SOURCES_SQL = """
SELECT image_source, COUNT(*), MAX(id) FROM predictions
WHERE image_source != '' GROUP BY image_source ORDER BY image_source
"""
# One source's window: its newest rows, the newest row of each distinct image among them, the
# newest `window` of those.
_WINDOW_SQL = """
WITH recent AS (
    SELECT id, probability, in_domain, time,
           CASE WHEN sha256 = '' THEN path ELSE sha256 END AS image
    FROM predictions WHERE image_source = ? ORDER BY id DESC LIMIT ?
), newest AS (
    SELECT * FROM recent WHERE id IN (SELECT MAX(id) FROM recent GROUP BY image)
    ORDER BY id DESC LIMIT ?
)
SELECT COUNT(*), COUNT(in_domain), COALESCE(SUM(in_domain = 0), 0), AVG(probability), MAX(time)
FROM newest
"""


@dataclass(frozen=True)
class SourceStatistics:
    """One source's rolling statistics.

    Attributes:
        source: the source (see :func:`image_source`).
        predictions: predictions recorded from it, ever (an image shown twice counts twice).
        window: distinct images in the rolling window (at most :data:`WINDOW`).
        checked: images of the window that had a domain verdict.
        outside: images of the window the domain check called out of domain.
        mean_probability: mean probability of pneumonia over the window.
        last_seen: when its newest image was recorded (UTC ISO 8601, as the history stores it).
        last_id: the history row id of its newest image (grows with every new image).
    """

    source: str
    predictions: int
    window: int
    checked: int
    outside: int
    mean_probability: float
    last_seen: str
    last_id: int

    @property
    def share(self) -> float | None:
        """Share of the checked images of the window that were out of domain (``None``: none)."""
        return self.outside / self.checked if self.checked else None

    def drifting(self, threshold: float = THRESHOLD, minimum: int = MINIMUM) -> bool:
        """True when at least ``minimum`` images were checked and more than ``threshold`` of
        them were out of domain (10 of 50 is exactly 20 %: not drifting; 11 of 50 is)."""
        return self.checked >= max(minimum, 1) and self.outside / self.checked > threshold

    def advice(self) -> str:
        """What the banner says about this source: which, how much, and what to do."""
        return (
            f"Images from {self.source}: {self.outside} of the last {self.checked} "
            f"({self.outside / max(self.checked, 1):.0%}) were outside what the model was "
            "validated on. Its results may not hold for this site: ask whoever runs Hilum here "
            "to commission the model for this site (hilum commission) before relying on them."
        )


def image_source(
    header: Dataset | None, path: str | os.PathLike[str], calling_ae: str | None = None
) -> str:
    """Where an image came from, for drift statistics.

    The first that is known of: Institution Name (0008,0080), Station Name (0008,1010) (PS3.3
    C.7.5.1, General Equipment Module), the calling AE title of the association it arrived on,
    the folder the file is in (absolute).

    Args:
        header: the image's DICOM header, or ``None`` for a JPEG/PNG.
        path: the image file.
        calling_ae: the sender's AE title for an image received over the network.

    Returns:
        The source's name.
    """
    if header is not None:
        from engine.imaging.dicom_values import text

        for keyword in ("InstitutionName", "StationName"):
            if value := text(header, keyword):
                return value
    if calling_ae and calling_ae.strip():
        return calling_ae.strip()
    return str(Path(os.path.abspath(path)).parent)


def file_source(path: str | os.PathLike[str], calling_ae: str | None = None) -> str:
    """:func:`image_source` of a file, reading its DICOM header (no pixels) when it has one.

    Never raises: a file that cannot be read any more, or whose header is damaged, gets the
    calling AE title or its folder (the prediction was made; its source must not lose it).
    """
    from engine.errors import ImageReadError
    from engine.imaging.files import read_head, sniff_kind

    header = None
    try:
        if sniff_kind(read_head(Path(path))) in ("DICOM", "DICOM-RAW"):
            from engine.imaging.dicom_reading import read_header

            header = read_header(Path(path))
    except (OSError, ImageReadError):
        header = None
    return image_source(header, path, calling_ae)


def recorded_source(history: History, sha256: str | None, path: str | os.PathLike[str]) -> str:
    """The source this image was recorded with before, else :func:`file_source` of ``path``.

    Why: an image received over the network is predicted first in the triage list, with its
    sender's AE title; opened later in the reading room, only its file is known, whose folder
    (``<receive folder>/<StudyInstanceUID>``) would make every study a source of its own.

    Raises:
        HistoryError: the history cannot be read.
    """
    if sha256:
        found = history.select(
            "SELECT image_source FROM predictions WHERE sha256 = ? AND image_source != '' "
            "ORDER BY id DESC LIMIT 1",
            (sha256,),
        )
        if found:
            return str(found[0][0])
    return file_source(path)


def source_statistics(history: History, window: int = WINDOW) -> list[SourceStatistics]:
    """Every source's statistics over its newest ``window`` distinct images, sorted by name.

    Raises:
        HistoryError: the history cannot be read.
        ValueError: ``window`` is less than 1.
    """
    if window < 1:
        raise ValueError(f"The rolling window is {window} images; it must be at least 1.")
    found = []
    for source, predictions, last_id in history.select(_SOURCES_SQL):
        searched = (source, window * SEARCHED_ROWS_PER_IMAGE, window)
        ((count, checked, outside, mean, last_seen),) = history.select(_WINDOW_SQL, searched)
        found.append(
            SourceStatistics(
                str(source),
                int(predictions),
                int(count),
                int(checked),
                int(outside),
                float(mean),
                str(last_seen),
                int(last_id),
            )
        )
    return found


def drifting_sources(
    history: History,
    threshold: float = THRESHOLD,
    window: int = WINDOW,
    minimum: int = MINIMUM,
) -> list[SourceStatistics]:
    """The sources whose out-of-domain share over their last ``window`` images passes
    ``threshold``, counting only sources with at least ``minimum`` checked images.

    Raises:
        HistoryError: the history cannot be read.
    """
    return [
        stats for stats in source_statistics(history, window) if stats.drifting(threshold, minimum)
    ]
