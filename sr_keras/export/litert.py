"""LiteRT (`model.tflite`): `keras.Model.export(format="litert")`, built-in operators only (no Flex /
SELECT_TF_OPS), float32, float16 weights, or int8 calibrated on real photo crops (input and output stay
float32). LiteRT files take one image per call.
"""
import contextlib
import io
import re

import numpy as np

from sr_keras.export.common import input_spec, package_version, photo_crops
from sr_keras.layers import Denormalize


def convert(model, path, input_size, quantization):
    import tensorflow as tf

    options = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantization == "float16":
        options = {"optimizations": [tf.lite.Optimize.DEFAULT],
                   "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS],
                                   "supported_types": [tf.float16]}}
    elif quantization == "int8":
        crops = photo_crops([input_size or (48, 48)], split="train", count=12 if input_size is None else 4,
                            seed=0)
        model = _denormalize_as_conv(model)
        options = {"optimizations": [tf.lite.Optimize.DEFAULT],
                   "representative_dataset": lambda: ([crop[None]] for crop in crops),
                   "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}}
    try:
        model.export(path, format="litert", input_signature=[input_spec("litert", input_size)], verbose=False,
                     **options)
    except Exception as error:  # noqa: BLE001 - the converter's errors become one line naming the layer
        raise ValueError(_litert_error(model, error)) from None
    return ("keras.Model.export(format='litert') -> tf.lite.TFLiteConverter "
            f"(tensorflow {package_version('tensorflow')})")


def _denormalize_as_conv(model):
    """`model` with a final `Denormalize` (x * scale + mean) made a 1x1 convolution, for int8 LiteRT.

    The same function in float32. TensorFlow 2.21's int8 quantizer gives an ADD followed by a MUL by a
    constant and an ADD of a constant the scale of their output: WDSR's sum of its two branches, still in
    [-1, 1], then gets the step of the [0, 255] output and collapses (the trained WDSR-B x2 measured 15.5 dB
    against Keras, 41.5 dB with the convolution, which calibrates on its own).
    """
    import keras

    last = model.layers[-1]
    if not isinstance(last, Denormalize):
        return model
    conv = keras.layers.Conv2D(3, 1, name=f"{last.name}_conv")
    lr = keras.Input((None, None, 3), name="lr")
    sr = conv(keras.Model(model.inputs, last.input)(lr))
    conv.set_weights([np.diag(last.scale).reshape(1, 1, 3, 3).astype("float32"), np.asarray(last.mean, "float32")])
    return keras.Model(lr, sr, name=model.name)


def _litert_error(model, error):
    """One line from a LiteRT converter error: the TensorFlow op with no built-in operator, and its layer."""
    text = str(error)
    op = re.search(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text)
    if not op:
        return f"LiteRT conversion failed: {text.strip().splitlines()[0] if text.strip() else type(error).__name__}"
    layer = "?"
    location = re.search(r'fused\["' + op.group(1) + r':", "([^"@]+)', text)
    if location:
        names = {layer.name for layer in model.layers}
        for part in location.group(1).split("/"):
            name = re.sub(r"_\d+$", "", part)
            if name in names:
                layer = f"{name} ({type(model.get_layer(name)).__name__})"
                break
    return (f"LiteRT cannot export layer {layer}: TensorFlow op {op.group(1)} has no built-in LiteRT operator "
            f"here, and Flex (SELECT_TF_OPS) operators are not allowed")


def operators(path):
    """The set of operator names a LiteRT file uses, read from its flatbuffer's operator codes.

    Built-in operators by name (CONV_2D, DEPTH_TO_SPACE, ...); custom and Flex operators as "CUSTOM:<code>".
    Read with ai-edge-litert's schema; without it, from `tf.lite.experimental.Analyzer`'s report.
    """
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        return _analyzer_operators(content)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = schema.Model.GetRootAs(content, 0)
    found = set()
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # the schema keeps both fields
        if builtin == schema.BuiltinOperator.CUSTOM:
            found.add(f"CUSTOM:{(code.CustomCode() or b'').decode()}")
        else:
            found.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return found


def _analyzer_operators(content):
    import tensorflow as tf

    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_content=content, gpu_compatibility=False)
    names = set(re.findall(r"Op#\d+ (\w+)\(", report.getvalue()))
    return {name if re.fullmatch(r"[A-Z0-9_]+", name) else f"CUSTOM:{name}" for name in names}
