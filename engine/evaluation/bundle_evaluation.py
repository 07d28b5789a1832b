"""Evaluate a model bundle on a labelled folder: predictions, metrics and the card's facts.

The figures follow :mod:`engine.evaluation.metrics`; the threshold is the card's operating point
(chosen on validation during training, see :mod:`engine.evaluation.operating_point`), applied to
probabilities calibrated with the card's calibration (see :mod:`engine.evaluation.calibration`).
Training fits its calibration and threshold on :func:`predict_probabilities` too, so they are
fitted on the probabilities the viewer and ``hilum evaluate`` will see.

Which images: a folder with ``NORMAL/`` and ``PNEUMONIA/`` is used whole; a ``chest_xray`` root
gives its ``test/`` split when present, else ``val/``, else ``train/`` (the report names the
split; figures on ``train/`` flatter a model trained on it). Unreadable images are dropped from
the metrics and counted, never fatal.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.errors import ConfigError, DatasetError, ImageReadError
from engine.evaluation.metrics import compute_metrics
from engine.imaging.images import load_image
from engine.inference.predictor import Predictor
from engine.inference.scorer import Scorer
from engine.modeling.card import ModelCard
from engine.modeling.labelled_folders import LabelledSet, find_data_folders, stratified_limit
from engine.modeling.metrics import FloatArray, Metrics
from engine.progress import (
    Cancelled,
    OnProgress,
    Progress,
    ShouldStop,
    ignore_progress,
    never_stop,
)

_log = logging.getLogger(__name__)
_DECODE_WORKERS = 2


class EvaluationCancelled(Cancelled):
    """``should_stop()`` returned True: the evaluation stopped between two batches."""


def _decode(path: Path, scorer: Scorer) -> list[npt.NDArray[np.float32]] | None:
    try:
        return scorer.inputs(load_image(path).pixels)
    except ImageReadError as error:
        _log.warning("%s", error)
        return None


def predict_probabilities(
    scorer: Scorer,
    paths: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 64,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> FloatArray:
    """The bundle's raw (uncalibrated) PNEUMONIA probability for each file, in order.

    The viewer's forward path (:class:`~engine.inference.scorer.Scorer`: the card's
    preprocessing, every member, every test-time view), so a calibration or threshold fitted on
    these probabilities is the one the viewer applies. Files are decoded and preprocessed by two
    threads (Pillow and numpy release the GIL), the next batch while the model runs on the
    current one.

    Args:
        scorer: the bundle's scorer (``Predictor.scorer``).
        paths: image files.
        batch_size: images per model call.
        on_progress: receives ``Progress(stage="predict", done=images, total=len(paths))``.
        should_stop: polled between batches.

    Returns:
        float64 array of ``len(paths)`` probabilities; **NaN for a file that could not be read**
        (logged as a warning). Callers drop and count those.

    Raises:
        EvaluationCancelled: ``should_stop()`` returned True.
        ConfigError: ``batch_size`` < 1.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
    report = on_progress or ignore_progress
    stop = should_stop or never_stop
    files = [Path(path) for path in paths]
    probabilities = np.full(len(files), np.nan)
    with ThreadPoolExecutor(_DECODE_WORKERS, thread_name_prefix="hilum-decode") as pool:

        def submit(start: int) -> list[Future[list[npt.NDArray[np.float32]] | None]]:
            return [pool.submit(_decode, p, scorer) for p in files[start : start + batch_size]]

        pending = submit(0)
        for start in range(0, len(files), batch_size):
            if stop():
                for future in pending:
                    future.cancel()
                raise EvaluationCancelled("Evaluation cancelled.")
            current, pending = pending, submit(start + batch_size)
            inputs = [future.result() for future in current]
            readable = [i for i, x in enumerate(inputs) if x is not None]
            if readable:
                batch = scorer.raw([x for x in inputs if x is not None])
                probabilities[[start + i for i in readable]] = batch
            done = min(start + batch_size, len(files))
            report(Progress("predict", done, len(files), f"{done}/{len(files)} images"))
    return probabilities


