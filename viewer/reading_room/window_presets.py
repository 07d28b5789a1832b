"""The window presets offered for an image: its default display, its own windows, automatic."""

from __future__ import annotations

from dataclasses import dataclass

from engine import Radiograph, Window
from engine.imaging.radiograph import percentile_window


@dataclass(frozen=True)
class Preset:
    """A named window: ``window`` is ``None`` for the file's own default display."""

    name: str
    window: Window | None


def window_presets(rad: Radiograph) -> list[Preset]:
    """The file's default display, each of its other windows, and a percentile window."""
    default = rad.voi_lut_explanation or (rad.windows[0].explanation if rad.windows else "")
    presets = [Preset(f"Default ({default})" if default else "Default", None)]
    presets += [
        Preset(w.explanation or f"Window {i + 1}", w)
        for i, w in enumerate(rad.windows)
        if rad.voi_lut_explanation or i > 0
    ]
    presets.append(Preset("Automatic (0.5-99.5 percentile)", percentile_window(rad.values)))
    return presets
