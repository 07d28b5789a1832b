"""Fitting a bundle's domain check (:mod:`engine.modeling.domain_reference`) and writing it.

A reference is fitted from images the model was built on, never from the images it is to be
warned about: for a trained model, its training images (the Gaussians) and its validation
images (the scales and the threshold, at a stated false-alarm rate); a commissioned bundle adds
the site's fit images as a second source. Each source is capped at :data:`MAX_IMAGES` images
(drawn at random with a fixed seed) so that fitting stays within a minute or two on two cores;
the covariance's shrinkage (:data:`engine.modeling.domain_reference.SHRINKAGE`) keeps it well
conditioned at that size.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.errors import DatasetError, ImageReadError
from engine.imaging.images import load_image
from engine.imaging.radiograph import FloatImage
from engine.inference.domain_features import (
    canonical_image,
    domain_entries,
    entry_features,
    extractors_for,
)
from engine.inference.networks import Features
from engine.modeling.bundles import Bundle, Member, read_card, update_card
from engine.modeling.datasets import Split
from engine.modeling.domain_reference import (
    CANONICAL,
    FEATURES,
    SHRINKAGE,
    DomainCheckSection,
    DomainComponent,
    DomainReference,
    DomainSource,
    Entry,
    Matrix,
)
from engine.progress import (
    Cancelled,
    OnProgress,
    Progress,
    ShouldStop,
    ignore_progress,
    never_stop,
)

#: Images used per source and for the threshold, at most.
MAX_IMAGES = 1500
#: Fewest images a source or a held-out set may have.
MIN_IMAGES = 10
#: The share of held-out in-domain images the threshold flags.
FALSE_ALARM_RATE = 0.01
BATCH = 32


@dataclass(frozen=True)
class SourceImages:
    """A named set of images: one Gaussian of the reference, or held-out images for the
    threshold."""

    name: str
    paths: tuple[Path, ...]


def sample(paths: Sequence[str | os.PathLike[str]], limit: int = MAX_IMAGES) -> tuple[Path, ...]:
    """At most ``limit`` of ``paths``, drawn at random with a fixed seed (sorted for display)."""
    chosen = [Path(p) for p in paths]
    if len(chosen) > limit:
        chosen = random.Random(0).sample(chosen, limit)
    return tuple(sorted(chosen))


def entries_for(members: Sequence[Member]) -> tuple[Entry, ...]:
    """The entries a new reference compares (:func:`domain_entries` of each member)."""
    return tuple(
        (index, layer, stat)
        for index, member in enumerate(members)
        for layer, stat in domain_entries(member.model, member.gradcam_layer)
    )


def image_features(
    members: Sequence[Member],
    entries: Sequence[Entry],
    paths: Sequence[Path],
    *,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
    stage: str = "domain",
    skip_unreadable: bool = True,
    on_pixels: Callable[[list[FloatImage]], None] | None = None,
) -> list[Features]:
    """Per entry, the ``(n, width)`` features of the readable images among ``paths``.

    Args:
        skip_unreadable: skip a file that cannot be read (a fit draws on folders of ordinary
            training images); when False, such a file is a :class:`DatasetError` naming it.
        on_pixels: called with each batch's display-ready pixels, in order, so that a caller
            that also needs them (commissioning scores the images with the original model)
            decodes each file once.

    Raises:
        Cancelled: ``should_stop()`` became true.
        DatasetError: none of the files could be read, or one could not with
            ``skip_unreadable`` False.
    """
    extractors = extractors_for(members, entries)
    collected: list[list[Features]] = []
    for start in range(0, len(paths), BATCH):
        if should_stop():
            raise Cancelled
        pixels = []
        for path in paths[start : start + BATCH]:
            try:
                pixels.append(load_image(path).pixels)
            except ImageReadError as error:
                if not skip_unreadable:
                    raise DatasetError(f"{path}: {error}") from None
        if pixels:
            if on_pixels is not None:
                on_pixels(pixels)
            canonicals = [canonical_image(image) for image in pixels]
            collected.append(entry_features(extractors, entries, canonicals))
        done = min(start + BATCH, len(paths))
        on_progress(Progress(stage, done, len(paths), "domain check: features"))
    if not collected:
        raise DatasetError(f"None of the {len(paths)} images for the domain check could be read.")
    return [np.concatenate([batch[index] for batch in collected]) for index in range(len(entries))]


def _gaussian(values: Features) -> tuple[Matrix, Matrix]:
    """Mean and shrunk precision of ``values`` (n, width), computed in float64."""
    from sklearn.covariance import ShrunkCovariance

    estimate = ShrunkCovariance(shrinkage=SHRINKAGE).fit(np.asarray(values, np.float64))
    return estimate.location_, estimate.precision_


def _distances(gaussians: Sequence[tuple[Matrix, Matrix]], values: Sequence[Features]) -> Matrix:
    """``(entries, n)`` Mahalanobis distances of ``n`` images to one source's Gaussians."""
    rows = []
    for (mean, precision), rows_of_entry in zip(gaussians, values, strict=True):
        centred = np.asarray(rows_of_entry, np.float64) - mean
        squared = np.einsum("ij,jk,ik->i", centred, precision, centred)
        rows.append(np.sqrt(np.maximum(squared, 0.0)))
    return np.asarray(rows)


