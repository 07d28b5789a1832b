"""The result as a Comprehensive SR document (PS3.3 A.35.3) in the source study.

The content tree (PS3.3 C.17.3), under a CONTAINER titled "Hilum AI result (not a diagnosis)":

* HAS OBS CONTEXT: Algorithm Name and Algorithm Version (DCM 111001, 111003) = the model's
  name and id; the model file's SHA-256; Hilum's software version;
* CONTAINS: Comment (DCM 121106) = the not-a-diagnosis statement; the probability and the
  threshold in force on screen (NUM, UCUM "1") and who set it (TEXT: the model, or the user);
  the label at that threshold (TEXT); the heatmap's strength as drawn (NUM, 0 to 1, see
  :mod:`engine.inference.heatmap_strength`); the checks' verdicts (the
  chest-radiograph check and the domain check, TEXT, and the domain score, NUM); the source
  image (DCM 121112, Source of Measurement) and the heatmap overlay (IMAGE references); the
  heatmap note and every warning.

For an image outside what the model was validated on there is no label and no probability of
pneumonia: a TEXT item "Outside what the model was validated on" holds the reason instead, the
model's output is recorded under its own concept, "Unvalidated probability of pneumonia", so
that nothing reading the probability concept picks it up, and the image referenced is the
captioned image without a heatmap (:mod:`engine.pacs.secondary_capture`).

Concepts without a standard code use the private coding scheme ``99HILUM`` (declared in the
Coding Scheme Identification Sequence). The label is text, not a coded finding: it is a model's
output for a clinician to weigh, not a diagnosis. Completion is COMPLETE, verification
UNVERIFIED (no clinician has signed it).
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import ComprehensiveSRStorage

from engine.inference.caveats import DISCLAIMER, HEATMAP_NOTE
from engine.inference.check_verdict import chest_line, domain_line, reason
from engine.inference.shown_result import ShownResult
from engine.pacs.derived_instances import (
    ModelIdentity,
    code,
    image_reference,
    new_instance,
    software_version,
)

SERIES_NUMBER = 9902
SERIES_DESCRIPTION = "Hilum AI result (not a diagnosis)"
PRIVATE_SCHEME = "99HILUM"

TITLE = code("RESULT", PRIVATE_SCHEME, "Hilum AI result (not a diagnosis)")
PROBABILITY = code("PROBABILITY", PRIVATE_SCHEME, "Probability of pneumonia (model output)")
THRESHOLD = code("THRESHOLD", PRIVATE_SCHEME, "Decision threshold (operating point)")
LABEL = code("LABEL", PRIVATE_SCHEME, "Model label at the threshold")
THRESHOLD_SET_BY = code("THRESHOLD-SET-BY", PRIVATE_SCHEME, "Threshold set by")
HEATMAP_STRENGTH = code("HEATMAP-STRENGTH", PRIVATE_SCHEME, "Heatmap strength as drawn")
HEATMAP = code("HEATMAP", PRIVATE_SCHEME, "Heatmap overlay")
RESULT_IMAGE = code("RESULT-IMAGE", PRIVATE_SCHEME, "Result image (no heatmap)")
OUTSIDE = code("OUTSIDE", PRIVATE_SCHEME, "Outside what the model was validated on")
UNVALIDATED = code("UNVALIDATED-PROB", PRIVATE_SCHEME, "Unvalidated probability of pneumonia")
CHEST_CHECK = code("CHEST-CHECK", PRIVATE_SCHEME, "Chest-radiograph check")
DOMAIN_CHECK = code("DOMAIN-CHECK", PRIVATE_SCHEME, "Domain check")
DOMAIN_SCORE = code("DOMAIN-SCORE", PRIVATE_SCHEME, "Domain score (above 1 is outside)")
SHA256 = code("MODEL-SHA256", PRIVATE_SCHEME, "Model file SHA-256")
SOFTWARE = code("SOFTWARE", PRIVATE_SCHEME, "Hilum software version")
WARNING = code("WARNING", PRIVATE_SCHEME, "Warning")
ALGORITHM_NAME = code("111001", "DCM", "Algorithm Name")
ALGORITHM_VERSION = code("111003", "DCM", "Algorithm Version")
COMMENT = code("121106", "DCM", "Comment")
SOURCE = code("121112", "DCM", "Source of Measurement")
NO_UNITS = code("1", "UCUM", "no units")


def _item(relationship: str, value_type: str, concept: Dataset) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = [concept]
    return item


def _text(relationship: str, concept: Dataset, text: str) -> Dataset:
    item = _item(relationship, "TEXT", concept)
    item.TextValue = text
    return item


def _number(concept: Dataset, value: float) -> Dataset:
    item = _item("CONTAINS", "NUM", concept)
    measured = Dataset()
    measured.NumericValue = f"{value:.6f}"
    measured.MeasurementUnitsCodeSequence = [NO_UNITS]
    item.MeasuredValueSequence = [measured]
    return item


def _image(concept: Dataset, instance: Dataset) -> Dataset:
    item = _item("CONTAINS", "IMAGE", concept)
    item.ReferencedSOPSequence = [image_reference(instance)]
    return item


def _result(prediction: ShownResult) -> list[Dataset]:
    """The finding and the checks' verdicts: label, probability and heatmap strength for an
    image inside, the reason and the unvalidated output for one outside; the threshold in force
    and who set it for both."""
    set_by = "the user" if prediction.set_by_user else "the model (its operating point)"
    threshold = [
        _number(THRESHOLD, prediction.threshold),
        _text("CONTAINS", THRESHOLD_SET_BY, set_by),
    ]
    if prediction.outside is None:
        items = [
            _number(PROBABILITY, prediction.probability),
            *threshold,
            _text("CONTAINS", LABEL, prediction.label),
            _number(HEATMAP_STRENGTH, prediction.heatmap_strength),
        ]
    else:
        items = [
            _text("CONTAINS", OUTSIDE, prediction.outside),
            _number(UNVALIDATED, prediction.probability),
            *threshold,
        ]
    items += [
        _text("CONTAINS", CHEST_CHECK, reason(chest_line(prediction))),
        _text("CONTAINS", DOMAIN_CHECK, reason(domain_line(prediction))),
    ]
    if prediction.domain_score is not None:
        items.append(_number(DOMAIN_SCORE, prediction.domain_score))
    return items


def _evidence(instances: list[Dataset]) -> Dataset:
    """A Hierarchical SOP Instance Reference item of ``instances`` (one study), by series."""
    study = Dataset()
    study.StudyInstanceUID = instances[0].StudyInstanceUID
    series_items: dict[str, Dataset] = {}
    for instance in instances:
        series = series_items.setdefault(str(instance.SeriesInstanceUID), Dataset())
        series.SeriesInstanceUID = instance.SeriesInstanceUID
        series.ReferencedSOPSequence = [
            *series.get("ReferencedSOPSequence", []),
            image_reference(instance),
        ]
    study.ReferencedSeriesSequence = list(series_items.values())
    return study


def build_structured_report(
    source: Dataset,
    secondary_capture: Dataset,
    prediction: ShownResult,
    model: ModelIdentity,
) -> Dataset:
    """The SR document of ``prediction`` of ``source`` as on screen, referencing the heatmap
    image.

    Args:
        source: the source image's header.
        secondary_capture: the heatmap overlay built for it.
        prediction: the result as on screen (probability, threshold in force and who set it,
            label and heatmap strength at it, the checks' verdicts, warnings).
        model: the model's identity.

    Returns:
        The data set, with file meta, ready to send or save.
    """
    ds = new_instance(source, ComprehensiveSRStorage, "SR", SERIES_NUMBER)
    ds.SeriesDescription = SERIES_DESCRIPTION
    ds.ReferencedPerformedProcedureStepSequence = []
    ds.PerformedProcedureCodeSequence = []
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.CurrentRequestedProcedureEvidenceSequence = [_evidence([source, secondary_capture])]
    scheme = Dataset()
    scheme.CodingSchemeDesignator = PRIVATE_SCHEME
    scheme.CodingSchemeName = "Hilum private concepts"
    ds.CodingSchemeIdentificationSequence = [scheme]
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = [TITLE]
    ds.ContinuityOfContent = "SEPARATE"
    content = [
        _text("HAS OBS CONTEXT", ALGORITHM_NAME, model.name),
        _text("HAS OBS CONTEXT", ALGORITHM_VERSION, model.model_id),
        _text("HAS OBS CONTEXT", SHA256, model.sha256 or "unknown"),
        _text("HAS OBS CONTEXT", SOFTWARE, software_version()),
        _text("CONTAINS", COMMENT, DISCLAIMER),
        *_result(prediction),
        _image(SOURCE, source),
    ]
    if prediction.outside is None:
        content += [_image(HEATMAP, secondary_capture), _text("CONTAINS", COMMENT, HEATMAP_NOTE)]
    else:
        content.append(_image(RESULT_IMAGE, secondary_capture))
    content += [_text("CONTAINS", WARNING, warning) for warning in prediction.warnings]
    ds.ContentSequence = content
    return ds
