"""The model variants Hilum trains: one builder per family plus thin named specs.

The seeds compared a dense baseline, a series of small CNNs and ImageNet transfer models. Each
variant here is a :class:`VariantSpec`: a name, a builder (one function per family, specialised
with :func:`functools.partial`, as ``keras.applications.densenet`` does for DenseNet121/169/201),
its default :class:`~engine.modeling.preprocessing.Preprocessing` and the name of its Grad-CAM
layer.

Conventions every builder follows, so Grad-CAM, training and the model card can rely on them:

* the input layer is named ``image``; the output is one sigmoid unit named ``prediction``
  (probability of PNEUMONIA);
* transfer models are ONE flat functional graph: the backbone is built on the ``image`` input
  and its output feeds the head directly (a nested backbone model is the classic "Graph
  disconnected" failure when Grad-CAM asks for an inner layer);
* the Grad-CAM layer is the last convolutional activation, named explicitly (``blockN_actM`` in
  our own networks, the Keras application's own stable name in backbones);
* our own networks read one gray channel in [0, 1]; ImageNet backbones read three channels (the
  gray image repeated) scaled as the backbone was trained (``minus_one_one`` or ``caffe``).

ImageNet weights come from a local file when given (offline workstations), from Keras's own
download when asked (``weights="imagenet"``), otherwise the backbone starts from random values;
:class:`WeightsSource` records which for the model card.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from engine.errors import ConfigError, ModelFileError
from engine.modeling.preprocessing import Preprocessing
from engine.runtime import tensorflow

#: Pass as ``weights`` to download ImageNet weights through Keras (needs internet).
IMAGENET = "imagenet"
#: Name of every model's input layer and output layer.
INPUT_NAME = "image"
OUTPUT_NAME = "prediction"

Builder = Callable[[tuple[int, int, int], "str | None"], Any]


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's initial weights came from, as written in the model card.

    Attributes:
        source: ``"file"``, ``"download"`` or ``"random"``.
        file: the weights file when ``source == "file"``.
        sha256: the weights file's checksum when ``source == "file"``.
    """

    source: str
    file: str | None = None
    sha256: str | None = None

    def to_card(self) -> dict[str, str | None]:
        """JSON-ready form for the card's ``training.weights``."""
        return {"source": self.source, "file": self.file, "sha256": self.sha256}


@dataclass(frozen=True)
class VariantSpec:
    """A named model variant.

    Attributes:
        name: the name users type (``hilum train --variant NAME``).
        description: one line for ``hilum variants`` and the viewer.
        builder: ``builder(input_shape, weights) -> keras.Model`` (see :func:`build_model`).
        preprocessing: the default input (size, channels, stretch, scaling).
        gradcam_layer: the layer Grad-CAM reads (last convolutional activation).
        transfer: True for ImageNet backbones (frozen first, then fine-tuned).
        min_image_size: smallest input side the architecture accepts.
        fine_tune_from: first backbone layer unfrozen in the fine-tuning phase (transfer only).
    """

    name: str
    description: str
    builder: Builder
    preprocessing: Preprocessing
    gradcam_layer: str
    transfer: bool = False
    min_image_size: int = 32
    fine_tune_from: str | None = None

    def preprocessing_for(self, image_size: int | None) -> Preprocessing:
        """The default preprocessing, at ``image_size`` when given.

        Raises:
            ConfigError: ``image_size`` is below this variant's minimum or above 1024.
        """
        if image_size is None:
            return self.preprocessing
        if not self.min_image_size <= image_size <= 1024:
            raise ConfigError(
                f"image_size {image_size} is out of range for variant '{self.name}': use "
                f"{self.min_image_size} to 1024 pixels."
            )
        return Preprocessing(
            image_size,
            self.preprocessing.channels,
            self.preprocessing.stretch,
            self.preprocessing.scaling,
        )


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


