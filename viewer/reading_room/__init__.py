"""The reading room: the image view, the study browser, the prediction panel, the DICOM tags
and the exports of what is on screen (PDF report, PNG).
"""

from viewer.reading_room.dicom_tags import DicomTagsPanel
from viewer.reading_room.image_view import ImageView
from viewer.reading_room.prediction_panel import PredictionPanel
from viewer.reading_room.reading_room import ReadingRoom
from viewer.reading_room.report_export import ReportExporter
from viewer.reading_room.study_browser import StudyBrowser

__all__ = [
    "DicomTagsPanel",
    "ImageView",
    "PredictionPanel",
    "ReadingRoom",
    "ReportExporter",
    "StudyBrowser",
]
