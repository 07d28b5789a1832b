"""Forward calls of at most ``FORWARD_ROWS`` images give what one call over the batch gives."""

from __future__ import annotations

import numpy as np

from engine.inference.gradcam import GradCam
from engine.modeling.preprocessing import Preprocessing
from engine.runtime import FORWARD_ROWS, in_row_chunks
from tests.engine.tiny_bundles import tiny_model

SPEC = Preprocessing(64)


def test_chunked_calls_concatenate_every_output_in_order():
    calls: list[int] = []

    def call(images: np.ndarray) -> list[np.ndarray]:
        calls.append(len(images))
        return [images.sum(axis=(1, 2, 3)), images[:, :2, 0, 0]]

    images = np.random.default_rng(0).random((2 * FORWARD_ROWS + 3, 4, 4, 1), dtype=np.float32)

    sums, corners = in_row_chunks(call, images)

    assert calls == [FORWARD_ROWS, FORWARD_ROWS, 3]
    np.testing.assert_allclose(sums, images.sum(axis=(1, 2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(corners, images[:, :2, 0, 0])


def test_an_empty_batch_gives_empty_outputs():
    (probabilities,) = in_row_chunks(lambda images: images[:, 0, 0, 0], np.zeros((0, 4, 4, 1)))

    assert probabilities.shape == (0,)


def test_a_batch_larger_than_one_call_gives_each_images_own_map_and_probability():
    cam = GradCam(tiny_model(SPEC), "last_conv")
    images = np.random.default_rng(1).random((FORWARD_ROWS + 5, *SPEC.input_shape), np.float32)

    batch = cam.run(images)

    for index in (0, FORWARD_ROWS - 1, FORWARD_ROWS, FORWARD_ROWS + 4):
        alone = cam.run(images[index : index + 1])
        np.testing.assert_allclose(batch.maps[index], alone.maps[0], atol=1e-5)
        np.testing.assert_allclose(batch.probabilities[index], alone.probabilities[0], atol=1e-6)
