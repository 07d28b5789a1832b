"""What the history, the PDF report and batch triage read of a prediction, as a protocol.

``engine.inference.prediction.Prediction`` fits it; so do the tests' stand-ins and the viewer's
prediction relabelled at the user's threshold. A module of its own, importing neither TensorFlow
nor matplotlib, so that the history and batch triage (workflows) and the report can share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class PredictionFields(Protocol):
    """The fields of a prediction shown to a person: probability, label, threshold, model id,
    warnings, and whether the image is inside what the model was validated on (``outside`` is
    the sentence shown instead of the label when it is not; ``in_domain`` and ``domain_score``
    the domain check's verdict and score, ``None`` for a model without one)."""

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
    @property
    def outside(self) -> str | None: ...
    @property
    def in_domain(self) -> bool | None: ...
    @property
    def domain_score(self) -> float | None: ...


class FilePrediction(PredictionFields, Protocol):
    """A prediction of a file: :class:`PredictionFields` and the file read (``None`` for an image
    that came from no file)."""

    @property
    def path(self) -> Path | None: ...
