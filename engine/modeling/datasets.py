"""Labelled folders to ``tf.data`` pipelines: patient-aware split, augmentation, class weights.

Split. When the data has no usable validation folder, validation is carved out of train with
scikit-learn's ``StratifiedGroupKFold``: stratified by label, grouped by
:func:`engine.modeling.labelled_folders.patient_id` (no patient on both sides), seeded. A ``val/``
folder is used only when it holds at least :data:`MIN_VALIDATION_IMAGES` images: the official
Kermany ``val/`` has 16, far too few to choose an operating point on.

Pipeline. Files are decoded in parallel through
:func:`engine.modeling.preprocessing.load_gray_input` (the first half of inference's
preprocessing) into ONE gray channel in [0, 1] (resized and, by default, stretched per image).
That is what is cached in memory: 5,216 images take 0.34 GB at 128 px and 1.05 GB at 224 px,
where caching the 3-channel network input would take 3.1 GB. After the cache, training batches
are augmented in that [0, 1] space, then :func:`engine.modeling.preprocessing.network_input` (the
second half, the very function inference runs, here on TensorFlow tensors) applies the variant's
scaling and channel repetition.

Augmentation (training only): :mod:`engine.modeling.augmentation`'s shortcut-removing recipe
(framing, exposure, blur/noise, burned-in text), applied after the per-image stretch (before it,
the stretch would undo brightness and contrast changes).

Unreadable files are skipped (weight 0) and counted (:class:`DecodeLog`), never fatal. With a
seed, the order, the shuffling and the augmentation are reproducible.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import DatasetError, ImageReadError
from engine.modeling.augmentation import make_augmenter
from engine.modeling.labelled_folders import CLASS_NAMES, DataFolders, LabelledSet, patient_id
from engine.modeling.preprocessing import Preprocessing, load_gray_input, network_input
from engine.runtime import tensorflow

#: Smallest ``val/`` folder used as the validation set; smaller ones are ignored (carve instead).
MIN_VALIDATION_IMAGES = 100


@dataclass(frozen=True)
class Split:
    """Training and validation images, and how they were separated (for the model card)."""

    train: LabelledSet
    validation: LabelledSet
    method: str
    seed: int
    fraction: float

    def to_card(self) -> dict[str, Any]:
        """JSON-ready description for the card's ``data.split``."""
        return {"method": self.method, "seed": self.seed, "fraction": self.fraction}


def patient_split(data: LabelledSet, fraction: float, seed: int) -> tuple[LabelledSet, LabelledSet]:
    """Split ``data`` into (train, validation), stratified by label and grouped by patient.

    ``StratifiedGroupKFold`` with ``round(1 / fraction)`` folds, shuffled with ``seed``; the
    first fold is the validation set. Every patient's images land on one side.

    Args:
        data: the images to split.
        fraction: wanted share of validation images, in (0, 0.5].
        seed: shuffling seed.

    Raises:
        DatasetError: too few images or patients of a class to split.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(data.labels)
    folds = max(2, round(1.0 / fraction))
    per_class = np.bincount(labels, minlength=2)
    if per_class.min() < folds:
        raise DatasetError(
            f"{data.root}: {per_class[0]} NORMAL and {per_class[1]} PNEUMONIA images are too few "
            f"to carve a {fraction:.0%} validation set; each class needs at least {folds}. Add "
            "images, raise --limit, or provide a val/ folder."
        )
    groups = [patient_id(path) for path in data.paths]
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    train_index, validation_index = next(splitter.split(np.zeros(len(labels)), labels, groups))
    return data.subset(np.sort(train_index)), data.subset(np.sort(validation_index))


def make_split(folders: DataFolders, fraction: float, seed: int) -> Split:
    """Use the ``val/`` folder when it is big enough, else carve validation out of train.

    Raises:
        DatasetError: too few images to split.
    """
    if folders.validation is not None and len(folders.validation) >= MIN_VALIDATION_IMAGES:
        return Split(
            folders.train,
            folders.validation,
            "folder",
            seed,
            round(len(folders.validation) / (len(folders.train) + len(folders.validation)), 4),
        )
    train, validation = patient_split(folders.train, fraction, seed)
    method = "stratified_group_kfold(patient_id)"
    if folders.validation is not None:
        method += f"; val/ ignored: {len(folders.validation)} < {MIN_VALIDATION_IMAGES} images"
    return Split(train, validation, method, seed, fraction)


def class_weights(labels: tuple[int, ...] | list[int] | np.ndarray) -> dict[int, float]:
    """Weights ``n / (2 * n_class)`` that balance the two classes' share of the loss.

    Raises:
        DatasetError: a class has no image.
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=2)
    if counts.min() == 0:
        raise DatasetError(f"Both classes need images to train, got counts {counts.tolist()}.")
    total = float(counts.sum())
    return {label: total / (2.0 * float(count)) for label, count in enumerate(counts)}


