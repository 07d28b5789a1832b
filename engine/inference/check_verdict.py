"""The checks' verdict as every output that leaves the screen states it: CLI, CSV, PDF, DICOM.

A prediction carries two checks (:mod:`engine.inference.domain_verdict`): the chest-radiograph
check and, for a model that has one, the domain check. Each output writes the same fields and
the same words from here, so that a JSON row, a CSV line, a PDF and a DICOM SR never disagree on
whether an image is inside what the model was validated on. An image outside gets no
NORMAL/PNEUMONIA finding anywhere: :data:`OUTSIDE_LABEL` stands where the label would be, and the
probability, when shown, is called the model's unvalidated output.
"""

from __future__ import annotations

from typing import Any

from engine.inference.domain_verdict import NOT_CHEST, headline
from engine.inference.prediction_fields import PredictionFields
from engine.modeling.domain_reference import LIMIT

#: What stands in place of NORMAL/PNEUMONIA for an image outside what the model was validated on.
OUTSIDE_LABEL = "OUTSIDE"


def passed_chest_check(prediction: PredictionFields) -> bool:
    """True unless the chest-radiograph check put the image outside.

    Read from the headline (:func:`~engine.inference.domain_verdict.headline` is "Not a chest
    radiograph" exactly when ``Prediction.out_of_distribution`` is set), so that every reader of
    :class:`PredictionFields` — the relabelled prediction of the viewer included — can say it.
    """
    return prediction.outside is None or headline(prediction.outside) != NOT_CHEST


def finding(prediction: PredictionFields) -> str:
    """The label to report: NORMAL/PNEUMONIA, or :data:`OUTSIDE_LABEL` for an image outside."""
    return prediction.label if prediction.outside is None else OUTSIDE_LABEL


def reason(line: str) -> str:
    """What follows a line's headline: ``"Not a chest radiograph: it is lateral."`` gives
    ``"it is lateral."``; a line without ``": "`` has none (``""``)."""
    return line.partition(": ")[2]


def domain_line(prediction: PredictionFields) -> str:
    """The domain check's verdict in one line, e.g. "Domain check: inside what the model was
    validated on (score 0.93)"."""
    score = prediction.domain_score
    if prediction.in_domain is None or score is None:
        return "Domain check: none (this model has no domain check)"
    if prediction.in_domain:
        return f"Domain check: inside what the model was validated on (score {score:.2f})"
    return (
        f"Domain check: outside what the model was validated on (score {score:.2f}; "
        f"above {LIMIT:g} is outside)"
    )


def chest_line(prediction: PredictionFields) -> str:
    """The chest-radiograph check's verdict in one line."""
    if passed_chest_check(prediction):
        return "Chest-radiograph check: passed (plausibly a frontal chest radiograph)"
    return "Chest-radiograph check: failed (not plausibly a frontal chest radiograph)"


def result_line(prediction: PredictionFields) -> str:
    """One line for a terminal: the label, probability, threshold and domain check, or, for an
    image outside, ``OUTSIDE``, the reason and the probability called unvalidated."""
    if prediction.outside is not None:
        return (
            f"{OUTSIDE_LABEL} - {prediction.outside} (model output {prediction.probability:.3f}, "
            "not validated for this image: not a finding)"
        )
    return (
        f"{prediction.label} (probability {prediction.probability:.3f}, threshold "
        f"{prediction.threshold:.3f}; {domain_line(prediction)})"
    )


def verdict_fields(prediction: PredictionFields | None) -> dict[str, Any]:
    """The verdict as machine-readable fields (JSON rows, CSV columns); ``None`` for each when
    there is no prediction (a file that could not be read).

    Returns:
        ``in_domain`` (bool, ``None`` for a model without a domain check), ``domain_score``
        (float or ``None``), ``chest_radiograph`` (bool) and ``outside`` (the sentence shown
        instead of the label, ``None`` when both checks pass).
    """
    if prediction is None:
        return dict.fromkeys(("in_domain", "domain_score", "chest_radiograph", "outside"))
    score = prediction.domain_score
    return {
        "in_domain": prediction.in_domain,
        "domain_score": None if score is None else round(float(score), 4),
        "chest_radiograph": passed_chest_check(prediction),
        "outside": prediction.outside,
    }
