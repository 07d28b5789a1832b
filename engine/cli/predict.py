"""``hilum predict PATH... [--model DIR] [--json | --csv FILE] [--heatmaps DIR]``.

Runs :meth:`engine.inference.predictor.Predictor.predict_many` over files and folders: one line (or
JSON object, or CSV row) per file, an error for each file that cannot be read, and exit status 1
when any file failed. Without ``--model`` the shipped default model is used. The CSV is the
triage list's (:func:`engine.workflows.triage.csv_text`), with each file's patient and study date.

Every row carries the checks' verdict (:func:`engine.inference.check_verdict.verdict_fields`:
``in_domain``, ``domain_score``, ``chest_radiograph``, ``outside``). An image outside what the
model was validated on gets the label ``OUTSIDE``, never NORMAL/PNEUMONIA; its probability stays
in the JSON for research, and the printed line calls it unvalidated.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.atomic_files import write_text
from engine.cli import arguments as cli
from engine.cli.context import CliContext
from engine.errors import ImageReadError, ModelFileError
from engine.imaging.files import walk_images
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage
from engine.inference.check_verdict import finding, result_line, verdict_fields
from engine.inference.gradcam import HEATMAP_METHODS, overlay_rgb
from engine.inference.heatmap_strength import scaled_heatmap
from engine.inference.prediction import FileResult
from engine.inference.predictor import Predictor
from engine.workflows.triage import TriageRow, csv_text, study_context, triage_row


def register(commands: cli.Commands) -> None:
    """Add the ``predict`` sub-command."""
    parser = cli.add_command(commands, "predict", run)
    cli.add_paths_argument(parser)
    cli.add_model_option(parser, "model bundle folder (default: the shipped default model)")
    output = parser.add_mutually_exclusive_group()
    cli.add_json_flag(output)
    output.add_argument("--csv", type=Path, metavar="FILE", help="write a CSV file")
    parser.add_argument(
        "--heatmaps",
        type=Path,
        metavar="DIR",
        help="write a PNG overlay (image + Grad-CAM heatmap, faded below the operating point) "
        "per file to DIR",
    )
    parser.add_argument(
        "--method",
        choices=HEATMAP_METHODS,
        default="gradcam",
        help="heatmap method (default: gradcam)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="images per model call (default: 32)",
    )


def run(args: argparse.Namespace, context: CliContext) -> int:
    """Pneumonia probability (and heatmaps) for image files or folders.

    Predict with a model bundle. Folders are walked. Exit status 1 when any file could not be
    read. Supports a clinician's reading; it is not a diagnosis.
    """
    model = args.model or context.default_model
    if model is None:
        raise ModelFileError(
            "No model to predict with: this installation has no default model. "
            "Give one with --model DIR (a bundle folder holding model.keras and card.json)."
        )
    predictor = Predictor.load(model, method=args.method)
    walk = walk_images(args.paths)
    if args.heatmaps:
        args.heatmaps.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    triage_rows: list[TriageRow] = []
    headers = study_context(walk.files) if args.csv else {}
    used_names: set[str] = set()
    for result in predictor.predict_many(
        walk.files, batch_size=max(1, args.batch_size), with_heatmaps=args.heatmaps is not None
    ):
        prediction = result.prediction
        if args.heatmaps and prediction is not None and prediction.heatmap is not None:
            heatmap = scaled_heatmap(
                prediction.heatmap, prediction.probability, prediction.threshold
            )
            _write_overlay(result.path, heatmap, args.heatmaps, used_names)
        row = _row(result, predictor.threshold)
        rows.append(row)
        triage_rows.append(triage_row(result, headers))
        if not args.json and not args.csv:
            print(_format(result, row), flush=True)
    failed = sum(row["error"] is not None for row in rows)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    elif args.csv:
        write_text(args.csv, csv_text(triage_rows))
    if not args.json:
        print(
            f"{len(rows) - failed} predicted, {failed} failed"
            + (f", {len(walk.ignored)} non-image files ignored" if walk.ignored else "")
            + f" (model {predictor.model_id} on {predictor.device})",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _row(result: FileResult, threshold: float) -> dict[str, Any]:
    prediction = result.prediction
    return {
        "path": str(result.path),
        "probability": None if prediction is None else round(prediction.probability, 6),
        "label": None if prediction is None else finding(prediction),
        "threshold": threshold,
        "error": result.error,
        "warnings": [] if prediction is None else list(prediction.warnings),
        "seconds": None if prediction is None else round(prediction.seconds, 4),
        **verdict_fields(prediction),
    }


def _format(result: FileResult, row: dict[str, Any]) -> str:
    """The printed lines of one file: its result (or OUTSIDE with the reason) and warnings."""
    if result.prediction is None:
        return f"ERROR {row['error']}"
    line = f"{row['path']}: {result_line(result.prediction)}"
    return "\n".join([line, *(f"  warning: {warning}" for warning in row["warnings"])])


def _write_overlay(path: Path, heatmap: FloatImage, folder: Path, used_names: set[str]) -> None:
    """Write ``<file name>.png`` (numbered when two inputs share a name) with the overlay."""
    from PIL import Image

    name = f"{path.name}.png"
    counter = 1
    while name in used_names:
        counter += 1
        name = f"{path.name}.{counter}.png"
    used_names.add(name)
    try:  # the image is read again: the batch keeps only model inputs in memory
        pixels = load_image(path).pixels
    except ImageReadError:  # it was readable a moment ago; nothing to draw on now
        return
    Image.fromarray(overlay_rgb(pixels, heatmap)).save(folder / name)