def file_list_sha256(*sets: LabelledSet) -> str:
    """A checksum of the (class, relative path) list of every image used, in order."""
    digest = hashlib.sha256()
    for data in sets:
        for path, label in zip(data.paths, data.labels, strict=True):
            try:
                relative = path.relative_to(data.root)
            except ValueError:
                relative = path
            digest.update(f"{CLASS_NAMES[label]}\t{relative.as_posix()}\n".encode())
    return digest.hexdigest()


@dataclass
class DecodeLog:
    """Files a pipeline could not read (filled while the pipeline runs; thread-safe)."""

    failed: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, path: str, error: ImageReadError) -> None:
        """Remember that ``path`` could not be read."""
        with self._lock:
            self.failed[path] = str(error)

    @property
    def count(self) -> int:
        """How many files were skipped."""
        with self._lock:
            return len(self.failed)


def make_dataset(
    data: LabelledSet,
    preprocessing: Preprocessing,
    *,
    batch_size: int,
    training: bool,
    augment: bool,
    seed: int,
    log: DecodeLog,
    weights: dict[int, float] | None = None,
) -> Any:
    """A batched ``tf.data.Dataset`` of ``(images, labels, sample_weights)`` for ``data``.

    An unreadable file yields a blank image with weight 0, so it counts in neither the loss nor
    the metrics, while the number of batches stays known (Keras needs it for its progress, and
    :func:`tf.data.Dataset.filter` would hide it).

    Args:
        data: the images and labels.
        preprocessing: the model's input spec (size, channels, stretch, scaling).
        batch_size: images per batch (the global batch under a distribution strategy).
        training: shuffle each epoch (seeded); validation keeps the file order.
        augment: apply :func:`engine.modeling.augmentation.make_augmenter` (only when
            ``training``).
        seed: seed of the shuffling and the augmentation.
        log: collects the files that could not be read.
        weights: per-class loss weights (:func:`class_weights`); ``None`` weighs all alike.

    Returns:
        A dataset of float32 images ``[batch, h, w, c]``, labels ``[batch, 1]`` and weights
        ``[batch]``.
    """
    tf = tensorflow()
    import tensorflow.experimental.numpy as tnp

    shape = (preprocessing.image_size, preprocessing.image_size, 1)

    def decode(path: bytes) -> tuple[np.ndarray, np.float32]:
        name = path.decode()
        try:
            return load_gray_input(name, preprocessing), np.float32(1.0)
        except ImageReadError as error:
            log.record(name, error)
            return np.zeros(shape, np.float32), np.float32(0.0)

    def load(path: Any, label: Any, weight: Any) -> tuple[Any, Any, Any]:
        image, readable = tf.numpy_function(
            decode, [path], (tf.float32, tf.float32), stateful=False
        )
        image.set_shape(shape)
        readable.set_shape(())
        return image, tf.reshape(label, (1,)), weight * readable

    paths = [str(path) for path in data.paths]
    labels = np.asarray(data.labels, np.float32)
    per_class = weights or {0: 1.0, 1: 1.0}
    sample_weights = np.asarray([per_class[label] for label in data.labels], np.float32)
    dataset = (
        tf.data.Dataset.from_tensor_slices((paths, labels, sample_weights))
        .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .cache()
    )
    if training:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if training and augment:
        augment_batch = make_augmenter(seed)
        # Sequential on purpose: the random ops draw from one seed state, and parallel calls
        # would take their random numbers in a racy order (not reproducible).
        dataset = dataset.map(lambda x, y, w: (augment_batch(x), y, w))
    dataset = dataset.map(
        lambda x, y, w: (network_input(x, preprocessing, tnp), y, w),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def steps(data: LabelledSet, batch_size: int) -> int:
    """Batches per pass over ``data``."""
    return max(1, -(-len(data) // batch_size))


def check_trainable(split: Split) -> None:
    """Refuse a split whose train or validation side lacks a class.

    Raises:
        DatasetError: one side has no image of a class.
    """
    for side, data in (("training", split.train), ("validation", split.validation)):
        counts = data.counts()
        if min(counts.values()) == 0:
            raise DatasetError(
                f"{data.root}: the {side} set has {counts}; both classes are needed. Add images "
                "or use a larger --limit."
            )
