"""What of a prediction is shown: the one place that decides, for every view (Qt-free).

Why: when a check says an image is outside what the model was validated on
(``Prediction.outside``), its probability means nothing there, yet a big red "PNEUMONIA 100 %"
with a full-strength heatmap reads as a finding. So the label is replaced by the checks'
headline and sentence, and the probability and heatmap stay one deliberate click away ("Show
unvalidated result"); once shown, they are marked unvalidated. The reading room keeps one
:class:`Disclosure` for the image on screen (a new image starts hidden again); the panel, the
image view's overlay, the triage list and the history all ask it rather than testing
``outside`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.inference.domain_verdict import headline

#: The mark added to a result shown although the image is outside what the model was
#: validated on.
UNVALIDATED = "unvalidated"


@dataclass
class Disclosure:
    """Whether the result (label, probability, heatmap) of one prediction is shown.

    Attributes:
        outside: the checks' sentence shown instead of the label (``Prediction.outside``);
            ``None`` when the image is inside what the model was validated on.
        revealed: the user asked to see the unvalidated result of this image.
    """

    outside: str | None = None
    revealed: bool = False

    @classmethod
    def of(cls, prediction: Any) -> Disclosure:
        """A hidden disclosure of ``prediction`` (anything with ``outside``; ``None`` counts as
        no prediction, so nothing is outside)."""
        return cls(getattr(prediction, "outside", None))

    @property
    def validated(self) -> bool:
        """True unless a check put the image outside what the model was validated on."""
        return self.outside is None

    @property
    def shows_result(self) -> bool:
        """True when the label, probability and heatmap are shown: always for a validated
        image, only after the user's click for one outside."""
        return self.validated or self.revealed

    @property
    def headline(self) -> str:
        """ "Not a chest radiograph" or "Outside what this model was validated on" ("" when
        validated)."""
        return "" if self.outside is None else headline(self.outside)

    @property
    def reason(self) -> str:
        """Why the image is outside: the checks' sentence after its headline, as a sentence of
        its own ("" when validated), shown beneath the headline."""
        if self.outside is None:
            return ""
        rest = self.outside.removeprefix(self.headline).lstrip(": ")
        return rest[:1].upper() + rest[1:]

    def mark(self, text: str) -> str:
        """``text`` (a label, a probability, a legend) marked unvalidated when it has to be."""
        return text if self.validated else f"{text} ({UNVALIDATED})"
