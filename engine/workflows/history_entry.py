"""One entry of the prediction history (:mod:`engine.workflows.history`): what was predicted
for which file, when, by which model, from where, and the checks' verdict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from engine.inference.prediction_fields import FilePrediction
from engine.modeling.bundles import sha256_of

#: Where an entry came from: the image viewer, the triage list (batch triage) or the command line.
SOURCES = ("viewer", "worklist", "cli")


def utc_now() -> str:
    """The current time as stored: UTC ISO 8601 with milliseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def content_hash(path: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """(sha256 of a file's bytes, None), or (None, why) when it cannot be read any more.

    Why not raise: the prediction was made and shown; failing to record it because the file was
    moved since would lose the entry, which is worse than an entry without a hash. The reason is
    kept with the entry and shown in the History tab, so the missing hash is explained.
    """
    try:
        return sha256_of(Path(path)), None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return None, f"{path} could not be read to hash it when recorded ({reason})"


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded prediction.

    Attributes:
        path: the file's absolute path as it was opened.
        sha256: sha256 of the file's bytes, ``None`` when it could not be read at record time.
        model_id: the model bundle's id.
        probability: probability of pneumonia.
        threshold: the operating point the label was decided at.
        label: ``"PNEUMONIA"`` or ``"NORMAL"``.
        time: when it was recorded, UTC ISO 8601 (see :func:`utc_now`).
        source: one of :data:`SOURCES`.
        warnings: the prediction's warnings.
        image_source: the site the image came from (see :mod:`engine.workflows.source_drift`).
        id: the row id, 0 until stored.
        in_domain, domain_score, outside: the checks' verdict (``Prediction``'s fields of
            these names); ``None`` too in an entry recorded before Hilum stored them.
        hash_error: why ``sha256`` is ``None`` (``None`` when the file was hashed).
    """

    path: str
    sha256: str | None
    model_id: str
    probability: float
    threshold: float
    label: str
    time: str = field(default_factory=utc_now)
    source: str = "viewer"
    warnings: tuple[str, ...] = ()
    image_source: str = ""
    id: int = 0
    in_domain: bool | None = None
    domain_score: float | None = None
    outside: str | None = None
    hash_error: str | None = None

    @classmethod
    def from_prediction(
        cls,
        prediction: FilePrediction,
        source: str,
        path: str | os.PathLike[str] | None = None,
        image_source: str = "",
    ) -> HistoryEntry:
        """An entry for ``prediction``, hashing its file now.

        Args:
            prediction: the prediction shown or batch-run.
            source: one of :data:`SOURCES`.
            path: the file, when the prediction does not carry one.
            image_source: the site the image came from ("" when not known).

        Raises:
            ValueError: no file path is known, or ``source`` is not one of :data:`SOURCES`.
        """
        file = path if path is not None else prediction.path
        if file is None:
            raise ValueError(
                "The prediction has no file path (it was made from an image in memory); "
                "pass path=... to record it."
            )
        sha256, hash_error = content_hash(file)
        return cls(
            path=os.path.abspath(file),
            sha256=sha256,
            model_id=prediction.model_id,
            probability=float(prediction.probability),
            threshold=float(prediction.threshold),
            label=prediction.label,
            source=checked_source(source),
            warnings=tuple(prediction.warnings),
            image_source=image_source,
            in_domain=prediction.in_domain,
            domain_score=prediction.domain_score,
            outside=prediction.outside,
            hash_error=hash_error,
        )


def checked_source(source: str) -> str:
    """``source`` when it is one of :data:`SOURCES`; ValueError otherwise."""
    if source not in SOURCES:
        raise ValueError(f"History source is {source!r}; expected one of {', '.join(SOURCES)}.")
    return source
