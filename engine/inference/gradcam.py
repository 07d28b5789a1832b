"""Grad-CAM: one forward pass (for some heads also a backward pass) gives probability and heatmap.

Why this shape: the viewer needs both numbers for every image it opens, and running the network
twice (once for the probability, once for the heatmap) doubles the wait. A second Keras model
with two outputs, ``[conv_layer_output, classifier_input]``, gives the convolutional activations
``A`` and the pneumonia *logit* in one call; a ``GradientTape`` inside a ``tf.function`` with an
input signature (traced once: 18 ms instead of 106 ms eager on the 2-core target CPU) gives
``dlogit/dA``. Differentiating the logit rather than the sigmoid output keeps the gradients
alive for confident predictions (the sigmoid's gradient vanishes as p -> 1).

* Grad-CAM (Selvaraju et al. 2017): weights = spatial mean of the gradients; map =
  ReLU(sum_k weights_k * A_k).
* Grad-CAM++ (Chattopadhay et al. 2018), closed form for an exponential score:
  alpha = g^2 / (2 g^2 + sum_ij(A) g^3); weights = sum_ij(alpha * ReLU(g)).

* A model with no convolutional layer (the ``dense`` baseline) names its *input* as the layer.
  There Grad-CAM's pooled weights would be one number per channel, and the "map" the image
  itself times that number: it would show the radiograph, not evidence. On the input, Hilum
  therefore keeps the gradient per pixel: map = ReLU(sum_c dlogit/dx_c * x_c), the pixel's
  contribution to the logit to first order ("gradient x input", Shrikumar et al. 2016), for
  both methods. :attr:`GradCam.explains` says which map a :class:`GradCam` computes.

**The shortcut: a global-average-pooling + linear head needs no backward pass.** When the head
is provably ``GlobalAveragePooling2D -> (Dropout)* -> Dense(1, sigmoid)`` (or ``Dense(2,
softmax)``) directly on the Grad-CAM layer — the shipped MobileNetV2 and every transfer variant —
the logit is ``b + sum_c w_c * mean_ij(A_ijc)`` (dropout is the identity at inference), so
``dlogit/dA_ijc = w_c / (H W)`` is constant over space and Grad-CAM's weights *are* the head's
weights over ``H W``: the map is the class activation map (Zhou et al. 2016; Selvaraju et al.
2017, sec. 3.1), computed from the forward pass's activations with no gradient tape (measured
on the shipped model on 2 busy CPU cores, one image: 25 ms instead of 31-35 ms with the tape;
more important, every test-time view then runs in the same call). Grad-CAM++ keeps the tape:
its exponential-score weights are not the head's weights, even for this head.
:attr:`GradCam.single_pass` says which path runs.

Each map is divided by its maximum; a map that is zero everywhere (no positive evidence, or
vanishing gradients) stays zero and is flagged, never divided into NaN. The map is computed at
the conv layer's resolution and only then upsampled bilinearly to the display size.

Heatmaps are coarse evidence, not localisation. Colour belongs to the viewer; the one
exception is :func:`overlay_rgb`, which the CLI uses to write PNG overlays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from engine.errors import ModelFileError
from engine.imaging.radiograph import FloatImage
from engine.runtime import in_row_chunks, tensorflow

Method = Literal["gradcam", "gradcam++"]
HEATMAP_METHODS: tuple[Method, ...] = ("gradcam", "gradcam++")

#: A map whose maximum is below this is treated as all-zero (nothing to show).
_ZERO_MAP = 1e-12

ZERO_MAP_NOTE = (
    "The heatmap is empty: no region of the image pushed the model towards pneumonia "
    "(or its gradients vanished)."
)


@dataclass(frozen=True)
class CamBatch:
    """Raw output of one :meth:`GradCam.run` call, at the conv layer's resolution.

    Attributes:
        probabilities: pneumonia probability per image (uncalibrated), shape (n,).
        maps: heatmaps in [0, 1], shape (n, h, w) with (h, w) the conv layer's grid.
        empty: True where the map was all zero (returned as zeros).
    """

    probabilities: npt.NDArray[np.float32]
    maps: npt.NDArray[np.float32]
    empty: npt.NDArray[np.bool_]


class GradCam:
    """A compiled Grad-CAM for one binary classifier and one convolutional layer.

    Why a class: building the two-output model and tracing the ``tf.function`` costs about a
    second; the :class:`~engine.inference.predictor.Predictor` does it once and reuses it for every
    image.

    Args:
        model: a Keras model with one input and a sigmoid output of shape (n, 1) (pneumonia) or
            a softmax output of shape (n, 2) (index 1 = pneumonia).
        layer_name: the convolutional layer whose activations are explained (from the model card
            or the variant's spec). Transfer models must be flat functional graphs so that it
            resolves.
        method: ``"gradcam"`` or ``"gradcam++"``.
        backward: take the gradient with the tape even when the head allows the class
            activation map shortcut (for checks and benchmarks of the shortcut).

    Raises:
        ModelFileError: the layer does not exist in the model, is not 4-D, or the model's output
            is not a binary classifier.
    """

    def __init__(
        self, model: Any, layer_name: str, method: Method = "gradcam", *, backward: bool = False
    ) -> None:
        if method not in HEATMAP_METHODS:
            raise ValueError(f"method must be one of {', '.join(HEATMAP_METHODS)}, got '{method}'.")
        tf = tensorflow()
        self.method: Method = method
        self.layer_name = layer_name
        layer = _find_layer(model, layer_name)
        import keras

        on_input = isinstance(layer, keras.layers.InputLayer)
        #: What the maps show: ``"gradcam"``, ``"gradcam++"`` or, on a model's input,
        #: ``"gradient x input"`` (see the module docstring).
        self.explains = "gradient x input" if on_input else method
        if len(layer.output.shape) != 4:
            raise ModelFileError(
                f"Grad-CAM layer '{layer_name}' has output shape {tuple(layer.output.shape)}; "
                "it must be a convolutional feature map (batch, height, width, channels). "
                "Fix the model card's 'gradcam_layer'."
            )
        head_input, to_logit = logit_head(model)
        cam_model = keras.Model(inputs=model.inputs, outputs=[layer.output, head_input])
        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        plus = method == "gradcam++"
        class_weights: Any = None if on_input or plus or backward else cam_weights(model, layer)
        #: True when the map is the class activation map of the forward pass (no backward pass).
        self.single_pass = class_weights is not None

        def forward_map(images: Any) -> tuple[Any, Any]:
            activations, features = cam_model(images, training=False)
            maps = class_activation_map(activations, class_weights())
            return tf.sigmoid(to_logit(features)), maps

        def run(images: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                tape.watch(images)  # so that a CAM layer that *is* the input still has gradients
                activations, features = cam_model(images, training=False)
                logits = to_logit(features)
            grads = tape.gradient(logits, activations)
            if on_input:
                return tf.sigmoid(logits), tf.nn.relu(tf.reduce_sum(grads * activations, axis=-1))
            if plus:
                g2 = tf.square(grads)
                denominator = 2.0 * g2 + tf.reduce_sum(activations, axis=(1, 2), keepdims=True) * (
                    g2 * grads
                )
                denominator = tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
                weights = tf.reduce_sum(g2 / denominator * tf.nn.relu(grads), axis=(1, 2))
            else:
                weights = tf.reduce_mean(grads, axis=(1, 2))
            maps = tf.nn.relu(tf.einsum("nhwc,nc->nhw", activations, weights))
            return tf.sigmoid(logits), maps

        def probabilities(images: Any) -> Any:
            _, features = cam_model(images, training=False)
            return tf.sigmoid(to_logit(features))

        # No tensor-dependent Python control flow here, so AutoGraph is not needed; without it
        # tracing also works in the frozen app, where the functions' source is not available.
        self._run: Any = tf.function(
            forward_map if self.single_pass else run,
            input_signature=[spec],
            reduce_retracing=True,
            autograph=False,
        )
        self._probabilities: Any = tf.function(
            probabilities, input_signature=[spec], reduce_retracing=True, autograph=False
        )

    def run(self, images: npt.NDArray[np.float32]) -> CamBatch:
        """Probabilities and conv-resolution heatmaps for a batch of preprocessed images.

        Args:
            images: float32 array (n, height, width, channels) from
                :func:`engine.modeling.preprocessing.preprocess`.

        Returns:
            The probabilities and the normalised maps (see :class:`CamBatch`).
        """
        return cam_batch(*in_row_chunks(self._run, images))

    def probabilities(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Probabilities only (the forward pass), for batch runs without heatmaps."""
        return in_row_chunks(self._probabilities, images)[0]


def cam_batch(probabilities: npt.NDArray[np.float32], raw: npt.NDArray[np.float32]) -> CamBatch:
    """A batch's probabilities and raw maps ``(n, h, w)`` with each map divided by its maximum
    (an all-zero map stays zero and is flagged empty), whichever runtime computed them."""
    peaks = raw.max(axis=(1, 2))
    empty = ~(peaks > _ZERO_MAP)  # NaN peaks count as empty too
    scale = np.where(empty, 1.0, peaks).astype(np.float32)
    normalised = np.where(empty[:, None, None], 0.0, raw / scale[:, None, None])
    return CamBatch(probabilities, np.clip(normalised, 0.0, 1.0).astype(np.float32), empty)


def class_activation_map(activations: Any, weights: Any) -> Any:
    """The class activation map (a TensorFlow graph op): ReLU of the feature maps ``(n, h, w,
    c)`` weighted by the head's ``(c,)`` weights over ``h w``, exactly Grad-CAM's spatial mean of
    the gradients for a single-pass head (see the module docstring); not yet normalised."""
    tf = tensorflow()
    area = tf.cast(tf.shape(activations)[1] * tf.shape(activations)[2], tf.float32)
    return tf.nn.relu(tf.einsum("nhwc,c->nhw", activations, weights / area))


def upsample(cam: FloatImage, shape: tuple[int, int]) -> FloatImage:
    """Resize a conv-resolution heatmap to the display ``shape`` (rows, columns), bilinearly.

    Why matrices: bilinear interpolation is separable, so the result is ``R @ cam @ C.T`` with
    two sparse-looking interpolation matrices; for a 7x7 map and a 2k x 2k image this takes a
    few milliseconds where Pillow's general resampler takes 60-140 ms. Pixel centres are
    aligned as in Pillow and ``tf.image.resize`` (half-pixel offsets, edges clamped). Values in
    [0, 1] stay in [0, 1].
    """
    rows, columns = shape
    cam = np.asarray(cam, dtype=np.float32)
    resized = (
        _interpolation_matrix(rows, cam.shape[0])
        @ cam
        @ _interpolation_matrix(columns, cam.shape[1]).T
    )
    return np.clip(resized, 0.0, 1.0).astype(np.float32, copy=False)


def _interpolation_matrix(size_out: int, size_in: int) -> npt.NDArray[np.float32]:
    """(size_out, size_in) weights of 1-D linear interpolation with half-pixel centres."""
    centres = (np.arange(size_out, dtype=np.float64) + 0.5) * (size_in / size_out) - 0.5
    centres = np.clip(centres, 0.0, size_in - 1)
    low = np.floor(centres).astype(np.intp)
    high = np.minimum(low + 1, size_in - 1)
    frac = centres - low
    matrix = np.zeros((size_out, size_in), dtype=np.float32)
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, low), 1.0 - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