def _component(
    source: DomainSource,
    gaussians: Sequence[tuple[Matrix, Matrix]],
    held_distances: Matrix,
    false_alarm_rate: float,
) -> DomainComponent:
    """A component from its Gaussians and held-out images' distances: the scales (median per
    entry) and the threshold (the ``1 - false_alarm_rate`` quantile of their raw scores)."""
    if held_distances.shape[1] < MIN_IMAGES:
        raise DatasetError(
            f"The domain check needs at least {MIN_IMAGES} held-out images of {source.name}."
        )
    scales = np.maximum(np.median(held_distances, axis=1), 1e-12)
    raw = (held_distances / scales[:, None]).mean(axis=0)
    return DomainComponent(
        source,
        tuple(mean for mean, _ in gaussians),
        tuple(precision for _, precision in gaussians),
        scales,
        float(np.quantile(raw, 1.0 - false_alarm_rate)),
    )


def fit_component(
    source: DomainSource,
    values: Sequence[Features],
    held_out: Sequence[Features],
    false_alarm_rate: float = FALSE_ALARM_RATE,
) -> DomainComponent:
    """A component fitted on ``values`` with its threshold set on separate ``held_out`` images
    (features per entry, ``(n, width)`` each).

    Raises:
        DatasetError: fewer than 10 images to fit or to hold out.
    """
    if len(values[0]) < MIN_IMAGES:
        raise DatasetError(f"The domain check needs at least {MIN_IMAGES} images of {source.name}.")
    gaussians = [_gaussian(v) for v in values]
    return _component(source, gaussians, _distances(gaussians, held_out), false_alarm_rate)


def cross_fit_component(
    source: DomainSource,
    values: Sequence[Features],
    folds: Sequence[npt.NDArray[np.int64]],
    false_alarm_rate: float = FALSE_ALARM_RATE,
) -> DomainComponent:
    """A component fitted on all of ``values``, its scales and threshold set on cross-fitted
    distances (each image's distance to Gaussians fitted without its fold): for a site, whose
    few images cannot spare a separate held-out part.

    Args:
        source: the source's description.
        values: features per entry, ``(n, width)`` each.
        folds: the held-out indices of each fold (group images of one patient in one fold).
    """
    n = len(values[0])
    held = np.zeros((len(values), n))
    for fold in folds:
        inside = np.setdiff1d(np.arange(n), fold)
        gaussians = [_gaussian(v[inside]) for v in values]
        held[:, fold] = _distances(gaussians, [v[fold] for v in values])
    return _component(source, [_gaussian(v) for v in values], held, false_alarm_rate)


