"""Site data folders for commissioning tests: a hospital's class folders with manifest rows,
linked from the real data (never copied into the repository)."""

from __future__ import annotations

import csv
from pathlib import Path


def link_site(source: Path, root: Path, per_class: int) -> Path:
    """Link the first ``per_class`` films of each class of ``source`` (class folders and a
    ``manifest.csv``, as ``sites/nih``) into ``root``, with their manifest rows."""
    with (source / "manifest.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    chosen = []
    for label in ("NORMAL", "PNEUMONIA"):
        (root / label).mkdir(parents=True)
        chosen += [row for row in rows if row["label"] == label][:per_class]
    for row in chosen:
        (root / row["file"]).symlink_to(source / row["file"])
    with (root / "manifest.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    return root
