"""Using a model: the predictor with Grad-CAM, the out-of-distribution check, batch triage and
the PDF report of a prediction. Exports resolve on first use (TensorFlow loads when predicting).
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.inference.caveats import DISCLAIMER, HEATMAP_NOTE
    from engine.inference.gradcam import GradCam, overlay_rgb
    from engine.inference.ood import OodCheck, OodReference, check_radiograph
    from engine.inference.prediction_report import write_pdf_report
    from engine.inference.predictor import FileResult, Prediction, Predictor, predict, predict_many
    from engine.inference.triage import TriageRow, TriageSummary, csv_text, triage

__all__ = [
    "DISCLAIMER",
    "HEATMAP_NOTE",
    "FileResult",
    "GradCam",
    "OodCheck",
    "OodReference",
    "Prediction",
    "Predictor",
    "TriageRow",
    "TriageSummary",
    "check_radiograph",
    "csv_text",
    "overlay_rgb",
    "predict",
    "predict_many",
    "triage",
    "write_pdf_report",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "FileResult": "predictor",
        "Prediction": "predictor",
        "Predictor": "predictor",
        "predict": "predictor",
        "predict_many": "predictor",
        "GradCam": "gradcam",
        "overlay_rgb": "gradcam",
        "OodCheck": "ood",
        "OodReference": "ood",
        "check_radiograph": "ood",
        "DISCLAIMER": "caveats",
        "HEATMAP_NOTE": "caveats",
        "write_pdf_report": "prediction_report",
        "TriageRow": "triage",
        "TriageSummary": "triage",
        "csv_text": "triage",
        "triage": "triage",
    },
)
