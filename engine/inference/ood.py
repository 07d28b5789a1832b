"""Out-of-distribution check: is this image plausibly a frontal chest radiograph?

Why: the model answers "pneumonia or not" for *any* picture it is given, a hip or a photograph
included, with the same confidence. A warning on the
:class:`~engine.inference.prediction.Prediction` tells the reader when the image does not look
like what the model was trained on.

How it is decided (any one rule raises the warning, and the warning names the rule):

1. **DICOM header.** Body Part Examined (0018,0015) present and not chest (``CHEST``,
   ``THORAX``, ``LUNG``); Modality (0008,0060) present and not a projection radiograph (``CR``,
   ``DX``, ``RG``, ``DR``); View Position (0018,5101) lateral (``LL``, ``RL``, ``LAT*``).
2. **Blank frame.** The image's 32x32 thumbnail has a standard deviation below 0.01 (of the
   [0, 1] display range): nothing to read.
3. **Image content.** The thumbnail (32x32, standardised to zero mean and unit variance, so
   exposure does not matter) is compared with the training images' layout: the reference holds
   their mean thumbnail and the 8 main directions in which chest radiographs vary (a PCA). The
   score is the part of the thumbnail those directions cannot explain (root-mean-square
   residual). Chest radiographs share one coarse layout (dark lungs either side of a bright
   mediastinum), so their residual is small; hips, limbs, mammograms, teeth, test patterns and
   photographs leave a large one. The threshold is the 99.5th percentile of the training images'
   own scores times a margin of 1.25 (so adult and other hospitals' chest films still pass).

The reference is fitted at training time by :func:`fit_ood_reference` and stored beside the
model as ``ood_reference.json`` (about 100 kB). Without it, rules 1 and 2 still apply and the
content check is skipped. Measured rates: ``benchmarks/ood_rates.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.atomic_files import write_text
from engine.errors import ImageReadError, ModelFileError
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage, Radiograph
from engine.modeling.preprocessing import resize
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

REFERENCE_FILE = "ood_reference.json"
THUMBNAIL_SIZE = 32
BLANK_STD = 0.01
CHEST_BODY_PARTS = ("CHEST", "THORAX", "LUNG")
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "RG", "DR"})
LATERAL_VIEWS = ("LL", "RL", "LAT")

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class OodReference:
    """What the content check compares with: the training images' thumbnail statistics.

    Attributes:
        mean: mean standardised thumbnail, flattened (size * size,).
        components: principal directions, (k, size * size), orthonormal rows.
        threshold: residual above which an image is flagged.
        images: how many images it was fitted on.
    """

    mean: Vector
    components: Vector
    threshold: float
    images: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OodReference:
        """Inverse of :func:`fit_ood_reference`'s dict.

        Raises:
            ModelFileError: the dict is not a valid reference.
        """
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            components = np.asarray(data["components"], dtype=np.float64)
            if int(data["thumbnail_size"]) != THUMBNAIL_SIZE or mean.shape != (THUMBNAIL_SIZE**2,):
                raise ValueError(f"thumbnail size {data['thumbnail_size']}, mean {mean.shape}")
            if components.ndim != 2 or components.shape[1] != mean.size:
                raise ValueError(f"components shape {components.shape}")
            return cls(mean, components, float(data["threshold"]), int(data["images"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(
                f"The out-of-distribution reference is invalid ({error}). Re-create it with "
                "engine.inference.ood.fit_ood_reference, or delete it to skip the content check."
            ) from None

    def score(self, features: Vector) -> float:
        """Root-mean-square residual of ``features`` outside the reference's principal space."""
        centred = features - self.mean
        residual = centred - (centred @ self.components.T) @ self.components
        return float(np.sqrt(np.mean(residual**2)))


@dataclass(frozen=True)
class OodCheck:
    """Result of :func:`check_radiograph`.

    Attributes:
        out_of_distribution: True when any rule fired.
        reasons: one short phrase per rule that fired.
        score: content score divided by its threshold (> 1 is flagged), or ``None`` when the
            content check did not run (no reference, or a blank frame).
    """

    out_of_distribution: bool
    reasons: tuple[str, ...]
    score: float | None

    @property
    def warning(self) -> str | None:
        """The sentence shown to the user, or ``None`` when nothing fired."""
        if not self.out_of_distribution:
            return None
        return (
            "This image may not be a frontal chest radiograph (" + "; ".join(self.reasons) + "). "
            "The model was trained only on frontal pediatric chest radiographs: treat its "
            "result and heatmap as meaningless here."
        )


def thumbnail_features(pixels: FloatImage) -> tuple[Vector, float]:
    """The standardised 32x32 thumbnail (flattened) and the thumbnail's standard deviation."""
    thumbnail = resize(pixels, THUMBNAIL_SIZE).astype(np.float64).ravel()
    spread = float(thumbnail.std())
    return (thumbnail - thumbnail.mean()) / max(spread, 1e-6), spread


