"""A one-page PDF report of a prediction: the image, its heatmap, the result and the model.

Why a PDF drawn with matplotlib: it is already a dependency, it runs headless and on a worker
thread when used through its object API (a :class:`~matplotlib.figure.Figure`, no pyplot state,
no Qt), and the output opens anywhere. The file is written to a temporary name and moved into
place (:func:`engine.atomic_files.replacing`), so a crash never leaves half a report.

The report always carries :data:`DISCLAIMER` and :data:`HEATMAP_NOTE`: Hilum supports a reading,
it does not make one, and Grad-CAM maps are coarse evidence, not localisation (Saporta et al.,
Nat Mach Intell 2022). The heatmap is drawn at the strength the viewer uses
(:mod:`engine.inference.heatmap_strength`: faded below the operating point), and the page says so.
The threshold is the one in force on screen (a :class:`~engine.inference.shown_result.ShownResult`),
called "set by the user" only when the user moved it. The model's figures quoted are those to
expect on images from elsewhere (the card's external figures, cross-fitted when the external set
also chose the threshold) beside where the model was validated, never the flattering
in-distribution validation figures.

Every report states the checks' verdict (:mod:`engine.inference.check_verdict`). When an image is
outside what the model was validated on, the headline is the check's ("Not a chest radiograph" or
"Outside what this model was validated on") with its reason, there is no NORMAL/PNEUMONIA label,
the probability is printed only as the model's unvalidated output, and the heatmap is not drawn:
a coloured hot spot reads as a finding whatever its caption says, and a printed or forwarded page
keeps the colours longer than the small print; for such an image the map means nothing
validated. The page says why the panel is empty.
"""

from __future__ import annotations

import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from engine.atomic_files import replacing
from engine.inference.caveats import (
    DISCLAIMER,
    GRAD_CAM,
    HEATMAP_NOTE,
    heatmap_kind_note,
    heatmap_scale_label,
)
from engine.inference.check_verdict import (
    chest_line,
    domain_line,
    passed_chest_check,
    reason,
)
from engine.inference.domain_verdict import headline
from engine.inference.heatmap_strength import scaled_heatmap, strength_legend
from engine.inference.prediction_fields import PredictionFields
from engine.inference.shown_result import ShownResult
from engine.modeling.card import ModelCard
from engine.modeling.card_summary import external_lines, validated_on_line

#: A4 portrait, in inches.
PAGE_SIZE = (8.27, 11.69)
#: Resolution the images are embedded at.
PDF_DPI = 150
#: Longest side of the images drawn (more is invisible at :data:`PDF_DPI` and bloats the file).
MAX_IMAGE_SIDE = 1200
#: Opacity of the heatmap overlay where its (strength-scaled) weight is 1.
OVERLAY_OPACITY = 0.6
_TEXT_WIDTH = 100  # characters per line of body text at 9 pt on A4
_NOTE_TOP = 0.485  # top of the heatmap note, below the colour bar and its caption
#: Where the heatmap would be, for an image outside what the model was validated on.
NO_HEATMAP_OUTSIDE = (
    "Heatmap not drawn: the image is outside what the model was validated on, so a map of the "
    "model's evidence would have no validated meaning here."
)


def _height(text: str, points: float, spacing: float) -> float:
    """The height of ``text`` (lines of ``points`` at ``spacing``) as a fraction of the page."""
    return (text.count("\n") + 1) * points * spacing / 72 / PAGE_SIZE[1]


def _fitted(text: str, room: float) -> tuple[float, float]:
    """Font size and line spacing for ``text`` to fit in ``room`` (a fraction of the page
    height): 9 pt at 1.5 when it fits, else tighter lines, then a smaller font (down to 6 pt)."""
    spacing = min(1.5, room / _height(text, 9, 1.0))
    if spacing >= 1.15:
        return 9.0, spacing
    return max(6.0, 9 * spacing / 1.15), 1.15


