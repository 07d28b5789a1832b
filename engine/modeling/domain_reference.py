"""The domain check's reference: where the images a model was validated on lie in its own features.

Why: a model answers "pneumonia or not" with the same confidence on a chest film from a hospital
it has never seen as on one from its own, and there it can be at chance (the shipped model: AUC
0.98 at home, 0.60 on NIH's radiographs). The chest-radiograph check
(:mod:`engine.inference.ood`) cannot see this: an adult's chest from another X-ray unit *is* a
chest radiograph. This check asks the network itself: are this image's features like those of
the images the model was validated on?

What is stored (the card's ``domain_check`` section describes it; the arrays live in
:data:`DOMAIN_FILE` beside the model, with its sha256 in the card):

* **entries**: the feature vectors compared, each a ``(member, layer, statistic)``: the spatial
  mean (global average pooling) or standard deviation of a layer's feature map, per channel,
  for one network of the bundle;
* **components**: one Gaussian per source of validated images (the training hospital; a site
  the bundle was commissioned for), each a mean and a precision matrix per entry. The
  covariance is shrunk towards a multiple of the identity by :data:`SHRINKAGE`: feature maps
  have many nearly constant directions, and an unshrunk (or Ledoit-Wolf, which chose almost no
  shrinkage here) precision makes the distance hinge on them — measured, its rate on another
  hospital's films moved between 31 % and 94 % with the random draw of training images;
* **scales**: per component and entry, the median distance of the source's held-out images,
  so that entries of different width weigh alike;
* **thresholds**: per component, the ``1 - false_alarm_rate`` quantile of its held-out images'
  scores (the original validation images; for a site, cross-fitted fit images);
* **site heads** (commissioned bundles only): a linear head per site component that scores the
  images nearest to it (:class:`SiteHead`).

An image's score against a component is the mean over entries of ``d / scale``, with ``d`` the
Mahalanobis distance of the entry's features to the component, divided by the component's
threshold; its **domain score is the smallest over components**, so a **score above 1 is
outside** whatever the model. The component that scores an image (and so which head, for a
commissioned bundle) is chosen by :meth:`DomainReference.assign`.

Fitting lives in :mod:`engine.evaluation.domain_fitting`, feature extraction in
:mod:`engine.inference.domain_features`; this module is the value type, its file and its score.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.atomic_files import write_bytes
from engine.errors import ConfigError, ModelFileError, reading_card_section

#: The reference's file name in a bundle: ``domain_reference_<first 12 hex digits of sha256>.npz``
#: (a new fit writes a new file before the card names it, so a crash never leaves a card
#: pointing at a half-written or different reference).
DOMAIN_FILE = "domain_reference_{digest}.npz"
#: What an entry's features are, for the card and the model README.
FEATURES = "per-channel spatial mean and standard deviation of feature maps"
#: The covariance's shrinkage towards a multiple of the identity (see the module docstring).
SHRINKAGE = 0.2
#: The statistics an entry can pool a feature map with.
STATISTICS = ("mean", "std")
#: How the image is made comparable to the training images before its features are taken.
CANONICAL = "resized to 224 x 224 (Pillow bicubic, aspect not kept) and re-encoded as JPEG q75"
#: The score above which an image is outside (scores are divided by the threshold).
LIMIT = 1.0

Matrix = npt.NDArray[np.float64]
#: One compared feature vector: (member index, layer name, statistic).
Entry = tuple[int, str, str]
#: Features of n images at one entry, (n, width), any float type.
FeatureRows = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class DomainSource:
    """A source of validated images that the reference holds: its name and how many images."""

    name: str
    images: int


@dataclass(frozen=True)
class DomainCheckSection:
    """The card's ``domain_check`` section: the reference file, its checksum and its figures.

    Attributes:
        file: the reference's file name in the bundle (see :data:`DOMAIN_FILE`).
        sha256: its checksum (a mismatch refuses the bundle).
        layers: the entries, ``"member:layer:statistic"``.
        sources: the sources the reference holds, in order.
        threshold_images: the held-out in-domain images the threshold was chosen on.
        false_alarm_rate: the share of those images the threshold flags (by construction).
        method: one line saying how it was fitted.
    """

    file: str
    sha256: str
    layers: tuple[str, ...]
    sources: tuple[DomainSource, ...]
    threshold_images: int
    false_alarm_rate: float
    method: str

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "layers": list(self.layers),
            "sources": [{"name": s.name, "images": s.images} for s in self.sources],
            "threshold_images": self.threshold_images,
            "false_alarm_rate": self.false_alarm_rate,
            "method": self.method,
        }

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> DomainCheckSection:
        """Inverse of :meth:`to_card`.

        Raises:
            ConfigError: a field is missing or invalid.
        """
        with reading_card_section("domain_check", card):
            return cls(
                str(card["file"]),
                str(card["sha256"]),
                tuple(str(layer) for layer in card["layers"]),
                tuple(DomainSource(str(s["name"]), int(s["images"])) for s in card["sources"]),
                int(card["threshold_images"]),
                float(card["false_alarm_rate"]),
                str(card["method"]),
            )


def head_inputs(features: Sequence[FeatureRows]) -> Matrix:
    """A site head's inputs: the entries' features side by side, square-rooted.

    The pooled features are non-negative (means and standard deviations of ReLU maps) and
    right-skewed; the root evens their spread (measured on NIH, cross-validated: AUC 0.906 ->
    0.911, specificity at sensitivity 0.90 0.75 -> 0.77).
    """
    joined = np.concatenate([np.asarray(f, np.float64) for f in features], axis=1)
    result: Matrix = np.sqrt(np.maximum(joined, 0.0))
    return result


@dataclass(frozen=True)
class SiteHead:
    """A linear head on a component's features, fitted when a bundle is commissioned for a site.

    Images assigned to the component are scored by this head instead of the network's own (see
    :mod:`engine.workflows.commissioning`): take the square root of the concatenated entry
    features (:func:`head_inputs`), standardise, then ``sigmoid(z @ weights + bias)``; ``bias``
    already holds the calibration fitted on cross-fitted predictions, and ``threshold`` is the
    head's operating point.
    """

    mean: Matrix
    scale: Matrix
    weights: Matrix
    bias: float
    threshold: float

    def probabilities(self, features: Sequence[FeatureRows]) -> Matrix:
        """Calibrated probabilities of pneumonia for ``n`` images' features (per entry)."""
        logits = ((head_inputs(features) - self.mean) / self.scale) @ self.weights + self.bias
        result: Matrix = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
        return result


