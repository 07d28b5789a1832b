"""Robustness as a measured property of a model: how often a harmless change flips its label.

A model that reads the lungs gives the same answer when the same radiograph is framed a little
differently, exposed a little differently, carries burned-in text, or is mirrored. The first
shipped model did not: cropping a NORMAL image to 85 % of its side turned one label in five into
PNEUMONIA. :func:`measure_robustness` runs a fixed, seeded battery of such changes
(:data:`BATTERY`) over labelled images and reports, per change, the share of labels that flip at
the model's threshold (overall and per true class) and the mean absolute change of the
probability. Training writes it into the model card; ``hilum robustness`` measures any bundle.

Every change acts on the display-ready pixels (float in [0, 1], any size), before the model's
preprocessing, as a different X-ray unit or operator would change the image. Sizes (blur, text)
are relative to the image's side, so a 2,000 px radiograph and its 224 px copy see the same
change. Random parameters are drawn per image from a generator seeded by (seed, change), so the
battery is the same on every run and for every model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.errors import ImageReadError
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage
from engine.modeling.labelled_folders import LabelledSet
from engine.progress import OnProgress, Progress, ShouldStop, ignore_progress, never_stop

Transform = Callable[[FloatImage, np.random.Generator], FloatImage]
#: Calibrated probabilities of PNEUMONIA for a list of display-ready images.
ProbabilitiesOf = Callable[[Sequence[FloatImage]], np.ndarray]


def _to_pil(pixels: FloatImage) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")


def _from_pil(image: Image.Image) -> FloatImage:
    return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)


def crop(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Crop to 70-90 % of each side around the centre (jittered by up to a tenth of the margin),
    keeping the lung fields, as a tighter collimation does."""
    rows, columns = pixels.shape
    keep = rng.uniform(0.70, 0.90)
    height, width = max(1, round(rows * keep)), max(1, round(columns * keep))
    top = round((rows - height) / 2 + rng.uniform(-0.1, 0.1) * (rows - height))
    left = round((columns - width) / 2 + rng.uniform(-0.1, 0.1) * (columns - width))
    return pixels[top : top + height, left : left + width].copy()


