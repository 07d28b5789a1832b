"""The checks' verdict in the result objects: an image outside what the model was validated on
gets no NORMAL/PNEUMONIA finding in the SR and no heatmap colours in the Secondary Capture; read
back with pydicom, DCMTK's dsrdump and through a real Orthanc."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from engine import load_image
from engine.imaging.radiograph import Radiograph
from engine.inference.domain_verdict import outside_sentence
from engine.inference.ood import OodCheck
from engine.inference.predictor import Predictor
from engine.pacs.derived_instances import ModelIdentity
from engine.pacs.nodes import PacsNode
from engine.pacs.result_objects import ResultObjects, build_results, export_results
from engine.pacs.secondary_capture import caption_lines
from engine.pacs.sending import send_instances
from tests.engine.pacs.test_results import MODEL, a_prediction
from tests.pacs_support import ORTHANC_AET, Orthanc, dcmtk

REPO = Path(__file__).resolve().parents[3]
SHIPPED_MODEL = REPO / "resources" / "models" / "default"
ELSEWHERE = outside_sentence(OodCheck(False, (), 0.4), 1.42, "the Guangzhou training set")
NOT_CHEST = outside_sentence(
    OodCheck(True, ("the DICOM view position is LL (lateral)",), 0.9), 0.7, ""
)
FINDINGS = ("NORMAL", "PNEUMONIA")


@pytest.fixture(scope="module")
def chest(chest_cr: Path) -> Radiograph:
    return load_image(chest_cr)


def outside_results(chest: Radiograph, sentence: str = ELSEWHERE) -> ResultObjects:
    return build_results(
        chest, a_prediction(chest, outside=sentence, in_domain=False, domain_score=1.42), MODEL
    )


def content(report: Dataset) -> dict[str, Dataset]:
    """The SR's content items by concept name (the last of each name)."""
    return {item.ConceptNameCodeSequence[0].CodeMeaning: item for item in report.ContentSequence}


def number(item: Dataset) -> float:
    return float(item.MeasuredValueSequence[0].NumericValue)


def test_an_inside_report_carries_both_checks_verdicts(chest: Radiograph) -> None:
    results = build_results(chest, a_prediction(chest, in_domain=True, domain_score=0.62), MODEL)
    items = content(results.report)
    assert items["Model label at the threshold"].TextValue == "PNEUMONIA"
    assert (
        items["Chest-radiograph check"].TextValue == "passed (plausibly a frontal chest radiograph)"
    )
    assert items["Domain check"].TextValue == "inside what the model was validated on (score 0.62)"
    assert number(items["Domain score (above 1 is outside)"]) == pytest.approx(0.62)
    assert "Outside what the model was validated on" not in items
    lines = caption_lines(a_prediction(chest, in_domain=True, domain_score=0.62), MODEL)
    assert "PNEUMONIA at threshold 0.42" in lines[1]
    assert lines[2] == "Domain check: inside what the model was validated on (score 0.62)"


@pytest.mark.parametrize(
    ("sentence", "chest_check"), [(ELSEWHERE, "passed"), (NOT_CHEST, "failed")]
)
def test_an_outside_report_says_outside_instead_of_a_finding(
    chest: Radiograph, tmp_path: Path, sentence: str, chest_check: str
) -> None:
    results = outside_results(chest, sentence)
    report = pydicom.dcmread(export_results(results, tmp_path)[1])
    items = content(report)
    assert items["Outside what the model was validated on"].TextValue == sentence
    assert "Model label at the threshold" not in items
    assert "Probability of pneumonia (model output)" not in items, "no probability to pick up"
    assert number(items["Unvalidated probability of pneumonia"]) == pytest.approx(0.8312)
    assert items["Chest-radiograph check"].TextValue.startswith(chest_check)
    assert items["Domain check"].TextValue.startswith("outside what the model was validated on")
    assert all(item.get("TextValue") not in FINDINGS for item in report.ContentSequence)
    assert "Heatmap overlay" not in items
    image = items["Result image (no heatmap)"].ReferencedSOPSequence[0]
    assert image.ReferencedSOPInstanceUID == results.secondary_capture.SOPInstanceUID


def test_an_outside_secondary_capture_has_no_heatmap_colours(
    chest: Radiograph, tmp_path: Path
) -> None:
    results = outside_results(chest)
    sc = pydicom.dcmread(export_results(results, tmp_path)[0])
    assert sc.SeriesDescription == "Hilum: outside what the model was validated on"
    assert ELSEWHERE in sc.ImageComments and "without a heatmap" in sc.DerivationDescription
    rgb = sc.pixel_array.astype(int)
    band = sc.Rows - chest.height
    assert band > 0 and rgb[:band].max() == 255, "the caption is burned in"
    image = rgb[band:]
    assert (image[..., 0] == image[..., 2]).all() and (image[..., 0] == image[..., 1]).all(), (
        "not one coloured pixel, although the prediction's heatmap has a hot corner"
    )
    gray = np.round(chest.pixels * 255)
    assert np.abs(image[..., 0] - gray).max() <= 1, "the image at its display"
    caption = " ".join(caption_lines(a_prediction(chest, outside=ELSEWHERE), MODEL))
    assert "OUTSIDE - Outside what this model was validated on" in caption
    assert "NO HEATMAP" in caption and not any(word in caption for word in FINDINGS)
    assert "0.83" not in caption, "no probability burned in"


def test_a_real_outside_prediction_round_trips_through_orthanc(
    orthanc: Orthanc, chest: Radiograph, chest_cr: Path
) -> None:
    """The shipped model puts the NEMA RG1 adult film outside (checked by hand: domain score
    1.23); the SR Orthanc stores says so, as dsrdump reads it."""
    predictor = Predictor.load(SHIPPED_MODEL)
    prediction = predictor.predict(chest)
    assert prediction.outside is not None and prediction.in_domain is False
    results = build_results(chest, prediction, ModelIdentity.from_card(predictor.bundle.card))
    orthanc.seed(chest_cr)
    node = PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)
    summary = send_instances(node, results.datasets, local_ae_title="HILUM")
    assert summary.failed == () and len(summary.sent) == 2
    stored = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in orthanc.instances()}
    sc_tags = orthanc.rest(
        "GET", f"/instances/{stored[results.secondary_capture.SOPInstanceUID]}/simplified-tags"
    )
    assert sc_tags["SeriesDescription"] == "Hilum: outside what the model was validated on"
    dumped = orthanc.folder / "outside.dcm"
    dumped.write_bytes(orthanc.instance_file(stored[results.report.SOPInstanceUID]))
    dump = dcmtk("dsrdump", "+Pl", "+Pc", "+Pu", dumped)
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    text = " ".join(dump.stdout.split())
    assert "Outside what the model was validated on" in text
    assert prediction.outside.split(" (domain score")[0] in text
    assert f"{prediction.domain_score:.6f}" in text
    assert "Model label at the threshold" not in text
    assert not any(f'"{word}"' in text for word in FINDINGS)