def _study_date(text: str) -> str:
    """A DICOM DA value (YYYYMMDD) as YYYY-MM-DD; anything else as it is."""
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _checked_image(name: str, image: npt.ArrayLike) -> npt.NDArray[np.float32]:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(
            f"The report's {name} must be a 2-D image (rows, columns); got shape {array.shape}."
        )
    step = max(1, -(-max(array.shape) // MAX_IMAGE_SIDE))
    return array[::step, ::step]


def _lines(
    prediction: PredictionFields,
    card: ModelCard,
    file_name: str,
    patient_id: str,
    study_date: str,
    created: datetime,
) -> list[str]:
    """The report's text, one entry per line (long entries are wrapped later)."""
    threshold = f"{prediction.threshold:.3f}"
    if isinstance(prediction, ShownResult) and prediction.set_by_user:
        threshold += (
            f" (set by the user; the model's operating point is {prediction.model_threshold:.3f})"
        )
    lines = [
        f"File: {file_name}",
        f"Patient ID: {patient_id or 'not known'}    Study date: "
        f"{_study_date(study_date) or 'not known'}",
        f"Report created: {created.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    if prediction.outside is None:
        lines += [
            f"Probability of pneumonia: {prediction.probability:.3f}",
            f"Label: {prediction.label} (PNEUMONIA when the probability is >= the threshold)",
            f"Threshold: {threshold}",
            domain_line(prediction),
        ]
    else:
        lines += [
            f"Why: {reason(prediction.outside)}",
            "Label: none (no NORMAL/PNEUMONIA finding for an image outside what the model was "
            "validated on)",
            f"Model output: probability {prediction.probability:.3f}, UNVALIDATED for this image "
            "(not a finding)",
            chest_line(prediction),
            domain_line(prediction),
        ]
    lines += [f"Warning: {warning}" for warning in prediction.warnings]
    applies = (
        "Images unlike these (other ages, views or hospitals) are not covered by the figures below."
        if prediction.outside is None
        else "This image is unlike them: the figures below do not apply to it."
    )
    lines += [
        "",
        f"Model: {card.display_name}    variant: {card.variant}",
        f"Model id: {card.model_id}",
        f"{validated_on_line(card).rstrip('.')}. {applies}",
        external_lines(card)[0],  # the honest figures (cross-fitted, when there are both)
    ]
    if prediction.model_id != card.model_id:
        lines.append(f"Note: the prediction was made by model {prediction.model_id}.")
    return lines


def write_pdf_report(
    path: str | os.PathLike[str],
    pixels: npt.ArrayLike,
    heatmap: npt.ArrayLike | None,
    prediction: PredictionFields,
    card: ModelCard,
    *,
    file_name: str,
    patient_id: str = "",
    study_date: str = "",
    created: datetime | None = None,
    disclaimer: str = DISCLAIMER,
    heatmap_kind: str = GRAD_CAM,
) -> Path:
    """Write a one-page A4 PDF report of one prediction, atomically.

    Args:
        path: the PDF to create or replace; its folder must exist.
        pixels: the display image, float in [0, 1], shape (rows, columns).
        heatmap: the heatmap in [0, 1] (any 2-D size: it is stretched over the image), or
            ``None`` when there is none (the overlay panel then says so).
        prediction: probability, label, threshold, model id and warnings to show: the viewer's
            :class:`~engine.inference.shown_result.ShownResult` (the threshold in force and
            whether the user set it), or a prediction at the model's operating point.
        card: the model's card.
        file_name: the image's file name as shown to the user.
        patient_id: DICOM Patient ID, "" when not known.
        study_date: DICOM Study Date (YYYYMMDD) or any date text, "" when not known.
        created: the report's time; now by default.
        disclaimer: the statement printed at the foot of the page.
        heatmap_kind: what the heatmap shows (``Prediction.heatmap_kind``), named on its scale.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        ValueError: ``pixels`` or ``heatmap`` is not a 2-D image.
        OSError: the file cannot be written (the previous file, if any, is untouched).
    """
    image = _checked_image("image", pixels)
    cam = None
    if heatmap is not None:
        cam = scaled_heatmap(
            _checked_image("heatmap", heatmap), prediction.probability, prediction.threshold
        )
    if prediction.outside is not None:
        cam = None  # see the module's docstring
    moment = created or datetime.now(UTC)
    figure = Figure(figsize=PAGE_SIZE)
    kind = "chest X-ray" if passed_chest_check(prediction) else "image"
    figure.text(0.06, 0.955, f"Hilum — {kind} report", fontsize=16, fontweight="bold")
    figure.text(0.06, 0.935, "Decision support for pediatric pneumonia", fontsize=10)

    extent = (0.0, float(image.shape[1]), float(image.shape[0]), 0.0)
    left = figure.add_axes((0.06, 0.54, 0.42, 0.35))
    right = figure.add_axes((0.52, 0.54, 0.42, 0.35))
    for axes, title in ((left, "Radiograph"), (right, "Heatmap overlay (coarse evidence)")):
        axes.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, extent=extent)
        axes.set_title(title, fontsize=10)
        axes.set_axis_off()
    if cam is None:
        missing = "no heatmap" if prediction.outside is None else "no heatmap:\nnot validated"
        right.text(
            0.5,
            0.5,
            missing,
            transform=right.transAxes,
            ha="center",
            color="w",
            bbox={"facecolor": "black", "alpha": 0.6, "edgecolor": "none"},
        )
    else:
        # Opacity grows with the (strength-scaled) weight, as in the viewer: no evidence, no tint.
        layer = right.imshow(
            cam, cmap="jet", vmin=0.0, vmax=1.0, alpha=OVERLAY_OPACITY * cam, extent=extent
        )
        bar = figure.add_axes((0.52, 0.525, 0.42, 0.01))
        figure.colorbar(layer, cax=bar, orientation="horizontal")
        bar.tick_params(labelsize=7)
        bar.set_xlabel(f"{heatmap_scale_label(heatmap_kind)} (below)", fontsize=7)
    legend = " ".join(
        part
        for part in (
            heatmap_kind_note(heatmap_kind),
            strength_legend(prediction.probability, prediction.threshold),
        )
        if part
    )
    if prediction.outside is not None:
        legend = NO_HEATMAP_OUTSIDE
    # The page flows down from the colour bar's caption (which ends near 0.495 of the height):
    # the note, the result, then the body, each placed below the one above.
    note = textwrap.fill(f"{HEATMAP_NOTE} {legend}", _TEXT_WIDTH)
    figure.text(0.06, _NOTE_TOP, note, fontsize=9, style="italic", va="top")
    result_top = _NOTE_TOP - _height(note, 9, 1.2) - 0.015

    text = _lines(prediction, card, file_name, patient_id, study_date, moment)
    body = "\n".join(textwrap.fill(line, _TEXT_WIDTH) if line else "" for line in text)
    if prediction.outside is None:
        result, colour = f"{prediction.label}: probability {prediction.probability:.3f}", "black"
    else:
        result, colour = headline(prediction.outside), "#b00020"
    figure.text(0.06, result_top, result, fontsize=14, fontweight="bold", va="top", color=colour)
    notice = textwrap.fill(disclaimer, _TEXT_WIDTH)
    room = result_top - 0.035 - (0.04 + _height(notice, 9, 1.2) + 0.03)  # above the notice
    size, spacing = _fitted(body, room)
    figure.text(0.06, result_top - 0.035, body, fontsize=size, va="top", linespacing=spacing)
    figure.text(
        0.06,
        0.04,
        notice,
        fontsize=9,
        fontweight="bold",
        va="bottom",
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#fff4e5", "edgecolor": "#e0a040"},
    )
    target = Path(path)
    with replacing(target) as temporary:
        figure.savefig(
            temporary,
            format="pdf",
            dpi=PDF_DPI,
            metadata={"Title": f"Hilum report: {file_name}", "Creator": "Hilum"},
        )
    return target
