"""Exports for other runtimes (LiteRT, ONNX, OpenVINO, and the TF Serving SavedModel) and their check.

    >>> from sr_keras.deploy import export_model, verify
    >>> export_model(model, "export/edsr_onnx", format="onnx")           # export/edsr_onnx/model.onnx
    >>> report = verify("export/edsr_onnx", model)                       # also writes .../verify.json

Every export takes float32 RGB in [0, 255], NHWC, and returns float32 in [0, 255], unclipped (the model's own
contract; the SavedModel adds its uint8 `serve` signature, see `sr_keras.serving`). Height and width are
dynamic unless `input_size=(height, width)` fixes them; LiteRT files take one image per call (batch 1), the
others any batch. The FSA pool size of an A-SRResNet is fixed at export.

An export is a folder: the model file (`model.tflite`, `model.onnx`, `model.xml` + `model.bin`, or the
SavedModel itself), `export.json` (format, tensors, converter, operators) and, once checked, `verify.json`.
How each format is made:
- litert: `keras.Model.export(format="litert")`, built-in operators only (no Flex/SELECT_TF_OPS), float32,
  float16 weights, or int8 calibrated on real photo crops;
- onnx: `tf2onnx.convert.from_function` (Keras's ONNX export calls the same converter but cannot take the
  FloorMod fix below);
- openvino: `keras.Model.export(format="openvino")` (`openvino.convert_model` of the traced function);
- saved_model: `sr_keras.serving.export_saved_model`.

`verify` runs the export in its own runtime on real photo crops of two sizes (a fixed-size export: two crops
of its size) and compares it with the Keras model: max absolute difference and PSNR on the [0, 255] scale.
The runtimes are optional: `pip install "sr_keras[deploy]"`.
"""
import contextlib
import importlib
import importlib.metadata
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from sr_keras.data import photo_paths, read_image
from sr_keras.files import atomic_path, write_json
from sr_keras.layers import Denormalize, FlexibleSelfAttention, iter_layers, pool_size_set, pool_sizes
from sr_keras.models import model_info
from sr_keras.models.precision import float32_copy
from sr_keras.serving import export_saved_model

FORMATS = ("saved_model", "litert", "onnx", "openvino")
QUANTIZATIONS = ("none", "float16", "int8")
MODEL_FILES = {"litert": "model.tflite", "onnx": "model.onnx", "openvino": "model.xml"}
EXPORT_JSON = "export.json"
VERIFY_JSON = "verify.json"
CHECK_SIZES = ((48, 64), (37, 53))  # LR crops; 37x53 is a multiple of no pool size, so FSA pads
TOLERANCE = 0.255                    # max |export - Keras| of a float32 export: 1e-3 of the [0, 255] range
INSTALL_HINT = 'pip install "sr_keras[deploy]"'

# Packages each format needs: to convert, and to run the check.
_NEEDS = {
    "litert": {"convert": (), "check": ()},  # TensorFlow converts; ai-edge-litert, else tf.lite, runs it
    "onnx": {"convert": (("tf2onnx", "tf2onnx"), ("onnx", "onnx")), "check": (("onnxruntime", "onnxruntime"),)},
    "openvino": {"convert": (("openvino", "openvino"),), "check": (("openvino", "openvino"),)},
    "saved_model": {"convert": (), "check": ()},
}


class MissingPackageError(ImportError):
    """A runtime or converter of an export format is not installed; the message is the one line to show."""

    def __init__(self, format, packages):
        self.format = format
        self.packages = tuple(packages)
        self.hint = INSTALL_HINT
        super().__init__(f"the {format} export needs {' and '.join(self.packages)}: {INSTALL_HINT}")


def check_packages(format, check=True):
    """Raises `MissingPackageError` naming every package `format` needs (to convert, and to check) that is
    missing."""
    needed = list(_NEEDS[_check_format(format)]["convert"]) + (list(_NEEDS[format]["check"]) if check else [])
    missing = []
    for module, package in needed:
        try:
            importlib.import_module(module)
        except ImportError:
            if package not in missing:
                missing.append(package)
    if missing:
        raise MissingPackageError(format, missing)


def _check_format(format):
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; valid formats: {', '.join(FORMATS)}")
    return format


