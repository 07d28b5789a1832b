"""``hilum predict``: JSON, CSV, heatmap PNGs, exit status and the default model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from engine.cli import CliContext, main
from tests.engine.tiny_bundles import make_bundle


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
    assert all(
        set(row) == {"path", "probability", "label", "threshold", "error", "warnings", "seconds"}
        for row in rows
    )
    bad = [row for row in rows if row["error"]]
    assert len(bad) == 1 and bad[0]["path"].endswith("broken.png") and bad[0]["label"] is None
    good = [row for row in rows if not row["error"]]
    assert all(
        row["label"] in ("NORMAL", "PNEUMONIA") and 0 <= row["probability"] <= 1 for row in good
    )


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
