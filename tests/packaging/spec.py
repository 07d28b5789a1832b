"""The module lists of ``packaging/hilum.spec``, read without running the spec (no PyInstaller).

Kept free of pytest and of the test set-up: :mod:`tests.without_training` reads
``TRAINING_ONLY`` in the process it starts as the reading room.
"""

from __future__ import annotations

import ast
from pathlib import Path

SPEC = Path(__file__).resolve().parents[2] / "packaging" / "hilum.spec"


def spec_list(name: str) -> list[str]:
    """The literal list assigned to ``name`` in the spec (``EXCLUDES``, ``TRAINING_ONLY``)."""
    for node in ast.parse(SPEC.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            modules: list[str] = ast.literal_eval(node.value)
            return modules
    raise AssertionError(f"{SPEC} has no {name} list")
