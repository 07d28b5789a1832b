"""The network families behind the variants: dense, convolutional and ImageNet transfer builders.

Each builder takes ``(input_shape, weights)`` plus family options and returns an uncompiled
``keras.Model`` that follows the conventions of :mod:`engine.modeling.variants` (input ``image``,
one sigmoid output ``prediction``, one flat functional graph, a named Grad-CAM layer). The named
specs that choose the options live there; this module only knows how to build.
"""

from __future__ import annotations

from typing import Any

from engine.errors import ConfigError, ModelFileError
from engine.runtime import tensorflow

#: Pass as ``weights`` to download ImageNet weights through Keras (needs internet).
IMAGENET = "imagenet"
#: Name of every model's input layer and output layer.
INPUT_NAME = "image"
OUTPUT_NAME = "prediction"


def _keras() -> Any:
    tensorflow()  # sets Hilum's TensorFlow environment before Keras loads it
    import keras

    return keras


def _head(keras: Any, features: Any, units: tuple[int, ...], dropout: float, l2: float) -> Any:
    regularizer = keras.regularizers.L2(l2) if l2 else None
    x = features
    for index, width in enumerate(units, start=1):
        x = keras.layers.Dense(
            width, activation="relu", kernel_regularizer=regularizer, name=f"dense{index}"
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dense{index}_dropout")(x)
    return keras.layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)


def _own_weights(name: str, weights: str | None) -> None:
    if weights is not None:
        raise ConfigError(
            f"Variant '{name}' trains from scratch and takes no weights, got weights={weights!r}. "
            "Use a transfer variant (mobilenet, mobilenet_v2, vgg19, xception) for ImageNet "
            "weights, or leave the weights unset."
        )


def build_dense_net(
    input_shape: tuple[int, int, int], weights: str | None, *, units: tuple[int, ...], name: str
) -> Any:
    """The seeds' baseline: flatten the image, a few dense layers, one sigmoid unit."""
    _own_weights(name, weights)
    keras = _keras()
    inputs = keras.Input(shape=input_shape, name=INPUT_NAME)
    x = keras.layers.Flatten(name="flatten")(inputs)
    return keras.Model(inputs, _head(keras, x, units, 0.0, 0.0), name=name)


def build_conv_net(
    input_shape: tuple[int, int, int],
    weights: str | None,
    *,
    filters: tuple[int, ...],
    name: str,
    convs_per_block: int = 1,
    batch_norm: bool = False,
    dropout: float = 0.0,
    l2: float = 0.0,
    dense_units: tuple[int, ...] = (128,),
    global_pooling: bool = False,
) -> Any:
    """A plain CNN: blocks of 3x3 convolutions (optionally batch-normalised) and 2x2 max-pooling.

    Every block ``i`` holds ``blocki_convj`` -> [``blocki_bnj``] -> ``blocki_actj`` layers and a
    ``blocki_pool``; the last ``actj`` of the last block is the Grad-CAM layer.

    Args:
        input_shape: (height, width, channels).
        weights: must be ``None`` (these networks train from scratch).
        filters: convolution filters per block.
        name: the model's name.
        convs_per_block: convolutions before each pooling.
        batch_norm: batch normalisation after each convolution.
        dropout: dropout rate after each block and each dense layer (0 = none).
        l2: L2 weight penalty on convolutions and dense layers (0 = none).
        dense_units: hidden dense layers of the head.
        global_pooling: global average pooling (else flatten) before the head.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ConfigError: weights were given.
    """
    _own_weights(name, weights)
    keras = _keras()
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=input_shape, name=INPUT_NAME)
    x = inputs
    for block, width in enumerate(filters, start=1):
        for conv in range(1, convs_per_block + 1):
            x = keras.layers.Conv2D(
                width,
                3,
                padding="same",
                use_bias=not batch_norm,
                kernel_regularizer=regularizer,
                name=f"block{block}_conv{conv}",
            )(x)
            if batch_norm:
                x = keras.layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = keras.layers.Activation("relu", name=f"block{block}_act{conv}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"block{block}_dropout")(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _head(keras, x, dense_units, dropout, l2), name=name)


def build_transfer_net(
    input_shape: tuple[int, int, int],
    weights: str | None,
    *,
    application: str,
    name: str,
    options: tuple[tuple[str, Any], ...] = (),
    dropout: float = 0.3,
) -> Any:
    """An ImageNet backbone without its top, then global pooling, dropout and a sigmoid unit.

    The backbone is built on the model's own ``image`` input (``input_tensor=``), so its layers
    are layers of the returned model: one flat graph. Its layers come back frozen (trainable
    False); :func:`unfreeze_top` opens the top blocks for fine-tuning.

    Args:
        input_shape: (height, width, 3).
        weights: ``None`` (random), :data:`IMAGENET` (Keras download) or a weights file path.
        application: the ``keras.applications`` constructor, e.g. ``"MobileNet"``.
        name: the model's name.
        options: extra constructor arguments (e.g. ``(("alpha", 0.25),)``).
        dropout: dropout before the output unit.

    Returns:
        An uncompiled ``keras.Model`` with a frozen backbone.

    Raises:
        ModelFileError: the weights file does not fit this backbone.
    """
    keras = _keras()
    inputs = keras.Input(shape=input_shape, name=INPUT_NAME)
    constructor = getattr(keras.applications, application)
    try:
        backbone = constructor(
            include_top=False, weights=weights, input_tensor=inputs, **dict(options)
        )
    except (ValueError, OSError) as error:
        if weights in (None, IMAGENET):
            raise
        raise ModelFileError(
            f"{weights}: these weights do not fit the '{name}' backbone ({error}). Give the "
            f"Keras {application} ImageNet 'no top' weights file that matches it."
        ) from None
    for layer in backbone.layers:
        layer.trainable = False
    x = keras.layers.GlobalAveragePooling2D(name="gap")(backbone.output)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name=name)


def unfreeze_top(model: Any, first_layer: str) -> int:
    """Make ``first_layer`` and every later layer trainable, except batch normalisation.

    Batch-norm layers stay frozen (Keras then runs them in inference mode), the usual recipe for
    fine-tuning an ImageNet backbone on a small data set: their statistics would otherwise be
    re-estimated from small batches and wreck the pretrained features.

    Returns:
        The number of layers made trainable.

    Raises:
        ConfigError: the model has no layer ``first_layer``.
    """
    keras = _keras()
    names = [layer.name for layer in model.layers]
    if first_layer not in names:
        raise ConfigError(f"Model '{model.name}' has no layer '{first_layer}' to fine-tune from.")
    opened = 0
    for layer in model.layers[names.index(first_layer) :]:
        if not isinstance(layer, keras.layers.BatchNormalization) and layer.weights:
            layer.trainable = True
            opened += 1
    return opened
