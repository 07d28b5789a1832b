"""Package exports resolved on first use, so importing a package stays cheap.

A sub-package's ``__init__`` names its public objects without importing the modules that define
them (some pull in TensorFlow helpers, scikit-learn or matplotlib only when used): the first
access to ``engine.modeling.Bundle`` imports ``engine.modeling.bundles`` and caches the object.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that imports each export on first use.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the sub-module (relative to ``package``) that defines it.

    Returns:
        The ``__getattr__`` function to assign in the package's ``__init__``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
