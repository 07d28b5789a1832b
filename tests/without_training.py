"""Run a module as the reading room would: the full workstation's packages cannot be imported.

``python -m tests.without_training MODULE [ARGS...]`` refuses every module of the spec's
``TRAINING_ONLY`` list (TensorFlow, Keras, scikit-learn, SciPy, ...: what the reading-room
edition of the installer leaves out) with a ``sys.meta_path`` finder, then runs ``MODULE`` as
``__main__`` with ``ARGS``, as ``python -m MODULE ARGS`` does. A module that imports one of them,
at load time or later, gets a ``ModuleNotFoundError``, as in a reading-room installation, even
though this environment has them installed.
"""

from __future__ import annotations

import importlib.abc
import runpy
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

from tests.packaging.spec import spec_list


class Refuse(importlib.abc.MetaPathFinder):
    """A finder, first on ``sys.meta_path``, that refuses ``packages`` and their modules."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """Refuse a module of ``packages`` (as if not installed); leave others to later finders."""
        if fullname.partition(".")[0] in self.packages:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (the reading room)", name=fullname
            )
        return None


def main(argv: Sequence[str]) -> None:
    """Refuse the workstation's packages, then run module ``argv[0]`` with ``argv[1:]``."""
    refused = spec_list("TRAINING_ONLY")
    loaded = sorted(name for name in sys.modules if name.partition(".")[0] in refused)
    if loaded:
        raise SystemExit(f"already imported before the refusal: {loaded}")
    sys.meta_path.insert(0, Refuse(refused))
    sys.argv = list(argv)
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
