"""The PDF report as the reader sees it: nothing printed over anything else, the threshold's
author said truthfully, and the figures to expect elsewhere rather than in-distribution ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from engine.inference.prediction import Prediction
from engine.inference.prediction_report import write_pdf_report
from engine.inference.shown_result import ShownResult
from engine.modeling.bundles import read_card
from tests.engine.test_report import (
    CARD,
    ELSEWHERE,
    INSIDE,
    FakePrediction,
    pdf_text,
    synthetic_image,
)

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
Box = tuple[float, float, float, float]
WARNINGS = (
    "The patient's age (34 years) is outside the ages the model was validated on (1-5 years).",
    "The image looks unlike the training images: its contrast is unusual for a radiograph.",
)


def text_boxes(path: Path) -> list[tuple[str, Box]]:
    """Each run of text PDFium finds on the page, with its box (left, bottom, right, top)."""
    document = pdfium.PdfDocument(str(path))
    try:
        page = document[0].get_textpage()
        boxes = [page.get_rect(i) for i in range(page.count_rects())]
        return [(page.get_text_bounded(*box).strip(), box) for box in boxes]
    finally:
        document.close()


def overlapping(boxes: list[tuple[str, Box]], slack: float = 0.5) -> list[tuple[str, str]]:
    """The pairs of text runs whose boxes overlap by more than ``slack`` points both ways."""
    pairs = []
    for i, (text, (left, bottom, right, top)) in enumerate(boxes):
        for other, (o_left, o_bottom, o_right, o_top) in boxes[:i]:
            across = left < o_right - slack and o_left < right - slack
            down = bottom < o_top - slack and o_bottom < top - slack
            if across and down:
                pairs.append((text, other))
    return pairs


def a_prediction(probability: float = 0.3, threshold: float = 0.5) -> Prediction:
    return Prediction(probability, probability, "NORMAL", threshold, None, {}, CARD.model_id, "CPU")


def test_no_text_of_the_report_is_printed_over_another(tmp_path: Path) -> None:
    """The colour bar's caption, the heatmap note, the result and the body each have a place
    of their own (the caption used to run into the note)."""
    path = write_pdf_report(
        tmp_path / "r.pdf", synthetic_image(), synthetic_image(30, 24), INSIDE, CARD,
        file_name="a.png",
    )  # fmt: skip
    boxes = text_boxes(path)
    caption = next(box for text, box in boxes if text.startswith("Grad-CAM weight"))
    note = next(box for text, box in boxes if text.startswith("The heatmap is coarse"))
    assert caption[1] > note[3], "the colour bar's caption ends above the note"
    assert overlapping(boxes) == []


@pytest.mark.parametrize("prediction", [INSIDE, ELSEWHERE], ids=["inside", "outside"])
def test_a_long_report_still_keeps_clear_of_the_disclaimer(
    tmp_path: Path, prediction: FakePrediction
) -> None:
    """The shipped card's lines, the checks' verdicts and two warnings: the body fits above the
    disclaimer (tighter, if need be), nothing printed over anything."""
    path = write_pdf_report(
        tmp_path / "r.pdf", synthetic_image(), synthetic_image(30, 24),
        replace(prediction, warnings=WARNINGS), read_card(SHIPPED), file_name="a.dcm",
    )  # fmt: skip
    assert overlapping(text_boxes(path)) == []
    assert "patient and sees the whole study" in pdf_text(path)


def test_set_by_the_user_only_when_the_user_moved_the_threshold(tmp_path: Path) -> None:
    """A site head's operating point (not the card's) is the model's, not the user's."""
    site = a_prediction(threshold=0.5)

    def text(result: ShownResult) -> str:
        path = write_pdf_report(
            tmp_path / "r.pdf", synthetic_image(), None, result, CARD, file_name="a.png"
        )
        return pdf_text(path)

    untouched = text(ShownResult.of(site))
    assert "Threshold: 0.500" in untouched and "set by the user" not in untouched
    moved = text(ShownResult(site, 0.25, set_by_user=True))
    assert "Threshold: 0.250 (set by the user; the model's operating point is 0.500)" in moved
    assert "Label: PNEUMONIA" in moved, "the label at the user's threshold"


def test_the_report_quotes_what_to_expect_elsewhere(tmp_path: Path) -> None:
    card = read_card(SHIPPED)
    assert card.validation_metrics is not None and card.validated_on is not None
    path = write_pdf_report(
        tmp_path / "r.pdf", synthetic_image(), None, ShownResult.of(a_prediction()), card,
        file_name="a.png",
    )  # fmt: skip
    text = pdf_text(path)
    crossed = card.external["cross_fitted"]
    assert "Expected on images from elsewhere (313 external images" in text
    assert f"auc {crossed['auc']:.3f}" in text
    assert f"Validated on: {card.validated_on.sites[0].name}" in text
    assert "not covered by the figures below" in text
    in_distribution = card.validation_metrics
    assert f"{in_distribution.auc:.3f}" not in text, "no in-distribution AUC"
    assert f"{in_distribution.specificity:.3f}" not in text, "no in-distribution specificity"
