"""Hilum's engine: reading radiographs, the models, training, evaluation and inference.

Qt-free by contract (see ``[tool.importlinter]`` in pyproject.toml): the viewer and the CLI both
sit on top of it. Heavy dependencies (TensorFlow, pydicom) are imported by the modules that need
them, so ``import engine`` stays fast.
"""

from engine.errors import ConfigError, DatasetError, HilumError, ImageReadError, ModelFileError
from engine.imaging.images import load_image
from engine.imaging.limits import MAX_PIXELS
from engine.imaging.radiograph import Radiograph, Window, apply_window
from engine.imaging.studies import (
    Image,
    Patient,
    Series,
    SkippedFile,
    Study,
    StudyIndex,
    find_studies,
)

__all__ = [
    "MAX_PIXELS",
    "ConfigError",
    "DatasetError",
    "HilumError",
    "Image",
    "ImageReadError",
    "ModelFileError",
    "Patient",
    "Radiograph",
    "Series",
    "SkippedFile",
    "Study",
    "StudyIndex",
    "Window",
    "apply_window",
    "find_studies",
    "load_image",
]
