"""The reading room: the image view, the study browser, the prediction panel, the DICOM tags
and the exports of what is on screen (PDF report, PNG).
"""
