"""The robustness battery: each change does what it says, and the battery catches a model that
reads the framing, while a model that reads the image content passes it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from engine.evaluation.robustness import BATTERY, measure_robustness, sample_images
from engine.imaging.radiograph import FloatImage
from engine.modeling.labelled_folders import read_labelled_set


def _phantom(rng: np.random.Generator, sick: bool, size: int = 96) -> FloatImage:
    """A chest-like phantom: bright body, two dark lungs; a sick one has a bright patch in the
    right lung. Framed like the training set: the body fills the image edge to edge."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.full((size, size), 0.75, np.float32)
    for centre in (0.3, 0.7):
        lung = ((x - centre) / 0.15) ** 2 + ((y - 0.5) / 0.3) ** 2 < 1
        image[lung] = 0.25
    if sick:
        image[(((x - 0.3) / 0.08) ** 2 + ((y - 0.6) / 0.08) ** 2) < 1] = 0.7
    return np.clip(image + rng.normal(0, 0.01, image.shape), 0, 1).astype(np.float32)


def _framing_biased(images: Sequence[FloatImage]) -> np.ndarray:
    """A 'model' that learned the shortcut: PNEUMONIA when the border is not bright body."""
    scores = []
    for image in images:
        band = max(1, image.shape[0] // 12)
        border = np.concatenate(
            [image[:band].ravel(), image[-band:].ravel(), image[:, :band].ravel()]
        )
        scores.append(1.0 / (1.0 + np.exp(-30.0 * (0.6 - float(border.mean())))))
    return np.asarray(scores)


def _phantoms(count: int) -> tuple[list[FloatImage], list[int]]:
    rng = np.random.default_rng(0)
    labels = [index % 2 for index in range(count)]
    return [_phantom(rng, bool(label)) for label in labels], labels


def test_every_change_keeps_a_valid_image_and_changes_it() -> None:
    image = _phantom(np.random.default_rng(1), sick=False)
    for index, change in enumerate(BATTERY):
        changed = change.apply(image, np.random.default_rng([0, index]))
        assert changed.dtype == np.float32 and changed.ndim == 2, change.name
        assert changed.min() >= 0.0 and changed.max() <= 1.0, change.name
        different = changed.shape != image.shape or not np.allclose(changed, image, atol=1e-3)
        assert different, f"{change.name} left the image unchanged"


def test_changes_are_seeded() -> None:
    image = _phantom(np.random.default_rng(1), sick=True)
    for change in BATTERY:
        first = change.apply(image, np.random.default_rng([3, 1]))
        second = change.apply(image, np.random.default_rng([3, 1]))
        assert np.array_equal(first, second), change.name


def test_battery_catches_a_framing_biased_model() -> None:
    images, labels = _phantoms(40)
    before = _framing_biased(images)
    assert (before < 0.5).all(), "the phantoms are framed as the biased model's NORMAL"
    report = measure_robustness(_framing_biased, images, labels, 0.5, seed=0)
    assert report is not None
    rates = {change.name: change.flip_rate for change in report.changes}
    assert rates["pad"] > 0.9 and rates["shift"] > 0.4 and rates["rotate"] > 0.4
    assert rates["gamma"] < 0.1 and rates["hflip"] == 0.0 and rates["noise"] == 0.0
    assert report.worst.name in ("pad", "shift", "rotate", "crop")
    card = report.to_card()
    assert card["worst_flip_rate"] == max(
        max(c.flip_rate_normal, c.flip_rate_pneumonia) for c in report.changes
    )
    json.dumps(card)  # JSON-ready


def test_a_model_that_ignores_the_framing_passes_the_geometric_changes() -> None:
    images, labels = _phantoms(20)
    report = measure_robustness(lambda batch: np.full(len(batch), 0.9), images, labels, 0.5)
    assert report is not None
    assert all(
        change.flip_rate == 0.0 and change.mean_abs_delta == 0.0 for change in report.changes
    )


def test_flip_rates_are_split_by_true_class() -> None:
    images, labels = _phantoms(20)

    def flips_sick_only(batch: Sequence[FloatImage]) -> np.ndarray:
        # label 1 images start at 0.9; any changed image of them drops to 0.1
        return np.asarray([0.9 if _is_original(image) else 0.1 for image in batch])

    originals = {image.tobytes() for image, label in zip(images, labels, strict=True) if label}

    def _is_original(image: FloatImage) -> bool:
        return image.tobytes() in originals

    report = measure_robustness(flips_sick_only, images, labels, 0.5)
    assert report is not None
    for change in report.changes:
        assert change.flip_rate_normal == 0.0
        assert change.flip_rate_pneumonia == 1.0
        assert change.flip_rate == pytest.approx(0.5)


def test_stopping_between_changes_returns_nothing() -> None:
    images, labels = _phantoms(4)
    calls = iter([False, True])
    report = measure_robustness(
        _framing_biased, images, labels, 0.5, should_stop=lambda: next(calls, True)
    )
    assert report is None


@pytest.mark.data
def test_sample_images_reads_a_seeded_balanced_sample(tiny_train_set: Path) -> None:
    data = read_labelled_set(tiny_train_set)
    first, labels, unreadable = sample_images(data, 3, seed=5)
    again, _, _ = sample_images(data, 3, seed=5)
    assert sorted(labels) == [0, 0, 0, 1, 1, 1] and unreadable == 0
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.data
def test_cli_prints_every_change_and_records_the_card(
    tmp_path: Path, tiny_train_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import main
    from tests.engine.tiny_bundles import make_bundle

    bundle = make_bundle(tmp_path / "bundle")
    arguments = ["robustness", str(bundle), str(tiny_train_set), "--per-class", "4"]
    assert main([*arguments, "--json", "--write-card"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [change["name"] for change in report["changes"]] == [c.name for c in BATTERY]
    assert report["images"] == 8 and report["counts"] == {"NORMAL": 4, "PNEUMONIA": 4}
    card = json.loads((bundle / "card.json").read_text())
    assert card["robustness"]["changes"] == report["changes"]
