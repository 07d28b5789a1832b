"""The image on screen and everything said about it: one Qt-free object with change events.

Why: the panel, the image view, the study list, the PDF report, the history and the PACS results
each used to work out "what is on screen" from their own copies (the slider's value here, the
card's threshold there, an unfaded heatmap in a third place), and they disagreed: a 2 % NORMAL
went to the PACS with a full-strength hot spot, and a failed file left the previous image's
sentences on the panel. :class:`ReadingState` is the one answer, napari-style (a plain model,
its Qt views apart): the image, its prediction or why there is none, the threshold in force and
who set it, and, through :meth:`ReadingState.result`, the label and heatmap strength at that
threshold with the model's verdicts and warnings. Views subscribe with a plain callable and
redraw from the state; they never decide anything themselves.

The threshold in force is the model's operating point for the image (the card's, or a site
head's: ``Prediction.threshold``) unless the user moved it, for this image only or for the rest
of the session (:class:`ThresholdScope`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.imaging.radiograph import Radiograph
from engine.inference.prediction import Prediction
from engine.inference.shown_result import ShownResult

#: What changed, passed to each listener: ``"image"`` (an image is shown, or a file failed),
#: ``"prediction"`` (a prediction arrived or was cleared), ``"threshold"``, ``"model"``.
Listener = Callable[[str], None]


class ThresholdScope(StrEnum):
    """How long a threshold the user set stays in force."""

    IMAGE = "image"  # until another image is shown
    SESSION = "session"  # until reset, or the model changes


@dataclass(frozen=True)
class UserThreshold:
    """A threshold the user set, and for how long."""

    value: float
    scope: ThresholdScope


class ReadingState:
    """The state of the image on screen (see the module docstring).

    Attributes:
        path: the file on screen, or the file that failed; ``None`` before any.
        image: the radiograph on screen, ``None`` when none is (or the last file failed).
        frame: the frame of a multi-frame image shown (0-based).
        prediction: the prediction of :attr:`image`, ``None`` until it arrives.
        failure: why :attr:`path` could not be shown, ``None`` when it was.
        model_id: the model in use, ``None`` when none is loaded.
        card_threshold: its card's operating point.
        user_threshold: the threshold the user set, ``None`` when the model's is in force.
    """

    def __init__(self) -> None:
        self.path: Path | None = None
        self.image: Radiograph | None = None
        self.frame = 0
        self.prediction: Prediction | None = None
        self.failure: str | None = None
        self.model_id: str | None = None
        self.card_threshold: float | None = None
        self.user_threshold: UserThreshold | None = None
        self._listeners: list[Listener] = []

    # --- listeners -----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(change)`` after every change; returns the call that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self, change: str) -> None:
        for listener in list(self._listeners):
            listener(change)

    # --- changes -------------------------------------------------------------------------------

    def reading(self) -> None:
        """A new image is being read: the prediction on screen no longer applies."""
        self.prediction = None
        self._changed("prediction")

    def show_image(self, image: Radiograph, frame: int = 0) -> None:
        """``image`` is on screen (its prediction follows); a threshold set for the previous
        image only ends."""
        self.path, self.image, self.frame = image.source, image, frame
        self.prediction, self.failure = None, None
        self._end_image_threshold()
        self._changed("image")

    def fail(self, path: Path, reason: str) -> None:
        """``path`` could not be shown: no image, no prediction, and ``reason`` on screen."""
        self.path, self.image, self.frame = path, None, 0
        self.prediction, self.failure = None, reason
        self._end_image_threshold()
        self._changed("image")

    def show_prediction(self, prediction: Prediction) -> bool:
        """Take ``prediction`` as the result of the image on screen.

        Returns:
            False (and nothing changes) when it is not that image's: a file failed since, or
            the prediction is of another file.
        """
        other_file = None not in (prediction.path, self.path) and prediction.path != self.path
        if self.failure is not None or other_file:
            return False
        self.prediction = prediction
        self._changed("prediction")
        return True

    def set_model(self, model_id: str, card_threshold: float) -> None:
        """A model is in use; a threshold the user set for another model ends."""
        if model_id != self.model_id:
            self.user_threshold = None
        self.model_id, self.card_threshold = model_id, float(card_threshold)
        self._changed("model")

    def set_threshold(self, value: float, scope: ThresholdScope = ThresholdScope.SESSION) -> None:
        """The user set the threshold to ``value`` (clipped to [0, 1]) for ``scope``."""
        self.user_threshold = UserThreshold(min(max(float(value), 0.0), 1.0), scope)
        self._changed("threshold")

    def reset_threshold(self) -> None:
        """Back to the model's operating point."""
        if self.user_threshold is not None:
            self.user_threshold = None
            self._changed("threshold")

    def _end_image_threshold(self) -> None:
        if self.user_threshold is not None and self.user_threshold.scope is ThresholdScope.IMAGE:
            self.user_threshold = None

    # --- what is on screen ---------------------------------------------------------------------

    @property
    def model_threshold(self) -> float | None:
        """The model's operating point for the image: the prediction's (the card's or a site
        head's), else the card's; ``None`` without a model."""
        if self.prediction is not None:
            return self.prediction.threshold
        return self.card_threshold

    @property
    def threshold(self) -> float | None:
        """The threshold in force: the user's when set, else :attr:`model_threshold`."""
        if self.user_threshold is not None:
            return self.user_threshold.value
        return self.model_threshold

    @property
    def set_by_user(self) -> bool:
        """True when the threshold in force is one the user set."""
        return self.user_threshold is not None

    @property
    def threshold_origin(self) -> str:
        """Who set the threshold in force, in words."""
        user = self.user_threshold
        if user is not None:
            return f"set by the user for this {user.scope.value}"
        model, card = self.model_threshold, self.card_threshold
        if model is not None and card is not None and abs(model - card) > 1e-9:
            return "the operating point for this image's site"
        return "the model card's operating point"

    def result(self) -> ShownResult | None:
        """The prediction on screen at the threshold in force, ``None`` without one."""
        prediction, threshold = self.prediction, self.threshold
        if prediction is None or threshold is None:
            return None
        return ShownResult(prediction, threshold, self.set_by_user)