def overlay_rgb(
    pixels: FloatImage, heatmap: FloatImage, opacity: float = 0.4
) -> npt.NDArray[np.uint8]:
    """The gray image with the heatmap blended on top in the 'jet' colormap, as 8-bit RGB.

    Only the CLI's ``--heatmaps`` uses this; the viewer colours heatmaps itself.

    Args:
        pixels: display-ready image in [0, 1] (rows, columns).
        heatmap: heatmap in [0, 1], same shape.
        opacity: weight of the colour at the hottest points; cold areas fade to the gray image.

    Returns:
        uint8 array (rows, columns, 3).
    """
    from matplotlib import colormaps

    colours = colormaps["jet"](np.clip(heatmap, 0.0, 1.0))[..., :3].astype(np.float32)
    gray = np.repeat(np.clip(pixels, 0.0, 1.0)[..., None], 3, axis=-1)
    alpha = (opacity * np.clip(heatmap, 0.0, 1.0))[..., None]
    blended = gray * (1.0 - alpha) + colours * alpha
    return np.round(blended * 255.0).astype(np.uint8)


def _find_layer(model: Any, name: str) -> Any:
    try:
        return model.get_layer(name)
    except ValueError:
        conv = [layer.name for layer in model.layers if len(layer.output.shape) == 4]
        raise ModelFileError(
            f"The model has no layer '{name}' for Grad-CAM. Layers with feature maps: "
            f"{', '.join(conv[-5:]) or 'none'} (last five). Fix the model card's 'gradcam_layer'."
        ) from None


