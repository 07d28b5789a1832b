"""``hilum predict``: JSON, CSV, heatmap PNGs, exit status, the default model, and the checks'
verdict on every row (an image outside what the shipped model was validated on is OUTSIDE)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from engine.cli import CliContext, main
from tests.engine.tiny_bundles import make_bundle

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = REPO / "resources" / "models" / "default"
VERDICT_KEYS = {"in_domain", "domain_score", "chest_radiograph", "outside"}
ROW_KEYS = {"path", "probability", "label", "threshold", "error", "warnings", "seconds"}
#: Files whose verdict under the shipped model was checked by hand (domain score in brackets):
#: inside, from the external set of the training hospital...
INSIDE = (
    "chest_xray/external/NORMAL/IM-0001-0001.jpeg",  # 0.93
    "chest_xray/external/NORMAL/IM-0003-0001.jpeg",  # 0.94
    "chest_xray/external/PNEUMONIA/person100_bacteria_479.jpeg",  # 0.77
)
#: ... and outside, adults' films from the NIH (another hospital); above 1 is outside.
OUTSIDE = (
    "sites/nih/NORMAL/00001300_000.png",  # 1.51
    "sites/nih/PNEUMONIA/00000211_013.png",  # 1.35
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("cli") / "tiny")


@pytest.fixture()
def images(tmp_path, train_dir) -> Path:
    """A folder of 3 real JPEGs and one broken file."""
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sorted(train_dir.glob("*/*.jpeg"))[::2000]:
        (folder / source.name).symlink_to(source)
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_json_lists_every_file_and_exits_1_for_a_bad_one(bundle, images, capsys):
    status = main(["predict", str(images), "--model", str(bundle), "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert status == 1
    assert len(rows) == 4
    assert all(set(row) == ROW_KEYS | VERDICT_KEYS for row in rows)
    bad = [row for row in rows if row["error"]]
    assert len(bad) == 1 and bad[0]["path"].endswith("broken.png") and bad[0]["label"] is None
    assert all(bad[0][key] is None for key in VERDICT_KEYS)
    good = [row for row in rows if not row["error"]]
    assert all(
        row["label"] in ("NORMAL", "PNEUMONIA") and 0 <= row["probability"] <= 1 for row in good
    )
    # The tiny model has no domain check: no verdict from it, and none invented.
    assert all(row["in_domain"] is None and row["domain_score"] is None for row in good)
    assert all(row["chest_radiograph"] is True and row["outside"] is None for row in good)


def test_csv_and_heatmaps(bundle, images, tmp_path, train_dir):
    (images / "broken.png").unlink()
    out, heatmaps = tmp_path / "out.csv", tmp_path / "heat"

    status = main(
        [
            "predict",
            str(images),
            "--model",
            str(bundle),
            "--csv",
            str(out),
            "--heatmaps",
            str(heatmaps),
        ]
    )

    assert status == 0
    with out.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [Path(row["path"]).name for row in rows] == sorted(p.name for p in images.iterdir())
    pngs = sorted(heatmaps.glob("*.png"))
    assert [p.name for p in pngs] == [f"{Path(row['path']).name}.png" for row in rows]
    with Image.open(pngs[0]) as overlay:
        assert overlay.mode == "RGB" and overlay.size == (224, 224)


def test_the_default_model_is_used_without_model(bundle, images, capsys):
    (images / "broken.png").unlink()
    status = main(["predict", str(images)], CliContext(default_model=bundle))
    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.count("(probability ") == 3
    assert "3 predicted, 0 failed (model tiny-test" in captured.err


def test_no_model_at_all_is_a_clear_error(images, capsys):
    status = main(["predict", str(images)], CliContext(default_model=None))
    assert status == 2
    assert "--model DIR" in capsys.readouterr().err


@pytest.fixture()
def mixed(tmp_path, shared_data) -> Path:
    """A folder of the shipped model's hand-checked inside and outside images, linked."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for relative in INSIDE + OUTSIDE:
        (folder / Path(relative).name).symlink_to(shared_data / relative)
    return folder


def by_name(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {Path(row["path"]).name: row for row in rows}


def test_json_rows_carry_the_shipped_models_verdict(mixed, capsys):
    status = main(["predict", str(mixed), "--model", str(SHIPPED_MODEL), "--json"])

    rows = by_name(json.loads(capsys.readouterr().out))
    assert status == 0
    assert all(set(row) == ROW_KEYS | VERDICT_KEYS for row in rows.values())
    for relative in INSIDE:
        row = rows[Path(relative).name]
        assert row["in_domain"] is True and row["domain_score"] <= 1.0, relative
        assert row["outside"] is None and row["label"] in ("NORMAL", "PNEUMONIA"), relative
    for relative in OUTSIDE:
        row = rows[Path(relative).name]
        assert row["in_domain"] is False and row["domain_score"] > 1.0, relative
        assert row["label"] == "OUTSIDE", "never NORMAL/PNEUMONIA for an image outside"
        assert row["outside"].startswith("Outside what this model was validated on: ")
    assert all(row["chest_radiograph"] is True for row in rows.values()), "chest films all"


def test_printed_lines_and_csv_mark_outside_images(mixed, tmp_path, capsys):
    status = main(["predict", str(mixed), "--model", str(SHIPPED_MODEL)])
    lines = {
        Path(line.split(": ")[0]).name: line
        for line in capsys.readouterr().out.splitlines()
        if not line.startswith(" ")
    }
    out = tmp_path / "out.csv"
    status += main(["predict", str(mixed), "--model", str(SHIPPED_MODEL), "--csv", str(out)])

    assert status == 0
    for relative in INSIDE:
        line = lines[Path(relative).name]
        assert "Domain check: inside what the model was validated on (score 0." in line
        assert "OUTSIDE" not in line
    for relative in OUTSIDE:
        line = lines[Path(relative).name]
        assert ": OUTSIDE - Outside what this model was validated on: " in line
        assert "not validated for this image: not a finding" in line
        assert "NORMAL" not in line and "PNEUMONIA" not in line
    with out.open(newline="") as stream:
        rows = by_name(list(csv.DictReader(stream)))
    for relative in INSIDE:
        row = rows[Path(relative).name]
        assert (row["in_domain"], row["chest_radiograph"], row["outside"]) == ("true", "true", "")
        assert row["label"] in ("NORMAL", "PNEUMONIA") and float(row["domain_score"]) <= 1
    for relative in OUTSIDE:
        row = rows[Path(relative).name]
        assert (row["in_domain"], row["chest_radiograph"], row["label"]) == (
            "false",
            "true",
            "OUTSIDE",
        )
        assert float(row["domain_score"]) > 1 and row["outside"].startswith("Outside what")