def package_version(package):
    """The installed version of the distribution `package` (its pip name), None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def usable_cores():
    """The number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_input_size(text):
    """(height, width) from "HxW" (e.g. "350x500"); None for None or ""."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match or min(int(match.group(1)), int(match.group(2))) < 1:
        raise ValueError(f"input_size must be HEIGHTxWIDTH in LR pixels, e.g. 350x500; got {text!r}")
    return int(match.group(1)), int(match.group(2))


# --- real photo crops ----------------------------------------------------------------------------------------

def photo_crops(sizes, split="valid", count=None, seed=None):
    """Float32 RGB crops in [0, 255] of scikit-image's photos (`sr_keras.data.photo_paths(split)`).

    One crop per size, each from the next photo, centred; with `count`, `count` crops of every size at
    positions drawn with `seed` from every photo in turn (the int8 calibration set). A photo smaller than a
    size is mirrored out to it.
    """
    paths = photo_paths(split)
    rng = np.random.default_rng(seed)
    crops = []
    for index, (height, width) in enumerate(_pairs(sizes) * (count or 1)):
        image = read_image(paths[index % len(paths)])
        pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
        if pad_h or pad_w:
            image = np.pad(image, [(0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
        room_h, room_w = image.shape[0] - height, image.shape[1] - width
        top, left = ((rng.integers(0, room_h + 1), rng.integers(0, room_w + 1)) if count
                     else (room_h // 2, room_w // 2))
        crops.append(image[top:top + height, left:left + width].astype("float32"))
    return crops


def _pairs(sizes):
    return [(int(h), int(w)) for h, w in sizes]


# --- export --------------------------------------------------------------------------------------------------

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
    _check_format(format)
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; valid: {', '.join(QUANTIZATIONS)}")
    if quantization != "none" and format != "litert":
        raise ValueError(f"quantization={quantization} applies to LiteRT exports only, not {format}")
    input_size = tuple(int(v) for v in input_size) if input_size else None
    export_dir = os.fspath(export_dir)
    has_fsa = any(isinstance(layer, FlexibleSelfAttention) for layer, _ in iter_layers(model))
    if pool_size is not None and not has_fsa:
        raise ValueError(f"pool_size only applies to models with FlexibleSelfAttention; {model.name} has none")
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"export directory exists: {export_dir}")
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
        description = {
            "format": format,
            "file": MODEL_FILES.get(format, "."),
            "quantization": quantization,
            "input": {"name": "lr", "shape": _input_shape(format, input_size), "dtype": "float32",
                      "range": [0, 255]},
            "output": {"dtype": "float32", "range": "[0, 255], unclipped"},
            "scale": (model_info(model) or {}).get("scale"),
            "architecture": (model_info(model) or {}).get("architecture"),
            "model": label or model.name,
            "pool_size": pools[-1] if pools else None,
        }
        parent = os.path.dirname(os.path.abspath(export_dir))
        os.makedirs(parent, exist_ok=True)
        if not os.access(parent, os.W_OK):
            raise PermissionError(f"cannot write to {parent}")
        with atomic_path(export_dir, directory=True) as staging:
            if format == "saved_model":
                export_saved_model(model, staging, input_size=input_size)
                description.update(converter=f"keras.export.ExportArchive (keras {package_version('keras')})",
                                   signatures=["serve (uint8)", "serve_float (float32)"])
            else:
                path = os.path.join(staging, MODEL_FILES[format])
                converter = {"litert": _export_litert, "onnx": _export_onnx, "openvino": _export_openvino}[format]
                description["converter"] = converter(model, path, input_size, quantization)
                description["operators"] = operators(path)
            write_json(description, os.path.join(staging, EXPORT_JSON))
    return description


def _input_shape(format, input_size):
    height, width = input_size or (None, None)
    return [1 if format == "litert" else None, height, width, 3]


def _input_spec(format, input_size):
    import tensorflow as tf

    return tf.TensorSpec(_input_shape(format, input_size), tf.float32, name="lr")


def _export_litert(model, path, input_size, quantization):
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
        model.export(path, format="litert", input_signature=[_input_spec("litert", input_size)], verbose=False,
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


def _floor_mod(ctx, node, name, args):
    """tf2onnx handler for TensorFlow's FloorMod: ONNX Mod with fmod=0, the floor (Python) remainder.

    tf2onnx 1.17 writes integer FloorMod as x - Div(x, y) * y with ONNX's truncating integer Div, which is
    wrong for a negative x: FSA's padding (-height) % pool_size then crops instead of padding.
    """
    node.type = "Mod"
    node.set_attr("fmod", 0)


def _export_onnx(model, path, input_size, quantization):
    import tensorflow as tf
    import tf2onnx

    function = tf.function(lambda lr: {"sr": model(lr, training=False)})
    tf2onnx.convert.from_function(function, input_signature=[_input_spec("onnx", input_size)],
                                  custom_op_handlers={"FloorMod": (_floor_mod, [])}, output_path=path)
    return f"tf2onnx.convert.from_function (tf2onnx {package_version('tf2onnx')}, FloorMod as ONNX Mod)"


def _export_openvino(model, path, input_size, quantization):
    model.export(path, format="openvino", input_signature=[_input_spec("openvino", input_size)], verbose=False)
    return ("keras.Model.export(format='openvino') -> openvino.convert_model "
            f"(openvino {package_version('openvino')})")


def operators(path):
    """The sorted operator names of the model file `path` (.tflite, .onnx, OpenVINO .xml).

    LiteRT operators are the file's operator codes: built-in names (CONV_2D, ...) or, for custom and Flex
    operators, "CUSTOM:<code>" (e.g. "CUSTOM:FlexConv2D").
    """
    path = os.fspath(path)
    if path.endswith(".tflite"):
        return sorted(litert_operators(path))
    if path.endswith(".onnx"):
        import onnx

        return sorted({node.op_type for node in onnx.load(path, load_external_data=False).graph.node})
    if path.endswith(".xml"):
        import openvino as ov

        return sorted({op.get_type_name() for op in ov.Core().read_model(path).get_ops()})
    raise ValueError(f"no operator list for {path}")


def litert_operators(path):
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


# --- running an export ---------------------------------------------------------------------------------------

def model_file(path):
    """(format, model file) of an export folder or model file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model", path
        for format, name in MODEL_FILES.items():
            if os.path.isfile(os.path.join(path, name)):
                return format, os.path.join(path, name)
        raise FileNotFoundError(f"no exported model in {path} (saved_model.pb, {', '.join(MODEL_FILES.values())})")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"export not found: {path}")
    for format, name in MODEL_FILES.items():
        if path.endswith(os.path.splitext(name)[1]):
            return format, path
    raise ValueError(f"not an exported model: {path} (.tflite, .onnx, .xml or a SavedModel folder)")


