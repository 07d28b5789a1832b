"""Data: patient-grouped stratified split, class weights, the tf.data pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.errors import DatasetError
from engine.modeling import datasets
from engine.modeling.labelled_folders import (
    DataFolders,
    find_data_folders,
    patient_id,
    read_labelled_set,
)
from engine.modeling.preprocessing import (
    SCALINGS,
    Preprocessing,
    load_and_preprocess,
    load_gray_input,
    network_input,
)
from engine.runtime import tensorflow

tf = tensorflow()
import tensorflow.experimental.numpy as tnp  # noqa: E402  (after the runtime set-up)


@pytest.fixture(scope="module")
def full_train(train_dir: Path) -> DataFolders:
    return find_data_folders(train_dir)


def _patients(data: datasets.LabelledSet) -> set[str]:
    return {patient_id(path) for path in data.paths}


def test_carved_validation_shares_no_patient_and_keeps_the_class_ratio(
    full_train: DataFolders,
) -> None:
    split = datasets.make_split(full_train, 0.125, seed=7)
    assert not _patients(split.train) & _patients(split.validation)
    assert len(split.train) + len(split.validation) == len(full_train.train)
    share = len(split.validation) / len(full_train.train)
    assert 0.10 <= share <= 0.15
    rate = np.mean(full_train.train.labels)
    assert abs(np.mean(split.validation.labels) - rate) < 0.03
    assert split.to_card() == {
        "method": "stratified_group_kfold(patient_id)",
        "seed": 7,
        "fraction": 0.125,
    }


def test_split_is_seeded(full_train: DataFolders) -> None:
    first = datasets.patient_split(full_train.train, 0.125, seed=1)[1].paths
    assert datasets.patient_split(full_train.train, 0.125, seed=1)[1].paths == first
    assert datasets.patient_split(full_train.train, 0.125, seed=2)[1].paths != first


def test_a_tiny_val_folder_is_ignored_and_said_so(tmp_path: Path, tiny_train_set: Path) -> None:
    shutil.copytree(tiny_train_set, tmp_path / "train", symlinks=True)
    for name in ("NORMAL", "PNEUMONIA"):
        (tmp_path / "val" / name).mkdir(parents=True)
        source = sorted((tiny_train_set / name).iterdir())[0]
        (tmp_path / "val" / name / source.name).symlink_to(source.resolve())
    split = datasets.make_split(find_data_folders(tmp_path), 0.125, seed=0)
    assert split.method.endswith("val/ ignored: 2 < 100 images")
    assert len(split.validation) >= 2


def test_too_few_images_to_split_is_a_dataset_error(tiny_train_set: Path) -> None:
    data = read_labelled_set(tiny_train_set)
    with pytest.raises(
        DatasetError, match=r"too few to carve a 50% validation set; each class needs at least 2"
    ):
        datasets.patient_split(data.subset([0, 1, 30]), 0.5, seed=0)


def test_class_weights_balance_the_classes() -> None:
    weights = datasets.class_weights([0, 1, 1, 1])
    assert weights == pytest.approx({0: 2.0, 1: 2.0 / 3.0})
    with pytest.raises(DatasetError, match="Both classes need images"):
        datasets.class_weights([1, 1])


@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("channels", [1, 3])
def test_network_input_on_tensorflow_tensors_reproduces_preprocess(
    tiny_train_set: Path, scaling: str, channels: int
) -> None:
    path = next((tiny_train_set / "PNEUMONIA").iterdir())
    spec = Preprocessing(64, channels, True, scaling)
    cached = load_gray_input(path, spec)
    on_tensors = network_input(tf.constant(cached[np.newaxis]), spec, tnp).numpy()[0]
    np.testing.assert_allclose(on_tensors, load_and_preprocess(path, spec), atol=1e-4)


def _batches(dataset: object) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy(), w.numpy()) for x, y, w in dataset]  # type: ignore[attr-defined]


def test_validation_pipeline_feeds_exactly_what_inference_computes(tiny_train_set: Path) -> None:
    data = read_labelled_set(tiny_train_set).subset(list(range(20, 28)))
    spec = Preprocessing(48, 3, True, "caffe")
    batches = _batches(
        datasets.make_dataset(
            data, spec, batch_size=3, training=False, augment=True, seed=0, log=datasets.DecodeLog()
        )
    )
    images = np.concatenate([x for x, _, _ in batches])
    labels = np.concatenate([y for _, y, _ in batches]).reshape(-1)
    assert images.shape == (8, 48, 48, 3)
    assert labels.tolist() == list(data.labels)
    expected = np.stack([load_and_preprocess(path, spec) for path in data.paths])
    np.testing.assert_allclose(images, expected, atol=1e-3)


def test_training_pipeline_is_seeded_augmented_and_weighted(tiny_train_set: Path) -> None:
    data = read_labelled_set(tiny_train_set)
    spec = Preprocessing(32)
    weights = datasets.class_weights(data.labels)

    def run(seed: int, augment: bool) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return _batches(
            datasets.make_dataset(
                data,
                spec,
                batch_size=16,
                training=True,
                augment=augment,
                seed=seed,
                log=datasets.DecodeLog(),
                weights=weights,
            )
        )

    first = run(3, True)
    again = run(3, True)
    for (x1, y1, w1), (x2, y2, w2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        np.testing.assert_array_equal(w1, w2)
    assert not np.array_equal(first[0][0], run(4, True)[0][0])
    plain = np.concatenate([x for x, _, _ in run(3, False)])
    augmented = np.concatenate([x for x, _, _ in first])
    assert plain.shape == augmented.shape and not np.allclose(plain, augmented, atol=1e-3)
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
    sample_weights = np.concatenate([w for _, _, w in first])
    labels = np.concatenate([y for _, y, _ in first]).reshape(-1).astype(int)
    np.testing.assert_allclose(sample_weights, [weights[label] for label in labels])


def test_unreadable_files_are_skipped_and_counted(tmp_path: Path, tiny_train_set: Path) -> None:
    shutil.copytree(tiny_train_set, tmp_path, symlinks=True, dirs_exist_ok=True)
    (tmp_path / "NORMAL" / "broken.jpeg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    data = read_labelled_set(tmp_path)
    log = datasets.DecodeLog()
    batches = _batches(
        datasets.make_dataset(
            data, Preprocessing(32), batch_size=64, training=False, augment=False, seed=0, log=log
        )
    )
    assert log.count == 1 and next(iter(log.failed)).endswith("broken.jpeg")
    weights = batches[0][2]
    assert weights.shape == (len(data),)
    assert (weights == 0).sum() == 1
    assert datasets.steps(data, 64) == 1


def test_file_list_checksum_follows_the_files(tiny_train_set: Path) -> None:
    data = read_labelled_set(tiny_train_set)
    digest = datasets.file_list_sha256(data)
    assert digest == datasets.file_list_sha256(read_labelled_set(tiny_train_set))
    assert digest != datasets.file_list_sha256(data.subset(list(range(len(data) - 1))))
