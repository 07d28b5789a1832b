"""Assemble trained bundles into one: an ensemble, a test-time augmentation recipe, or both.

``hilum ensemble MEMBER... --out DIR [--tta VIEWS] [--external DIR --fit-on external]`` loads
the members, averages their raw probabilities over the test-time views
(:class:`~engine.inference.scorer.Scorer`), fits one calibration and one operating point for the
average, measures it on validation and external images, runs the robustness battery
(:func:`engine.evaluation.assessment.assess`) and writes a bundle like any other: one card,
``model.keras`` plus ``member_N.keras``, atomically. With a single member it re-assesses a
trained model with test-time augmentation or with calibration fitted on external images.

Members must have been trained on the same data with the same split (root, seed, fraction,
limit): the validation images are then held out of every member's training, and the figures on
them stay honest. That is checked, not assumed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ConfigError
from engine.evaluation.assessment import AssessmentConfig, assess
from engine.evaluation.domain_fitting import trained_domain_check
from engine.inference.network_export import export_networks
from engine.inference.ood import REFERENCE_FILE
from engine.inference.scorer import Scorer
from engine.modeling.bundles import Bundle, load_bundle, write_bundle
from engine.modeling.card import MemberSpec, ModelCard
from engine.modeling.labelled_folders import read_labelled_set
from engine.modeling.train_config import TrainConfig
from engine.modeling.tta import TtaRecipe
from engine.progress import Cancelled, OnProgress, ShouldStop, ignore_progress, never_stop
from engine.workflows.training import split_of

#: Training settings that decide the validation split; members must agree on all of them.
SPLIT_KEYS = ("data_dir", "seed", "validation_fraction", "limit")


def _training_config(bundle: Bundle) -> TrainConfig:
    try:
        return TrainConfig.from_dict(dict(bundle.card.training["config"]))
    except (KeyError, TypeError) as error:
        raise ConfigError(
            f"{bundle.path}: its card does not say how it was trained ({error!r}); only bundles "
            "written by `hilum train` can be ensembled."
        ) from None


def _check_same_split(bundles: Sequence[Bundle]) -> TrainConfig:
    configs = [_training_config(bundle) for bundle in bundles]
    first = configs[0].to_dict()
    for bundle, config in zip(bundles[1:], configs[1:], strict=True):
        other = config.to_dict()
        different = [key for key in SPLIT_KEYS if other[key] != first[key]]
        if different:
            raise ConfigError(
                f"{bundle.path} was trained with another split than {bundles[0].path} "
                f"({', '.join(f'{key}: {other[key]} vs {first[key]}' for key in different)}); "
                "its training images may be the others' validation images. Retrain it with the "
                "same data folder, --seed, --validation-fraction and --limit."
            )
    return configs[0]


def build_ensemble(
    member_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    tta: Sequence[str] = ("identity",),
    external_dir: str | os.PathLike[str] | None = None,
    assessment: AssessmentConfig | None = None,
    name: str | None = None,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> Path | None:
    """Assemble, assess and write; see the module docstring.

    Args:
        member_dirs: trained bundles (each may itself be an ensemble).
        out_dir: the new bundle folder (must not exist).
        tta: test-time views, starting with ``identity``.
        external_dir: images from elsewhere (class folders), or ``None``.
        assessment: calibration, operating point and robustness settings.
        name: the display name.
        on_progress: assessment progress.
        should_stop: polled during the assessment; returns ``None`` when stopped.

    Returns:
        The bundle folder, or ``None`` when stopped (nothing written).

    Raises:
        ConfigError: no member, members with different splits, a bad TTA recipe.
        ModelFileError: a member cannot be loaded, or the bundle cannot be written.
        DatasetError: the data folders are unusable.
    """
    if not member_dirs:
        raise ConfigError("An ensemble needs at least one trained bundle.")
    recipe = TtaRecipe(tuple(tta))
    bundles = [load_bundle(path) for path in member_dirs]
    config = _check_same_split(bundles)
    members = [member for bundle in bundles for member in bundle.members]
    scorer = Scorer(members, recipe)
    external = None if external_dir is None else read_labelled_set(external_dir)
    result = assess(
        scorer,
        split_of(config).validation,
        external,
        assessment or AssessmentConfig(seed=config.seed),
        on_progress=on_progress,
        should_stop=should_stop,
    )
    if result is None:
        return None
    specs = tuple(
        MemberSpec(
            bundle.card.model_id, bundle.card.variant, member.preprocessing, member.gradcam_layer
        )
        for bundle in bundles
        for member in bundle.members
    )[1:]
    card = replace(_ensemble_card(bundles, recipe, name), members=specs, **result.card_fields())
    reference = bundles[0].path / REFERENCE_FILE
    extra_files: dict[str, str | bytes] = {}
    if reference.is_file():
        extra_files[REFERENCE_FILE] = reference.read_text()
    # The domain check of an ensemble compares every member's features (each member's entries;
    # an image's score averages over all of them), on the identity view: the image as shown.
    try:
        domain, domain_files = trained_domain_check(
            members, split_of(config), on_progress=on_progress, should_stop=should_stop
        )
    except Cancelled:
        return None
    extra_files.update(domain_files)
    return write_bundle(
        members[0].model,
        replace(card, domain_check=domain),
        out_dir,
        extra_files=extra_files,
        extra_models=[member.model for member in members[1:]],
        export=export_networks,
    )


def _ensemble_card(bundles: Sequence[Bundle], recipe: TtaRecipe, name: str | None) -> ModelCard:
    """The first member's card, re-identified, with the ensemble's composition and costs."""
    first = bundles[0].card
    model_id = f"ensemble-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    training = dict(first.training)
    training["total_seconds"] = round(
        sum(float(b.card.training.get("total_seconds") or 0) for b in bundles), 2
    )
    training["parameters"] = sum(int(m.model.count_params()) for b in bundles for m in b.members)
    training["ensemble_of"] = [bundle.card.model_id for bundle in bundles]
    return replace(
        first,
        model_id=model_id,
        name=name or model_id,
        tta=recipe,
        training=training,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        model_sha256="",
        command=None,
    )
