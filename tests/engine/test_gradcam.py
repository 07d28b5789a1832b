"""Grad-CAM: one pass gives the model's probability and a [0, 1] map, for every variant."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.errors import ModelFileError
from engine.inference.gradcam import GradCam, overlay_rgb, upsample
from engine.modeling.preprocessing import Preprocessing
from engine.modeling.variants import build_model, list_variants
from tests.engine.tiny_bundles import tiny_model

SPEC = Preprocessing(64)


@pytest.fixture(scope="module")
def model() -> object:
    return tiny_model(SPEC)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).random((3, *SPEC.input_shape), dtype=np.float32)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_one_pass_gives_the_models_probability_and_a_normalised_map(model, images, method):
    batch = GradCam(model, "last_conv", method).run(images)

    expected = np.asarray(model(images, training=False)).ravel()
    np.testing.assert_allclose(batch.probabilities, expected, atol=1e-5)
    assert batch.maps.shape == (3, 15, 15)  # last_conv's grid, before any upsampling
    assert batch.maps.dtype == np.float32
    assert np.isfinite(batch.maps).all()
    assert batch.maps.min() >= 0.0
    for index in range(3):
        assert batch.empty[index] or batch.maps[index].max() == pytest.approx(1.0)


def test_an_all_zero_map_stays_zero_and_is_flagged(images):
    zero = tiny_model(SPEC, zero_cam=True)  # the output ignores the conv features

    batch = GradCam(zero, "last_conv").run(images)

    assert batch.empty.all()
    assert not np.isnan(batch.maps).any()
    assert (batch.maps == 0.0).all()


def test_probabilities_only_matches_the_cam_pass(model, images):
    cam = GradCam(model, "last_conv")
    np.testing.assert_allclose(cam.probabilities(images), cam.run(images).probabilities, atol=1e-6)


def test_an_unknown_or_flat_layer_is_a_clear_model_error(model):
    with pytest.raises(ModelFileError, match=r"no layer 'nope'.*last_conv"):
        GradCam(model, "nope")
    with pytest.raises(ModelFileError, match=r"'gap'.*feature map"):
        GradCam(model, "gap")


def test_an_unknown_method_is_refused(model):
    with pytest.raises(ValueError, match="gradcam\\+\\+"):
        GradCam(model, "last_conv", "cam")  # type: ignore[arg-type]


def test_upsample_is_bilinear_at_display_size_and_stays_in_range():
    cam = np.random.default_rng(1).random((7, 7), dtype=np.float32)

    big = upsample(cam, (1955, 1841))

    assert big.shape == (1955, 1841) and big.dtype == np.float32
    assert big.min() >= 0.0 and big.max() <= 1.0
    pillow = Image.fromarray(cam, mode="F").resize((1841, 1955), Image.Resampling.BILINEAR)
    np.testing.assert_allclose(big, np.asarray(pillow), atol=1e-5)


def test_overlay_is_rgb_at_image_size():
    pixels = np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(40, 30)
    heat = np.zeros_like(pixels)
    heat[10:20, 5:15] = 1.0

    rgb = overlay_rgb(pixels, heat)

    assert rgb.shape == (40, 30, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == rgb[0, 0, 0]).all()  # cold pixels stay gray
    assert not (rgb[15, 10] == rgb[15, 10, 0]).all()  # hot pixels are coloured


@pytest.mark.parametrize("spec", list_variants(), ids=lambda spec: spec.name)
def test_every_variant_gives_a_heatmap(spec):
    size = max(spec.min_image_size, 32)
    model = build_model(spec, size)
    cam = GradCam(model, spec.gradcam_layer, "gradcam++" if spec.transfer else "gradcam")
    x = np.random.default_rng(2).random(
        (2, *spec.preprocessing_for(size).input_shape), dtype=np.float32
    )

    batch = cam.run(x)

    np.testing.assert_allclose(
        batch.probabilities, np.asarray(model(x, training=False)).ravel(), atol=1e-4
    )
    assert np.isfinite(batch.maps).all()
    assert batch.maps.min() >= 0.0 and batch.maps.max() <= 1.0
    display = upsample(batch.maps[0], (300, 250))
    assert display.shape == (300, 250)


def test_the_dense_baselines_heatmap_is_evidence_not_the_image():
    """The dense variant has no conv layer; Grad-CAM's pooled weights on its input would only
    rescale the image. Its map must be the per-pixel contribution, which the image is not."""
    from engine.modeling.variants import get_variant

    spec = get_variant("dense")
    model = build_model(spec, 64)
    cam = GradCam(model, spec.gradcam_layer)
    assert cam.explains == "gradient x input"
    y, x = np.mgrid[0:64, 0:64]
    image = (0.2 + 0.6 * np.exp(-((x - 20) ** 2 + (y - 40) ** 2) / 300)).astype(np.float32)
    batch = cam.run(image[None, ..., None])

    heat = batch.maps[0]
    assert not batch.empty[0] and heat.max() == pytest.approx(1.0)
    correlation = np.corrcoef(heat.ravel(), image.ravel())[0, 1]
    assert correlation < 0.8, f"the heatmap is the image again (correlation {correlation:.2f})"
    # Gradient x input, exactly: each pixel's first-order contribution to the logit.
    import tensorflow as tf

    inputs = tf.constant(image[None, ..., None])
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        probability = model(inputs, training=False)[0, 0]
        logit = tf.math.log(probability) - tf.math.log1p(-probability)
    contribution = np.maximum(np.asarray(tape.gradient(logit, inputs))[0, ..., 0] * image, 0)
    np.testing.assert_allclose(heat, contribution / contribution.max(), atol=1e-3)


def test_the_user_is_told_which_kind_of_map_a_scorer_draws():
    """The dense baseline's map is gradient x input, not Grad-CAM: the name shown says so, and an
    ensemble that mixes both kinds names both."""
    from engine.inference.caveats import heatmap_kind_note
    from engine.inference.scorer import Scorer
    from engine.modeling.bundles import Member
    from engine.modeling.variants import get_variant

    dense = get_variant("dense")
    flat = Member(build_model(dense, 64), dense.preprocessing_for(64), dense.gradcam_layer)
    conv = Member(tiny_model(Preprocessing(64)), Preprocessing(64), "last_conv")

    assert Scorer([conv]).heatmap_kind == "Grad-CAM"
    assert Scorer([conv], method="gradcam++").heatmap_kind == "Grad-CAM++"
    assert Scorer([flat]).heatmap_kind == "gradient × input"
    assert Scorer([conv, flat]).heatmap_kind == "Grad-CAM + gradient × input"
    assert "no convolutional layer" in heatmap_kind_note(Scorer([flat]).heatmap_kind)
    assert heatmap_kind_note("Grad-CAM") == ""


def _known_conv_net() -> tuple[object, dict[str, np.ndarray]]:
    """conv 2x2 (3 filters, ReLU) -> global average pooling -> dense sigmoid, fixed weights.

    Filter 1's output weight is negative, so Grad-CAM's ReLU of the weighted sum matters.
    """
    import keras

    rng = np.random.default_rng(7)
    weights = {
        "kernel": rng.normal(size=(2, 2, 2, 3)).astype(np.float32),
        "bias": np.array([0.1, -0.2, 0.05], np.float32),
        "w": np.array([1.5, -0.8, 0.6], np.float32),
        "b0": np.array([-0.3], np.float32),
    }
    inputs = keras.Input((5, 5, 2))
    features = keras.layers.Conv2D(3, 2, activation="relu", name="feat")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(1, activation="sigmoid")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("feat").set_weights([weights["kernel"], weights["bias"]])
    model.layers[-1].set_weights([weights["w"][:, None], weights["b0"]])
    return model, weights


def _oracle_maps(x: np.ndarray, k: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Probabilities and normalised Grad-CAM / Grad-CAM++ maps of :func:`_known_conv_net`, by hand.

    The logit is z = sum_c w_c mean_ij(A_c) + b0, so dz/dA_ijc = g_c = w_c / (H W) everywhere.
    Grad-CAM: weights_c = mean_ij(g_c) = g_c. Grad-CAM++ (Chattopadhay et al. 2018, eq. 19 with
    the score Y = exp(z), whose higher derivatives are powers of g): alpha_c = g_c^2 /
    (2 g_c^2 + sum_ab(A_c) g_c^3), weights_c = sum_ij alpha_c ReLU(dY/dA_ijc) = H W alpha_c
    exp(z) ReLU(g_c). Each map is ReLU(sum_c weights_c A_c) over its maximum.
    """
    n, rows, cols, _ = x.shape
    h, w = rows - 1, cols - 1
    a = np.zeros((n, h, w, 3))
    for i in range(h):
        for j in range(w):
            patch = x[:, i : i + 2, j : j + 2, :].astype(np.float64)
            a[:, i, j, :] = np.einsum("nabk,abkc->nc", patch, k["kernel"]) + k["bias"]
    a = np.maximum(a, 0.0)
    z = a.mean(axis=(1, 2)) @ k["w"] + k["b0"][0]
    g = np.broadcast_to(k["w"] / (h * w), (n, 3))
    sums = a.sum(axis=(1, 2))
    alpha = g**2 / (2 * g**2 + sums * g**3)
    weights = {"gradcam": g, "gradcam++": h * w * alpha * np.exp(z)[:, None] * np.maximum(g, 0)}
    result = {"probabilities": 1.0 / (1.0 + np.exp(-z))}
    for method, per_channel in weights.items():
        maps = np.maximum(np.einsum("nhwc,nc->nhw", a, per_channel), 0.0)
        result[method] = maps / maps.max(axis=(1, 2), keepdims=True)
    return result


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_conv_layer_maps_equal_the_hand_computed_oracle(method):
    """On a conv net with known weights, both methods give exactly the hand-derived maps."""
    model, known = _known_conv_net()
    x = np.random.default_rng(8).normal(size=(2, 5, 5, 2)).astype(np.float32)
    oracle = _oracle_maps(x, known)
    other = "gradcam" if method == "gradcam++" else "gradcam++"
    assert np.abs(oracle[method] - oracle[other]).max() > 0.05, "the oracles must tell them apart"

    batch = GradCam(model, "feat", method).run(x)

    assert not batch.empty.any()
    np.testing.assert_allclose(batch.probabilities, oracle["probabilities"], atol=1e-6)
    np.testing.assert_allclose(batch.maps, oracle[method], atol=1e-5)
