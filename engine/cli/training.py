"""``hilum train`` and ``hilum variants``: train a model variant headless, list the variants.

TensorFlow is imported only when a command runs, so building the parser stays fast. ``train``
trains in a child process through :func:`engine.workflows.training_process.train_in_process`,
the runner the viewer's Training tab uses, so both train the same way. The child has its own
session and never sees the terminal's Ctrl-C: the first one is caught here and forwarded as
``should_stop`` (the run stops within one batch, no bundle is written, exit status 130); a
second one raises ``KeyboardInterrupt``, which terminates the child at once (exit status 130).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from engine.cli import arguments as cli
from engine.cli.context import CliContext
from engine.errors import HilumError
from engine.modeling.metrics import SCORES
from engine.modeling.variants import list_variants
from engine.progress import Progress

_BAR_WIDTH = 24
_SHOWN_METRICS = ("loss", "auc", "val_loss", "val_auc", "val_accuracy")


def register(commands: cli.Commands) -> None:
    """Add the ``train`` and ``variants`` sub-commands."""
    from engine.modeling.operating_point import OPERATING_POINT_METHODS
    from engine.modeling.train_config import DEFAULT_OUT_DIR, TrainConfig

    defaults = TrainConfig.__dataclass_fields__
    names = [spec.name for spec in list_variants()]
    train = cli.add_command(commands, "train", run_train, workstation=True)

    def default(field: str) -> Any:
        return defaults[field].default

    def config_option(flag: str, field: str = "", **options: Any) -> None:
        """An option defaulting to the :class:`TrainConfig` field named like it (or ``field``)."""
        train.add_argument(
            flag, default=default(field or flag.removeprefix("--").replace("-", "_")), **options
        )

    cli.add_data_argument(train, "the labelled image folder")
    train.add_argument(
        "--variant",
        required=True,
        choices=names,
        metavar="NAME",
        help=f"one of: {', '.join(names)}",
    )
    config_option("--epochs", type=int)
    train.add_argument(
        "--image-size", type=int, metavar="N", help="input side in pixels (default: the variant's)"
    )
    config_option("--batch-size", type=int)
    config_option("--learning-rate", type=float)
    train.add_argument(
        "--weights",
        metavar="FILE",
        help="ImageNet weights file for a transfer variant, or 'imagenet' to "
        "download them (default: random init)",
    )
    config_option(
        "--out",
        "out_dir",
        type=Path,
        metavar="DIR",
        help=f"parent folder of the bundle (default: {DEFAULT_OUT_DIR})",
    )
    config_option("--seed", type=int)
    train.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="use N training-folder images, stratified (quick runs)",
    )
    config_option(
        "--patience",
        "early_stopping_patience",
        type=int,
        help="early-stopping patience in epochs (validation AUC)",
    )
    config_option("--fine-tune-epochs", type=int, help="fine-tuning epochs of transfer variants")
    train.add_argument(
        "--fine-tune-from",
        help="first backbone layer opened for fine-tuning (default: the variant's own)",
    )
    config_option("--validation-fraction", type=float)
    config_option("--operating-point", choices=OPERATING_POINT_METHODS)
    cli.add_target_sensitivity_option(train, default("target_sensitivity"))
    cli.add_calibration_option(train, default("calibration"))
    cli.add_external_option(
        train,
        "images from elsewhere (NORMAL/ and PNEUMONIA/) to measure the model on; never trained on",
    )
    cli.add_fit_on_option(
        train,
        default("fit_on"),
        "the set that fits the calibration and chooses the threshold",
    )
    cli.add_tta_option(train, "test-time views averaged by the bundle")
    train.add_argument("--no-augmentation", action="store_true", help="turn augmentation off")
    train.add_argument(
        "--no-class-weighting", action="store_true", help="do not balance the classes in the loss"
    )
    train.add_argument(
        "--nondeterministic", action="store_true", help="skip TensorFlow op determinism"
    )
    train.add_argument("--name", default=None, help="display name of the model")
    train.add_argument(
        "--site", default=None, help="where the images come from, for the card (e.g. a hospital)"
    )
    train.add_argument(
        "--ages",
        type=_age_range,
        default=None,
        metavar="MIN-MAX",
        help="the patients' ages in whole years, e.g. 1-5: older or younger patients get a "
        "warning (default: not recorded, no warning)",
    )
    cli.add_command(commands, "variants", run_variants, workstation=True)


def _age_range(text: str) -> tuple[int, int]:
    """``"1-5"`` -> ``(1, 5)``, for ``--ages`` (the range itself is checked by TrainConfig)."""
    low, dash, high = text.partition("-")
    try:
        if dash:
            return int(low), int(high)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected MIN-MAX in whole years, e.g. 1-5; got {text!r}")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~engine.workflows.training.TrainConfig` the ``train`` arguments describe.

    Raises:
        ConfigError: a value is out of range (the message names the setting).
    """
    from engine.modeling.architectures import IMAGENET
    from engine.modeling.train_config import TrainConfig

    download = args.weights == IMAGENET
    return TrainConfig(
        variant=args.variant,
        data_dir=args.data,
        out_dir=args.out,
        image_size=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        augmentation=not args.no_augmentation,
        class_weighting=not args.no_class_weighting,
        early_stopping_patience=args.patience,
        seed=args.seed,
        weights_file=None if download or args.weights is None else Path(args.weights),
        download_weights=download,
        limit=args.limit,
        fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_from=args.fine_tune_from,
        validation_fraction=args.validation_fraction,
        operating_point=args.operating_point,
        target_sensitivity=args.target_sensitivity,
        calibration=args.calibration,
        external_dir=args.external,
        fit_on=args.fit_on,
        tta=cli.views(args.tta),
        deterministic=not args.nondeterministic,
        name=args.name,
        site=args.site,
        ages=args.ages,
    )