class Runtime:
    """An export loaded in its own runtime: `runtime(lr)` maps float32 [1, h, w, 3] to float32 SR.

    Attributes:
        name: the runtime and its version, e.g. "onnxruntime 1.32.0".
        input_shape: the export's input shape, None for a dynamic dimension.
    """

    def __init__(self, path, num_threads=None, precision="f32"):
        """Loads the export at `path` (folder or model file).

        `num_threads`: CPU threads of LiteRT, ONNX Runtime and OpenVINO (None: every core, for LiteRT too, whose
        own default is one thread); a SavedModel uses TensorFlow's process-wide setting. `precision`: OpenVINO's
        inference precision ("f32", or None for the device's default, bf16 on CPUs with AVX512-BF16 or AMX).
        """
        self.format, self.path = model_file(path)
        check_packages(self.format)
        load = {"litert": self._litert, "onnx": self._onnx, "openvino": self._openvino,
                "saved_model": self._saved_model}[self.format]
        self._run = load(num_threads, precision)

    def __call__(self, lr):
        return np.asarray(self._run(np.ascontiguousarray(lr, dtype="float32")))

    def _litert(self, num_threads, precision):
        try:
            from ai_edge_litert.interpreter import Interpreter

            self.name = f"ai-edge-litert {package_version('ai-edge-litert')}"
        except ImportError:
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
            self.name = f"tf.lite.Interpreter (tensorflow {package_version('tensorflow')})"
        interpreter = Interpreter(model_path=self.path, num_threads=num_threads or usable_cores())
        detail = interpreter.get_input_details()[0]
        self.input_shape = [None if d < 0 else int(d) for d in detail["shape_signature"]]
        runner = interpreter.get_signature_runner()  # resizes its input to each call's shape
        name = next(iter(runner.get_input_details()))
        return lambda lr: next(iter(runner(**{name: lr}).values()))

    def _onnx(self, num_threads, precision):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        session = onnxruntime.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.name = f"onnxruntime {onnxruntime.__version__}"
        first = session.get_inputs()[0]
        self.input_shape = [d if isinstance(d, int) else None for d in first.shape]
        return lambda lr: session.run(None, {first.name: lr})[0]

    def _openvino(self, num_threads, precision):
        import openvino as ov

        core = ov.Core()
        config = {}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        if num_threads:
            config["INFERENCE_NUM_THREADS"] = num_threads
        compiled = core.compile_model(self.path, "CPU", config)
        self.precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.name = f"openvino {ov.__version__.split('-')[0]} CPU {self.precision}"
        shape = compiled.input(0).get_partial_shape()
        self.input_shape = [d.get_length() if d.is_static else None for d in shape]
        output = compiled.output(0)
        return lambda lr: compiled(lr)[output]

    def _saved_model(self, num_threads, precision):
        import tensorflow as tf

        serve = tf.saved_model.load(self.path).signatures["serve_float"]
        spec = serve.structured_input_signature[1]
        self.input_shape = list(next(iter(spec.values())).shape)
        self.name = f"tf.saved_model.load (tensorflow {package_version('tensorflow')})"
        return lambda lr: next(iter(serve(tf.constant(lr)).values())).numpy()


