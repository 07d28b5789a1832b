"""The PDF report: written atomically, one readable page carrying the result and the disclaimer."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from engine import load_image
from engine.evaluation.metrics import Metrics
from engine.evaluation.operating_point import OperatingPoint
from engine.inference.prediction_report import DISCLAIMER, validation_figures, write_pdf_report
from engine.modeling.card import ModelCard
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


def synthetic_image(rows: int = 300, columns: int = 240) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:columns]
    return (0.5 + 0.5 * np.sin(x / 20.0) * np.cos(y / 15.0)).astype(np.float32)


def pdf_text(path: Path) -> str:
    """The PDF's text, extracted by Ghostscript or pdftotext; skips when neither is installed."""
    if shutil.which("pdftotext"):
        command = ["pdftotext", "-layout", str(path), "-"]
    elif shutil.which("gs"):
        command = [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=txtwrite",
            "-sOutputFile=-",
            str(path),
        ]
    else:
        pytest.skip("needs pdftotext or Ghostscript to read the PDF's text")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return " ".join(done.stdout.split())


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
        "AUC 0.953, sensitivity 0.970",  # (gs reads the "fi" glyph of Type 3 fonts badly)
        "unlike the training images",
        "not a localisation",
        "it is not a diagnostic device",
    ):
        assert expected in text, expected
    assert " ".join(DISCLAIMER.split()[:8]) in text


def test_a_user_threshold_is_shown_beside_the_cards(tmp_path: Path) -> None:
    path = write_pdf_report(
        tmp_path / "r.pdf",
        synthetic_image(),
        None,
        FakePrediction(threshold=0.9, label="NORMAL"),
        CARD,
        file_name="a.png",
    )
    text = pdf_text(path)
    assert "0.900 (set by the user; the model card's operating point is 0.380)" in text
    assert "no heatmap" in text
    assert "Patient ID: not known" in text


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
    if not shutil.which("gs"):
        pytest.skip("Ghostscript is not installed: the PDF is not rendered")
    png = tmp_path / "page.png"
    subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-sDEVICE=pnggray",
            "-r40",
            f"-sOutputFile={png}",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    from PIL import Image

    page = np.asarray(Image.open(png))
    assert page.std() > 10  # a page with an image on it, not a blank one


def test_validation_figures_fall_back_to_the_operating_point() -> None:
    card = replace(CARD, validation_metrics=None)
    assert validation_figures(card) == (None, 0.96, 0.81)
    assert validation_figures(replace(card, operating_point=None)) == (None, None, None)
    assert validation_figures(CARD) == (0.953, 0.97, 0.8)


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
