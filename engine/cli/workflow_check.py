"""The workflow half of ``hilum --self-test``: train, evaluate, predict and report, as a user does.

Why: an installation can read images and predict with the shipped model, yet be unable to
train (issue 11: the first bundle had no ``train`` command, and no scikit-learn). These checks
run the CLI's own commands (:func:`engine.cli.main`, in this process, so that the modules the
installation really holds are used) on a small generated data set: ``train`` for one epoch,
``evaluate`` and ``predict --json`` with the model just trained, then a PDF report of one of its
predictions. The images are synthetic chest-like phantoms
(:func:`engine.workflows.self_check.phantom`), so the figures say nothing about accuracy, only
that every step runs and produces its output.

The reading room (no TensorFlow) cannot train: there ``train`` must refuse with the message that
says how to get the full workstation, and the other steps use the shipped model instead.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from engine.cli.context import CliContext
from engine.cli.main import main
from engine.runtime import training_available
from engine.workflows.self_check import Check, phantom, timed

#: Images per class of the generated data set (enough for a patient-grouped validation split).
IMAGES_PER_CLASS = 24
#: Side of the generated images and of the model trained on them.
IMAGE_SIZE = 64


def generated_data(folder: Path, per_class: int = IMAGES_PER_CLASS) -> Path:
    """Write a labelled folder of phantoms: NORMAL/ plain, PNEUMONIA/ with a bright opacity.

    File names follow the real data's patterns (``IM-0001-0001``, ``person1_bacteria_1``) so
    that each image is its own patient in the patient-grouped split.
    """
    rng = np.random.default_rng(0)
    base = phantom(IMAGE_SIZE * 2).astype(np.float32)
    y, x = np.mgrid[0 : base.shape[0], 0 : base.shape[1]] / base.shape[0]
    for label in ("NORMAL", "PNEUMONIA"):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for index in range(1, per_class + 1):
            image = base + rng.normal(0.0, 8.0, base.shape)
            if label == "PNEUMONIA":
                cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.65)
                image += 90.0 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 0.01)
            name = f"IM-{index:04d}-0001" if label == "NORMAL" else f"person{index}_bacteria_1"
            pixels = np.clip(image, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{name}.png")
    return folder


def _run(args: list[str], context: CliContext) -> tuple[int, str, str]:
    """Run ``hilum ARGS`` in this process; its exit status, standard output and error output
    (a usage error, which argparse raises as ``SystemExit``, is a status like any other)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(args, context)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 2
    return status, out.getvalue(), err.getvalue()


def _command(args: list[str], context: CliContext) -> str:
    """Run ``hilum ARGS`` in this process; return its standard output.

    Raises:
        RuntimeError: the command exited non-zero (its error output is in the message).
    """
    status, out, err = _run(args, context)
    if status != 0:
        raise RuntimeError(f"`hilum {' '.join(args[:1])}` exited with {status}: {err[-400:]}")
    return out


def _train_refused(data: Path, context: CliContext) -> str:
    """The reading room's ``train``: it must exit non-zero saying the full workstation is needed."""
    status, _, err = _run(["train", str(data), "--variant", "cnn", "--epochs", "1"], context)
    if status == 0 or "full Hilum workstation" not in err:
        raise RuntimeError(f"`hilum train` exited with {status} without the message: {err[-400:]}")
    return err.strip().splitlines()[-1][:90]


def run_workflow_checks(folder: Path, shipped_model: Path | None = None) -> list[Check]:
    """Train, evaluate, predict and write a PDF in ``folder``; one :class:`Check` per step.

    In the reading room, check instead that ``train`` refuses plainly, and evaluate, predict and
    report with ``shipped_model``. A step that depends on a failed one is reported as failed too
    (with the reason).
    """
    context = CliContext()
    data = generated_data(folder / "data")
    runs = folder / "runs"
    bundles: list[Path] = []
    if not training_available():
        bundles.extend([shipped_model] if shipped_model else [])
        first = timed("train (CLI) says: full workstation", lambda: _train_refused(data, context))
        return [first, *_model_checks(folder, data, bundles, context)]

    def train() -> str:
        options = {"--variant": "cnn", "--epochs": "1", "--image-size": str(IMAGE_SIZE)}
        options |= {"--batch-size": "8", "--out": str(runs)}
        arguments = [text for pair in options.items() for text in pair]
        _command(["train", str(data), *arguments, "--no-augmentation"], context)
        bundles.extend(sorted(path for path in runs.iterdir() if path.is_dir()))
        if len(bundles) != 1:
            raise RuntimeError(f"expected one model bundle in {runs}, found {len(bundles)}")
        return f"wrote {bundles[0].name}"

    return [timed("train (CLI, 1 epoch)", train), *_model_checks(folder, data, bundles, context)]


def _model_checks(
    folder: Path, data: Path, bundles: list[Path], context: CliContext
) -> list[Check]:
    """Evaluate, predict and report with the bundle in ``bundles`` (filled by an earlier step)."""

    def evaluate() -> str:
        report = json.loads(
            _command(["evaluate", str(_bundle(bundles)), str(data), "--json"], context)
        )
        return f"{report['n']} images, accuracy {report['accuracy']:.2f} (synthetic data)"

    predictions: list[dict[str, object]] = []

    def predict() -> str:
        images = [str(next((data / label).iterdir())) for label in ("NORMAL", "PNEUMONIA")]
        rows = json.loads(
            _command(["predict", *images, "--model", str(_bundle(bundles)), "--json"], context)
        )
        if [row["error"] for row in rows] != [None, None]:
            raise RuntimeError(f"predict --json reported errors: {rows}")
        predictions.extend(rows)
        return ", ".join(f"p={row['probability']:.3f}" for row in rows)

    def report() -> str:
        from engine.imaging.images import load_image
        from engine.inference.prediction_report import write_pdf_report
        from engine.inference.predictor import Predictor
        from engine.modeling.bundles import read_card

        if not predictions:
            raise RuntimeError("no prediction to report (predict failed)")
        bundle = _bundle(bundles)
        image = load_image(Path(str(predictions[-1]["path"])))
        prediction = Predictor.load(bundle).predict(image)
        path = write_pdf_report(
            folder / "report.pdf",
            image.pixels,
            prediction.heatmap,
            prediction,
            read_card(bundle),
            file_name=image.source.name,
            heatmap_kind=prediction.heatmap_kind,
        )
        if not path.read_bytes().startswith(b"%PDF-"):
            raise RuntimeError(f"{path} is not a PDF")
        return f"{path.stat().st_size // 1024} KB"

    return [
        timed("evaluate --json (CLI)", evaluate),
        timed("predict --json (CLI)", predict),
        timed("PDF report", report),
    ]


def _bundle(bundles: list[Path]) -> Path:
    if not bundles:
        raise RuntimeError("no model was trained (train failed)")
    return bundles[0]
