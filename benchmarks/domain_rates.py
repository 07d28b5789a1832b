"""Measure a bundle's domain check: how often it flags images from each source, and its ROC.

The check is fitted on the model's own training and validation images only; the sets here
*measure* it and never shape it. Per set it prints the share of images flagged (domain score
above 1), and the areas under the ROC curve of the score for telling each set apart from
``chest_xray/external`` (same hospital, later patients: what the model was validated on), with
the ROC's points at a few false-alarm rates. It also prints, per set, what the model's label
figures are on the images the check lets through, and on all of them.

Usage::

    .venv/bin/python benchmarks/domain_rates.py [MODEL_DIR] [--data ../shared/data] [--json F]

MODEL_DIR defaults to the shipped default model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.imaging.files import walk_images  # noqa: E402
from engine.inference.predictor import Predictor  # noqa: E402
from engine.modeling.labelled_folders import CLASS_NAMES  # noqa: E402

#: name -> folder under the data root; labelled folders have NORMAL/ and PNEUMONIA/.
SETS = {
    "chest_xray/external (same hospital, later patients)": "chest_xray/external",
    "sites/nih (another hospital)": "sites/nih",
    "fullres (training hospital, original resolution)": "fullres",
    "dicom (NEMA/OFFIS/NIH test files, mostly adults or not chest)": "dicom",
}


def _scores(predictor: Predictor, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Domain scores, probabilities and labels (-1 when unknown) of a folder's readable images."""
    paths = walk_images([folder]).files
    scores, probabilities, labels = [], [], []
    for result in predictor.predict_many(paths):
        if result.prediction is None or result.prediction.domain_score is None:
            continue
        scores.append(result.prediction.domain_score)
        probabilities.append(result.prediction.probability)
        parent = result.path.parent.name
        labels.append(CLASS_NAMES.index(parent) if parent in CLASS_NAMES else -1)
    return np.asarray(scores), np.asarray(probabilities), np.asarray(labels)


def _auc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of a score that should be higher on ``positives``."""
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.zeros(len(negatives)), np.ones(len(positives))]
    return float(roc_auc_score(truth, np.r_[negatives, positives]))


def main() -> int:
    """Print the rates; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(REPO / "resources/models/default"))
    parser.add_argument("--data", default=str(REPO.parent / "shared/data"))
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    if predictor.domain is None:
        print(f"{args.model} has no domain check (fit one with `hilum domain-check`).")
        return 1
    threshold = predictor.threshold
    figures = {}
    reference = None
    for name, folder in SETS.items():
        scores, probabilities, labels = _scores(predictor, Path(args.data) / folder)
        reference = scores if reference is None else reference
        row = {"images": len(scores), "flagged": float(np.mean(scores > 1.0))}
        if reference is not scores:
            row["auc_vs_external"] = _auc(reference, scores)
            row["flagged_at_external_false_alarm"] = {
                f"{rate:.0%}": float(np.mean(scores > np.quantile(reference, 1 - rate)))
                for rate in (0.01, 0.05, 0.10)
            }
        labelled = labels >= 0
        if labelled.any() and len(set(labels[labelled])) == 2:
            from sklearn.metrics import roc_auc_score

            row["model_auc_all"] = float(roc_auc_score(labels[labelled], probabilities[labelled]))
            normal = labelled & (labels == 0)
            row["model_specificity_all"] = float(np.mean(probabilities[normal] < threshold))
        figures[name] = row
        print(f"{name}: {row['images']} images, flagged {row['flagged']:.1%}", end="")
        if "auc_vs_external" in row:
            print(f", ROC AUC against external {row['auc_vs_external']:.3f}", end="")
        print()
        for key in ("flagged_at_external_false_alarm", "model_auc_all", "model_specificity_all"):
            if key in row:
                print(f"    {key}: {row[key]}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
