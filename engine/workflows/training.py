"""Train a model variant on a labelled folder and write it as a model bundle.

:func:`train` runs the whole recipe the viewer's Training tab and ``hilum train`` share:

1. pick the device and distribution strategy (:mod:`engine.workflows.distribution`: one or
   several GPUs, the CPU, or a ``TF_CONFIG`` cluster of workers);
2. seed everything (and, by default, enable TensorFlow's op determinism: same seed, same data ->
   same weights and metrics on the CPU; measured at no cost on this CPU for our variants);
3. read the data, carve a patient-grouped validation split, build cached ``tf.data`` pipelines
   (:mod:`engine.modeling.datasets`);
4. fit with early stopping and reduce-on-plateau on validation AUC, keeping the best epoch's
   weights in memory; transfer variants first train their head on a frozen backbone, then
   fine-tune the top blocks at a lower learning rate;
5. on the validation set, with the saved model and inference's own preprocessing path: fit the
   probability calibration, choose the operating point on the calibrated probabilities, compute
   the metrics;
6. write the bundle (``model.keras`` + ``card.json``) atomically under ``out_dir/<model_id>``.

Cancelling (``should_stop()`` returning True) stops within one batch and returns a
:class:`TrainingResult` with ``cancelled=True`` and no bundle; an exception or a killed process
leaves no bundle either (nothing is written before step 6, which is atomic).
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.inference.network_export import export_networks
from engine.modeling import datasets, variants
from engine.modeling.architectures import unfreeze_top
from engine.modeling.augmentation import RECIPE
from engine.modeling.bundles import Member
from engine.modeling.card import ModelCard
from engine.modeling.labelled_folders import find_data_folders, read_labelled_set, stratified_limit
from engine.modeling.train_config import TrainConfig
from engine.modeling.tta import TtaRecipe
from engine.modeling.validation_sites import Site, ValidatedOn
from engine.progress import Cancelled, OnProgress, ShouldStop, ignore_progress, never_stop
from engine.runtime import tensorflow
from engine.workflows.distribution import Distribution, choose_strategy, multi_worker_keras_fixes
from engine.workflows.training_callbacks import best_weights_callback, progress_callback

if TYPE_CHECKING:
    from engine.evaluation.assessment import Assessment

#: The metric that early stopping, reduce-on-plateau and the best checkpoint watch.
MONITOR = "val_auc"


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train` produced.

    Attributes:
        bundle: the written bundle folder; ``None`` when cancelled or on a non-chief worker.
        card: the model card as written (``None`` when cancelled).
        history: per-epoch values of every metric (``loss``, ``val_auc``, ...).
        cancelled: True when ``should_stop`` ended the run (no bundle was written).
    """

    bundle: Path | None
    card: ModelCard | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    cancelled: bool = False


@dataclass
class _Run:
    """Mutable state of one training run, shared by its two phases."""

    model: Any
    data: datasets.Split
    train_set: Any
    validation_set: Any
    logs: tuple[datasets.DecodeLog, datasets.DecodeLog]
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    early_stopped: bool = False


