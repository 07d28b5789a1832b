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
HEATMAP_NOTE = (
    "The heatmap is coarse evidence of the image regions that most influenced the model's "
    "output, not a localisation of disease."
)
