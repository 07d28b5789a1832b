"""Promotion: which model the reading room reads with, and whether a bundle is fit to be it.

Two Qt-free parts, the viewer's Training tab being their user:

* :class:`ReadingRoomModels`: the active model and the one it replaced, with the transitions
  promote, revert and use the shipped default. A pure value: the viewer persists it in its
  settings and loads the model it names.
* :func:`check_promotion`: what must hold before a model replaces the one clinicians read with.
  Blocking errors: the card does not read or a checksum does not verify (bundles are checked
  by :func:`engine.modeling.bundles.read_card`), the threshold was not chosen on data (no
  operating point on record), or the probabilities are not calibrated. Warnings, which a
  person may accept: no figures on images from elsewhere (only the training hospital's
  validation split, which flatters), no robustness figures or a worst robustness flip rate
  above :data:`MAX_WORST_FLIP_RATE`, or an expected sensitivity or specificity on images from
  elsewhere below the active model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from engine.errors import HilumError
from engine.modeling.bundles import read_card
from engine.modeling.card import ModelCard
from engine.modeling.card_summary import expected_elsewhere, worst_flip
from engine.workflows.site_card import promotion_problems, site_lines

#: Names the shipped default model (which the viewer finds in its resources) in
#: :class:`ReadingRoomModels` and wherever the choice is stored.
SHIPPED_DEFAULT: Final = "default"
ShippedDefault = Literal["default"]
#: A model the reading room can read with: a bundle folder or the shipped default.
ReadingModel = Path | ShippedDefault
#: The largest worst-change flip rate (share of one class's labels flipped by the robustness
#: battery's worst change) accepted without a warning.
MAX_WORST_FLIP_RATE = 0.10
#: The expected figures on images from elsewhere that must not fall below the active model's.
_COMPARED = ("sensitivity", "specificity")


@dataclass(frozen=True)
class ReadingRoomModels:
    """The reading room's model and the one active before the last change.

    Attributes:
        active: the bundle read with, or :data:`SHIPPED_DEFAULT`.
        previous: the model :meth:`revert` returns to; ``None`` before the first change.
    """

    active: ReadingModel = SHIPPED_DEFAULT
    previous: ReadingModel | None = None

    @property
    def can_revert(self) -> bool:
        """There is a previous model to go back to."""
        return self.previous is not None

    def promote(self, bundle: Path) -> ReadingRoomModels:
        """``bundle`` becomes active; the active model becomes the previous one."""
        return ReadingRoomModels(bundle, self.active)

    def use_default(self) -> ReadingRoomModels:
        """The shipped default becomes active; the active model becomes the previous one."""
        return ReadingRoomModels(SHIPPED_DEFAULT, self.active)

    def revert(self) -> ReadingRoomModels:
        """Swap back to the previous model (the active one becomes the previous, so reverting
        twice returns); unchanged when there is none."""
        if self.previous is None:
            return self
        return ReadingRoomModels(self.previous, self.active)


@dataclass(frozen=True)
class PromotionCheck:
    """What :func:`check_promotion` found about one bundle.

    Attributes:
        bundle: the bundle checked.
        card: its card, when it could be read and verified.
        errors: reasons it must not be promoted (each names the bundle and what to do).
        warnings: reasons to think twice; a person may promote anyway.
        site: for a commissioned bundle, its site figures, shown before anything else.
    """

    bundle: Path
    card: ModelCard | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    site: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """No blocking error."""
        return not self.errors


def _blocking(card: ModelCard, name: str) -> list[str]:
    errors = []
    if card.operating_point is None:
        errors.append(
            f"{name}: its threshold ({card.threshold:.3f}) was not chosen on data (the card "
            "records no operating point). Choose and save an operating point in the Training "
            "tab's comparison, or retrain it, before promoting it."
        )
    if card.calibration.method == "none":
        errors.append(
            f"{name}: its probabilities are not calibrated (calibration 'none'), so the "
            "percentages the reading room shows would not mean what they say. Retrain it with "
            "calibration 'temperature' or 'platt' (hilum train --calibration platt)."
        )
    return errors


def _robustness_warnings(card: ModelCard, name: str, max_flip_rate: float) -> list[str]:
    worst = worst_flip(card.robustness)
    if worst is None:
        return [
            f"{name}: its card has no robustness figures: how its calls change under small "
            "changes of framing, contrast or noise is unknown. Retrain it with this Hilum, "
            "which measures them."
        ]
    change, rate = worst
    if rate <= max_flip_rate:
        return []
    return [
        f"{name}: the robustness battery's worst change, '{change}', flips {rate:.0%} of one "
        f"class's calls (more than {max_flip_rate:.0%}). Check that the reading room's images "
        "are framed like its training images, or prefer a more robust model."
    ]


def _external_warnings(card: ModelCard, name: str, active: ModelCard | None) -> list[str]:
    figures = expected_elsewhere(card)
    if figures is None:
        return [
            f"{name}: it was never measured on images from elsewhere (its card has no external "
            "figures); its validation figures come from the training hospital and flatter it. "
            "Retrain it with an external set (hilum train --external DIR) to know what to expect."
        ]
    reference = expected_elsewhere(active) if active is not None else None
    if reference is None or active is None:
        return []
    warnings = []
    for key in _COMPARED:
        mine, theirs = figures.get(key), reference.get(key)
        if mine is not None and theirs is not None and float(mine) < float(theirs):
            warnings.append(
                f"{name}: its expected {key} on images from elsewhere, {float(mine):.3f}, is "
                f"below the active model's ({active.display_name}: {float(theirs):.3f}). "
                "Promote it only if that trade is intended."
            )
    return warnings


def _active_card(active: ModelCard | Path | None) -> ModelCard | None:
    """The active model's card; ``None`` when unknown or unreadable (then nothing is compared:
    the active model's own problems are not the candidate's)."""
    if not isinstance(active, Path):
        return active
    try:
        return read_card(active)
    except HilumError:
        return None


def check_promotion(
    bundle: Path,
    active: ModelCard | Path | None = None,
    *,
    max_flip_rate: float = MAX_WORST_FLIP_RATE,
) -> PromotionCheck:
    """Check that ``bundle`` is fit to become the reading room's model.

    Reads the card and verifies the checksums (hashing the model files: run it off a GUI
    thread). Never raises for a bad bundle: its problem is an error of the result.

    Args:
        bundle: the candidate bundle folder.
        active: the model the reading room reads with now (its card, or its bundle folder),
            if known; the candidate's external figures are compared with its.
        max_flip_rate: the worst robustness flip rate accepted without a warning.

    Returns:
        The card (when readable), blocking errors and warnings, each message naming the bundle.
    """
    try:
        card = read_card(bundle)
    except HilumError as error:
        return PromotionCheck(bundle, None, errors=(str(error),))
    name = f"Model '{card.display_name}' ({bundle})"
    return PromotionCheck(
        bundle,
        card,
        errors=tuple(_blocking(card, name) + promotion_problems(card, name)),
        warnings=tuple(
            _external_warnings(card, name, _active_card(active))
            + _robustness_warnings(card, name, max_flip_rate)
        ),
        site=tuple(site_lines(card)),
    )