@dataclass(frozen=True)
class DomainComponent:
    """One source's Gaussian: per entry, the mean, the precision (inverse covariance) and the
    median held-out distance (scale); the threshold on its score; an optional site head."""

    source: DomainSource
    means: tuple[Matrix, ...]
    precisions: tuple[Matrix, ...]
    scales: Matrix
    threshold: float
    head: SiteHead | None = None

    def raw_scores(self, features: Sequence[FeatureRows]) -> Matrix:
        """Mean over entries of the Mahalanobis distance divided by the entry's scale."""
        total = np.zeros(len(features[0]))
        for index, values in enumerate(features):
            centred = np.asarray(values, np.float64) - self.means[index]
            squared = np.einsum("ij,jk,ik->i", centred, self.precisions[index], centred)
            total += np.sqrt(np.maximum(squared, 0.0)) / self.scales[index]
        result: Matrix = total / len(features)
        return result


@dataclass(frozen=True)
class DomainReference:
    """What the domain check compares an image's features with (see the module docstring)."""

    entries: tuple[Entry, ...]
    components: tuple[DomainComponent, ...]

    @property
    def layers(self) -> tuple[str, ...]:
        """The entries as ``"member:layer:statistic"`` names."""
        return tuple(":".join(str(part) for part in entry) for entry in self.entries)

    def component_scores(self, features: Sequence[FeatureRows]) -> Matrix:
        """``(n, components)`` scores: each component's raw score over its threshold.

        Args:
            features: per entry, an ``(n, width)`` array of the images' features.
        """
        if len(features) != len(self.entries):
            raise ValueError(f"Expected {len(self.entries)} feature arrays, got {len(features)}.")
        columns = [c.raw_scores(features) / c.threshold for c in self.components]
        return np.stack(columns, axis=1)

    def scores(self, features: Sequence[FeatureRows]) -> Matrix:
        """Scores of ``n`` images (the nearest component's); above :data:`LIMIT` is outside."""
        result: Matrix = self.component_scores(features).min(axis=1)
        return result

    def assign(self, features: Sequence[FeatureRows]) -> tuple[Matrix, npt.NDArray[np.int64]]:
        """Each image's domain score and the component that scores it.

        The component is the *first* (in order: the original source, then sites) whose score
        is within :data:`LIMIT`, else the nearest: a film the original model was validated on
        keeps the original head even when a site's component happens to be a little nearer
        (measured: routing by nearest alone moved 10 % of the training hospital's normal films
        to NIH's head and cost 11 points of specificity there).
        """
        per_component = self.component_scores(features)
        inside = per_component <= LIMIT
        chosen = np.where(inside.any(axis=1), inside.argmax(axis=1), per_component.argmin(axis=1))
        return per_component.min(axis=1), chosen.astype(np.int64)

    def to_bytes(self) -> bytes:
        """The reference as an ``.npz`` (plain arrays and a JSON header; no pickle).

        Arrays are stored as float32 (half the size); scores are computed in float64.
        """
        header = {
            "entries": [list(entry) for entry in self.entries],
            "components": [
                {
                    "name": c.source.name,
                    "images": c.source.images,
                    "threshold": c.threshold,
                    "head": None
                    if c.head is None
                    else {"bias": c.head.bias, "threshold": c.head.threshold},
                }
                for c in self.components
            ],
        }
        arrays: dict[str, Any] = {"header": np.array(json.dumps(header))}
        for c, component in enumerate(self.components):
            arrays[f"scales_{c}"] = component.scales
            for e in range(len(self.entries)):
                arrays[f"mean_{c}_{e}"] = component.means[e].astype(np.float32)
                arrays[f"precision_{c}_{e}"] = component.precisions[e].astype(np.float32)
            if component.head is not None:
                arrays[f"head_mean_{c}"] = component.head.mean
                arrays[f"head_scale_{c}"] = component.head.scale
                arrays[f"head_weights_{c}"] = component.head.weights
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> DomainReference:
        """Inverse of :meth:`to_bytes`.

        Raises:
            ConfigError: the data is not a domain reference.
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                header = json.loads(str(arrays["header"]))
                entries = tuple(_entry(m, layer, stat) for m, layer, stat in header["entries"])

                def read(name: str) -> Matrix:
                    return np.asarray(arrays[name], dtype=np.float64)

                components = []
                for c, item in enumerate(header["components"]):
                    head = item["head"]
                    components.append(
                        DomainComponent(
                            DomainSource(str(item["name"]), int(item["images"])),
                            tuple(read(f"mean_{c}_{e}") for e in range(len(entries))),
                            tuple(read(f"precision_{c}_{e}") for e in range(len(entries))),
                            read(f"scales_{c}"),
                            float(item["threshold"]),
                            None
                            if head is None
                            else SiteHead(
                                read(f"head_mean_{c}"),
                                read(f"head_scale_{c}"),
                                read(f"head_weights_{c}"),
                                float(head["bias"]),
                                float(head["threshold"]),
                            ),
                        )
                    )
                return cls(entries, tuple(components))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"not a domain reference ({error})") from None

    def encoded(self) -> tuple[str, str, bytes]:
        """The reference's file name in a bundle, its sha256 and its bytes."""
        data = self.to_bytes()
        digest = hashlib.sha256(data).hexdigest()
        return DOMAIN_FILE.format(digest=digest[:12]), digest, data

    def write(self, folder: Path) -> tuple[str, str]:
        """Write the reference into ``folder`` atomically; return its file name and sha256."""
        name, digest, data = self.encoded()
        write_bytes(folder / name, data)
        return name, digest


def _entry(member: object, layer: object, statistic: object) -> Entry:
    """An entry read from a file, checked."""
    if str(statistic) not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}")
    return (int(str(member)), str(layer), str(statistic))


def load_domain_reference(folder: Path, section: DomainCheckSection) -> DomainReference:
    """Read a bundle's domain reference and check it against the card.

    Raises:
        ModelFileError: the file is missing, does not match the card's checksum, or is invalid.
    """
    path = folder / section.file
    remedy = "Re-copy the bundle, or fit its domain check again with `hilum domain-check`."
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(
            f"Model bundle {folder}: its domain reference {section.file} cannot be read "
            f"({error.strerror or error}). {remedy}"
        ) from None
    if hashlib.sha256(data).hexdigest() != section.sha256:
        raise ModelFileError(
            f"Model bundle {folder}: {section.file} does not match the checksum in its card "
            f"(changed or damaged). {remedy}"
        )
    try:
        return DomainReference.from_bytes(data)
    except ConfigError as error:
        raise ModelFileError(
            f"Model bundle {folder}: {section.file} is {error}. {remedy}"
        ) from None