def weights_source(weights: str | os.PathLike[str] | None) -> WeightsSource:
    """Describe ``weights`` for the card, checksumming a file.

    Raises:
        ConfigError: ``weights`` names a file that does not exist.
    """
    if weights is None:
        return WeightsSource("random")
    if str(weights) == IMAGENET:
        return WeightsSource("download")
    path = Path(weights)
    if not path.is_file():
        raise ConfigError(
            f"Weights file {path} does not exist. Give the path of a Keras ImageNet 'no top' "
            f"weights file (.h5), '{IMAGENET}' to download them, or nothing for random init."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return WeightsSource("file", str(path.resolve()), digest)


def build_model(
    spec: VariantSpec, image_size: int | None = None, weights: str | os.PathLike[str] | None = None
) -> Any:
    """Build ``spec``'s uncompiled model at ``image_size`` (default: the variant's own).

    Args:
        spec: the variant.
        image_size: input side in pixels, or ``None`` for the variant's default.
        weights: ``None``, :data:`IMAGENET` or a weights file (transfer variants only).

    Returns:
        A ``keras.Model`` whose input is ``spec.preprocessing_for(image_size).input_shape``.

    Raises:
        ConfigError: bad image size, or weights for a variant that trains from scratch.
        ModelFileError: the weights file does not fit the backbone.
    """
    preprocessing = spec.preprocessing_for(image_size)
    return spec.builder(preprocessing.input_shape, None if weights is None else str(weights))


_GRAY = partial(Preprocessing, channels=1, stretch=True, scaling="unit")
_RGB_TANH = partial(Preprocessing, channels=3, stretch=True, scaling="minus_one_one")

_VARIANTS = (
    VariantSpec(
        "dense",
        "Baseline: flattened pixels, dense 128-64, sigmoid (Grad-CAM on the input)",
        partial(build_dense_net, units=(128, 64), name="dense"),
        _GRAY(64),
        INPUT_NAME,
    ),
    VariantSpec(
        "cnn",
        "CNN: conv blocks 32-64-128 (3x3, max-pool), dense 128",
        partial(build_conv_net, filters=(32, 64, 128), name="cnn"),
        _GRAY(128),
        "block3_act1",
    ),
    VariantSpec(
        "cnn_reg",
        "CNN 32-64-128 with dropout 0.25 and L2 1e-4",
        partial(build_conv_net, filters=(32, 64, 128), dropout=0.25, l2=1e-4, name="cnn_reg"),
        _GRAY(128),
        "block3_act1",
    ),
    VariantSpec(
        "deep_cnn",
        "Five conv blocks 32-512 with batch norm and dropout, dense 256-64",
        partial(
            build_conv_net,
            filters=(32, 64, 128, 256, 512),
            batch_norm=True,
            dropout=0.2,
            dense_units=(256, 64),
            global_pooling=True,
            name="deep_cnn",
        ),
        _GRAY(128),
        "block5_act1",
    ),
    VariantSpec(
        "vgg_small",
        "VGG-style: two 3x3 convs per block, 32-64-128-512, dense 256",
        partial(
            build_conv_net,
            filters=(32, 64, 128, 512),
            convs_per_block=2,
            dropout=0.2,
            dense_units=(256,),
            global_pooling=True,
            name="vgg_small",
        ),
        _GRAY(128),
        "block4_act2",
    ),
    VariantSpec(
        "mobilenet",
        "MobileNet v1 alpha 0.25 (ImageNet), GAP, dropout, sigmoid",
        partial(
            build_transfer_net,
            application="MobileNet",
            options=(("alpha", 0.25),),
            name="mobilenet",
        ),
        _RGB_TANH(224),
        "conv_pw_13_relu",
        transfer=True,
        fine_tune_from="conv_dw_12",
    ),
    VariantSpec(
        "mobilenet_v2",
        "MobileNetV2 alpha 1.0 (ImageNet), GAP, dropout, sigmoid",
        partial(build_transfer_net, application="MobileNetV2", name="mobilenet_v2"),
        _RGB_TANH(224),
        "out_relu",
        transfer=True,
        fine_tune_from="block_15_expand",
    ),
    VariantSpec(
        "vgg19",
        "VGG19 (ImageNet), GAP, dropout, sigmoid",
        partial(build_transfer_net, application="VGG19", name="vgg19"),
        Preprocessing(224, 3, True, "caffe"),
        "block5_conv4",
        transfer=True,
        fine_tune_from="block5_conv1",
    ),
    VariantSpec(
        "xception",
        "Xception (ImageNet), GAP, dropout, sigmoid",
        partial(build_transfer_net, application="Xception", name="xception"),
        _RGB_TANH(224),
        "block14_sepconv2_act",
        transfer=True,
        min_image_size=71,
        fine_tune_from="block13_sepconv1_act",
    ),
)


def list_variants() -> tuple[VariantSpec, ...]:
    """Every variant, own networks first, then transfer models."""
    return _VARIANTS


def get_variant(name: str) -> VariantSpec:
    """The variant called ``name``.

    Raises:
        ConfigError: no such variant; the message lists the known names.
    """
    for spec in _VARIANTS:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in _VARIANTS)
    raise ConfigError(f"Unknown variant '{name}'. Known variants: {known}.")
