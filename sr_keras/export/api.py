"""`export_model`: the one export-folder prologue, the format's converter and `export.json`."""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import os

from sr_keras.export import litert, onnx, openvino, saved_model
from sr_keras.export.common import (EXPORT_JSON, MODEL_FILES, QUANTIZATIONS, check_format, check_packages,
                                    check_pool_size, export_folder, input_shape)
from sr_keras.export.runtime import operators
from sr_keras.files import write_json
from sr_keras.layers import FlexibleSelfAttention, iter_layers, pool_size_set, pool_sizes
from sr_keras.models import model_info
from sr_keras.models.precision import float32_copy

CONVERTERS = {"saved_model": saved_model.convert, "litert": litert.convert, "onnx": onnx.convert,
              "openvino": openvino.convert}
litert_operators = litert.operators


def export_model(model, export_dir, format="saved_model", input_size=None, pool_size=None, quantization="none",
                 overwrite=True, label=None):
    """Exports `model` to `export_dir` in `format` and returns the export's description (`export.json`).

    The folder is written under a temporary name and renamed into place, so a failed conversion leaves no
    half-written export.

    Args:
        model: a generator taking float RGB [0, 255] (a mixed-precision model is exported in float32).
        export_dir: the export folder (for a SavedModel, the SavedModel folder itself).
        format: one of `FORMATS`.
        input_size: None (dynamic height and width) or (height, width) in LR pixels.
        pool_size: FSA pool size fixed in the export (models with FlexibleSelfAttention only).
        quantization: LiteRT only: "none" (float32), "float16" (float16 weights) or "int8" (weights and
            activations, calibrated on real photo crops; input and output stay float32).
        overwrite: replace an existing `export_dir`.
        label: where the model came from (a file or preset name), recorded in `export.json`.

    Raises:
        ValueError: a bad argument, or a layer the format cannot express (the message names the layer).
        MissingPackageError: the format's converter is not installed.
        FileExistsError / PermissionError: `export_dir` exists (overwrite=False) or cannot be written.
    """
    check_format(format)
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; valid: {', '.join(QUANTIZATIONS)}")
    if quantization != "none" and format != "litert":
        raise ValueError(f"quantization={quantization} applies to LiteRT exports only, not {format}")
    input_size = tuple(int(v) for v in input_size) if input_size else None
    check_pool_size(model, pool_size)
    if os.path.exists(os.fspath(export_dir)) and not overwrite:
        raise FileExistsError(f"export directory exists: {os.fspath(export_dir)}")
    check_packages(format, check=False)
    model = float32_copy(model)
    with pool_size_set(model, pool_size):
        pools = sorted(set(pool_sizes(model)))
        if format == "litert" and input_size is None and any(p > 1 for p in pools):
            layer = next(layer for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention))
            raise ValueError(
                f"LiteRT cannot export layer {layer.name!r} (FlexibleSelfAttention, pool_size {pools[-1]}) with "
                f"a dynamic size: its padding to a multiple of the pool size depends on the input size, and the "
                f"converter then loses the channel count and cannot make the next convolution a built-in "
                f"CONV_2D; give a fixed size (input_size / --input_size=HxW) or pool_size 1")
        info = model_info(model) or {}
        description = {
            "format": format,
            "file": MODEL_FILES.get(format, "."),
            "quantization": quantization,
            "input": {"name": "lr", "shape": input_shape(format, input_size), "dtype": "float32",
                      "range": [0, 255]},
            "output": {"dtype": "float32", "range": "[0, 255], unclipped"},
            "scale": info.get("scale"),
            "architecture": info.get("architecture"),
            "model": label or model.name,
            "pool_size": pools[-1] if pools else None,
        }
        with export_folder(export_dir, overwrite) as staging:
            path = staging if format == "saved_model" else os.path.join(staging, MODEL_FILES[format])
            description["converter"] = CONVERTERS[format](model, path, input_size, quantization)
            if format == "saved_model":
                description["signatures"] = saved_model.SIGNATURES
            else:
                description["operators"] = operators(path)
            write_json(description, os.path.join(staging, EXPORT_JSON))
    return description
