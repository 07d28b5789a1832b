"""What Hilum says about every prediction it shows: the disclaimer and the heatmap note.

One wording for the prediction panel, the About box and the PDF report. Grad-CAM maps are
coarse evidence, not localisation (Saporta et al., Nat Mach Intell 2022). A module of its own,
so that the viewer can show them without importing the report's matplotlib.
"""

DISCLAIMER = (
    "Hilum supports a clinician's reading; it is not a diagnostic device. The probability and "
    "label come from a model trained on pediatric chest radiographs and can be wrong. The "
    "decision rests with the clinician, who knows the patient and sees the whole study."
)
#: How each map a :class:`~engine.inference.gradcam.GradCam` computes (its ``explains``) is named
#: to the user.
HEATMAP_NAMES = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "gradient x input": "gradient × input",
}
GRAD_CAM = HEATMAP_NAMES["gradcam"]


def heatmap_scale_label(kind: str) -> str:
    """What the heatmap's colour scale measures, for the viewer's legend and the PDF."""
    return f"{kind} weight relative to this image's strongest region, x strength"


def heatmap_kind_note(kind: str) -> str:
    """A sentence on a map that is not Grad-CAM (the ``dense`` baseline's); "" for Grad-CAM."""
    if HEATMAP_NAMES["gradient x input"] not in kind:
        return ""
    return (
        "This model has no convolutional layer, so its map is gradient × input: each pixel's "
        "first-order contribution to the output, finer and noisier than Grad-CAM."
    )


HEATMAP_NOTE = (
    "The heatmap is coarse evidence of the image regions that most influenced the model's "
    "output, not a localisation of disease."
)