def fit_domain_check(
    members: Sequence[Member],
    source: SourceImages,
    held_out: SourceImages,
    *,
    false_alarm_rate: float = FALSE_ALARM_RATE,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> tuple[DomainReference, DomainCheckSection]:
    """Fit a bundle's domain check from the images it was built on (nothing is written).

    Args:
        members: the bundle's networks (``Bundle.members``).
        source: the images the Gaussians are fitted on (capped at :data:`MAX_IMAGES`).
        held_out: in-domain images that fit no Gaussian (capped too): scales and threshold.
        false_alarm_rate: the share of ``held_out`` flagged.

    Returns:
        The reference and the card section describing it (file and checksum still empty).

    Raises:
        Cancelled: ``should_stop()`` became true.
        DatasetError: too few readable images.
    """
    entries = entries_for(members)

    def features(paths: Sequence[Path]) -> list[Features]:
        return image_features(
            members, entries, sample(paths), on_progress=on_progress, should_stop=should_stop
        )

    values = features(source.paths)
    held = features(held_out.paths)
    component = fit_component(
        DomainSource(source.name, len(values[0])), values, held, false_alarm_rate
    )
    reference = DomainReference(entries, (component,))
    return reference, describe(reference, len(held[0]), held_out.name, false_alarm_rate)


def domain_check_files(
    members: Sequence[Member],
    source: SourceImages,
    held_out: SourceImages,
    *,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> tuple[DomainCheckSection, dict[str, str | bytes]]:
    """Fit a new bundle's domain check: its card section and its file, for
    :func:`~engine.modeling.bundles.write_bundle` to write in the bundle's one atomic step.

    Raises:
        Cancelled: ``should_stop()`` became true.
        DatasetError: too few readable images.
    """
    reference, section = fit_domain_check(
        members, source, held_out, on_progress=on_progress, should_stop=should_stop
    )
    name, digest, data = reference.encoded()
    return replace(section, file=name, sha256=digest), {name: data}


def trained_domain_check(
    members: Sequence[Member],
    split: Split,
    *,
    on_progress: OnProgress = ignore_progress,
    should_stop: ShouldStop = never_stop,
) -> tuple[DomainCheckSection | None, dict[str, str | bytes]]:
    """A newly trained (or ensembled) bundle's domain check: fitted on its training images,
    its threshold on its validation images (:func:`domain_check_files`).

    Returns:
        The card section and the file; ``(None, {})`` when there are too few images for a
        threshold that means anything (fewer than :data:`MIN_IMAGES` validation images: a tiny
        trial run), so the bundle says it has no domain check rather than carry a meaningless
        one.

    Raises:
        Cancelled: ``should_stop()`` became true.
    """
    if min(len(split.train), len(split.validation)) < MIN_IMAGES:
        return None, {}
    root = split.train.root.name
    return domain_check_files(
        members,
        SourceImages(f"the training images of {root}", split.train.paths),
        SourceImages(f"the validation images of {root}", split.validation.paths),
        on_progress=on_progress,
        should_stop=should_stop,
    )


def describe(
    reference: DomainReference, held_images: int, held_name: str, false_alarm_rate: float
) -> DomainCheckSection:
    """The card section of a reference (file and checksum still empty)."""
    method = (
        f"Mahalanobis distance (covariance shrunk by {SHRINKAGE:g}) of the {FEATURES} to each "
        f"source's images, the image {CANONICAL}; threshold at the "
        f"{1 - false_alarm_rate:.1%} quantile of {held_images} held-out images ({held_name})"
    )
    sources = tuple(component.source for component in reference.components)
    return DomainCheckSection(
        "", "", reference.layers, sources, held_images, false_alarm_rate, method
    )


def write_domain_check(
    folder: str | os.PathLike[str], reference: DomainReference, section: DomainCheckSection
) -> DomainCheckSection:
    """Store a fitted reference in a bundle folder and name it in its card, crash-safely.

    The reference goes into a new file named after its checksum, then the card is replaced
    atomically; only then is a previous reference file deleted. A crash leaves the old check or
    the new one, never a card naming a file that is not there.

    Returns:
        The section as written (file name and checksum set).
    """
    path = Path(folder)
    card = read_card(path)
    name, digest = reference.write(path)
    written = replace(section, file=name, sha256=digest)
    update_card(path, replace(card, domain_check=written))
    if card.domain_check is not None and card.domain_check.file != name:
        (path / card.domain_check.file).unlink(missing_ok=True)
    return written


def training_sources(
    bundle: Bundle, data_dir: str | os.PathLike[str] | None = None, name: str | None = None
) -> tuple[SourceImages, SourceImages]:
    """A trained bundle's validated images, as its card recorded them: the training images
    (the Gaussian) and the validation images (the threshold), split again as training did.

    Args:
        bundle: the bundle; its card's ``data`` names the folder and the split.
        data_dir: the training folder when it has moved since (else the card's ``data.root``).
        name: the source's name for people (default: "the training images of FOLDER").

    Raises:
        DatasetError: the folder is missing or the card does not say how it was split.
    """
    from engine.modeling.datasets import make_split
    from engine.modeling.labelled_folders import find_data_folders

    data = bundle.card.data
    root = data_dir if data_dir is not None else data.get("root")
    split = data.get("split") or {}
    if root is None or "seed" not in split or "fraction" not in split:
        raise DatasetError(
            f"Model bundle {bundle.path}: its card does not say which images trained it; "
            "pass the training folder explicitly."
        )
    folders = find_data_folders(root)
    parts = make_split(folders, float(split["fraction"]), int(split["seed"]))
    label = name or f"the training images of {Path(root).name}"
    return (
        SourceImages(label, tuple(parts.train.paths)),
        SourceImages(f"the validation images of {Path(root).name}", tuple(parts.validation.paths)),
    )
