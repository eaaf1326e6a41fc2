"""Lazy re-exports for package roots: a public name is imported from its module on first use.

A package's ``__init__`` lists its public names in ``__all__``, imports them under
``if typing.TYPE_CHECKING:`` (so mypy and IDEs see the real objects) and maps each to its
module here. ``import plano_asgi`` then loads nothing but this file; ``plano_asgi.ModelGateway``
imports the gateway the first time it is asked for and keeps it on the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package`` for ``{name: module}``.

    An unknown name raises :class:`AttributeError` as for any module. A public name must
    not also be a submodule's name: importing that submodule would rebind the name to it.
    """

    def __getattr__(name: str) -> object:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
