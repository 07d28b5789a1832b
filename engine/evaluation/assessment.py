"""Assess a bundle's networks: calibrate, choose the operating point, measure, shake.

One function, :func:`assess`, does what every new bundle needs before it is written, whether it
comes from ``hilum train`` or is assembled from trained members by ``hilum ensemble``:

1. score the validation images and, when given, the external images through the bundle's own
   forward path (:class:`~engine.inference.scorer.Scorer`: preprocessing, members, test-time
   views), so calibration and threshold are fitted on the probability the viewer will show;
2. fit the calibration and choose the operating point on the set the user chose
   (:mod:`engine.evaluation.selection`; cross-fitted external figures when that is the external
   set);
3. run the robustness battery (:mod:`engine.evaluation.robustness`) on a seeded sample of the
   external images when there are some (images from elsewhere are the ones whose framing
   differs), else of the validation images.

The result's :meth:`Assessment.card_fields` are the card's ``threshold``, ``operating_point``,
``calibration``, ``validation_metrics``, ``selection``, ``external`` and ``robustness``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import DatasetError
from engine.evaluation.bundle_evaluation import predict_probabilities
from engine.evaluation.robustness import RobustnessReport, measure_robustness, sample_images
from engine.evaluation.selection import Scores, Selection, select
from engine.inference.scorer import Scorer
from engine.modeling.labelled_folders import LabelledSet, patient_id
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

#: Images per class of the robustness sample written into every card.
ROBUSTNESS_PER_CLASS = 100


@dataclass(frozen=True)
class AssessmentConfig:
    """How to calibrate and choose the operating point (see :func:`engine.evaluation.selection.
    select`), and how many images per class the robustness battery reads."""

    fit_on: str = "validation"
    calibration: str = "platt"
    operating_point: str = "target_sensitivity"
    target_sensitivity: float = 0.97
    seed: int = 0
    robustness_per_class: int = ROBUSTNESS_PER_CLASS


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` found; see the module docstring."""

    selection: Selection
    robustness: RobustnessReport | None
    external_root: Path | None
    external_counts: dict[str, int] | None
    unreadable: int

    def card_fields(self) -> dict[str, Any]:
        """The :class:`~engine.modeling.card.ModelCard` fields this assessment decides."""
        selection = self.selection
        external: dict[str, Any] = {}
        if selection.external is not None:
            external = {
                "data": str(self.external_root),
                "counts": self.external_counts,
                "fitted_on_this_set": selection.fitted_on == "external",
                "metrics": selection.external.to_card(),
                "cross_fitted": None
                if selection.cross_fitted is None
                else selection.cross_fitted.to_card(),
            }
        return {
            "threshold": selection.operating_point.threshold,
            "operating_point": selection.operating_point,
            "calibration": selection.calibration,
            "validation_metrics": selection.validation,
            "selection": {"calibration_and_threshold_fitted_on": selection.fitted_on},
            "external": external,
            "robustness": {} if self.robustness is None else self.robustness.to_card(),
        }


def _scores(
    scorer: Scorer, data: LabelledSet, on_progress: OnProgress, should_stop: ShouldStop
) -> tuple[Scores, int]:
    raw = predict_probabilities(
        scorer, data.paths, on_progress=on_progress, should_stop=should_stop
    )
    readable = ~np.isnan(raw)
    if not readable.any():
        raise DatasetError(f"{data.root}: none of the {len(data)} images could be read.")
    labels = np.asarray(data.labels)[readable]
    groups = tuple(patient_id(path) for path, ok in zip(data.paths, readable, strict=True) if ok)
    return Scores(labels, raw[readable], groups), int((~readable).sum())


def assess(
    scorer: Scorer,
    validation: LabelledSet,
    external: LabelledSet | None,
    config: AssessmentConfig,
    *,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> Assessment | None:
    """Calibrate, choose the operating point, measure and run the robustness battery.

    Args:
        scorer: the bundle's forward path.
        validation: the in-distribution validation images.
        external: images from elsewhere (never trained on), or ``None``.
        config: see :class:`AssessmentConfig`.
        on_progress: stages ``"validation"``, ``"external"`` and ``"robustness"``.
        should_stop: polled between batches and changes; returns ``None`` when it says stop.

    Raises:
        DatasetError: a set has no readable image.
        ConfigError: a set lacks a class, or ``fit_on`` names a missing set.
        EvaluationCancelled: stopped while scoring.
    """

    def staged(stage: str) -> OnProgress:
        return lambda p: on_progress(Progress(stage, p.done, p.total, f"{stage}: {p.message}"))

    validation_scores, unreadable = _scores(scorer, validation, staged("validation"), should_stop)
    external_scores = None
    if external is not None:
        external_scores, more = _scores(scorer, external, staged("external"), should_stop)
        unreadable += more
    selection = select(
        validation_scores,
        external_scores,
        fit_on=config.fit_on,
        calibration=config.calibration,
        operating_point=config.operating_point,
        target_sensitivity=config.target_sensitivity,
        seed=config.seed,
    )
    shaken = external if external is not None else validation
    pixels, labels, _ = sample_images(shaken, config.robustness_per_class, config.seed)
    robustness = measure_robustness(
        lambda images: selection.calibration.apply(scorer.raw_of_pixels(images)),
        pixels,
        labels,
        selection.operating_point.threshold,
        seed=config.seed,
        data=str(shaken.root),
        on_progress=on_progress,
        should_stop=should_stop,
    )
    if robustness is None:
        return None
    return Assessment(
        selection,
        robustness,
        None if external is None else external.root,
        None if external is None else external.counts(),
        unreadable,
    )
