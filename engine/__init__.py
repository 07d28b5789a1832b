"""Hilum's engine: reading radiographs, the models, training, evaluation and inference.

Qt-free by contract (see ``[tool.importlinter]`` in pyproject.toml): the viewer and the CLI both
sit on top of it. Heavy dependencies (TensorFlow, matplotlib) are imported by the modules that
need them, so ``import engine`` stays fast. The typed errors and everything
:mod:`engine.imaging` exports (reading images, windowing, studies) are exported here too.
"""

from engine import imaging
from engine.errors import ConfigError as ConfigError
from engine.errors import DatasetError as DatasetError
from engine.errors import HilumError as HilumError
from engine.errors import ImageReadError as ImageReadError
from engine.errors import ModelFileError as ModelFileError
from engine.imaging import IMAGE_EXTENSIONS as IMAGE_EXTENSIONS
from engine.imaging import MAX_PIXELS as MAX_PIXELS
from engine.imaging import Patient as Patient
from engine.imaging import Radiograph as Radiograph
from engine.imaging import Series as Series
from engine.imaging import SkippedFile as SkippedFile
from engine.imaging import Study as Study
from engine.imaging import StudyImage as StudyImage
from engine.imaging import StudyIndex as StudyIndex
from engine.imaging import Window as Window
from engine.imaging import apply_window as apply_window
from engine.imaging import find_studies as find_studies
from engine.imaging import load_image as load_image
from engine.imaging import sniff_kind as sniff_kind
from engine.imaging import walk_images as walk_images
from engine.imaging import window_from_range as window_from_range

__all__ = [
    "ConfigError",
    "DatasetError",
    "HilumError",
    "ImageReadError",
    "ModelFileError",
    *imaging.__all__,
]
