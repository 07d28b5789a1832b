"""The out-of-distribution warning: non-chest images are flagged, chest radiographs are not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import ModelFileError
from engine.imaging.images import load_image
from engine.inference.ood import (
    REFERENCE_FILE,
    OodReference,
    check_radiograph,
    fit_ood_reference,
    load_ood_reference,
    save_ood_reference,
)


def training_sample(train_dir: Path, step: int, offset: int) -> list[Path]:
    return sorted(train_dir.glob("*/*.jpeg"))[offset::step]


@pytest.fixture(scope="module")
def reference_dict(train_dir: Path) -> dict:
    return fit_ood_reference(training_sample(train_dir, 12, 0))  # 435 images, both classes


@pytest.fixture(scope="module")
def reference(reference_dict: dict) -> OodReference:
    return OodReference.from_dict(reference_dict)


def photograph(path: Path) -> Path:
    """A synthetic colour landscape: sky gradient, sun, hills, texture."""
    rng = np.random.default_rng(3)
    rows, columns = 480, 640
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    image = np.zeros((rows, columns, 3), np.float32)
    image[...] = np.stack([90 + 0.2 * y, 150 + 0.1 * y, 255 - 0.1 * y], axis=-1)  # sky
    sun = (x - 480) ** 2 + (y - 110) ** 2 < 50**2
    image[sun] = (255, 230, 90)
    ground = y > 300 + 40 * np.sin(x / 70)
    image[ground] = np.stack([40 + 0.1 * y, 120 + 0.05 * x, 30 + 0 * x], axis=-1)[ground]
    image += rng.normal(0, 12, image.shape)
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB").save(path)
    return path


def test_a_real_chest_radiograph_is_not_flagged(train_dir, fullres_dir, reference):
    unseen = training_sample(train_dir, 12, 6)[::20] + sorted(fullres_dir.rglob("*.jpeg"))[:5]

    checks = [check_radiograph(load_image(path), reference) for path in unseen]

    assert not any(check.out_of_distribution for check in checks), [c.reasons for c in checks]
    assert all(check.score is not None and check.score < 1.0 for check in checks)
    assert all(check.warning is None for check in checks)


def test_a_photograph_is_flagged_by_its_content(tmp_path, reference):
    check = check_radiograph(load_image(photograph(tmp_path / "holiday.jpg")), reference)

    assert check.out_of_distribution
    assert check.score is not None and check.score > 1.0
    assert "layout is unlike the training chest radiographs" in (check.warning or "")


def test_a_blank_frame_is_flagged_even_without_a_reference(tmp_path):
    Image.fromarray(np.full((300, 300), 128, np.uint8)).save(tmp_path / "blank.png")

    check = check_radiograph(load_image(tmp_path / "blank.png"), None)

    assert check.out_of_distribution and check.score is None
    assert check.reasons == ("the image is blank or nearly uniform",)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("RG2_UNC.dcm", "body part HIP"),
        ("RG3_UNCR.dcm", "body part EXTREMITY"),
        ("GH133_MG_VOILUT.dcm", "modality is MG"),
    ],
)
def test_non_chest_dicom_is_flagged_by_its_header_and_content(dicom_dir, reference, name, reason):
    radiograph = load_image(dicom_dir / name)

    without = check_radiograph(radiograph, None)
    with_content = check_radiograph(radiograph, reference)

    assert without.out_of_distribution and reason in (without.warning or "")
    assert with_content.score is not None and with_content.score > 1.0


def test_the_reference_round_trips_through_the_bundle_folder(tmp_path, reference_dict, reference):
    assert load_ood_reference(tmp_path) is None

    save_ood_reference(reference_dict, tmp_path)
    loaded = load_ood_reference(tmp_path)

    assert loaded is not None and loaded.threshold == pytest.approx(reference.threshold)
    assert loaded.components.shape == (8, 32 * 32)
    assert json.loads((tmp_path / REFERENCE_FILE).read_text())["images"] == reference.images


def test_a_broken_reference_is_a_model_error(tmp_path, reference_dict):
    (tmp_path / REFERENCE_FILE).write_text("{not json")
    with pytest.raises(ModelFileError, match="cannot read the out-of-distribution reference"):
        load_ood_reference(tmp_path)
    save_ood_reference({**reference_dict, "components": [[1.0, 2.0]]}, tmp_path)
    with pytest.raises(ModelFileError, match="components shape"):
        load_ood_reference(tmp_path)


def test_fitting_needs_enough_images(train_dir):
    with pytest.raises(ValueError, match="at least 16 readable images, got 3"):
        fit_ood_reference(training_sample(train_dir, 2000, 0))
