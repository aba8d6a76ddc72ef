"""Packages whose public names load on first access, so that importing a package imports no TensorFlow.

A command checks its flags and files before anything loads TensorFlow (5-9 s on a 2-core CPU), so a typo or a
missing file is reported at once: `sr_keras.data`, `sr_keras.inference`, `sr_keras.export`, `sr_keras.convert`
and `sr_keras.mmsr` end their `__init__` with `lazy_package(__name__, {module: names})`. The names keep working
as before (`from sr_keras.data import read_image`, `sr_keras.inference.upscale(...)`); each loads its module
when it is first used.

Most of those modules import TensorFlow themselves. So that TensorFlow's start-up lines stay off the terminal
however such a module is reached (`from sr_keras.data.io import read_image` names no package attribute), a
finder on `sys.meta_path` calls `sr_keras._quiet.import_tensorflow` before any module of a quiet package loads,
except the ones the package lists as light.
"""
import importlib
import importlib.machinery
import sys
import types

from sr_keras._quiet import import_tensorflow


class _QuietImports:
    """A finder that finds nothing: before a module of a quiet package loads, it imports TensorFlow quietly."""

    light = {}  # quiet package name -> names of its modules that use no TensorFlow

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        package, _, module = name.rpartition(".")
        if package in cls.light and module not in cls.light[package]:
            import_tensorflow()
        return None


class _LazyPackage(types.ModuleType):
    """A package whose public names (`_LAZY`: name -> module) and submodules load on first access.

    The import system sets a package's attribute to each submodule it loads; where a public function has its
    module's name (`sr_keras.data.div2k`, `sr_keras.inference.upscale`), the function keeps its place, as it did
    when the package imported it eagerly.
    """

    def __getattr__(self, name):  # only called when the name is not loaded yet
        lazy = self.__dict__["_LAZY"]
        if name in lazy:
            value = getattr(importlib.import_module(lazy[name]), name)
        elif not name.startswith("__") and importlib.machinery.PathFinder.find_spec(f"{self.__name__}.{name}",
                                                                                    self.__path__):
            value = importlib.import_module(f"{self.__name__}.{name}")
        else:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self.__dict__[name] = value
        return value

    def __dir__(self):
        return sorted(set(self.__dict__) | set(self.__dict__["_LAZY"]))

    def __setattr__(self, name, value):
        if not (name in self.__dict__["_LAZY"] and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


def lazy_package(name, names_by_module, quiet=True, light=()):
    """Makes the package `name` (call it at the end of the package's `__init__`) load `names_by_module`
    ({module: public names}) and its submodules on first access.

    quiet: import TensorFlow quietly before any module of the package loads but those named in `light` (modules
        that use no TensorFlow, and `__main__`, whose command imports it when it needs it). Without it, the
        package's modules must reach TensorFlow through a unit that imports it quietly (`sr_keras.layers`).
    """
    package = sys.modules[name]
    package.__dict__["_LAZY"] = {attribute: module for module, attributes in names_by_module.items()
                                 for attribute in attributes}
    package.__class__ = _LazyPackage
    if quiet:
        _QuietImports.light[name] = {"__main__", *light}
        if _QuietImports not in sys.meta_path:
            sys.meta_path.insert(0, _QuietImports)
