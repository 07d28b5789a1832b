"""Test-time augmentation: the model looks at a few harmless variants of the image and averages.

A single forward pass answers for one framing of the radiograph; averaging the model's raw
probability over the image, its mirror, a slightly tighter and a slightly wider framing makes the
answer depend less on exactly how the plate was framed (the shortcut the first shipped model
learned). The recipe is part of the model card (``tta``), so every bundle is served exactly as it
was calibrated and measured.

Views are made at the model's input size (from the display pixels resized once), so a 2,000 px
DICOM costs one resize, not one per view. Every recipe starts with ``identity``: the heatmap is
computed on that view, the image the user sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.imaging.radiograph import FloatImage
from engine.modeling.preprocessing import resize

View = Callable[[FloatImage], FloatImage]


def _zoom(pixels: FloatImage, factor: float) -> FloatImage:
    """Centre crop (``factor`` < 1) or black-bordered zoom-out (> 1), back to the same size."""
    size = pixels.shape[0]
    if factor < 1.0:
        keep = round(size * factor)
        start = (size - keep) // 2
        return resize(pixels[start : start + keep, start : start + keep], size)
    wide = round(size * factor)
    start = (wide - size) // 2
    field = np.zeros((wide, wide), np.float32)
    field[start : start + size, start : start + size] = pixels
    return resize(field, size)


VIEWS: dict[str, View] = {
    "identity": lambda pixels: pixels,
    "hflip": lambda pixels: np.ascontiguousarray(pixels[:, ::-1]),
    "zoom_in": lambda pixels: _zoom(pixels, 0.9),
    "zoom_out": lambda pixels: _zoom(pixels, 1.1),
}


@dataclass(frozen=True)
class TtaRecipe:
    """Which views a bundle averages over; ``("identity",)`` is plain inference.

    Raises:
        ConfigError: an unknown view, or a recipe that does not start with ``identity``.
    """

    views: tuple[str, ...] = ("identity",)

    def __post_init__(self) -> None:
        unknown = [name for name in self.views if name not in VIEWS]
        if unknown or not self.views or self.views[0] != "identity":
            raise ConfigError(
                f"A test-time augmentation recipe is a list of views starting with 'identity', "
                f"from {', '.join(VIEWS)}; got {list(self.views)}."
            )

    def to_card(self) -> dict[str, Any]:
        """JSON-ready form for the card's ``tta``."""
        return {"views": list(self.views)}

    @classmethod
    def from_card(cls, card: dict[str, Any] | None) -> TtaRecipe:
        """Inverse of :meth:`to_card`; a card without ``tta`` means plain inference.

        Raises:
            ConfigError: the recipe is malformed.
        """
        if card is None:
            return cls()
        views = card.get("views") if isinstance(card, dict) else None
        if not isinstance(views, list) or not all(isinstance(name, str) for name in views):
            raise ConfigError(f"The card's tta must be {{'views': [names...]}}, got {card!r}.")
        return cls(tuple(views))


def make_views(pixels: FloatImage, size: int, views: Sequence[str]) -> list[FloatImage]:
    """The recipe's views of display pixels, each ``size`` x ``size`` in [0, 1]."""
    base = resize(pixels, size)
    return [VIEWS[name](base) for name in views]
