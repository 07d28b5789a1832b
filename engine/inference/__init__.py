"""Using a model on an image: the predictor with Grad-CAM, the out-of-distribution check, the
fields of a prediction, its PDF report. Exports resolve on first use (TensorFlow only when it runs).
"""

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.inference.caveats import DISCLAIMER, HEATMAP_NOTE
    from engine.inference.gradcam import GradCam, overlay_rgb
    from engine.inference.ood import OodCheck, OodReference, check_radiograph
    from engine.inference.prediction import FileResult, Prediction
    from engine.inference.prediction_report import write_pdf_report
    from engine.inference.predictor import Predictor, predict, predict_many

__all__ = [
    "DISCLAIMER",
    "HEATMAP_NOTE",
    "FileResult",
    "GradCam",
    "OodCheck",
    "OodReference",
    "Prediction",
    "Predictor",
    "check_radiograph",
    "overlay_rgb",
    "predict",
    "predict_many",
    "write_pdf_report",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "FileResult": "prediction",
        "Prediction": "prediction",
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
    },
)
