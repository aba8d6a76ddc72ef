"""Exports of a generator for TF Serving (SavedModel), LiteRT, ONNX and OpenVINO, and their check.

    >>> from sr_keras.export import export_model, verify
    >>> export_model(model, "export/edsr_onnx", format="onnx")           # export/edsr_onnx/model.onnx
    >>> report = verify("export/edsr_onnx", model)                       # also writes .../verify.json

Every export takes float32 RGB in [0, 255], NHWC, and returns float32 in [0, 255], unclipped (the model's own
contract; the SavedModel adds its uint8 `serve` signature). Height and width are dynamic unless
`input_size=(height, width)` fixes them; LiteRT files take one image per call (batch 1), the others any batch.
The FSA pool size of an A-SRResNet is fixed at export.

An export is a folder: the model file (`model.tflite`, `model.onnx`, `model.xml` + `model.bin`, or the
SavedModel itself), `export.json` (format, tensors, converter, operators) and, once checked, `verify.json`.
One module per format (`saved_model`, `litert`, `onnx`, `openvino`), each with
`convert(model, path, input_size, quantization)` returning the converter's description; `runtime` loads an
export in its own runtime; `verify` checks it. The runtimes are optional: `pip install "sr_keras[deploy]"`.
"""
import importlib
import importlib.machinery
import sys
import types

from sr_keras._quiet import import_tensorflow

# public name -> the module defining it, imported on first access
_LAZY = {name: module for module, names in {
    "sr_keras.export.api": ("CONVERTERS", "export_model", "litert_operators"),
    "sr_keras.export.common": ("CHECK_SIZES", "EXPORT_JSON", "FORMATS", "MODEL_FILES", "QUANTIZATIONS", "TOLERANCE",
                               "VERIFY_JSON", "MissingPackageError", "check_format", "check_packages",
                               "check_pool_size", "export_folder", "input_shape", "package_version",
                               "parse_input_size", "photo_crops", "usable_cores"),
    "sr_keras.export.runtime": ("Runtime", "model_file", "operators"),
    "sr_keras.export.saved_model": ("export_saved_model",),
    "sr_keras.export.verify": ("compare", "describe_check", "verify"),
}.items() for name in names}


class _QuietImports:
    """A finder on `sys.meta_path` that finds nothing: it imports TensorFlow quietly before the first module of
    this package is loaded (but the launcher `__main__`, whose command imports it when it needs it), however it
    is imported (`from sr_keras.export.saved_model import export_saved_model`)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith(f"{__name__}.") and name != f"{__name__}.__main__":
            import_tensorflow()
        return None


class _Package(types.ModuleType):
    """This package: loading the module `verify` keeps the function of that name in its place (the import
    system sets a package's attribute to each submodule it loads)."""

    def __setattr__(self, name, value):
        if not (name in _LAZY and isinstance(value, types.ModuleType)):
            super().__setattr__(name, value)


def __getattr__(name):
    """`sr_keras.export.export_model`, ... and the submodules (`sr_keras.export.onnx`) imported on first access
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
    "CHECK_SIZES", "CONVERTERS", "EXPORT_JSON", "FORMATS", "MODEL_FILES", "QUANTIZATIONS", "TOLERANCE", "VERIFY_JSON",
    "MissingPackageError", "Runtime", "check_packages", "compare", "describe_check", "export_model",
    "export_saved_model", "litert_operators", "model_file", "operators", "package_version", "parse_input_size",
    "photo_crops", "usable_cores", "verify",
]