def pad(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Zoom out: place the image on a black field 110-130 % of its side, as a wider plate."""
    rows, columns = pixels.shape
    scale = rng.uniform(1.10, 1.30)
    height, width = round(rows * scale), round(columns * scale)
    top = rng.integers(0, height - rows + 1)
    left = rng.integers(0, width - columns + 1)
    field = np.zeros((height, width), np.float32)
    field[top : top + rows, left : left + columns] = pixels
    return field


def shift(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Move the image by 4-8 % of its side in a random direction (black fill), same size."""
    rows, columns = pixels.shape
    dy = round(rng.choice((-1, 1)) * rng.uniform(0.04, 0.08) * rows)
    dx = round(rng.choice((-1, 1)) * rng.uniform(0.04, 0.08) * columns)
    moved = np.zeros_like(pixels, dtype=np.float32)
    source = pixels[max(0, -dy) : rows - max(0, dy), max(0, -dx) : columns - max(0, dx)]
    moved[max(0, dy) : max(0, dy) + source.shape[0], max(0, dx) : max(0, dx) + source.shape[1]] = (
        source
    )
    return moved


def rotate(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Rotate by 5-10 degrees either way (black corners), as a patient not quite straight."""
    angle = float(rng.choice((-1, 1)) * rng.uniform(5.0, 10.0))
    return _from_pil(_to_pil(pixels).rotate(angle, Image.Resampling.BILINEAR, fillcolor=0.0))


def gamma(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Gamma 0.7-0.8 or 1.25-1.4 (another exposure or processing curve)."""
    value = rng.uniform(0.70, 0.80) if rng.random() < 0.5 else rng.uniform(1.25, 1.40)
    return np.power(np.clip(pixels, 0.0, 1.0), value).astype(np.float32)


def contrast(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Contrast x0.7-0.8 or x1.2-1.3 around the mean, clipped to [0, 1]."""
    factor = rng.uniform(0.70, 0.80) if rng.random() < 0.5 else rng.uniform(1.20, 1.30)
    mean = float(pixels.mean())
    changed: FloatImage = np.clip((pixels - mean) * factor + mean, 0.0, 1.0).astype(np.float32)
    return changed


def blur(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Gaussian blur of 1-2 px at 224 px (scaled to the image's side)."""
    from scipy.ndimage import gaussian_filter  # scipy comes with scikit-learn

    sigma = rng.uniform(1.0, 2.0) * max(pixels.shape) / 224.0
    blurred: FloatImage = np.clip(gaussian_filter(pixels.astype(np.float32), sigma), 0.0, 1.0)
    return blurred.astype(np.float32)


def noise(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Gaussian noise of standard deviation 0.02-0.04 (quantum mottle of a low dose)."""
    sigma = rng.uniform(0.02, 0.04)
    noisy = pixels + rng.normal(0.0, sigma, pixels.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def jpeg(pixels: FloatImage, _rng: np.random.Generator) -> FloatImage:
    """Save as an 8-bit JPEG at quality 30 and read it back (a compressed export)."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8)).save(
        buffer, "JPEG", quality=30
    )
    buffer.seek(0)
    return (np.asarray(Image.open(buffer), dtype=np.float32) / np.float32(255.0)).astype(np.float32)


_MARKERS = ("PORTABLE", "AP SUPINE", "L", "R", "ERECT", "12/03 08:41", "MOBILE")


def text(pixels: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Burn in a white annotation (e.g. "PORTABLE", a side marker, a time) near a corner."""
    rows, columns = pixels.shape
    image = _to_pil(pixels)
    size = max(8, round(rng.uniform(0.05, 0.09) * rows))
    font = ImageFont.load_default(size=size)
    label = str(rng.choice(_MARKERS))
    left, top, right, bottom = ImageDraw.Draw(image).textbbox((0, 0), label, font=font)
    x = rng.uniform(0.02, 0.12) * columns
    if rng.random() < 0.5:
        x = columns - (right - left) - x
    y = rng.uniform(0.02, 0.10) * rows
    if rng.random() < 0.5:
        y = rows - (bottom - top) - y
    ImageDraw.Draw(image).text((x, y), label, fill=1.0, font=font)
    return _from_pil(image)


def hflip(pixels: FloatImage, _rng: np.random.Generator) -> FloatImage:
    """Mirror left-right (a plate read from the wrong side)."""
    return np.ascontiguousarray(pixels[:, ::-1])


@dataclass(frozen=True)
class Change:
    """One change of the battery: its name, what it does, and the function that does it."""

    name: str
    description: str
    apply: Transform


BATTERY: tuple[Change, ...] = (
    Change("crop", "crop to 70-90 % of the side", crop),
    Change("pad", "zoom out to 110-130 % (black border)", pad),
    Change("shift", "shift 4-8 % of the side", shift),
    Change("rotate", "rotate 5-10 degrees", rotate),
    Change("gamma", "gamma 0.7-0.8 or 1.25-1.4", gamma),
    Change("contrast", "contrast x0.7-0.8 or x1.2-1.3", contrast),
    Change("blur", "Gaussian blur 1-2 px at 224 px", blur),
    Change("noise", "Gaussian noise sigma 0.02-0.04", noise),
    Change("jpeg", "JPEG quality 30", jpeg),
    Change("text", "burned-in text or marker", text),
    Change("hflip", "horizontal flip", hflip),
)


@dataclass(frozen=True)
class ChangeResult:
    """How one change moved the model's answers.

    Attributes:
        name: the change's name in :data:`BATTERY`.
        description: what it does.
        flip_rate: share of images whose label at the threshold changed.
        flip_rate_normal: the same among truly NORMAL images.
        flip_rate_pneumonia: the same among truly PNEUMONIA images.
        mean_abs_delta: mean |probability after - probability before|.
    """

    name: str
    description: str
    flip_rate: float
    flip_rate_normal: float
    flip_rate_pneumonia: float
    mean_abs_delta: float


@dataclass(frozen=True)
class RobustnessReport:
    """The battery's results on a set of images, as written in the card's ``robustness``."""

    images: int
    counts: dict[str, int]
    threshold: float
    seed: int
    data: str
    changes: tuple[ChangeResult, ...]

    @property
    def worst(self) -> ChangeResult:
        """The change that flips the most labels (of either class)."""
        return max(
            self.changes,
            key=lambda change: max(change.flip_rate_normal, change.flip_rate_pneumonia),
        )

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form; ``worst_flip_rate`` is the largest per-class flip rate."""
        worst = self.worst
        return {
            "images": self.images,
            "counts": dict(self.counts),
            "threshold": self.threshold,
            "seed": self.seed,
            "data": self.data,
            "worst_change": worst.name,
            "worst_flip_rate": max(worst.flip_rate_normal, worst.flip_rate_pneumonia),
            "changes": [asdict(change) for change in self.changes],
        }


def _rate(flags: np.ndarray) -> float:
    return float(flags.mean()) if flags.size else 0.0


def measure_robustness(
    probabilities_of: ProbabilitiesOf,
    images: Sequence[FloatImage],
    labels: Sequence[int],
    threshold: float,
    *,
    seed: int = 0,
    data: str = "",
    battery: Sequence[Change] = BATTERY,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> RobustnessReport | None:
    """Run ``battery`` over ``images`` and compare each answer with the unchanged image's.

    Args:
        probabilities_of: the model's calibrated probabilities for a list of display images.
        images: display-ready pixels (float32 in [0, 1]).
        labels: their true labels (0 NORMAL, 1 PNEUMONIA).
        threshold: the operating point at which labels are compared.
        seed: seeds each change's random parameters (``(seed, index of the change)``).
        data: where the images came from (recorded in the report).
        battery: the changes to run.
        on_progress: called after each change (stage ``"robustness"``).
        should_stop: polled between changes; returning True ends the run with ``None``.

    Returns:
        The report, or ``None`` when stopped.
    """
    truth = np.asarray(labels, dtype=np.int64)
    before = np.asarray(probabilities_of(list(images)), dtype=np.float64)
    results: list[ChangeResult] = []
    for index, change in enumerate(battery):
        if should_stop():
            return None
        rng = np.random.default_rng([seed, index])
        after = np.asarray(
            probabilities_of([change.apply(image, rng) for image in images]), dtype=np.float64
        )
        flipped = (before >= threshold) != (after >= threshold)
        results.append(
            ChangeResult(
                change.name,
                change.description,
                _rate(flipped),
                _rate(flipped[truth == 0]),
                _rate(flipped[truth == 1]),
                float(np.abs(after - before).mean()),
            )
        )
        on_progress(Progress("robustness", index + 1, len(battery), change.name))
    counts = {"NORMAL": int((truth == 0).sum()), "PNEUMONIA": int((truth == 1).sum())}
    return RobustnessReport(len(truth), counts, float(threshold), seed, data, tuple(results))


def format_report(report: RobustnessReport) -> str:
    """A plain-text table: one row per change, worst last line."""
    lines = [
        f"Robustness on {report.images} images ({report.counts['NORMAL']} NORMAL, "
        f"{report.counts['PNEUMONIA']} PNEUMONIA) at threshold {report.threshold:.3f}, "
        f"seed {report.seed}",
        f"{'change':<10} {'flips':>6} {'NORMAL':>7} {'PNEUM.':>7} {'mean|dp|':>9}  description",
    ]
    for change in report.changes:
        lines.append(
            f"{change.name:<10} {change.flip_rate:>6.1%} {change.flip_rate_normal:>7.1%} "
            f"{change.flip_rate_pneumonia:>7.1%} {change.mean_abs_delta:>9.3f}  "
            f"{change.description}"
        )
    worst = report.worst
    lines.append(
        f"worst: {worst.name} flips "
        f"{max(worst.flip_rate_normal, worst.flip_rate_pneumonia):.1%} of one class"
    )
    return "\n".join(lines)


def sample_images(
    data: LabelledSet, per_class: int, seed: int
) -> tuple[list[FloatImage], list[int], int]:
    """Read up to ``per_class`` images of each class of ``data``, chosen with ``seed``.

    Returns:
        ``(pixels, labels, unreadable)``: display-ready images, their labels, and how many
        chosen files could not be read (left out).
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)
    chosen: list[int] = []
    for label in (0, 1):
        indices = np.flatnonzero(labels == label)
        chosen.extend(rng.permutation(indices)[:per_class].tolist())
    pixels: list[FloatImage] = []
    kept: list[int] = []
    unreadable = 0
    for index in sorted(chosen):
        try:
            pixels.append(load_image(data.paths[index]).pixels)
        except ImageReadError:
            unreadable += 1
            continue
        kept.append(int(labels[index]))
    return pixels, kept, unreadable
