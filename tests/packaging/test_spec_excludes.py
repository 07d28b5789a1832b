"""The installer excludes nothing the app imports (fast: no bundle is built).

``packaging/hilum.spec`` excludes unused heavy packages to keep the bundle small. Excluding one
the app does import makes the frozen app a reduced app (issue 11: ``sklearn`` was excluded, so
the bundle could not train). Two checks:

* no ``import`` statement in engine/ or viewer/ (lazy ones inside functions included) names an
  excluded module or a module inside an excluded package;
* a fresh interpreter that imports every module of engine/ and viewer/ and every module they
  import lazily loads nothing excluded (this catches what those packages import in turn, such as
  scikit-learn's SciPy).

These are the exclusions of both editions. The reading room also leaves out ``TRAINING_ONLY``;
``tests/viewer/test_reading_room_alone.py`` runs the app with those refused.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO
from tests.packaging.spec import SPEC, spec_list
from tests.packaging.support import run_in_repo

PACKAGES = ("engine", "viewer")


def spec_excludes() -> list[str]:
    """What the spec excludes from both editions."""
    return spec_list("EXCLUDES")


def imported_modules(files: Iterable[Path]) -> dict[str, str]:
    """Absolute module names imported by ``files`` -> where (``file:line``), first seen."""
    found: dict[str, str] = {}
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for name in names:
                found.setdefault(name, f"{file.relative_to(REPO)}:{node.lineno}")
    return found


def excluded_by(name: str, excludes: list[str]) -> str | None:
    """The exclude that removes module ``name`` from the bundle, if any."""
    return next((e for e in excludes if name == e or name.startswith(e + ".")), None)


def source_files() -> list[Path]:
    return sorted(f for package in PACKAGES for f in (REPO / package).rglob("*.py"))


def test_the_spec_excludes_no_module_that_engine_or_viewer_imports() -> None:
    excludes = spec_excludes()
    clashes = {
        f"{name} ({where})": exclude
        for name, where in imported_modules(source_files()).items()
        if (exclude := excluded_by(name, excludes))
    }
    assert not clashes, f"excluded in {SPEC.name} but imported: {clashes}"


def test_nothing_the_app_loads_in_turn_is_excluded() -> None:
    ours = {
        ".".join(file.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for file in source_files()
    }
    lazy = {name for name in imported_modules(source_files()) if name.split(".")[0] not in PACKAGES}
    probe = (
        "import importlib, json, sys\n"
        "for name in sorted(set(sys.argv[1:])):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        pass  # 'from x import function' names a function, not a module\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = run_in_repo(
        [sys.executable, "-c", probe, *sorted(ours), *sorted(lazy)],
        timeout=600,
        check=True,
        PYTHONPATH=str(REPO),
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        "engine.modeling.datasets" in loaded and "viewer.window.main_window" in loaded
    )  # probe worked
    excludes = spec_excludes()
    clashes = sorted({e for name in loaded if (e := excluded_by(name, excludes))})
    assert not clashes, f"the app loads these packages, which {SPEC.name} excludes: {clashes}"
