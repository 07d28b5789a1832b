"""Typed settings: round trips, defaults and tolerance of bad stored values."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from viewer.settings import DEFAULT_COLORMAP, DEFAULT_OPACITY, MAX_RECENT, Settings


def reopen(settings: Settings) -> Settings:
    settings.sync()
    return Settings(QSettings(settings.store.fileName(), QSettings.Format.IniFormat))


def test_defaults(settings: Settings) -> None:
    assert settings.heatmap_opacity == DEFAULT_OPACITY
    assert settings.colormap == DEFAULT_COLORMAP
    assert settings.heatmap_visible is True
    assert settings.recent_paths == [] and settings.model_path is None
    assert settings.last_folder is None and settings.geometry.isEmpty()


def test_values_survive_reopening(settings: Settings, tmp_path: Path) -> None:
    settings.heatmap_opacity = 0.3
    settings.colormap = "viridis"
    settings.heatmap_visible = False
    settings.last_folder = tmp_path
    settings.model_path = tmp_path / "bundle"
    settings.geometry = QByteArray(b"\x01\x02geometry")
    for name in ("a.dcm", "b.dcm", "a.dcm"):
        settings.add_recent(tmp_path / name)
    again = reopen(settings)
    assert again.heatmap_opacity == 0.3
    assert again.colormap == "viridis"
    assert again.heatmap_visible is False
    assert again.last_folder == tmp_path
    assert again.model_path == tmp_path / "bundle"
    assert bytes(again.geometry.data()) == b"\x01\x02geometry"
    assert again.recent_paths == [tmp_path / "a.dcm", tmp_path / "b.dcm"]


def test_recent_list_is_bounded_and_single_items_read_back(
    settings: Settings, tmp_path: Path
) -> None:
    settings.add_recent(tmp_path / "only.png")
    assert reopen(settings).recent_paths == [tmp_path / "only.png"]
    for i in range(MAX_RECENT + 5):
        settings.add_recent(tmp_path / f"{i}.png")
    assert len(settings.recent_paths) == MAX_RECENT
    settings.clear_recent()
    assert settings.recent_paths == []


def test_bad_stored_values_fall_back_to_defaults(settings: Settings) -> None:
    settings.store.setValue("heatmap/opacity", "lots")
    settings.store.setValue("heatmap/colormap", "rainbow")
    settings.store.setValue("paths/last_folder", "/no/such/folder")
    assert settings.heatmap_opacity == DEFAULT_OPACITY
    assert settings.colormap == DEFAULT_COLORMAP
    assert settings.last_folder is None
    settings.heatmap_opacity = 7.0
    assert settings.heatmap_opacity == 1.0
