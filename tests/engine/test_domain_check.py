"""The domain check: a reference in the model's own features, fitted from the images a model was
built on, stored in its bundle with a checksum, and its verdict on every prediction (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelFileError
from engine.evaluation.domain_fitting import (
    cross_fit_component,
    fit_component,
    write_domain_check,
)
from engine.inference.domain_verdict import NOT_CHEST, OUTSIDE
from engine.inference.predictor import Predictor
from engine.modeling.bundles import read_card
from engine.modeling.domain_reference import DomainReference, DomainSource
from tests.engine.tiny_bundles import domain_checked_bundle

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"
#: Files whose verdict with the shipped default model was checked by hand (scores far from 1).
INSIDE = ("chest_xray/external/NORMAL/IM-0001-0001.jpeg",)
OUTSIDE_FILES = ("sites/nih/NORMAL/00001300_000.png", "sites/nih/PNEUMONIA/00000211_013.png")


def _gaussian_features(seed: int, shift: float, n: int = 300) -> list[np.ndarray]:
    """Two entries of correlated Gaussian features, moved by ``shift`` along a fixed direction."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(6, 6))
    first = rng.normal(size=(n, 6)) @ mixing + shift
    second = rng.normal(size=(n, 4)) + shift * np.array([1.0, -1.0, 0.5, 0.0])
    return [first, second]


ENTRIES = ((0, "finer", "mean"), (0, "cam", "mean"))


def test_another_source_is_outside_until_it_is_added() -> None:
    home = fit_component(
        DomainSource("home", 300), _gaussian_features(0, 0.0), _gaussian_features(1, 0.0, 200)
    )
    reference = DomainReference(ENTRIES, (home,))
    held_home, elsewhere = _gaussian_features(2, 0.0), _gaussian_features(3, 3.0)
    assert np.mean(reference.scores(held_home) > 1) < 0.05
    assert np.mean(reference.scores(elsewhere) > 1) > 0.9

    folds = [np.arange(i, 300, 5) for i in range(5)]
    site = cross_fit_component(DomainSource("site", 300), _gaussian_features(4, 3.0), folds)
    both = DomainReference(ENTRIES, (home, site))
    assert np.mean(both.scores(elsewhere) > 1) < 0.05
    assert np.mean(both.scores(held_home) > 1) < 0.05
    scores, assigned = both.assign(held_home)
    assert (assigned[scores <= 1] == 0).all()  # films the original holds keep the original
    _, assigned_elsewhere = both.assign(elsewhere)
    assert np.mean(assigned_elsewhere == 1) > 0.9


def test_the_reference_survives_its_file_format() -> None:
    home = fit_component(
        DomainSource("home", 300), _gaussian_features(0, 0.0), _gaussian_features(1, 0.0, 200)
    )
    reference = DomainReference(ENTRIES, (home,))
    again = DomainReference.from_bytes(reference.to_bytes())
    probe = _gaussian_features(5, 1.0, 50)
    assert again.entries == reference.entries
    assert again.components[0].source == home.source
    np.testing.assert_allclose(again.scores(probe), reference.scores(probe), rtol=1e-4)


@pytest.fixture(scope="module")
def tiny_checked_bundle(tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path) -> Path:
    """A tiny bundle whose domain check is fitted on 48 real training images."""
    return domain_checked_bundle(tmp_path_factory.mktemp("domain") / "tiny", tiny_train_set)


def test_a_fitted_check_is_named_in_the_card_and_read_by_the_predictor(
    tiny_checked_bundle: Path, shared_data: Path
) -> None:
    section = read_card(tiny_checked_bundle).domain_check
    assert section is not None
    # the tiny network: conv1 (finer stage) mean and std, then the Grad-CAM layer's mean
    assert section.layers == ("0:conv1:mean", "0:conv1:std", "0:last_conv:mean")
    assert (tiny_checked_bundle / section.file).is_file()
    prediction = Predictor.load(tiny_checked_bundle).predict(shared_data / INSIDE[0])
    assert prediction.in_domain is not None
    assert prediction.domain_score is not None and np.isfinite(prediction.domain_score)


def test_a_changed_reference_is_refused(tiny_checked_bundle: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(tiny_checked_bundle, tmp_path / "copy"))
    section = read_card(copy).domain_check
    assert section is not None
    data = bytearray((copy / section.file).read_bytes())
    data[-10] ^= 0xFF
    (copy / section.file).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        Predictor.load(copy)
    (copy / section.file).unlink()
    with pytest.raises(ModelFileError, match="cannot be read"):
        Predictor.load(copy)


def test_refitting_replaces_the_reference_file(tiny_checked_bundle: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(tiny_checked_bundle, tmp_path / "refit"))
    old = read_card(copy).domain_check
    assert old is not None
    reference = DomainReference.from_bytes((copy / old.file).read_bytes())
    changed = replace(reference.components[0], threshold=reference.components[0].threshold * 2)
    new = write_domain_check(copy, replace(reference, components=(changed,)), old)
    assert new.file != old.file
    assert not (copy / old.file).exists()
    assert read_card(copy).domain_check == new


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.load(DEFAULT_MODEL)


def test_the_shipped_model_says_when_a_film_is_from_elsewhere(
    shipped: Predictor, shared_data: Path
) -> None:
    for relative in INSIDE:
        prediction = shipped.predict(shared_data / relative)
        assert prediction.in_domain is True, relative
        assert prediction.outside is None and prediction.validated
    for relative in OUTSIDE_FILES:
        prediction = shipped.predict(shared_data / relative)
        assert prediction.in_domain is False, relative
        assert prediction.outside is not None and prediction.outside.startswith(OUTSIDE)
        assert "pediatric chest radiographs of the Guangzhou" in prediction.outside


def test_a_film_that_is_not_a_chest_says_so_first(shipped: Predictor, dicom_dir: Path) -> None:
    prediction = shipped.predict(dicom_dir / "RG2_UNC.dcm")  # a CR of another body part
    assert prediction.outside is not None and prediction.outside.startswith(NOT_CHEST)


def test_batch_and_single_predictions_agree_on_the_verdict(
    shipped: Predictor, shared_data: Path
) -> None:
    files = [shared_data / f for f in (*INSIDE, *OUTSIDE_FILES)]
    batch = [result.prediction for result in shipped.predict_many(files)]
    for path, prediction in zip(files, batch, strict=True):
        single = shipped.predict(path)
        assert prediction is not None
        assert prediction.in_domain == single.in_domain
        assert prediction.domain_score == pytest.approx(single.domain_score, rel=1e-5)