def check_radiograph(radiograph: Radiograph, reference: OodReference | None) -> OodCheck:
    """Apply the rules of this module's docstring to one image.

    Args:
        radiograph: the image as read.
        reference: the bundle's content reference, or ``None`` to skip the content check.

    Returns:
        Whether the image is out of distribution, and why.
    """
    reasons = _header_reasons(radiograph)
    features, spread = thumbnail_features(radiograph.pixels)
    score = None
    if spread < BLANK_STD:
        reasons.append("the image is blank or nearly uniform")
    elif reference is not None:
        score = reference.score(features) / reference.threshold
        if score > 1.0:
            reasons.append(
                f"its layout is unlike the training chest radiographs (score {score:.2f}, "
                "flagged above 1)"
            )
    return OodCheck(bool(reasons), tuple(reasons), score)


def _header_reasons(radiograph: Radiograph) -> list[str]:
    reasons = []
    body_part = radiograph.body_part.strip().upper()
    if body_part and not any(part in body_part for part in CHEST_BODY_PARTS):
        reasons.append(f"the DICOM header says body part {body_part}")
    modality = radiograph.modality.strip().upper()
    if modality and modality not in RADIOGRAPH_MODALITIES:
        reasons.append(f"the DICOM modality is {modality}, not a radiograph (CR/DX)")
    view = radiograph.view_position.strip().upper()
    if view.startswith(LATERAL_VIEWS):
        reasons.append(f"the DICOM view position is {view} (lateral)")
    return reasons


def fit_ood_reference(
    paths: Iterable[str | os.PathLike[str]],
    *,
    components: int = 8,
    percentile: float = 99.5,
    margin: float = 1.25,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> dict[str, Any]:
    """Fit the content reference on training images (call it at training time).

    Why from the training images: the question is "does this look like what the model saw",
    and the same images answer it. Unreadable files are skipped.

    Args:
        paths: training image files (all of them, or a large random sample).
        components: principal directions kept.
        percentile: percentile of the training scores taken as the base of the threshold.
        margin: factor applied to that percentile.
        on_progress: called every 100 images (stage ``"ood"``).
        should_stop: checked between images; stopping fits on the images read so far.

    Returns:
        A JSON-ready dict for :func:`save_ood_reference` / :meth:`OodReference.from_dict`.

    Raises:
        ValueError: fewer than ``2 * components`` readable images.
    """
    files = list(paths)
    rows: list[Vector] = []
    for index, path in enumerate(files):
        if should_stop():
            break
        try:
            features, spread = thumbnail_features(load_image(path).pixels)
        except ImageReadError:
            continue
        if spread >= BLANK_STD:
            rows.append(features)
        if (index + 1) % 100 == 0:
            on_progress(Progress("ood", index + 1, len(files), "out-of-distribution reference"))
    if len(rows) < 2 * components:
        raise ValueError(
            f"An out-of-distribution reference needs at least {2 * components} readable images, "
            f"got {len(rows)}."
        )
    matrix = np.stack(rows)
    mean = matrix.mean(axis=0)
    _, _, directions = np.linalg.svd(matrix - mean, full_matrices=False)
    fitted = OodReference(mean, directions[:components], 1.0, len(rows))
    scores = [fitted.score(row) for row in matrix]
    return {
        "method": "pca-residual of standardised thumbnails (engine.inference.ood)",
        "thumbnail_size": THUMBNAIL_SIZE,
        "images": len(rows),
        "percentile": percentile,
        "margin": margin,
        "threshold": float(np.percentile(scores, percentile) * margin),
        "mean": np.round(mean, 5).tolist(),
        "components": np.round(directions[:components], 5).tolist(),
    }


def reference_files(reference: dict[str, Any]) -> dict[str, str]:
    """The bundle files (name -> text) that hold ``reference``, for ``write_bundle(extra_files=)``.

    The one place that knows the reference's file name and format (with :func:`load_ood_reference`).
    """
    return {REFERENCE_FILE: json.dumps(reference)}


def save_ood_reference(reference: dict[str, Any], bundle_dir: str | os.PathLike[str]) -> Path:
    """Add ``reference`` to an existing model bundle folder, atomically."""
    ((name, text),) = reference_files(reference).items()
    target = Path(bundle_dir) / name
    write_text(target, text)
    return target


def load_ood_reference(bundle_dir: str | os.PathLike[str]) -> OodReference | None:
    """The bundle's reference, or ``None`` when it has none (the content check is then skipped).

    Raises:
        ModelFileError: the file exists but is not a valid reference.
    """
    path = Path(bundle_dir) / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelFileError(
            f"{path}: cannot read the out-of-distribution reference ({error})."
        ) from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: the out-of-distribution reference is not a JSON object.")
    return OodReference.from_dict(data)
