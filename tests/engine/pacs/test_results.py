"""The result objects (heatmap Secondary Capture + SR), exported, sent to Orthanc, read back with
Orthanc's REST API and DCMTK's dsrdump."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from engine import load_image
from engine.errors import HilumError
from engine.imaging.radiograph import Radiograph
from engine.inference.caveats import DISCLAIMER
from engine.inference.prediction import Prediction
from engine.pacs.derived_instances import ModelIdentity
from engine.pacs.nodes import PacsNode
from engine.pacs.result_objects import ResultObjects, build_results, export_results
from engine.pacs.retrieve import get_study
from engine.pacs.sending import send_instances
from tests.pacs_support import ORTHANC_AET, Orthanc, dcmtk

MODEL = ModelIdentity("Test model", "tiny-test-20250101T000000", "ab" * 32)


def hot_corner_heatmap(shape: tuple[int, int]) -> np.ndarray:
    """1 in the top-left quarter, fading to 0 elsewhere."""
    rows, columns = np.ogrid[: shape[0], : shape[1]]
    distance = np.hypot(rows / shape[0], columns / shape[1])
    return np.clip(1.0 - 2.0 * distance, 0.0, 1.0).astype(np.float32)


def a_prediction(
    radiograph: Radiograph, heatmap: np.ndarray | None = None, **verdict: Any
) -> Prediction:
    """A PNEUMONIA prediction with a hot corner; ``verdict``: outside, in_domain, domain_score."""
    return Prediction(
        probability=0.8312,
        raw_probability=0.79,
        label="PNEUMONIA",
        threshold=0.42,
        heatmap=hot_corner_heatmap(radiograph.pixels.shape) if heatmap is None else heatmap,
        timings={},
        model_id=MODEL.model_id,
        device="CPU",
        warnings=("The image looks unlike the training images.",),
        path=radiograph.source,
        **verdict,
    )


@pytest.fixture(scope="module")
def chest(chest_cr: Path) -> Radiograph:
    return load_image(chest_cr)


@pytest.fixture(scope="module")
def results(chest: Radiograph) -> ResultObjects:
    return build_results(chest, a_prediction(chest, in_domain=True, domain_score=0.62), MODEL)


def test_the_secondary_capture_is_a_derived_captioned_overlay_in_the_source_study(
    results: ResultObjects, chest: Radiograph, chest_cr: Path
) -> None:
    source = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    sc = results.secondary_capture
    assert sc.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "AccessionNumber"):
        assert sc.get(keyword) == source.get(keyword), keyword
    assert sc.SeriesInstanceUID != source.SeriesInstanceUID
    assert sc.SOPInstanceUID not in (source.SOPInstanceUID, results.report.SOPInstanceUID)
    assert list(sc.ImageType) == ["DERIVED", "SECONDARY"]
    assert sc.BurnedInAnnotation == "YES"
    assert sc.ReferencedImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert sc.SourceImageSequence[0].ReferencedSOPClassUID == source.SOPClassUID
    assert "not a diagnostic device" in sc.ImageComments

    rgb = sc.pixel_array
    band = sc.Rows - chest.height
    assert sc.Columns == chest.width and band > 0, "a caption band above the image"
    assert rgb[:band].max() == 255 and rgb[:band].mean() < 60, "white text on black"
    image = rgb[band:].astype(int)
    hot, cold = image[: chest.height // 8, : chest.width // 8], image[-100:, -100:]
    assert np.abs(hot[..., 0] - hot[..., 2]).mean() > 40, "the hot corner is coloured"
    assert np.abs(cold[..., 0] - cold[..., 2]).max() == 0, "cold areas stay gray"
    gray = np.round(chest.pixels[-100:, -100:] * 255)
    assert np.abs(cold[..., 0] - gray).max() <= 1, "the gray is the image at its display"


def test_a_result_below_the_operating_point_has_the_faded_heatmap_the_viewer_shows(
    results: ResultObjects, chest: Radiograph
) -> None:
    full = a_prediction(chest)
    low = Prediction(**{**full.__dict__, "probability": 0.021, "label": "NORMAL"})
    sc = build_results(chest, low, MODEL).secondary_capture
    assert "Heatmap faded to 5% strength" in sc.ImageComments
    band = sc.Rows - chest.height
    corner = (slice(band, band + chest.height // 8), slice(0, chest.width // 8))
    faded = sc.pixel_array[corner].astype(int)
    strong = results.secondary_capture.pixel_array[corner].astype(int)
    assert np.abs(strong[..., 0] - strong[..., 2]).mean() > 40, "PNEUMONIA: full strength"
    assert np.abs(faded[..., 0] - faded[..., 2]).mean() < 5, "NORMAL at 2 %: almost gray"
    assert (faded[..., 0] <= faded[..., 2]).all(), "what is left is in the cold colours"


def test_the_report_holds_result_model_statement_and_references(
    results: ResultObjects, chest_cr: Path
) -> None:
    report, sc = results.report, results.secondary_capture
    source = pydicom.dcmread(chest_cr, stop_before_pixels=True)
    assert report.SOPClassUID == pydicom.uid.ComprehensiveSRStorage
    assert report.StudyInstanceUID == source.StudyInstanceUID
    assert report.SeriesInstanceUID not in (source.SeriesInstanceUID, sc.SeriesInstanceUID)
    assert (report.Modality, report.VerificationFlag) == ("SR", "UNVERIFIED")
    items = {item.ConceptNameCodeSequence[0].CodeMeaning: item for item in report.ContentSequence}
    number = items["Probability of pneumonia (model output)"].MeasuredValueSequence[0]
    assert float(number.NumericValue) == pytest.approx(0.8312)
    threshold = items["Decision threshold (operating point)"].MeasuredValueSequence[0]
    assert float(threshold.NumericValue) == pytest.approx(0.42)
    assert items["Model label at the threshold"].TextValue == "PNEUMONIA"
    assert items["Algorithm Version"].TextValue == MODEL.model_id
    assert items["Model file SHA-256"].TextValue == MODEL.sha256
    assert items["Warning"].TextValue.startswith("The image looks unlike")
    comments = [i.TextValue for i in report.ContentSequence if i.get("TextValue") == DISCLAIMER]
    assert comments == [DISCLAIMER]
    heatmap = items["Heatmap overlay"].ReferencedSOPSequence[0]
    assert heatmap.ReferencedSOPInstanceUID == sc.SOPInstanceUID
    source_ref = items["Source of Measurement"].ReferencedSOPSequence[0]
    assert source_ref.ReferencedSOPInstanceUID == source.SOPInstanceUID
    evidence = report.CurrentRequestedProcedureEvidenceSequence[0]
    referenced = {
        sop.ReferencedSOPInstanceUID
        for series in evidence.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    }
    assert referenced == {source.SOPInstanceUID, sc.SOPInstanceUID}


def test_exported_results_parse_with_dsrdump(
    results: ResultObjects, tmp_path: Path, pacs_tools: None
) -> None:
    written = export_results(results, tmp_path)
    study = tmp_path / results.report.StudyInstanceUID
    assert sorted(written) == sorted(study.iterdir())
    assert [p.name for p in tmp_path.rglob(".*")] == [], "no temporary left"
    dump = dcmtk("dsrdump", "+Pl", "+Pc", "+Pu", written[1])
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    assert "0.831200" in dump.stdout and "PNEUMONIA" in dump.stdout
    assert MODEL.sha256 in dump.stdout and "not a diagnostic device" in dump.stdout
    assert load_image(written[0]).width == results.secondary_capture.Columns


def test_results_need_a_dicom_source_and_a_heatmap(chest: Radiograph, fullres_dir: Path) -> None:
    jpeg = load_image(sorted((fullres_dir / "NORMAL").glob("*.jpeg"))[0])
    with pytest.raises(HilumError, match="results go back into the image's DICOM study"):
        build_results(jpeg, a_prediction(jpeg), MODEL)
    without = a_prediction(chest)
    without = Prediction(**{**without.__dict__, "heatmap": None})
    with pytest.raises(HilumError, match="has no heatmap"):
        build_results(chest, without, MODEL)


def test_results_sent_to_orthanc_join_the_source_study(
    orthanc: Orthanc, results: ResultObjects, chest_cr: Path, tmp_path: Path
) -> None:
    orthanc.seed(chest_cr)
    node = PacsNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)
    summary = send_instances(node, results.datasets, local_ae_title="HILUM")
    assert summary.failed == () and len(summary.sent) == 2
    studies = orthanc.rest("GET", "/studies?expand")
    assert len(studies) == 1 and len(studies[0]["Series"]) == 3
    stored = {i["MainDicomTags"]["SOPInstanceUID"]: i["ID"] for i in orthanc.instances()}
    sc_tags = orthanc.rest(
        "GET", f"/instances/{stored[results.secondary_capture.SOPInstanceUID]}/simplified-tags"
    )
    assert sc_tags["ImageType"] == "DERIVED\\SECONDARY"
    assert sc_tags["BurnedInAnnotation"] == "YES"
    report_file = orthanc.instance_file(stored[results.report.SOPInstanceUID])
    assert report_file.count(b"0.831200") == 1
    dumped = Path(orthanc.folder / "report.dcm")
    dumped.write_bytes(report_file)
    dump = dcmtk("dsrdump", dumped)
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    assert "Hilum AI result (not a diagnosis)" in dump.stdout

    orthanc.add_modality("hilum", "HILUM", 104)
    again = get_study(node, results.report.StudyInstanceUID, tmp_path / "again")
    assert (again.completed, again.failed) == (3, 0), "the study comes back whole"
    predictable = {i.sop_instance_uid: i.predictable for i in again.instances}
    source_uid = str(pydicom.dcmread(chest_cr, stop_before_pixels=True).SOPInstanceUID)
    assert predictable == {
        source_uid: True,
        results.secondary_capture.SOPInstanceUID: False,  # Hilum's own result
        results.report.SOPInstanceUID: False,  # a report
    }
