"""MMSR (seed 001): a multi-model SR framework that routes images or tiles by their TVAT texture class.

- `tiles`: cut training images into LR/HR tiles and split them by TVAT class (`class_tile_sets`);
- `config`: `MMSRConfig` (tiles, TVAT boundaries, per-class "X-Y" depths);
- `training`: `train_mmsr` trains the SRGAN of every class on that class's tiles with the class's depth
  (`python -m sr_keras.mmsr train`; `--mmsr_class=K` for one class per node) and writes `mmsr.json`;
- `router`: `MMSRRouter` sends each LR tile to its class's model; with `sr_keras.inference.upscale(router,
  image, tile=...)` (or `python -m sr_keras.upscale --mmsr_dir=...`) it reconstructs whole images.
"""
import importlib
import importlib.machinery
import sys

from sr_keras._quiet import import_tensorflow

# public name -> the module defining it, imported on first access
_LAZY = {name: module for module, names in {
    "sr_keras.mmsr.router": ("MANIFEST", "MMSRRouter", "load_router", "save_manifest"),
    "sr_keras.mmsr.tiles": ("TileSet", "class_tile_sets", "classify", "cut_tiles", "tile_grid"),
}.items() for name in names}


class _QuietImports:
    """A finder on `sys.meta_path` that finds nothing: it imports TensorFlow quietly before the first module of
    this package is loaded (but the launcher `__main__`, whose command imports it when it needs it), however it
    is imported (`from sr_keras.mmsr.router import load_router`)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith(f"{__name__}.") and name != f"{__name__}.__main__":
            import_tensorflow()
        return None


def __getattr__(name):
    """`sr_keras.mmsr.load_router`, ... and the submodules (`sr_keras.mmsr.run`) imported on first access
    (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("__") and importlib.machinery.PathFinder.find_spec(f"{__name__}.{name}", __path__):
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


sys.meta_path.insert(0, _QuietImports)

__all__ = ["MANIFEST", "MMSRRouter", "TileSet", "class_tile_sets", "classify", "cut_tiles", "load_router",
           "save_manifest", "tile_grid"]