def logit_head(model: Any) -> tuple[Any, Any]:
    """The tensor to take from the model and the function that turns it into the logit.

    A final ``Dense`` with a sigmoid (or softmax over two units) is re-applied linearly to its
    input, so the logit is exact; any other head falls back to the logit of the output
    probability (fine unless the probability saturates at exactly 0 or 1).
    """
    tf = tensorflow()
    last = model.layers[-1]
    units = int(model.output.shape[-1])
    if units not in (1, 2):
        raise ModelFileError(
            f"The model has {units} outputs; Hilum expects a binary classifier with 1 (sigmoid) "
            "or 2 (softmax: NORMAL, PNEUMONIA) outputs."
        )
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if hasattr(last, "kernel") and activation in ("sigmoid", "softmax"):

        def dense_logit(features: Any) -> Any:
            z = tf.matmul(features, last.kernel) + (last.bias if last.use_bias else 0.0)
            return z[:, 0] if units == 1 else z[:, 1] - z[:, 0]

        return last.input, dense_logit

    def probability_logit(outputs: Any) -> Any:
        p = tf.clip_by_value(outputs[:, units - 1], 1e-7, 1.0 - 1e-7)
        return tf.math.log(p) - tf.math.log1p(-p)

    return model.output, probability_logit


def cam_weights(model: Any, layer: Any) -> Any | None:
    """The head's weight per channel of ``layer`` when the head provably is global average pooling
    of ``layer``, then any number of dropouts, then the model's output ``Dense(1, sigmoid)`` or
    ``Dense(2, softmax)``; ``None`` for any other head (Grad-CAM then takes the tape).

    Returns a function (read inside the traced function, so it follows the live weights) giving
    the weights of the logit: the kernel's column, or the difference of the two softmax columns.
    """
    try:
        return _linear_head(model, layer)
    except (AttributeError, ValueError):  # a layer called on several inputs: not provable
        return None


def _linear_head(model: Any, layer: Any) -> Any | None:
    import keras

    outputs = model.outputs
    dense = model.layers[-1]  # the layer whose kernel the logit uses (see logit_head)
    if len(outputs) != 1 or _producer(outputs[0]) is not dense:
        return None
    activation = getattr(getattr(dense, "activation", None), "__name__", "")
    units = int(getattr(dense, "units", 0))
    if not isinstance(dense, keras.layers.Dense) or (units, activation) not in (
        (1, "sigmoid"),
        (2, "softmax"),
    ):
        return None
    below = _producer(dense.input)
    while isinstance(below, keras.layers.Dropout):
        below = _producer(below.input)
    pooled_from = (
        _producer(below.input) if isinstance(below, keras.layers.GlobalAveragePooling2D) else None
    )
    if pooled_from is not layer or below.data_format != "channels_last" or below.keepdims:
        return None

    def weights() -> Any:
        kernel = dense.kernel
        return kernel[:, 0] if units == 1 else kernel[:, 1] - kernel[:, 0]

    return weights


def _producer(tensor: Any) -> Any:
    """The layer that outputs a symbolic tensor (``None`` for a layer with several inputs)."""
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history[0]
