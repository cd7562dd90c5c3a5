"""Packages whose public names load their modules on first use (PEP 562).

Dossier's packages (``ingest``, ``linker``, ``index``, ``config``) export their public names this
way, so a command pays only for the modules it touches: ``dossier --help`` loads neither
SQLAlchemy nor Whoosh nor the parser.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public names are ``exports``
    (submodule -> names). The first use of a name imports its submodule and binds all of that
    submodule's names in the package, so that later lookups are plain ones."""
    namespace = vars(sys.modules[package])
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = import_module(f"{package}.{module}")
        for export in exports[module]:
            namespace[export] = getattr(loaded, export)
        return namespace[name]

    def __dir__() -> list[str]:
        return sorted({*namespace, *module_of})

    return __getattr__, __dir__
