"""Inference: super-resolve whole images in bounded memory.

- `upscale(model, path_or_array, tile=..., self_ensemble=..., pool_size=...)`: uint8 in the input's layout.
- `predict(model, lr_float_rgb, ...)`: float32, unclipped.
- `upscale_to_file(model, path_or_array, png_path, ...)`: the same, streamed band by band into a PNG.
- `make_plan` / `run_plan` / `ArraySink`: the steps these compose (one plan of tiles, batch and checks per
  image, then its run into a sink of rows).
- `infer_scale(model)`: the model's integer factor.
- `self_ensemble(fn, lr)`: the EDSR+ geometric self-ensemble of any function.
- `attention_bytes` / `check_attention_memory` / `AttentionMemoryError`: the attention-map memory of models
  with `FlexibleSelfAttention` layers, checked by `upscale` before it runs.
- `plan_tiles` / `default_max_memory` / `MemoryBudgetError`: the tile size and batch that keep a whole upscale
  under a memory budget (`upscale(..., max_memory=...)`, `python -m sr_keras.upscale --max_memory=1GB`).
"""
import importlib
import importlib.machinery
import sys
import types

from sr_keras._quiet import import_tensorflow

# public name -> the module defining it, imported on first access
_LAZY = {name: module for module, names in {
    "sr_keras.inference.ensemble": ("self_ensemble",),
    "sr_keras.inference.memory": ("DEFAULT_MAX_ATTENTION_BYTES", "AttentionMemoryError", "MemoryBudgetError",
                                  "attention_bytes", "check_attention_memory", "default_max_memory", "plan_tiles"),
    "sr_keras.inference.tiling": ("blend_weights", "tile_starts"),
    "sr_keras.inference.plan": ("ArraySink", "Plan", "make_plan", "run_plan"),
    "sr_keras.inference.runner": ("infer_scale",),
    "sr_keras.inference.upscale": ("predict", "upscale", "upscale_to_file"),
}.items() for name in names}


class _QuietImports:
    """A finder on `sys.meta_path` that finds nothing: it imports TensorFlow quietly before the first module of
    this package is loaded, however it is imported (`from sr_keras.inference.memory import parse_bytes`)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith(f"{__name__}."):
            import_tensorflow()
        return None


class _Package(types.ModuleType):
    """This package: loading the module `upscale` keeps the function of that name in its place (the import
    system sets a package's attribute to each submodule it loads)."""

    def __setattr__(self, name, value):
        if not (name in _LAZY and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


def __getattr__(name):
    """`sr_keras.inference.upscale`, ... and the submodules (`sr_keras.inference.tiling`) imported on first access
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
sys.modules[__name__].__class__ = _Package

__all__ = [
    "DEFAULT_MAX_ATTENTION_BYTES", "ArraySink", "AttentionMemoryError", "MemoryBudgetError", "Plan",
    "attention_bytes", "blend_weights", "check_attention_memory", "default_max_memory", "infer_scale", "make_plan",
    "plan_tiles", "predict", "run_plan", "self_ensemble", "tile_starts", "upscale", "upscale_to_file",
]
