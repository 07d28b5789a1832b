"""The class activation map shortcut: Grad-CAM without a backward pass for a GAP + linear head.

For the shipped model (MobileNetV2, global average pooling, dropout, ``Dense(1, sigmoid)``) the
map from the forward pass must be Grad-CAM's map computed with the gradient tape, on real images;
any head that is not provably GAP + linear keeps the tape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.imaging.images import load_image
from engine.inference.gradcam import GradCam
from engine.inference.scorer import Scorer
from engine.modeling.bundles import Bundle, Member, load_bundle
from engine.modeling.preprocessing import Preprocessing, network_input, preprocess
from engine.modeling.tta import TtaRecipe
from engine.runtime import tensorflow

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "resources" / "models" / "default"
SPEC = Preprocessing(64)


@pytest.fixture(scope="module")
def shipped() -> Bundle:
    return load_bundle(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def real_images(shared_data: Path) -> list[Path]:
    """Real radiographs of every kind: training JPEGs, full-size films, a 2k DICOM, NIH PNGs."""
    return [
        *sorted((shared_data / "chest_xray" / "external" / "NORMAL").glob("*.jpeg"))[:2],
        *sorted((shared_data / "chest_xray" / "external" / "PNEUMONIA").glob("*.jpeg"))[:2],
        *sorted((shared_data / "fullres" / "PNEUMONIA").glob("*.jpeg"))[:2],
        shared_data / "dicom" / "RG1_UNCR.dcm",
        *sorted((shared_data / "sites" / "nih" / "NORMAL").glob("*.png"))[:1],
    ]


def _inputs(bundle: Bundle, paths: list[Path]) -> np.ndarray:
    spec = bundle.card.preprocessing
    return np.stack([preprocess(load_image(path).pixels, spec) for path in paths])


def test_the_shipped_models_map_without_backward_pass_is_its_grad_cam(shipped, real_images):
    fast = GradCam(shipped.model, shipped.card.gradcam_layer)
    tape = GradCam(shipped.model, shipped.card.gradcam_layer, backward=True)
    x = _inputs(shipped, real_images)

    shortcut, reference = fast.run(x), tape.run(x)

    assert fast.single_pass
    assert not tape.single_pass
    assert not reference.empty.any()
    assert shortcut.maps.shape == reference.maps.shape == (len(real_images), 7, 7)
    np.testing.assert_allclose(shortcut.maps, reference.maps, atol=1e-5)
    np.testing.assert_allclose(shortcut.probabilities, reference.probabilities, atol=1e-6)
    np.testing.assert_array_equal(shortcut.empty, reference.empty)


def _model(head: str) -> Any:
    """A tiny CNN whose head is GAP + Dense (``"linear"``), or not GAP + linear."""
    tensorflow()
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input(SPEC.input_shape)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="last_conv")(x)
    if head == "flatten":
        x = keras.layers.Flatten()(x)
    elif head == "max":
        x = keras.layers.GlobalMaxPooling2D()(x)
    else:
        x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(0.5)(x)
    if head == "hidden":
        x = keras.layers.Dense(4, activation="relu")(x)
    if head == "softmax":
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(4).random((3, *SPEC.input_shape), dtype=np.float32)


@pytest.mark.parametrize("head", ["linear", "softmax"])
def test_a_gap_linear_head_takes_the_shortcut_with_the_same_map(head, images):
    model = _model(head)
    fast = GradCam(model, "last_conv")
    batch = fast.run(images)

    assert fast.single_pass
    reference = GradCam(model, "last_conv", backward=True).run(images)
    np.testing.assert_allclose(batch.maps, reference.maps, atol=1e-5)
    np.testing.assert_array_equal(batch.empty, reference.empty)


@pytest.mark.parametrize("head", ["hidden", "flatten", "max"])
def test_a_head_that_is_not_gap_linear_keeps_the_backward_pass(head, images):
    cam = GradCam(_model(head), "last_conv")

    assert not cam.single_pass
    assert cam.run(images).maps.shape == (3, 15, 15)


def test_a_layer_the_head_does_not_pool_keeps_the_backward_pass():
    assert not GradCam(_model("linear"), "conv1").single_pass


def test_grad_cam_plus_plus_keeps_the_backward_pass():
    assert not GradCam(_model("linear"), "last_conv", "gradcam++").single_pass


def test_every_view_in_one_call_gives_the_per_image_results(shipped, real_images):
    scorer = Scorer(shipped.members, shipped.card.tta)
    inputs = [scorer.inputs(load_image(path).pixels) for path in real_images[:4]]

    together = scorer.raw_with_heatmaps(inputs)

    assert scorer.views == 4  # the shipped recipe: identity, mirror, zoom in, zoom out
    forward_only = scorer.raw(inputs)
    tape = GradCam(shipped.model, shipped.card.gradcam_layer, backward=True)
    for index, scored in enumerate(together):
        assert scored.raw == pytest.approx(forward_only[index], abs=1e-5)
        alone = scorer.raw_with_heatmap(inputs[index])
        assert alone.raw == pytest.approx(scored.raw, abs=1e-5)
        assert scored.heatmap is not None and alone.heatmap is not None
        np.testing.assert_allclose(alone.heatmap, scored.heatmap, atol=1e-5)
        shown = network_input(inputs[index][0][:1], shipped.card.preprocessing)
        identity = tape.run(shown)  # the image as shown, through the tape
        np.testing.assert_allclose(scored.heatmap, identity.maps[0], atol=1e-5)


def test_a_member_that_needs_the_tape_scores_every_view_and_maps_the_identity_view(images):
    """Grad-CAM++ keeps the backward pass: on the identity views only, the other views forward."""
    model = _model("hidden")
    tta = TtaRecipe(("identity", "hflip", "zoom_in"))
    scorer = Scorer([Member(model, SPEC, "last_conv")], tta, "gradcam++")
    gray = [image[..., 0] for image in images]
    inputs = [scorer.inputs(pixels) for pixels in gray]

    scored = scorer.raw_with_heatmaps(inputs)

    forward = np.asarray(model(np.concatenate([x[0] for x in inputs]), training=False))
    expected = forward.reshape(len(gray), 3).mean(axis=1)
    np.testing.assert_allclose([s.raw for s in scored], expected, atol=1e-5)
    identity = GradCam(model, "last_conv", "gradcam++").run(np.stack([x[0][0] for x in inputs]))
    for index, result in enumerate(scored):
        assert result.heatmap is not None
        np.testing.assert_allclose(result.heatmap, identity.maps[index], atol=1e-5)