def select_evaluation_set(data_dir: str | os.PathLike[str]) -> tuple[LabelledSet, str]:
    """The labelled images to evaluate on, and which split they are.

    Returns:
        ``(images, split)`` where split is ``"folder"`` (class folders given directly),
        ``"test"``, ``"val"`` or ``"train"`` (the first present in a chest_xray root).

    Raises:
        DatasetError: the folder has neither layout.
    """
    folders = find_data_folders(data_dir)
    if folders.train.root == Path(data_dir):
        return folders.train, "folder"
    if folders.test is not None:
        return folders.test, "test"
    if folders.validation is not None:
        return folders.validation, "val"
    return folders.train, "train"


@dataclass(frozen=True)
class EvaluationReport:
    """One model's evaluation on one labelled set.

    Attributes:
        name: the bundle folder's name (what the user typed, unique in a comparison).
        bundle: the bundle folder.
        card: the bundle's card.
        data: the folder the images came from; ``split`` says which (see
            :func:`select_evaluation_set`).
        metrics: at the card's threshold, on calibrated probabilities of readable images.
        unreadable: files that could not be read (not in the metrics).
        labels: labels of the readable images.
        probabilities: their calibrated probabilities.
        seconds: wall time of the evaluation.
    """

    name: str
    bundle: Path
    card: ModelCard
    data: Path
    split: str
    metrics: Metrics
    unreadable: tuple[Path, ...]
    labels: np.ndarray
    probabilities: np.ndarray
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the metrics at the top level, then model, data, training and validation."""
        card = self.card
        return {
            **self.metrics.to_dict(),
            "model": {
                "name": self.name,
                "path": str(self.bundle),
                "model_id": card.model_id,
                "variant": card.variant,
                "calibration": card.calibration.to_card(),
                "operating_point": card.operating_point.to_card() if card.operating_point else None,
            },
            "data": {
                "folder": str(self.data),
                "split": self.split,
                "unreadable": [str(path) for path in self.unreadable],
            },
            "training": card.training_facts,
            "validation_metrics": (
                card.validation_metrics.to_dict() if card.validation_metrics else None
            ),
            "seconds": self.seconds,
        }


def evaluate_bundle(
    bundle_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    *,
    limit: int | None = None,
    seed: int = 0,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> EvaluationReport:
    """Load a bundle and measure it on a labelled folder at its card's threshold.

    Args:
        bundle_dir: the model bundle folder.
        data_dir: class folders, or a chest_xray root (see :func:`select_evaluation_set`).
        limit: use at most this many images, stratified by label and seeded.
        seed: seed of the ``limit`` choice.
        on_progress: receives the prediction progress.
        should_stop: polled between batches.

    Returns:
        The :class:`EvaluationReport`.

    Raises:
        ModelFileError: the bundle is missing, invalid or tampered with.
        DatasetError: the data folder is unusable, or no image could be read.
        EvaluationCancelled: ``should_stop()`` returned True.
    """
    started = time.perf_counter()
    predictor = Predictor.load(bundle_dir)
    bundle = predictor.bundle
    images, split = select_evaluation_set(data_dir)
    images = stratified_limit(images, limit, seed)
    raw = predict_probabilities(
        predictor.scorer,
        images.paths,
        on_progress=on_progress,
        should_stop=should_stop,
    )
    readable = ~np.isnan(raw)
    if not readable.any():
        raise DatasetError(f"{images.root}: none of the {len(images)} images could be read.")
    labels = np.asarray(images.labels)[readable]
    probabilities = bundle.card.calibration.apply(raw[readable])
    return EvaluationReport(
        name=bundle.path.name,
        bundle=bundle.path,
        card=bundle.card,
        data=images.root,
        split=split,
        metrics=compute_metrics(labels, probabilities, bundle.card.threshold),
        unreadable=tuple(path for path, ok in zip(images.paths, readable, strict=True) if not ok),
        labels=labels,
        probabilities=probabilities,
        seconds=time.perf_counter() - started,
    )
