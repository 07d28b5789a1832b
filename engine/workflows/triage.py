"""Batch triage: predict every image of a folder or a study list, one row per file, and its CSV.

The Triage tab runs :func:`triage` on a worker thread and shows the rows, most suspicious
first; ``hilum predict --csv`` writes the same rows with :func:`csv_text`, so a CSV from either
reads the same. Each row carries the file's patient and study date read from its header
(:func:`study_context`, no pixel decoding), and each prediction is recorded in the history as
soon as it is made, so a crash loses none of them. Each row also carries the checks' verdict
(:func:`engine.inference.check_verdict.verdict_fields`); the CSV writes ``OUTSIDE`` instead of
the label of an image outside what the model was validated on.
"""

from __future__ import annotations

import csv
import io
import queue
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.imaging.files import walk_images
from engine.imaging.studies import UNKNOWN_PATIENT, find_studies
from engine.inference.check_verdict import OUTSIDE_LABEL, verdict_fields
from engine.inference.domain_verdict import verdict
from engine.inference.prediction_fields import FilePrediction
from engine.progress import OnProgress, Progress, ShouldStop
from engine.workflows.history import History, HistoryError
from engine.workflows.history_entry import HistoryEntry
from engine.workflows.source_drift import file_source

CSV_FIELDS = (
    "file",
    "path",
    "probability",
    "label",
    "threshold",
    "model_id",
    "patient_id",
    "study_date",
    "warnings",
    "error",
    "in_domain",
    "domain_score",
    "chest_radiograph",
    "verdict",
    "outside",
)


class FileResultLike(Protocol):
    """One file's outcome of ``predict_many`` (``engine.inference.prediction.FileResult`` fits)."""

    @property
    def path(self) -> Path: ...
    @property
    def prediction(self) -> FilePrediction | None: ...
    @property
    def error(self) -> str | None: ...


#: ``predict_many`` bound to a model: ``predict(paths, should_stop=...)`` yields file results.
BatchPredict = Callable[..., Iterable[FileResultLike]]


@dataclass(frozen=True)
class TriageRow:
    """One row of the triage list.

    Attributes:
        path: the image file.
        probability: probability of pneumonia, ``None`` when the file could not be read.
        label: the label at the model's operating point ("" on error).
        threshold: the operating point, ``None`` on error.
        model_id: the model's id ("" on error).
        patient: DICOM Patient ID ("" when not known).
        study_date: DICOM Study Date as stored (YYYYMMDD; "" when not known).
        warnings: the prediction's warnings.
        error: why there is no prediction ("" when there is one).
        source: where the image came from (:func:`engine.workflows.source_drift.image_source`).
        in_domain: the domain check's verdict (``None`` without a check or a prediction).
        domain_score: the domain check's score (``None`` without a check or a prediction).
        chest_radiograph: the chest-radiograph check passed (``None`` without a prediction).
        outside: the sentence shown instead of the label, ``None`` when both checks pass.
    """

    path: Path
    probability: float | None
    label: str
    threshold: float | None
    model_id: str
    patient: str
    study_date: str
    warnings: tuple[str, ...] = ()
    error: str = ""
    source: str = ""
    in_domain: bool | None = None
    domain_score: float | None = None
    chest_radiograph: bool | None = None
    outside: str | None = None

    @property
    def remark(self) -> str:
        """The error, or the warnings joined."""
        return self.error or " ".join(self.warnings)


@dataclass(frozen=True)
class TriageSummary:
    """How a batch ended.

    Attributes:
        total: images found.
        done: images with a row (prediction or error).
        cancelled: the user stopped the batch before the end.
        history_error: why results could not be recorded in the history ("" when all were).
    """

    total: int
    done: int
    cancelled: bool
    history_error: str = ""


def study_context(files: Sequence[Path]) -> dict[Path, tuple[str, str]]:
    """Patient ID and study date of each file, from the headers (no pixel decoding)."""
    context: dict[Path, tuple[str, str]] = {}
    for patient in find_studies(files).patients:
        patient_id = "" if patient.id == UNKNOWN_PATIENT else patient.id
        for study in patient.studies:
            for series in study.series:
                for image in series.images:
                    context[image.path] = (patient_id, study.date)
    return context


