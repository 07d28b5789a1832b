"""Model bundles: round trip, refusal of tampered or invalid bundles, atomic writes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import atomic_files
from engine.errors import ConfigError, ModelFileError
from engine.modeling import bundles
from engine.modeling.bundles import find_bundles, load_bundle, read_card, update_card, write_bundle
from engine.modeling.calibration import Calibration
from engine.modeling.operating_point import OperatingPoint
from engine.modeling.preprocessing import Preprocessing
from tests.engine.tiny_bundles import make_bundle, tiny_card, tiny_model

SPEC = Preprocessing(64)


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_model(SPEC)


def _visible(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def test_round_trip_keeps_model_and_card(tmp_path: Path, model: Any) -> None:
    calibration = Calibration.from_card({"method": "temperature", "temperature": 1.5})
    card = replace(
        tiny_card(SPEC, threshold=0.42, calibration=calibration),
        training={"history": {"loss": np.array([0.7, float("nan")])}, "parameters": np.int64(1234)},
    )
    folder = write_bundle(model, card, tmp_path / "bundle")
    assert sorted(os.listdir(tmp_path)) == ["bundle"]
    assert sorted(os.listdir(folder)) == ["card.json", "model.keras"]
    assert len(read_card(folder).model_sha256) == 64
    bundle = load_bundle(folder)
    assert bundle.card.threshold == 0.42 and bundle.card.calibration.temperature == pytest.approx(
        1.5
    )
    assert bundle.card.preprocessing == SPEC and bundle.card.variant == "cnn"
    assert bundle.card.model_id == "tiny-test" and bundle.card.gradcam_layer == "last_conv"
    assert bundle.card.training == {"history": {"loss": [0.7, None]}, "parameters": 1234}
    x = np.random.default_rng(0).random((2, *SPEC.input_shape), dtype=np.float32)
    np.testing.assert_allclose(
        bundle.model.predict_on_batch(x), model.predict_on_batch(x), rtol=1e-6
    )


def test_extra_text_and_binary_files_are_written_inside_the_bundle(
    tmp_path: Path, model: Any
) -> None:
    payload = bytes(range(256))  # not valid UTF-8: written as given, never re-encoded
    folder = write_bundle(
        model,
        tiny_card(SPEC),
        tmp_path / "bundle",
        extra_files={"notes.txt": "épaisseur 5 mm", "reference.npz": payload},
    )
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "épaisseur 5 mm"
    assert (folder / "reference.npz").read_bytes() == payload
    assert sorted(os.listdir(tmp_path)) == ["bundle"]


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    folder = make_bundle(tmp_path / "b")
    data = bytearray((folder / "model.keras").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.keras").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"does not match the checksum.*changed or damaged"):
        load_bundle(folder)


def _rewrite_card(folder: Path, **changes: Any) -> None:
    card = json.loads((folder / "card.json").read_text())
    card.update(changes)
    (folder / "card.json").write_text(json.dumps({k: v for k, v in card.items() if v is not ...}))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: (f / "card.json").unlink(), "there is no card.json"),
        (lambda f: (f / "model.keras").unlink(), "there is no model.keras"),
        (lambda f: (f / "card.json").write_text("{not json"), "not valid JSON"),
        (lambda f: (f / "card.json").write_text("[1, 2]"), "holds a list, expected a JSON object"),
        (lambda f: _rewrite_card(f, threshold=1.5), r"threshold is 1.5, expected a number in"),
        (lambda f: _rewrite_card(f, threshold="0.5"), "'threshold' is '0.5', expected a float"),
        (lambda f: _rewrite_card(f, gradcam_layer=...), "lacks gradcam_layer"),
        (lambda f: _rewrite_card(f, format_version=9), "newer than this Hilum reads"),
        (lambda f: _rewrite_card(f, preprocessing={"image_size": 8}), "preprocessing is invalid"),
        (lambda f: _rewrite_card(f, calibration={"method": "magic"}), "calibration is invalid"),
        (lambda f: _rewrite_card(f, class_names=["A", "B"]), "class_names are"),
    ],
)
def test_invalid_bundles_are_refused_naming_the_folder(
    tmp_path: Path, damage: Any, match: str
) -> None:
    folder = make_bundle(tmp_path / "b")
    damage(folder)
    with pytest.raises(ModelFileError, match=match) as caught:
        read_card(folder)
    assert str(folder) in str(caught.value)


def test_missing_folder_and_unloadable_model(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"does not exist.*Choose a model bundle folder"):
        load_bundle(tmp_path / "nowhere")
    folder = make_bundle(tmp_path / "b")
    (folder / "model.keras").write_bytes(b"not a zip file")
    _rewrite_card(folder, model_sha256=bundles.sha256_of(folder / "model.keras"))
    with pytest.raises(ModelFileError, match=r"Keras cannot load model\.keras"):
        load_bundle(folder)


def test_card_disagreeing_with_the_model_is_refused(tmp_path: Path) -> None:
    folder = make_bundle(tmp_path / "b")
    _rewrite_card(folder, gradcam_layer="no_such_layer")
    with pytest.raises(ModelFileError, match="Grad-CAM layer 'no_such_layer' is not in the model"):
        load_bundle(folder)
    _rewrite_card(folder, gradcam_layer="last_conv", preprocessing=Preprocessing(96).to_card())
    with pytest.raises(ModelFileError, match=r"takes input \[64, 64, 1\].*gives \[96, 96, 1\]"):
        load_bundle(folder)


def test_invalid_card_is_refused_before_anything_is_written(tmp_path: Path, model: Any) -> None:
    card = replace(tiny_card(SPEC), threshold=1.5)
    with pytest.raises(ModelFileError, match=r"threshold is 1\.5"):
        write_bundle(model, card, tmp_path / "b")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("step", ["write_synced", "_install"])
def test_crash_mid_write_leaves_no_bundle(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    def crash(*_: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(bundles, step, crash)
    with pytest.raises(ModelFileError, match=r"could not be written.*disk full"):
        write_bundle(model, tiny_card(SPEC), tmp_path / "b")
    assert os.listdir(tmp_path) == []


def test_crash_while_replacing_keeps_the_old_bundle(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_bundle(model, tiny_card(SPEC, threshold=0.3), tmp_path / "b")

    def crash(*_: object) -> None:
        raise RuntimeError("killed (simulated)")

    monkeypatch.setattr(bundles, "write_synced", crash)
    with pytest.raises(RuntimeError, match="killed"):
        write_bundle(model, tiny_card(SPEC, threshold=0.9), folder, overwrite=True)
    assert os.listdir(tmp_path) == ["b"] and read_card(folder).threshold == 0.3


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_overwrite_only_when_asked(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(bundles, "_exchange", lambda *_: False)
    folder = write_bundle(model, tiny_card(SPEC, threshold=0.3), tmp_path / "b")
    with pytest.raises(ModelFileError, match=r"already exists.*allow overwriting"):
        write_bundle(model, tiny_card(SPEC, threshold=0.9), folder)
    assert read_card(folder).threshold == 0.3
    write_bundle(model, tiny_card(SPEC, threshold=0.9), folder, overwrite=True)
    assert read_card(folder).threshold == 0.9
    assert os.listdir(tmp_path) == ["b"]


def test_find_bundles_ignores_partial_and_other_folders(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b2")
    make_bundle(tmp_path / "b1")
    (tmp_path / "notes").mkdir()
    leftover = tmp_path / ".b3.partial-4242"  # a killed write
    leftover.mkdir()
    (leftover / "card.json").write_text("{}")
    assert [path.name for path in find_bundles(tmp_path)] == ["b1", "b2"]
    assert find_bundles(tmp_path / "b1") == [tmp_path / "b1"]
    assert find_bundles(tmp_path / "absent") == []
    assert atomic_files.is_partial(leftover)


def test_update_card_is_validated_and_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_bundle(tmp_path / "b")
    point = {
        "threshold": 0.2,
        "method": "manual",
        "target": None,
        "sensitivity": 0.99,
        "specificity": 0.5,
    }
    card = read_card(folder)
    new = update_card(
        folder, replace(card, threshold=0.2, operating_point=OperatingPoint.from_card(point))
    )
    assert read_card(folder) == new and new.operating_point is not None
    assert new.operating_point.to_card() == point
    with pytest.raises(ModelFileError, match="threshold is 7"):
        update_card(folder, replace(card, threshold=7))
    with pytest.raises(ConfigError, match="cannot change model_sha256"):
        update_card(folder, replace(card, model_sha256="0" * 64))

    def crash(*_: object) -> None:
        raise OSError("power cut (simulated)")

    monkeypatch.setattr(atomic_files.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        update_card(folder, replace(new, threshold=0.6))
    monkeypatch.undo()
    assert read_card(folder).threshold == 0.2
    assert sorted(os.listdir(folder)) == ["card.json", "model.keras"]
