"""Describing a model: variants, the card and its value types, bundles, preprocessing, datasets.
Exports resolve on first use (see engine.lazy_exports): importing this imports no TensorFlow.
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.modeling.bundles import (
        Bundle,
        find_bundles,
        load_bundle,
        read_card,
        update_card,
        write_bundle,
    )
    from engine.modeling.calibration import Calibration
    from engine.modeling.card import ModelCard
    from engine.modeling.card_summary import describe_card
    from engine.modeling.dataset_summary import DatasetSummary, scan_dataset
    from engine.modeling.labelled_folders import (
        CLASS_NAMES,
        DataFolders,
        LabelledSet,
        find_data_folders,
    )
    from engine.modeling.metrics import Metrics
    from engine.modeling.operating_point import OperatingPoint
    from engine.modeling.preprocessing import Preprocessing, load_and_preprocess, preprocess
    from engine.modeling.train_config import TrainConfig
    from engine.modeling.variants import VariantSpec, build_model, get_variant, list_variants

__all__ = [
    "CLASS_NAMES",
    "Bundle",
    "Calibration",
    "DataFolders",
    "DatasetSummary",
    "LabelledSet",
    "Metrics",
    "ModelCard",
    "OperatingPoint",
    "Preprocessing",
    "TrainConfig",
    "VariantSpec",
    "build_model",
    "describe_card",
    "find_bundles",
    "find_data_folders",
    "get_variant",
    "list_variants",
    "load_and_preprocess",
    "load_bundle",
    "preprocess",
    "read_card",
    "scan_dataset",
    "update_card",
    "write_bundle",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "VariantSpec": "variants",
        "build_model": "variants",
        "get_variant": "variants",
        "list_variants": "variants",
        "Bundle": "bundles",
        "find_bundles": "bundles",
        "load_bundle": "bundles",
        "read_card": "bundles",
        "update_card": "bundles",
        "write_bundle": "bundles",
        "ModelCard": "card",
        "Calibration": "calibration",
        "Metrics": "metrics",
        "OperatingPoint": "operating_point",
        "describe_card": "card_summary",
        "Preprocessing": "preprocessing",
        "load_and_preprocess": "preprocessing",
        "preprocess": "preprocessing",
        "CLASS_NAMES": "labelled_folders",
        "DataFolders": "labelled_folders",
        "LabelledSet": "labelled_folders",
        "find_data_folders": "labelled_folders",
        "DatasetSummary": "dataset_summary",
        "scan_dataset": "dataset_summary",
        "TrainConfig": "train_config",
    },
)
