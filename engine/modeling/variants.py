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

from engine.errors import ConfigError
from engine.modeling.architectures import (
    IMAGENET,
    INPUT_NAME,
    build_conv_net,
    build_dense_net,
    build_transfer_net,
)
from engine.modeling.preprocessing import Preprocessing

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
