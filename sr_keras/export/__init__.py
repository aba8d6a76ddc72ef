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

from sr_keras._lazy import lazy_package

lazy_package(__name__, {
    "sr_keras.export.api": ("CONVERTERS", "export_model", "litert_operators"),
    "sr_keras.export.common": ("CHECK_SIZES", "EXPORT_JSON", "FORMATS", "MODEL_FILES", "QUANTIZATIONS", "TOLERANCE",
                               "VERIFY_JSON", "MissingPackageError", "check_format", "check_packages",
                               "check_pool_size", "export_folder", "input_shape", "package_version",
                               "parse_input_size", "photo_crops", "usable_cores"),
    "sr_keras.export.runtime": ("Runtime", "model_file", "operators"),
    "sr_keras.export.saved_model": ("export_saved_model",),
    "sr_keras.export.verify": ("compare", "describe_check", "verify"),
})

__all__ = [
    "CHECK_SIZES", "CONVERTERS", "EXPORT_JSON", "FORMATS", "MODEL_FILES", "QUANTIZATIONS", "TOLERANCE", "VERIFY_JSON",
    "MissingPackageError", "Runtime", "check_packages", "compare", "describe_check", "export_model",
    "export_saved_model", "litert_operators", "model_file", "operators", "package_version", "parse_input_size",
    "photo_crops", "usable_cores", "verify",
]
