"""The PDF report: written atomically, one readable page carrying the result and the disclaimer."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from matplotlib.figure import Figure

from engine import load_image
from engine.inference.domain_verdict import outside_sentence
from engine.inference.ood import OodCheck
from engine.inference.prediction_report import DISCLAIMER, write_pdf_report
from engine.modeling.card import ModelCard
from engine.modeling.metrics import Metrics
from engine.modeling.operating_point import OperatingPoint
from engine.modeling.preprocessing import Preprocessing

METRIC_FIELDS = [field.name for field in fields(Metrics)]

POINT = OperatingPoint(0.38, "target_sensitivity", 0.95, sensitivity=0.96, specificity=0.81)
VALIDATION = Metrics(
    **{
        **dict.fromkeys(METRIC_FIELDS, 0.0),
        "auc": 0.953,
        "sensitivity": 0.97,
        "specificity": 0.8,
        "confusion_matrix": [[80, 20], [3, 97]],
        "roc": {"fpr": [], "tpr": [], "thresholds": []},
    }
)
CARD = ModelCard(
    "cnn-20240101-abc",
    "cnn",
    Preprocessing(64),
    "last_conv",
    0.38,
    name="Small CNN",
    operating_point=POINT,
    validation_metrics=VALIDATION,
)


@dataclass(frozen=True)
class FakePrediction:
    probability: float = 0.873
    label: str = "PNEUMONIA"
    threshold: float = 0.38
    model_id: str = "cnn-20240101-abc"
    warnings: tuple[str, ...] = ("The image looks unlike the training images.",)
    outside: str | None = None
    in_domain: bool | None = None
    domain_score: float | None = None


INSIDE = FakePrediction(in_domain=True, domain_score=0.934)
#: The sentences the predictor writes (engine.inference.domain_verdict), for a hip and for an
#: adult's chest film from another hospital.
NOT_CHEST = replace(
    INSIDE,
    probability=1.0,
    outside=outside_sentence(
        OodCheck(True, ("the DICOM header says body part HIP",), 3.2), 1.4, ""
    ),
    in_domain=False,
    domain_score=1.4,
)
ELSEWHERE = replace(
    INSIDE,
    probability=0.998,
    outside=outside_sentence(OodCheck(False, (), 0.5), 1.508, "the Guangzhou training set"),
    in_domain=False,
    domain_score=1.508,
)


def synthetic_image(rows: int = 300, columns: int = 240) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:columns]
    return (0.5 + 0.5 * np.sin(x / 20.0) * np.cos(y / 15.0)).astype(np.float32)


def pdf_text(path: Path) -> str:
    """The PDF's text as PDFium extracts it, whitespace collapsed."""
    document = pdfium.PdfDocument(str(path))
    try:
        return " ".join(document[0].get_textpage().get_text_range().split())
    finally:
        document.close()


def render_page(path: Path, dpi: int = 60) -> np.ndarray:
    """The PDF's first page rendered by PDFium, as H x W x 3 uint8 RGB."""
    document = pdfium.PdfDocument(str(path))
    try:
        return document[0].render(scale=dpi / 72).to_numpy()[..., :3].copy()
    finally:
        document.close()


def heatmap_panel(page: np.ndarray) -> np.ndarray:
    """The pixels inside the report's heatmap axes (figure box 0.52-0.94 x 0.54-0.89)."""
    rows, columns = page.shape[:2]
    return page[
        round((1 - 0.885) * rows) : round((1 - 0.545) * rows),
        round(0.525 * columns) : round(0.935 * columns),
    ]


def assert_one_page_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1


def test_report_is_a_one_page_pdf_with_result_model_and_disclaimer(tmp_path: Path) -> None:
    path = write_pdf_report(
        tmp_path / "report.pdf",
        synthetic_image(),
        synthetic_image(30, 24),
        FakePrediction(),
        CARD,
        file_name="IM-0001-0001.jpeg",
        patient_id="P-42",
        study_date="20240102",
        created=datetime(2024, 1, 2, 9, 30, tzinfo=UTC),
    )
    assert_one_page_pdf(path)
    text = pdf_text(path)
    for expected in (
        "IM-0001-0001.jpeg",
        "P-42",
        "2024-01-02",
        "Probability of pneumonia: 0.873",
        "PNEUMONIA",
        "Small CNN",
        "cnn-20240101-abc",
        "Expected on images from elsewhere: not measured",
        "Validated on: not recorded in this card",
        "unlike the training images",
        "not a localisation",
        "it is not a diagnostic device",
    ):
        assert expected in text, expected
    assert " ".join(DISCLAIMER.split()[:8]) in text


def test_the_report_names_a_map_that_is_not_grad_cam(tmp_path: Path) -> None:
    """The dense baseline's heatmap is gradient x input; the PDF says so beside the map."""

    def text_of(name: str, **kind: str) -> str:
        image, heatmap = synthetic_image(), synthetic_image(30, 24)
        path = write_pdf_report(
            tmp_path / name, image, heatmap, FakePrediction(), CARD, file_name="a.png", **kind
        )
        return " ".join(pdf_text(path).split())

    assert "no convolutional layer" in text_of("dense.pdf", heatmap_kind="gradient × input")
    assert "no convolutional layer" not in text_of("cnn.pdf")


