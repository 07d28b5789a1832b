"""The light runtime (issue 18 item 2): LiteRT reads images from the networks exported in the
bundle, with the probability, heatmap and domain score TensorFlow gives; exports are checked
by checksum, made on first load for older bundles, and the runtime is chosen as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import engine.runtime
from engine.cli.main import main
from engine.errors import ConfigError, ModelFileError
from engine.inference.network_export import export_networks
from engine.inference.predictor import Predictor
from engine.modeling.bundles import read_card, write_bundle
from engine.modeling.preprocessing import Preprocessing
from engine.runtime import LITERT, TENSORFLOW, choose_runtime, tensorflow
from tests.engine.tiny_bundles import make_bundle, tiny_card, tiny_model

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"
SPEC = Preprocessing(64)


@pytest.fixture(autouse=True)
def chosen_by_hilum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with the runtime left to Hilum's choice, on a machine without a GPU
    (a GPU that TensorFlow sees would choose TensorFlow: simulated in one test)."""
    monkeypatch.delenv("HILUM_RUNTIME", raising=False)
    monkeypatch.setattr(engine.runtime, "tensorflow_gpu", lambda: False)


@pytest.fixture(scope="module")
def external_images(external_dir: Path) -> list[Path]:
    """48 real images from elsewhere: 24 of each class."""
    return [
        path
        for name in ("NORMAL", "PNEUMONIA")
        for path in sorted((external_dir / name).glob("*.jpeg"))[::4][:24]
    ]


def _predictions(runtime: str, images: list[Path]) -> tuple[Predictor, list[Any]]:
    predictor = Predictor.load(DEFAULT_MODEL, runtime=runtime)
    results = list(predictor.predict_many(images, with_heatmaps=True, batch_size=16))
    return predictor, [result.prediction for result in results]


def test_litert_gives_tensorflows_probability_heatmap_and_domain_score(external_images):
    tf_predictor, by_tf = _predictions(TENSORFLOW, external_images)
    lite_predictor, by_lite = _predictions(LITERT, external_images)
    assert (tf_predictor.runtime, lite_predictor.runtime) == (TENSORFLOW, LITERT)
    assert "LiteRT" in str(lite_predictor.device) and "TensorFlow" in str(tf_predictor.device)
    assert len(by_tf) == len(by_lite) == 48 and all(by_tf) and all(by_lite)
    pairs = list(zip(by_tf, by_lite, strict=True))
    probability = max(abs(a.raw_probability - b.raw_probability) for a, b in pairs)
    heatmap = max(float(np.abs(a.heatmap - b.heatmap).max()) for a, b in pairs)
    domain = max(abs(a.domain_score - b.domain_score) for a, b in pairs)
    assert probability < 1e-4
    assert heatmap < 1e-3
    assert domain < 1e-3
    assert [a.label for a in by_tf] == [b.label for b in by_lite]
    assert [a.in_domain for a in by_tf] == [b.in_domain for b in by_lite]


def test_an_exported_bundle_round_trips_and_a_tampered_export_is_refused(tmp_path, external_images):
    jpeg_file = external_images[-1]
    folder = write_bundle(
        tiny_model(SPEC), tiny_card(SPEC), tmp_path / "tiny", export=export_networks
    )
    section = read_card(folder).runtime_export
    assert section is not None and [n.file for n in section.networks] == ["member_0.tflite"]
    assert section.networks[0].outputs[:2] == ("probability", "cam")
    assert "TFLiteConverter" in section.converter
    lite = Predictor.load(folder)
    assert lite.runtime == LITERT and lite.bundle.model is None
    by_tf = Predictor.load(folder, runtime=TENSORFLOW).predict(jpeg_file)
    by_lite = lite.predict(jpeg_file)
    assert abs(by_tf.raw_probability - by_lite.raw_probability) < 1e-5
    assert float(np.abs(by_tf.heatmap - by_lite.heatmap).max()) < 1e-3

    with (folder / "member_0.tflite").open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ModelFileError, match=r"member_0\.tflite does not match") as caught:
        Predictor.load(folder)
    assert "hilum export-runtime" in str(caught.value)


def test_an_older_bundle_is_exported_on_its_first_load(tmp_path):
    folder = make_bundle(tmp_path / "old")
    assert read_card(folder).runtime_export is None  # a card without the section reads
    predictor = Predictor.load(folder)
    section = read_card(folder).runtime_export
    assert section is not None and (folder / section.networks[0].file).is_file()
    assert predictor.runtime == LITERT
    assert Predictor.load(folder).runtime == LITERT  # and from then on


def test_the_command_exports_a_bundle(tmp_path, capsys):
    folder = make_bundle(tmp_path / "old")
    assert main(["export-runtime", str(folder), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == read_card(folder).runtime_export.to_card()


def _flatten_head_bundle(folder: Path) -> Path:
    """A bundle whose head is not global average pooling + linear: Grad-CAM needs the tape."""
    tensorflow()
    import keras

    inputs = keras.Input(SPEC.input_shape)
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu", name="last_conv")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    return write_bundle(keras.Model(inputs, outputs), tiny_card(SPEC), folder)


def test_the_runtime_is_chosen_as_documented(tmp_path, monkeypatch):
    assert choose_runtime(exported=False) == TENSORFLOW
    assert choose_runtime(exported=True) == LITERT
    monkeypatch.setattr(engine.runtime, "tensorflow_gpu", lambda: True)
    assert choose_runtime(exported=True) == TENSORFLOW  # a GPU TensorFlow sees
    monkeypatch.setattr(engine.runtime, "tensorflow_gpu", lambda: False)
    flatten = _flatten_head_bundle(tmp_path / "flatten")
    assert Predictor.load(flatten).runtime == TENSORFLOW  # cannot be exported
    assert read_card(flatten).runtime_export is None
    exported = make_bundle(tmp_path / "gap")
    assert Predictor.load(exported).runtime == LITERT
    assert Predictor.load(exported, method="gradcam++").runtime == TENSORFLOW

    monkeypatch.setenv("HILUM_RUNTIME", "tensorflow")
    assert Predictor.load(exported).runtime == TENSORFLOW
    monkeypatch.setenv("HILUM_RUNTIME", "litert")
    with pytest.raises(ModelFileError, match="not exported for LiteRT"):
        Predictor.load(flatten)
    monkeypatch.setenv("HILUM_RUNTIME", "onnx")
    with pytest.raises(ConfigError, match="HILUM_RUNTIME is 'onnx'"):
        choose_runtime(exported=True)
