"""Commissioning a bundle for a site, and the bootstrap intervals its figures carry (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DatasetError
from engine.evaluation.bootstrap import with_intervals
from engine.evaluation.domain_fitting import image_features
from engine.inference.predictor import Predictor
from engine.modeling.bundles import load_bundle, read_card
from engine.modeling.domain_reference import load_domain_reference
from engine.workflows.commissioning import CommissionConfig, commission, read_site
from engine.workflows.promotion import check_promotion
from engine.workflows.site_card import MIN_TEST_PER_CLASS, site_section
from tests.engine.tiny_bundles import domain_checked_bundle
from tests.site_folders import link_site


def test_intervals_hold_the_figure_and_narrow_with_more_patients() -> None:
    rng = np.random.default_rng(0)

    def widths(n: int) -> tuple[float, float]:
        labels = np.r_[np.zeros(n), np.ones(n)].astype(int)
        probabilities = np.clip(labels * 0.3 + rng.uniform(0, 0.7, 2 * n), 0, 1)
        figures = with_intervals(labels.tolist(), probabilities.tolist(), 0.5)
        auc = figures["auc"]
        assert auc.low is not None and auc.high is not None and auc.value is not None
        assert auc.low <= auc.value <= auc.high
        return auc.high - auc.low, figures["sensitivity"].value or 0.0

    small, _ = widths(20)
    large, _ = widths(500)
    assert large < small / 2


def test_perfect_separation_has_no_uncertainty_in_auc() -> None:
    figures = with_intervals([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], 0.5)
    assert (figures["auc"].value, figures["auc"].low, figures["auc"].high) == (1.0, 1.0, 1.0)
    assert figures["specificity"].value == 1.0


def test_one_patients_films_are_resampled_together() -> None:
    # Two patients with many films each: the bootstrap draws patients, so some resamples hold
    # one class only and the AUC of those is undefined; per-image resampling never would.
    labels = [0] * 20 + [1] * 20
    probabilities = [0.4] * 20 + [0.6] * 20
    grouped = with_intervals(labels, probabilities, 0.5, ["a"] * 20 + ["b"] * 20, resamples=200)
    assert grouped["auc"].value == 1.0
    assert grouped["auc"].low is None  # too few resamples with both classes to give an interval


@pytest.fixture(scope="module")
def site_bundle(
    tmp_path_factory: pytest.TempPathFactory, tiny_train_set: Path, site_folder: Path
) -> Path:
    folder = domain_checked_bundle(tmp_path_factory.mktemp("original") / "tiny", tiny_train_set)
    out = tmp_path_factory.mktemp("commissioned") / "site"
    config = CommissionConfig(folder, site_folder, out, "Second Hospital", external=tiny_train_set)
    return commission(config)


def test_the_site_bundle_records_the_site_split_and_figures(site_bundle: Path) -> None:
    card = read_card(site_bundle)
    section = site_section(card)
    assert section is not None and section["site"] == "Second Hospital"
    split = section["split"]
    assert split["fit"]["NORMAL"] + split["test"]["NORMAL"] == 40
    assert split["fit"]["PNEUMONIA"] + split["test"]["PNEUMONIA"] == 40
    assert section["data"]["manifest_sha256"]
    assert sum(section["data"]["counts"]["NORMAL"].values()) == 40
    for moment in ("before", "after"):
        figures = section["figures"]["test_part"][moment]
        assert figures["images"] == split["test"]["NORMAL"] + split["test"]["PNEUMONIA"]
        assert set(figures["auc"]) == {"value", "low", "high"}
    assert "external" in section["figures"]
    assert card.domain_check is not None
    assert [s.name for s in card.domain_check.sources] == ["home", "Second Hospital"]


def test_a_site_film_is_scored_by_the_site_head(site_bundle: Path, site_folder: Path) -> None:
    bundle = load_bundle(site_bundle)
    assert bundle.card.domain_check is not None
    reference = load_domain_reference(site_bundle, bundle.card.domain_check)
    head = reference.components[1].head
    assert head is not None
    films = sorted(site_folder.rglob("*.png"))[:10]
    features = image_features(bundle.members, reference.entries, films)
    _, assigned = reference.assign(features)
    predictor = Predictor.load(site_bundle)
    checked = 0
    for index, film in enumerate(films):
        if assigned[index] != 1:
            continue
        prediction = predictor.predict(film)
        expected = head.probabilities([values[index : index + 1] for values in features])[0]
        assert prediction.probability == pytest.approx(expected, abs=1e-6)
        assert prediction.threshold == head.threshold
        checked += 1
    assert checked > 0


def test_a_small_test_part_is_refused_for_promotion(site_bundle: Path) -> None:
    check = check_promotion(site_bundle)
    assert not check.allowed
    assert any(str(MIN_TEST_PER_CLASS) in error for error in check.errors)
    assert check.site and check.site[0].startswith("Commissioned for Second Hospital")


def test_a_site_with_too_few_patients_is_refused_naming_the_folder(
    shared_data: Path, tmp_path: Path
) -> None:
    # The first 12 films of each class hold 9 NORMAL patients: the test part would keep about 4
    # and the fit part could not be cross-fitted in 5 folds (sklearn failed with a bare
    # ValueError). read_site is commission's first look at the site, and needs no model.
    site = link_site(shared_data / "sites" / "nih", tmp_path / "small", 12)
    config = CommissionConfig(tmp_path / "no-bundle", site, tmp_path / "out", "Small")
    with pytest.raises(DatasetError) as refused:
        read_site(config)
    assert str(site) in str(refused.value) and "9 NORMAL patient(s)" in str(refused.value)
    bigger = link_site(shared_data / "sites" / "nih", tmp_path / "bigger", 18)
    assert len(read_site(replace(config, site_data=bigger)).images) == 36
