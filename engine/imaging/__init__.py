"""Reading radiographs: file sniffing, JPEG/PNG/DICOM decoding, display windowing, studies.
Qt-free and TensorFlow-free; pydicom is the heaviest dependency.
"""

from engine.imaging.files import IMAGE_EXTENSIONS, sniff_kind, walk_images
from engine.imaging.images import load_image
from engine.imaging.limits import MAX_PIXELS
from engine.imaging.radiograph import Radiograph, Window, apply_window, window_from_range
from engine.imaging.studies import (
    Patient,
    Series,
    SkippedFile,
    Study,
    StudyImage,
    StudyIndex,
    find_studies,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "Patient",
    "Radiograph",
    "Series",
    "SkippedFile",
    "Study",
    "StudyImage",
    "StudyIndex",
    "Window",
    "apply_window",
    "find_studies",
    "load_image",
    "sniff_kind",
    "walk_images",
    "window_from_range",
]
