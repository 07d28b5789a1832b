"""Training augmentation that takes away the shortcuts a chest X-ray model finds in this data.

The first shipped model learned how a radiograph is framed instead of what the lungs show: crop
a NORMAL training image to 85 % of its side and one label in five flipped to PNEUMONIA, and the
images from elsewhere (framed tighter, other exposure, burned-in text) were called pneumonia. So
the default recipe, for every variant, makes framing, exposure and annotations uninformative:

* **framing**: zoom in to 65 % of the side (random-resized crop) or out to 135 % (zoom-out with a
  black border, as a collimated plate has), independently in height and width (aspect 0.75-1.33),
  shift up to 8 %, rotate up to 12 degrees, mirror half of the images (a mirrored plate is common
  at the bedside, and the battery of :mod:`engine.evaluation.robustness` checks it);
* **exposure**: gamma 0.6-1.65, contrast 0.7-1.3, brightness +-0.08;
* **acquisition**: Gaussian blur (sigma 0-1.5 px) on a third of the images, Gaussian noise
  (sigma 0-0.04) on all;
* **annotations**: a bright "burned-in text" patch (striped like characters) on a third of the
  images, at a random place near the border.

The ranges cover the robustness battery's (crop 70-90 %, pad 110-130 %, rotation +-10 degrees,
gamma 0.7-1.4, blur, noise, a text patch, a horizontal flip) with a margin, so a model trained
with them is asked, during training, the question the battery asks afterwards.

Everything works on batches of ONE gray channel in [0, 1] (``[batch, h, w, 1]``), after the
per-image contrast stretch and before the network's scaling
(:func:`engine.modeling.preprocessing.network_input`), and is seeded: the same seed gives the same
augmented batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from engine.runtime import tensorflow

#: The recipe's ranges, written into the model card (``training.augmentation``).
RECIPE: dict[str, Any] = {
    "name": "shortcut_removal_v1",
    "zoom_in_to": 0.65,
    "zoom_out_to": 1.35,
    "shift": 0.08,
    "rotation_degrees": 12.0,
    "horizontal_flip": 0.5,
    "gamma": [0.6, 1.65],
    "contrast": [0.7, 1.3],
    "brightness": 0.08,
    "blur_probability": 1.0 / 3.0,
    "blur_sigma": [0.0, 1.5],
    "noise_sigma": [0.0, 0.04],
    "text_patch_probability": 1.0 / 3.0,
}


def _blur(images: Any, sigma: float) -> Any:
    """Separable Gaussian blur of ``[b, h, w, 1]`` images (reflect-padded)."""
    tf = tensorflow()
    radius = max(1, math.ceil(3 * sigma))
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(offsets / sigma))
    kernel = kernel / tf.reduce_sum(kernel)
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "REFLECT")
    across = tf.nn.conv2d(padded, tf.reshape(kernel, (1, -1, 1, 1)), 1, "VALID")
    return tf.nn.conv2d(across, tf.reshape(kernel, (-1, 1, 1, 1)), 1, "VALID")


def _text_patch(images: Any, seed: int) -> Any:
    """Paint a bright, character-striped rectangle near the border of about a third of images."""
    tf = tensorflow()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    h = tf.cast(height, tf.float32)
    w = tf.cast(width, tf.float32)

    def uniform(low: float, high: float, offset: int) -> Any:
        return tf.random.uniform((batch, 1, 1, 1), low, high, seed=seed + offset)

    patch_h = uniform(0.03, 0.08, 1) * h
    patch_w = uniform(0.10, 0.35, 2) * w
    top = tf.where(uniform(0, 1, 3) < 0.5, uniform(0.0, 0.12, 4) * h, uniform(0.80, 0.92, 5) * h)
    left = uniform(0.0, 1.0, 6) * (w - patch_w)
    rows = tf.reshape(tf.range(h), (1, -1, 1, 1))
    columns = tf.reshape(tf.range(w), (1, 1, -1, 1))
    inside = (rows >= top) & (rows < top + patch_h) & (columns >= left) & (columns < left + patch_w)
    stroke = tf.math.floormod(tf.floor((columns - left) / tf.maximum(patch_h / 4.0, 1.0)), 2.0)
    chosen = uniform(0, 1, 7) < RECIPE["text_patch_probability"]
    mask = tf.cast(inside & chosen & (stroke > 0.5), tf.float32)
    brightness = uniform(0.85, 1.0, 8)
    return images * (1.0 - mask) + brightness * mask


def make_augmenter(seed: int) -> Callable[[Any], Any]:
    """The default training augmentation: ``augment(images) -> images``, seeded.

    Args:
        seed: seed of every random draw (the dataset maps it sequentially, so the sequence of
            augmented batches is reproducible).

    Returns:
        A function of a ``[batch, h, w, 1]`` float32 tensor in [0, 1], returning the same shape,
        clipped to [0, 1].
    """
    tf = tensorflow()
    import keras

    zoom_in = 1.0 - RECIPE["zoom_in_to"]
    zoom_out = RECIPE["zoom_out_to"] - 1.0
    geometry = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomZoom(
                (-zoom_in, zoom_out), (-zoom_in, zoom_out), fill_mode="constant", seed=seed + 1
            ),
            keras.layers.RandomTranslation(
                RECIPE["shift"], RECIPE["shift"], fill_mode="constant", seed=seed + 2
            ),
            keras.layers.RandomRotation(
                RECIPE["rotation_degrees"] / 360.0, fill_mode="constant", seed=seed + 3
            ),
        ],
        name="framing_augmentation",
    )
    low_gamma, high_gamma = (math.log(value) for value in RECIPE["gamma"])
    low_contrast, high_contrast = (float(value) for value in RECIPE["contrast"])
    high_noise = float(RECIPE["noise_sigma"][1])

    def augment(images: Any) -> Any:
        batch = tf.shape(images)[0]

        def uniform(low: float, high: float, offset: int) -> Any:
            return tf.random.uniform((batch, 1, 1, 1), low, high, seed=seed + offset)

        x = tf.clip_by_value(geometry(images, training=True), 0.0, 1.0)
        x = tf.pow(x + 1e-6, tf.exp(uniform(low_gamma, high_gamma, 10)))
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * uniform(low_contrast, high_contrast, 11) + mean
        x = x + uniform(-RECIPE["brightness"], RECIPE["brightness"], 12)
        blurred = _blur(x, RECIPE["blur_sigma"][1])
        amount = uniform(0.0, 1.0, 13) * tf.cast(
            uniform(0.0, 1.0, 14) < RECIPE["blur_probability"], tf.float32
        )
        x = x + amount * (blurred - x)
        x = x + tf.random.normal(tf.shape(x), seed=seed + 15) * uniform(0.0, high_noise, 16)
        x = _text_patch(tf.clip_by_value(x, 0.0, 1.0), seed + 20)
        return tf.clip_by_value(x, 0.0, 1.0)

    return augment
