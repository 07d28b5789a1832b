"""Model variants: every spec builds one flat graph whose Grad-CAM layer resolves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.errors import ConfigError, ModelFileError
from engine.modeling.architectures import INPUT_NAME, OUTPUT_NAME, unfreeze_top
from engine.modeling.variants import build_model, get_variant, list_variants, weights_source
from engine.runtime import tensorflow

tensorflow()
import keras  # noqa: E402

NAMES = [spec.name for spec in list_variants()]
MOBILENET_SHA256 = "dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf"


def test_the_issue_variants_are_all_there() -> None:
    assert NAMES == [
        "dense",
        "cnn",
        "cnn_reg",
        "deep_cnn",
        "vgg_small",
        "mobilenet",
        "mobilenet_v2",
        "vgg19",
        "xception",
    ]
    assert [spec.name for spec in list_variants() if spec.transfer] == NAMES[5:]


def test_unknown_variant_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"Unknown variant 'resnet'\. Known variants: dense, cnn"):
        get_variant("resnet")


@pytest.mark.parametrize("name", NAMES)
def test_builds_flat_graph_with_resolvable_gradcam_layer(name: str) -> None:
    spec = get_variant(name)
    size = spec.min_image_size
    model = build_model(spec, size)
    channels = 3 if spec.transfer else 1
    assert model.input_shape == (None, size, size, channels)
    assert model.output_shape == (None, 1)
    assert model.layers[0].name == INPUT_NAME
    assert model.layers[-1].name == OUTPUT_NAME
    # Flat: the CAM layer is a layer of the model itself, and the usual Grad-CAM model builds.
    cam = model.get_layer(spec.gradcam_layer)
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    grad_model = keras.Model(model.input, [cam.output, model.output])
    features, probability = grad_model(np.zeros((1, size, size, channels), np.float32))
    assert features.shape[0] == 1 and probability.shape == (1, 1)
    if spec.transfer:
        assert not any(layer.trainable for layer in model.layers if layer.name == cam.name)


def test_mobilenet_loads_the_offline_imagenet_file(mobilenet_weights: Path) -> None:
    spec = get_variant("mobilenet")
    model = build_model(spec, 128, mobilenet_weights)
    reference = keras.applications.MobileNet(
        alpha=0.25, include_top=False, weights=str(mobilenet_weights), input_shape=(128, 128, 3)
    )
    np.testing.assert_array_equal(
        model.get_layer("conv1").get_weights()[0], reference.get_layer("conv1").get_weights()[0]
    )
    source = weights_source(mobilenet_weights)
    assert (source.source, source.sha256) == ("file", MOBILENET_SHA256)


def test_weights_that_do_not_fit_the_backbone_are_a_model_file_error(
    mobilenet_weights: Path,
) -> None:
    with pytest.raises(ModelFileError, match="do not fit the 'mobilenet_v2' backbone"):
        build_model(get_variant("mobilenet_v2"), 64, mobilenet_weights)


def test_own_networks_refuse_imagenet_weights(mobilenet_weights: Path) -> None:
    with pytest.raises(ConfigError, match="'cnn' trains from scratch"):
        build_model(get_variant("cnn"), 64, mobilenet_weights)


def test_weights_source_describes_each_choice(tmp_path: Path) -> None:
    assert weights_source(None).to_card() == {"source": "random", "file": None, "sha256": None}
    assert weights_source("imagenet").source == "download"
    with pytest.raises(ConfigError, match="does not exist"):
        weights_source(tmp_path / "missing.h5")


@pytest.mark.parametrize(("name", "size"), [("xception", 64), ("cnn", 16), ("cnn", 2048)])
def test_image_size_out_of_range_is_refused(name: str, size: int) -> None:
    with pytest.raises(ConfigError, match=f"image_size {size} is out of range for variant"):
        get_variant(name).preprocessing_for(size)


def test_fine_tuning_opens_top_blocks_but_keeps_batch_norm_frozen() -> None:
    spec = get_variant("mobilenet")
    model = build_model(spec, 32)
    assert not model.get_layer("conv_pw_13").trainable
    opened = unfreeze_top(model, str(spec.fine_tune_from))
    assert opened > 0
    assert model.get_layer("conv_pw_13").trainable
    assert not model.get_layer("conv_pw_13_bn").trainable
    assert not model.get_layer("conv_pw_11").trainable
    with pytest.raises(ConfigError, match="has no layer 'nope'"):
        unfreeze_top(model, "nope")


def test_default_preprocessing_matches_the_backbone() -> None:
    assert get_variant("cnn").preprocessing.input_shape == (128, 128, 1)
    assert get_variant("vgg19").preprocessing.scaling == "caffe"
    assert get_variant("mobilenet").preprocessing.scaling == "minus_one_one"
    assert all(spec.preprocessing.stretch for spec in list_variants())
