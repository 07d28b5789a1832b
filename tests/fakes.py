"""Stand-ins shared by engine and viewer tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FakePrediction:
    """The fields of :class:`engine.inference.prediction.Prediction` that the history and the
    triage list read, without a model."""

    probability: float
    threshold: float
    label: str
    model_id: str
    warnings: tuple[str, ...] = ()
    path: Path | None = None
    heatmap_kind: str = "Grad-CAM"
    outside: str | None = None
    in_domain: bool | None = None
    domain_score: float | None = None


@dataclass(frozen=True)
class FakeResult:
    """One file's outcome of ``predict_many`` (``engine.inference.prediction.FileResult``)."""

    path: Path
    prediction: FakePrediction | None = None
    error: str | None = None
