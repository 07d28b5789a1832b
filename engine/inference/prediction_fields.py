"""What the history, the PDF report and batch triage read of a prediction, as a protocol.

``engine.inference.predictor.Prediction`` fits it; so do the tests' stand-ins and the viewer's
prediction relabelled at the user's threshold. A module of its own, importing neither TensorFlow
nor matplotlib, so that the history and batch triage (workflows) and the report can share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class PredictionFields(Protocol):
    """The fields of a prediction shown to a person: probability, label, threshold, model id and
    warnings."""

    @property
    def probability(self) -> float: ...
    @property
    def label(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def model_id(self) -> str: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...


class FilePrediction(PredictionFields, Protocol):
    """A prediction of a file: :class:`PredictionFields` and the file read (``None`` for an image
    that came from no file)."""

    @property
    def path(self) -> Path | None: ...
