"""The checks' sentence, its headline and the one-word verdict lists show (no model, no Qt)."""

from __future__ import annotations

import pytest

from engine.inference.domain_verdict import (
    NOT_CHEST,
    OUTSIDE,
    headline,
    outside_sentence,
    verdict,
)
from engine.inference.ood import OodCheck

PASSED = OodCheck(False, (), 0.4)
HIP = OodCheck(True, ("the DICOM header says body part HIP",), 1.6)


@pytest.mark.parametrize(
    ("ood", "score", "expected_headline", "expected_verdict"),
    [
        (HIP, 0.3, NOT_CHEST, "Not chest"),  # the chest check speaks first
        (HIP, 1.5, NOT_CHEST, "Not chest"),
        (PASSED, 1.5, OUTSIDE, "Outside"),
    ],
)
def test_an_image_a_check_puts_outside_gets_its_headline_and_verdict(
    ood: OodCheck, score: float, expected_headline: str, expected_verdict: str
) -> None:
    sentence = outside_sentence(ood, score, "the training images")
    assert sentence is not None
    assert headline(sentence) == expected_headline
    assert verdict(sentence, in_domain=score <= 1.0) == expected_verdict


def test_an_image_both_checks_pass_is_validated_or_unchecked_without_a_domain_check() -> None:
    assert outside_sentence(PASSED, 0.9, "the training images") is None
    assert verdict(None, in_domain=True) == "Validated"
    assert outside_sentence(PASSED, None, "the training images") is None
    assert verdict(None, in_domain=None) == "No domain check"