def compile_model(model: Any, learning_rate: float) -> None:
    """Compile for binary classification: Adam, cross-entropy, AUC/accuracy/precision/recall."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[
            keras.metrics.AUC(name="auc"),
            keras.metrics.BinaryAccuracy(name="accuracy"),
            keras.metrics.Precision(name="precision"),
            keras.metrics.Recall(name="recall"),
        ],
    )


def _fit(
    run: _Run,
    config: TrainConfig,
    callbacks: list[Any],
    first: int,
    last: int,
    distribution: Distribution,
) -> None:
    """Fit epochs ``first + 1 .. last`` and append to ``run.history``."""
    import keras

    stopper = keras.callbacks.EarlyStopping(
        monitor=MONITOR, mode="max", patience=config.early_stopping_patience
    )
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor=MONITOR,
        mode="max",
        factor=0.5,
        min_lr=1e-6,
        patience=max(1, config.early_stopping_patience // 2),
    )
    started = time.perf_counter()
    try:
        with multi_worker_keras_fixes(distribution):
            history = run.model.fit(
                run.train_set,
                validation_data=run.validation_set,
                initial_epoch=first,
                epochs=last,
                shuffle=False,
                callbacks=[*callbacks, stopper, plateau],
                verbose=0,
            )
    finally:
        run.seconds += time.perf_counter() - started
    for key, values in history.history.items():
        run.history.setdefault(key, []).extend(float(value) for value in values)
    run.early_stopped = run.early_stopped or stopper.stopped_epoch > 0


def _inference_copy(model: Any) -> Any:
    """The model without its optimizer state (Adam's two moments would triple the bundle)."""
    import keras

    copy = keras.Model.from_config(model.get_config())  # clone_model would copy compile state
    copy.set_weights(model.get_weights())
    return copy


def _versions() -> dict[str, str]:
    tf = tensorflow()
    import keras

    try:
        hilum = metadata.version("hilum")
    except metadata.PackageNotFoundError:
        hilum = "unknown"
    return {
        "hilum": hilum,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def split_of(config: TrainConfig) -> datasets.Split:
    """The training/validation split a run with ``config`` uses (the same on every call).

    Raises:
        DatasetError: the data folder is unusable or too small to split.
    """
    folders = find_data_folders(config.data_dir)
    folders = type(folders)(
        stratified_limit(folders.train, config.limit, config.seed), folders.validation, None
    )
    return datasets.make_split(folders, config.validation_fraction, config.seed)


def _prepare(config: TrainConfig, distribution: Distribution) -> _Run:
    spec = variants.get_variant(config.variant)
    preprocessing = spec.preprocessing_for(config.image_size)
    split = split_of(config)
    datasets.check_trainable(split)
    logs = (datasets.DecodeLog(), datasets.DecodeLog())
    weights = datasets.class_weights(split.train.labels) if config.class_weighting else None
    train_set = datasets.make_dataset(
        split.train,
        preprocessing,
        batch_size=config.batch_size,
        training=True,
        augment=config.augmentation,
        seed=config.seed,
        log=logs[0],
        weights=weights,
    )
    validation_set = datasets.make_dataset(
        split.validation,
        preprocessing,
        batch_size=config.batch_size,
        training=False,
        augment=False,
        seed=config.seed,
        log=logs[1],
    )
    with distribution.strategy.scope():
        model = variants.build_model(spec, config.image_size, config.weights)
        compile_model(model, config.learning_rate)
    return _Run(model, split, train_set, validation_set, logs)


def _assess(
    config: TrainConfig,
    run: _Run,
    model: Any,
    on_progress: OnProgress,
    should_stop: ShouldStop,
) -> Assessment | None:
    """Calibrate, choose the threshold, measure and shake the trained model through the
    viewer's forward path (:func:`engine.evaluation.assessment.assess`)."""
    from engine.evaluation.assessment import AssessmentConfig, assess
    from engine.inference.scorer import Scorer

    spec = variants.get_variant(config.variant)
    member = Member(model, spec.preprocessing_for(config.image_size), spec.gradcam_layer)
    external = None if config.external_dir is None else read_labelled_set(config.external_dir)
    return assess(
        Scorer([member], TtaRecipe(tuple(config.tta))),
        run.data.validation,
        external,
        AssessmentConfig(
            config.fit_on,
            config.calibration,
            config.operating_point,
            config.target_sensitivity,
            config.seed,
        ),
        on_progress=on_progress,
        should_stop=should_stop,
    )


def _card(
    config: TrainConfig,
    run: _Run,
    best_epoch: int,
    distribution: Distribution,
    model_id: str,
    assessment: Assessment,
) -> ModelCard:
    spec = variants.get_variant(config.variant)
    preprocessing = spec.preprocessing_for(config.image_size)
    epochs_run = len(run.history.get("loss", []))
    split = run.data
    return ModelCard(
        model_id=model_id,
        name=config.name or model_id,
        variant=spec.name,
        preprocessing=preprocessing,
        gradcam_layer=spec.gradcam_layer,
        tta=TtaRecipe(tuple(config.tta)),
        **assessment.card_fields(),
        training={
            "config": config.to_dict(),
            "history": run.history,
            "epochs_run": epochs_run,
            "best_epoch": best_epoch,
            "total_seconds": round(run.seconds, 2),
            "seconds_per_epoch": round(run.seconds / max(epochs_run, 1), 2),
            "parameters": int(run.model.count_params()),
            "weights": variants.weights_source(config.weights).to_card(),
            "augmentation": dict(RECIPE) if config.augmentation else None,
            "stopped": "early_stopping" if run.early_stopped else "completed",
        },
        data={
            "root": str(Path(config.data_dir).resolve()),
            "counts": {"train": split.train.counts(), "validation": split.validation.counts()},
            "file_list_sha256": datasets.file_list_sha256(split.train, split.validation),
            "unreadable_skipped": run.logs[0].count + run.logs[1].count,
            "split": split.to_card(),
        },
        versions=_versions(),
        validated_on=ValidatedOn((_site(config, split),)),
        device=distribution.description,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _site(config: TrainConfig, split: datasets.Split) -> Site:
    """The training data's site as the trainer named it; "unspecified" with the folder when not
    (ages and views stay unrecorded unless given: no age warning then)."""
    folder = Path(config.data_dir).resolve()
    return Site(
        name=config.site or f"unspecified (images from {folder})",
        ages=config.ages,
        images={"training": len(split.train.paths), "validation": len(split.validation.paths)},
    )


def train(
    config: TrainConfig,
    *,
    on_progress: OnProgress | None = None,
    should_stop: ShouldStop | None = None,
) -> TrainingResult:
    """Train ``config.variant`` on ``config.data_dir`` and write its bundle.

    Args:
        config: the run's settings.
        on_progress: called after every batch and, with ``final_of_epoch=True`` and the
            validation metrics, after every epoch.
        should_stop: polled after every batch; returning True cancels the run.

    Returns:
        The :class:`TrainingResult`; ``cancelled=True`` and no bundle when stopped.

    Raises:
        DatasetError: the data folder is unusable.
        ConfigError: the ``TF_CONFIG`` cluster description is malformed.
        ModelFileError: the weights file does not fit, or the bundle cannot be written.
    """
    distribution = choose_strategy()  # first: a multi-worker strategy must precede any TF op
    tensorflow()
    import keras

    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tensorflow().config.experimental.enable_op_determinism()
    model_id = f"{config.variant}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    run = _prepare(config, distribution)
    spec = variants.get_variant(config.variant)
    fine_tune = bool(spec.transfer and config.fine_tune_epochs > 0 and spec.fine_tune_from)
    total_epochs = config.epochs + (config.fine_tune_epochs if fine_tune else 0)
    progress = progress_callback(
        on_progress or ignore_progress,
        should_stop or never_stop,
        datasets.steps(run.data.train, config.batch_size),
        total_epochs,
    )
    best = best_weights_callback(MONITOR)
    try:
        _fit(run, config, [progress, best], 0, config.epochs, distribution)
        if fine_tune and not progress.cancelled:
            best.restore(run.model)
            with distribution.strategy.scope():
                unfreeze_top(run.model, config.fine_tune_from or str(spec.fine_tune_from))
                compile_model(
                    run.model, config.fine_tune_learning_rate or config.learning_rate / 10
                )
            done = len(run.history["loss"])  # fewer than config.epochs after early stopping
            _fit(run, config, [progress, best], done, done + config.fine_tune_epochs, distribution)
    except Cancelled:
        pass
    if progress.cancelled:
        return TrainingResult(None, history=run.history, cancelled=True)
    best.restore(run.model)
    model = _inference_copy(run.model)  # what the bundle holds, outside any distribution
    assessment = _assess(
        config, run, model, on_progress or ignore_progress, should_stop or never_stop
    )
    if assessment is None:
        return TrainingResult(None, history=run.history, cancelled=True)
    card = _card(config, run, best.best_epoch, distribution, model_id, assessment)
    if not distribution.is_chief:
        return TrainingResult(None, card, run.history)
    from engine.evaluation.domain_fitting import trained_domain_check
    from engine.inference.ood import fit_ood_reference, reference_files
    from engine.modeling.bundles import read_card, write_bundle

    # The out-of-distribution check's reference (engine.inference.ood) and the domain check's
    # (engine.modeling.domain_reference) are fitted on the same training images and written
    # inside the bundle's atomic step; the Predictor reads them there.
    reference = fit_ood_reference(run.data.train.paths)  # ~8 s on 5,216 images
    try:
        domain, files = trained_domain_check(
            (Member(model, card.preprocessing, card.gradcam_layer),),
            run.data,
            on_progress=on_progress or ignore_progress,
            should_stop=should_stop or never_stop,
        )
    except Cancelled:
        return TrainingResult(None, history=run.history, cancelled=True)
    bundle = write_bundle(
        model,
        replace(card, domain_check=domain),
        Path(config.out_dir) / model_id,
        extra_files={**reference_files(reference), **files},
        export=export_networks,
    )
    return TrainingResult(bundle, read_card(bundle), run.history)
