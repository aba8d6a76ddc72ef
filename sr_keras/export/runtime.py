"""An export loaded in its own runtime (LiteRT, ONNX Runtime, OpenVINO, TensorFlow for a SavedModel), and the
operators of an exported file."""
import os

import numpy as np

from sr_keras.export import litert, onnx, openvino
from sr_keras.export.common import MODEL_FILES, check_packages, package_version, usable_cores


def operators(path):
    """The sorted operator names of the model file `path` (.tflite, .onnx, OpenVINO .xml).

    LiteRT operators are the file's operator codes: built-in names (CONV_2D, ...) or, for custom and Flex
    operators, "CUSTOM:<code>" (e.g. "CUSTOM:FlexConv2D").
    """
    path = os.fspath(path)
    for suffix, format in ((".tflite", litert), (".onnx", onnx), (".xml", openvino)):
        if path.endswith(suffix):
            return sorted(format.operators(path))
    raise ValueError(f"no operator list for {path}")


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