def test_report_of_a_real_radiograph_renders(tmp_path: Path, fullres_dir: Path) -> None:
    radiograph = load_image(next((fullres_dir / "PNEUMONIA").iterdir()))
    rows, columns = radiograph.pixels.shape
    y, x = np.mgrid[0:rows, 0:columns]
    heatmap = np.exp(-(((x - columns / 3) ** 2 + (y - rows / 2) ** 2) / (rows * columns / 20)))
    path = write_pdf_report(
        tmp_path / "real.pdf",
        radiograph.pixels,
        heatmap.astype(np.float32),
        FakePrediction(),
        CARD,
        file_name=radiograph.source.name,
    )
    assert_one_page_pdf(path)
    assert path.stat().st_size < 3_000_000  # images are embedded at print size, not 2k x 2k
    page = render_page(path, dpi=40)
    assert page.std() > 10  # a page with an image on it, not a blank one
    assert heatmap_panel(page).std() > 10


@pytest.mark.parametrize(("probability", "hot_spot"), [(0.02, False), (0.3, True), (0.99, True)])
def test_the_heatmap_is_faded_below_the_operating_point(
    tmp_path: Path, probability: float, hot_spot: bool
) -> None:
    """A 2 % NORMAL image must not show the red hot spot of a 99 % PNEUMONIA one, although
    Grad-CAM, normalised per image, gives both the same map."""
    heatmap = np.zeros((40, 40), dtype=np.float32)
    heatmap[10:22, 12:24] = 1.0
    label = "PNEUMONIA" if probability >= 0.38 else "NORMAL"
    path = write_pdf_report(
        tmp_path / "r.pdf",
        np.full((200, 200), 0.5, dtype=np.float32),  # uniform gray: any colour is the overlay
        heatmap,
        FakePrediction(probability=probability, label=label, warnings=()),
        CARD,
        file_name="a.png",
    )
    panel = heatmap_panel(render_page(path)).astype(int)
    colourful = (panel.max(axis=2) - panel.min(axis=2)) > 40
    if hot_spot:
        assert colourful.sum() > 50, "the hot spot of a positive or near-threshold image is shown"
    else:
        assert not colourful.any(), "a 2 % prediction shows a hot spot"
    legend = "full strength" if probability >= 0.38 else "faded to"
    assert legend in pdf_text(path)


def hot_square_report(path: Path, prediction: FakePrediction) -> tuple[str, np.ndarray]:
    """A report of a hot heatmap square over a uniform gray image: its text and heatmap panel."""
    heatmap = np.zeros((40, 40), dtype=np.float32)
    heatmap[10:22, 12:24] = 1.0
    write_pdf_report(
        path,
        np.full((200, 200), 0.5, dtype=np.float32),
        heatmap,
        prediction,
        CARD,
        file_name="a.png",
    )
    panel = heatmap_panel(render_page(path)).astype(int)
    return pdf_text(path), (panel.max(axis=2) - panel.min(axis=2)) > 40


def test_an_inside_report_states_the_domain_check(tmp_path: Path) -> None:
    text, colourful = hot_square_report(tmp_path / "inside.pdf", INSIDE)
    assert "Hilum — chest X-ray report" in text
    assert "PNEUMONIA: probability 0.873" in text and "Label: PNEUMONIA" in text
    assert "Domain check: inside what the model was validated on (score 0.93)" in text
    assert colourful.sum() > 50, "the heatmap is drawn"
    without = pdf_text(
        write_pdf_report(
            tmp_path / "none.pdf",
            synthetic_image(),
            None,
            FakePrediction(),
            CARD,
            file_name="a.png",
        )
    )
    assert "Domain check: none (this model has no domain check)" in without


@pytest.mark.parametrize(
    ("prediction", "title", "head", "reason"),
    [
        (NOT_CHEST, "Hilum — image report", "Not a chest radiograph", "body part HIP"),
        (
            ELSEWHERE,
            "Hilum — chest X-ray report",
            "Outside what this model was validated on",
            "unlike those of the Guangzhou training set (domain score 1.51; above 1 is outside)",
        ),
    ],
)
def test_an_outside_report_gives_no_finding_and_no_heatmap(
    tmp_path: Path, prediction: FakePrediction, title: str, head: str, reason: str
) -> None:
    text, colourful = hot_square_report(tmp_path / "outside.pdf", prediction)
    assert f"{title} Decision support" in text
    assert f"{head} File: a.png" in text, "the check's headline stands where the result would"
    assert reason in text
    for finding in ("PNEUMONIA: probability", "Label: PNEUMONIA", "NORMAL:", "Threshold:"):
        assert finding not in text, finding
    assert "Label: none (no NORMAL/PNEUMONIA finding" in text
    assert f"probability {prediction.probability:.3f}, UNVALIDATED for this image" in text
    assert "Domain check: outside what the model was validated on" in text
    passed = "failed" if prediction is NOT_CHEST else "passed"
    assert f"Chest-radiograph check: {passed}" in text
    assert "the figures below do not apply to it" in text
    assert "Heatmap not drawn: the image is outside" in text
    assert not colourful.any(), "a hot heatmap is not drawn over an image outside"


def test_bad_input_leaves_the_previous_report_untouched(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"previous report")
    with pytest.raises(ValueError, match=r"2-D image .* got shape \(2, 3, 4\)"):
        write_pdf_report(
            path,
            np.zeros((2, 3, 4)),
            None,
            FakePrediction(),
            CARD,
            file_name="a.png",
        )
    assert path.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]


def test_a_failure_while_writing_leaves_the_previous_report_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up half-way through the PDF: the old report stays whole, nothing is left."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"previous report")
    written: list[Path] = []

    def half_written(self: Figure, target: Path, **_: object) -> None:
        Path(target).write_bytes(b"%PDF-1.4 half a page")  # where the real write was going
        written.append(Path(target))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(OSError, match="No space left"):
        write_pdf_report(
            path,
            synthetic_image(),
            None,
            FakePrediction(),
            CARD,
            file_name="a.png",
        )
    assert written and written[0] != path and written[0].parent == tmp_path  # a temporary
    assert path.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]
