"""Ensembles and test-time augmentation as first-class bundles: assembled from two tiny trained
models, round-tripped through disk, served by the Predictor as the card says, with external
figures and the robustness battery in the card."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ConfigError, ModelFileError
from engine.evaluation.assessment import AssessmentConfig
from engine.imaging.images import load_image
from engine.inference.predictor import Predictor
from engine.modeling.bundles import load_bundle
from engine.modeling.card_summary import describe_card
from engine.modeling.preprocessing import preprocess
from engine.modeling.train_config import TrainConfig
from engine.modeling.tta import VIEWS, TtaRecipe, make_views
from engine.workflows.ensemble import build_ensemble
from tests.engine.tiny_bundles import train_tiny

pytestmark = pytest.mark.data


def test_tta_views_keep_the_size_and_start_with_the_image() -> None:
    pixels = np.random.default_rng(0).random((300, 240)).astype(np.float32)
    views = make_views(pixels, 64, tuple(VIEWS))
    assert all(view.shape == (64, 64) for view in views)
    assert np.array_equal(views[1], views[0][:, ::-1])
    assert views[3][0, 0] == 0.0, "zoom-out puts a black border around the image"
    assert not np.allclose(views[2], views[0])


@pytest.mark.parametrize("views", [(), ("hflip",), ("identity", "spin")])
def test_a_bad_tta_recipe_is_refused(views: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="starting with 'identity'"):
        TtaRecipe(views)


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path) -> list[Path]:
    """Two tiny models trained on the same split (a CNN and a dense net, one epoch, 32 px)."""
    out = tmp_path_factory.mktemp("members")
    return [
        train_tiny(tiny_train_set, out, variant, image_size=32, batch_size=8, name=variant)
        for variant in ("cnn", "dense")
    ]


@pytest.fixture(scope="module")
def ensemble(
    members: list[Path], tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path
) -> Path:
    out = tmp_path_factory.mktemp("ensemble") / "both"
    bundle = build_ensemble(
        members,
        out,
        tta=("identity", "hflip"),
        external_dir=tiny_train_set,
        assessment=AssessmentConfig(fit_on="external", robustness_per_class=4),
    )
    assert bundle == out
    return out


def test_ensemble_bundle_round_trips_with_members_tta_and_external_figures(
    ensemble: Path, members: list[Path]
) -> None:
    bundle = load_bundle(ensemble)
    card = bundle.card
    assert len(bundle.members) == 2 and (ensemble / "member_1.keras").is_file()
    assert card.members[0].variant == "dense" and card.members[0].file == "member_1.keras"
    assert card.tta == TtaRecipe(("identity", "hflip"))
    assert card.selection == {"calibration_and_threshold_fitted_on": "external"}
    assert card.external["fitted_on_this_set"] is True
    assert card.external["cross_fitted"]["folds"] == 2
    assert card.external["metrics"]["n"] == 48
    assert [c["name"] for c in card.robustness["changes"]][:2] == ["crop", "pad"]
    assert card.training["ensemble_of"] == [load_bundle(m).card.model_id for m in members]
    assert card.validated_on == load_bundle(members[0]).card.validated_on is not None
    summary = describe_card(card)
    assert (
        "Expected on images from elsewhere (48 external images, calibration and threshold "
        "cross-fitted)" in summary
    )
    assert "Ensemble of 2 networks: cnn, dense" in summary
    assert "Test-time augmentation: mean over identity, hflip" in summary
    assert "chosen on external images" in summary


def test_predictor_serves_the_calibrated_mean_of_members_and_views(
    ensemble: Path, tiny_train_set: Path
) -> None:
    image = next((tiny_train_set / "PNEUMONIA").iterdir())
    pixels = load_image(image).pixels
    bundle = load_bundle(ensemble)
    raws = []
    for member in bundle.members:
        size = member.preprocessing.image_size
        inputs = np.stack(
            [preprocess(view, member.preprocessing) for view in make_views(pixels, size, VIEWS)]
        )
        outputs = np.asarray(member.model.predict_on_batch(inputs[:2])).reshape(-1)
        raws.append(outputs.mean())
    expected = float(bundle.card.calibration.apply(np.mean(raws)))

    prediction = Predictor(bundle).predict(image)
    assert prediction.raw_probability == pytest.approx(float(np.mean(raws)), abs=1e-5)
    assert prediction.probability == pytest.approx(expected, abs=1e-5)
    assert prediction.heatmap is not None and prediction.heatmap.shape == pixels.shape
    batch = next(Predictor(bundle).predict_many([image]))
    assert batch.prediction is not None
    assert batch.prediction.probability == pytest.approx(expected, abs=1e-5)


def test_a_changed_member_file_is_refused(ensemble: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ensemble, copy)
    with (copy / "member_1.keras").open("ab") as stream:
        stream.write(b"tampered")
    with pytest.raises(ModelFileError, match=r"member_1\.keras does not match the checksum"):
        load_bundle(copy)


def test_members_trained_on_another_split_are_refused(members: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(members[1], other)
    card = json.loads((other / "card.json").read_text())
    config = TrainConfig.from_dict(card["training"]["config"])
    card["training"]["config"] = replace(config, seed=config.seed + 1).to_dict()
    (other / "card.json").write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="trained with another split"):
        build_ensemble([members[0], other], tmp_path / "never")
    assert not (tmp_path / "never").exists()