# --- the check -----------------------------------------------------------------------------------------------

_FRESH_PROCESS = """\
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, tensorflow as tf
folder = sys.argv[2]
serve = tf.saved_model.load(sys.argv[1]).signatures["serve_float"]
for index in range(int(sys.argv[3])):
    lr = np.load(os.path.join(folder, f"lr{index}.npy"))
    np.save(os.path.join(folder, f"sr{index}.npy"), list(serve(tf.constant(lr)).values())[0].numpy())
"""


def _run_saved_model_fresh(path, inputs):
    """The SavedModel's `serve_float` on `inputs`, in a new Python process that imports only TensorFlow."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        for index, lr in enumerate(inputs):
            np.save(os.path.join(folder, f"lr{index}.npy"), lr)
        result = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, path, folder, str(len(inputs))],
                                capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
        if result.returncode:
            raise RuntimeError(f"loading the SavedModel in a fresh process failed: "
                               f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else '?'}")
        outputs = [np.load(os.path.join(folder, f"sr{index}.npy")) for index in range(len(inputs))]
    return outputs, f"tf.saved_model.load in a fresh process (tensorflow {tf.__version__})"


def compare(sr, reference):
    """Figures of an export's output `sr` against the Keras `reference`, both clipped to [0, 255] as an image
    gets them: max absolute difference, PSNR (dB; inf when equal) and the share of uint8 pixels that differ."""
    sr = np.clip(np.asarray(sr, "float64"), 0, 255)
    reference = np.clip(np.asarray(reference, "float64"), 0, 255)
    mse = float(np.mean((sr - reference) ** 2))
    return {"max_abs_diff": float(np.max(np.abs(sr - reference))),
            "psnr_db": math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse),
            "uint8_differ": float(np.mean(np.round(sr) != np.round(reference)))}


def verify(path, model, pool_size=None, sizes=None, write=True):
    """Runs the export at `path` in its own runtime on real photo crops and compares it with `model` in Keras.

    The LiteRT interpreter (ai-edge-litert; tf.lite.Interpreter if it is missing), ONNX Runtime, OpenVINO
    (f32 inference precision; where the CPU's default differs, bf16 on CPUs with AVX512-BF16 or AMX, that is
    measured too, as `device_default_precision`) or, for a SavedModel, a fresh Python process with
    `tf.saved_model.load` runs one crop of each size (default `CHECK_SIZES`; a fixed-size export: two crops of
    its size, from two photos).
    A float32 export passes if no pixel differs by more than `TOLERANCE`; quantised ones are only measured.

    Args:
        path: the export folder (or its model file).
        model: the Keras generator it was exported from.
        pool_size: the FSA pool size of the export (default: the one in its `export.json`).
        sizes: LR (height, width) pairs to check on (a dynamic export only).
        write: write the report as `verify.json` in the export folder (beside a bare model file:
            `<file>.verify.json`).

    Returns:
        The report (also in the JSON): per crop and overall max_abs_diff, psnr_db (None when equal) and
        uint8_differ (share of uint8 pixel values that differ), the runtime, `passed` (None if quantised).
    """
    format, file = model_file(path)
    folder = file if format == "saved_model" else os.path.dirname(file)
    description = {}
    if os.path.isfile(os.path.join(folder, EXPORT_JSON)):
        with open(os.path.join(folder, EXPORT_JSON)) as handle:
            description = json.load(handle)
    pool_size = pool_size if pool_size is not None else description.get("pool_size")
    quantization = description.get("quantization", "none")
    check_packages(format)
    runtime = None if format == "saved_model" else Runtime(file)  # the SavedModel runs in a fresh process
    if runtime is not None:
        shape = runtime.input_shape
    elif "input" in description:
        shape = description["input"]["shape"]
    else:  # a SavedModel written by sr_keras.serving alone: its signature says the size
        shape = Runtime(file).input_shape
    fixed = shape[1] is not None and shape[2] is not None
    sizes = [tuple(shape[1:3])] * 2 if fixed else _pairs(sizes or CHECK_SIZES)
    crops = photo_crops(sizes)
    names = [os.path.basename(p) for p in photo_paths("valid")]
    keras_model = float32_copy(model)
    has_fsa = bool(pool_sizes(keras_model))
    with pool_size_set(keras_model, pool_size if has_fsa else None):
        references = [keras_model(crop[None], training=False).numpy() for crop in crops]
    if runtime is None:
        outputs, runtime_name = _run_saved_model_fresh(file, [crop[None] for crop in crops])
    else:
        outputs, runtime_name = [runtime(crop[None]) for crop in crops], runtime.name
    images = []
    for index, (crop, sr, reference) in enumerate(zip(crops, outputs, references)):
        if sr.shape != reference.shape:
            raise ValueError(f"{file}: output shape {sr.shape} differs from the Keras model's {reference.shape}")
        images.append({"photo": names[index % len(names)], "lr_size": list(crop.shape[:2]),
                       **compare(sr, reference)})
    worst = _worst(images)
    float32 = quantization == "none"
    report = {"export": os.fspath(path), "format": format, "quantization": quantization, "runtime": runtime_name,
              "reference": f"keras {package_version('keras')} (tensorflow {package_version('tensorflow')}), float32",
              "pool_size": pool_size if has_fsa else None, **worst,
              "tolerance": TOLERANCE if float32 else None,
              "passed": bool(worst["max_abs_diff"] <= TOLERANCE) if float32 else None, "images": images}
    if format == "openvino":
        default = Runtime(file, precision=None)
        if default.precision != runtime.precision:  # e.g. bf16 on CPUs with AVX512-BF16 or AMX
            report["device_default_precision"] = {
                "runtime": default.name,
                **_worst([compare(default(crop[None]), reference) for crop, reference in zip(crops, references)])}
    if write:
        json_path = os.path.join(folder, VERIFY_JSON) if os.path.isdir(os.fspath(path)) else f"{file}.verify.json"
        write_json(_finite(report), json_path)
        report["json"] = json_path
    return report


def _worst(figures):
    return {"max_abs_diff": max(f["max_abs_diff"] for f in figures), "psnr_db": min(f["psnr_db"] for f in figures),
            "uint8_differ": max(f["uint8_differ"] for f in figures)}


def _finite(report):
    """The report with inf PSNR written as None (JSON has no infinity)."""
    def clean(value):
        if isinstance(value, float) and math.isinf(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(report)


def describe_check(report):
    """One line for a verify report: runtime, crops, max |diff|, PSNR, uint8 pixels differing, verdict."""
    sizes = ", ".join(f"{i['lr_size'][0]}x{i['lr_size'][1]}" for i in report["images"])
    psnr = "inf" if math.isinf(report["psnr_db"]) else f"{report['psnr_db']:.1f}"
    verdict = ("measured only (quantised)" if report["passed"] is None else
               f"{'passed' if report['passed'] else 'FAILED'} (tolerance {report['tolerance']})")
    line = (f"check: {report['runtime']} vs Keras on {len(report['images'])} photo crops ({sizes}): "
            f"max |diff| {report['max_abs_diff']:.3g}, PSNR {psnr} dB, uint8 values differing "
            f"{100 * report['uint8_differ']:.2f}% -> {verdict}")
    default = report.get("device_default_precision")
    if default:
        line += (f"; compiled at the device's default precision ({default['runtime']}): max |diff| "
                 f"{default['max_abs_diff']:.3g}, PSNR {default['psnr_db']:.1f} dB (set INFERENCE_PRECISION_HINT=f32 "
                 f"for the checked figures)")
    return line
