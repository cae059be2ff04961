"""Package exports looked up on first use.

The configuration imports every suite's settings module when it loads, and a settings
module lives inside its suite's package; a package ``__init__`` that imported all its
submodules eagerly would pull the store, the load engine or numpy into ``vigil config
check`` -- and back into the configuration that is still loading. Packages therefore
name their public names here and import each from its submodule when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package` that imports each of `exports` on first use.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> the submodule (relative to `package`) that defines it.
    """
    module = importlib.import_module(package)

    def __getattr__(name: str) -> Any:
        submodule = exports.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(module, name, value)
        return value

    return __getattr__