class ProgressBar:
    """A one-line terminal progress bar (``\\r`` updates), one finished line per epoch."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # Looked up now, not at import: the stream may have been replaced since (pytest, IDEs).
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()

    def __call__(self, progress: Progress) -> None:
        """Draw ``progress``."""
        fraction = progress.fraction or 0.0
        filled = round(fraction * _BAR_WIDTH)
        values = "  ".join(
            f"{key} {progress.metrics[key]:.4f}"
            for key in _SHOWN_METRICS
            if key in progress.metrics
        )
        line = (
            f"\r{progress.message:<16} [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] "
            f"{progress.done}/{progress.total}  {values}"
        )
        if progress.final_of_epoch:
            elapsed = time.perf_counter() - self.started
            self.stream.write(f"{line}  ({elapsed:.0f} s)\n")
        else:
            self.stream.write(line)
        self.stream.flush()


class _CancelOnInterrupt:
    """While active, the first SIGINT asks the run to stop; the second raises as usual.

    Called, it is the run's ``should_stop``.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _CancelOnInterrupt:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nStopping after this batch (Ctrl-C again to interrupt now)...", file=sys.stderr)

    def __call__(self) -> bool:
        return self.requested


def run_train(args: argparse.Namespace, context: CliContext) -> int:
    """Train a model variant and write its bundle.

    Train a variant on a folder with NORMAL/ and PNEUMONIA/ (or a chest_xray root with train/),
    choose its operating point and calibration on a patient-grouped validation split, and write
    the model bundle to OUT/<model_id>.

    Runs in a child process (the Training tab's runner, :mod:`engine.workflows.training_process`),
    then prints the bundle path and the validation metrics; 130 when cancelled.

    The command line is stored in the card (``command``) so that the run can be repeated.

    Raises:
        HilumError: what training raised in the child (same type and message).
    """
    from engine.modeling.bundles import update_card
    from engine.workflows.training_process import train_in_process

    config = config_from_args(args)
    with _CancelOnInterrupt() as cancel:
        result = train_in_process(config, on_progress=ProgressBar(), should_stop=cancel)
    if result.cancelled:
        print("Training cancelled; no model was written.", file=sys.stderr)
        return 130
    card = result.card
    if card is None or card.validation_metrics is None:  # training sets both when it ends
        raise HilumError("Training ended without a model card; see the messages above.")
    metrics, training = card.validation_metrics, card.training
    print(
        f"\nModel: {card.model_id} ({card.variant}, {training['parameters']:,} "
        f"parameters, {training['epochs_run']} epochs, best {training['best_epoch']}, "
        f"{training['total_seconds']:.0f} s)"
    )
    if result.bundle is None:
        print("This worker is not the chief: the chief writes the bundle.")
        return 0
    card = update_card(result.bundle, replace(card, command=shlex.join(["hilum", *context.argv])))
    method = card.operating_point.method if card.operating_point else "?"
    print(f"Bundle: {result.bundle}")
    print(
        f"Validation ({metrics.n} images, threshold {card.threshold:.4f} by {method}, "
        f"calibration {card.calibration.method}):"
    )
    figures = metrics.to_dict()
    print(
        "  "
        + "  ".join(f"{key} {figures[key]:.4f}" for key in SCORES if figures.get(key) is not None)
    )
    (tn, fp), (fn, tp) = metrics.confusion_matrix
    print(f"  confusion matrix: TN {tn}  FP {fp}  FN {fn}  TP {tp}")
    return 0


def run_variants(_args: argparse.Namespace, _context: object) -> int:
    """List the model variants.

    List every variant with its parameter count, input size and Grad-CAM layer.

    Models are built without weights to count parameters.
    """
    from engine.modeling.variants import build_model

    header = f"{'name':<13}{'parameters':>12}  {'input':<12}{'Grad-CAM layer':<22}description"
    print(header)
    print("-" * len(header))
    for spec in list_variants():
        model = build_model(spec)
        size = "x".join(str(side) for side in spec.preprocessing.input_shape)
        print(
            f"{spec.name:<13}{model.count_params():>12,}  {size:<12}{spec.gradcam_layer:<22}"
            f"{spec.description}"
        )
    return 0
