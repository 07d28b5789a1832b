"""Locate shipped resources by validated name, from the source tree and a frozen bundle alike.

Uses :mod:`importlib.resources` on the data-only ``resources`` package (as napari's
``resources/_icons.py`` does), so PyInstaller bundles resolve the same way as the checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_MODEL = "default"


def resources_root() -> Path:
    """The folder of the ``resources`` package."""
    return Path(str(files("resources")))


def default_model_dir() -> Path | None:
    """The shipped default model bundle, or ``None`` when this build has none."""
    path = resources_root() / "models" / DEFAULT_MODEL
    return path if (path / "card.json").is_file() else None


def icon_path(name: str) -> Path:
    """Path of a shipped icon.

    Raises:
        KeyError: no icon of that name is shipped (a programming error, caught by the tests).
    """
    path = resources_root() / "icons" / name
    if not path.is_file():
        known = sorted(p.name for p in (resources_root() / "icons").glob("*"))
        raise KeyError(f"No icon named {name!r}; shipped icons: {known}")
    return path