def triage_row(
    result: FileResultLike, context: dict[Path, tuple[str, str]], source: str = ""
) -> TriageRow:
    """The row of one file's result; ``context`` maps files to (patient ID, study date)."""
    patient, study_date = context.get(result.path, ("", ""))
    prediction = result.prediction
    if prediction is None:
        error = result.error or "unknown"
        return TriageRow(
            result.path, None, "", None, "", patient, study_date, error=error, source=source
        )
    return TriageRow(
        result.path,
        float(prediction.probability),
        prediction.label,
        float(prediction.threshold),
        prediction.model_id,
        patient,
        study_date,
        tuple(prediction.warnings),
        source=source,
        **verdict_fields(prediction),
    )


def triage(
    paths: Sequence[Path],
    predict: BatchPredict,
    sink: queue.SimpleQueue[TriageRow],
    history: History | None,
    *,
    on_progress: OnProgress,
    should_stop: ShouldStop,
    calling_aes: Mapping[Path, str] | None = None,
    on_done: Callable[[Path], None] | None = None,
) -> TriageSummary:
    """Predict every image under ``paths``, put each row in ``sink`` and record it; worker side.

    Args:
        paths: files and folders.
        predict: ``predict_many`` bound to a model.
        sink: receives one :class:`TriageRow` per file, in order, as soon as it is ready.
        history: where predictions are recorded (source ``"worklist"``), or ``None``.
        on_progress: called after each file (stage ``"worklist"``).
        should_stop: checked between files.
        calling_aes: the sender's AE title of each file received over the network: the
            image's source when its header names no institution or station.
        on_done: called with each file once its row is out and its prediction, if any, is
            recorded (not when recording failed); the arrivals queue completes it there.

    Returns:
        How the batch ended.
    """
    files = walk_images(paths).files
    on_progress(Progress("worklist", 0, len(files), "Reading the headers…"))
    context = study_context(files)
    done = 0
    history_error = ""
    senders = calling_aes or {}
    for result in predict(files, should_stop=should_stop):
        source = file_source(result.path, senders.get(result.path))
        error = _record(result, source, history)
        sink.put(triage_row(result, context, source))
        if not error and on_done is not None:
            try:
                on_done(result.path)
            except HistoryError as failure:
                error = str(failure)
        history_error = history_error or error
        done += 1
        on_progress(Progress("worklist", done, len(files), result.path.name))
    return TriageSummary(len(files), done, done < len(files) and should_stop(), history_error)


def _record(result: FileResultLike, source: str, history: History | None) -> str:
    """Record ``result``'s prediction (source ``"worklist"``); why it could not be, else ""."""
    if result.prediction is None or history is None:
        return ""
    try:
        history.add(
            HistoryEntry.from_prediction(
                result.prediction, "worklist", path=result.path, image_source=source
            )
        )
    except HistoryError as error:
        return str(error)
    return ""


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def csv_text(rows: Iterable[TriageRow]) -> str:
    """The rows as CSV (header :data:`CSV_FIELDS`), probabilities with 4 decimals.

    The label of an image outside what the model was validated on is ``OUTSIDE``; the check
    flags are ``true``/``false`` (empty when unknown). The ``verdict`` column says in one
    word whether the label means anything (:func:`engine.inference.domain_verdict.verdict`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        writer.writerow(
            [
                row.path.name,
                str(row.path),
                "" if row.probability is None else f"{row.probability:.4f}",
                OUTSIDE_LABEL if row.outside else row.label,
                "" if row.threshold is None else f"{row.threshold:.4f}",
                row.model_id,
                row.patient,
                row.study_date,
                " | ".join(row.warnings),
                row.error,
                _flag(row.in_domain),
                "" if row.domain_score is None else f"{row.domain_score:.4f}",
                _flag(row.chest_radiograph),
                "" if row.error else verdict(row.outside, row.in_domain),
                row.outside or "",
            ]
        )
    return buffer.getvalue()
