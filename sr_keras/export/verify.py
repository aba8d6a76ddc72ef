"""The check of an export: run in its own runtime on real photo crops and compared with the Keras model."""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

from sr_keras.data import photo_paths
from sr_keras.export.common import (CHECK_SIZES, EXPORT_JSON, TOLERANCE, VERIFY_JSON, check_packages,
                                    package_version, pairs, photo_crops)
from sr_keras.export.runtime import Runtime, model_file
from sr_keras.files import write_json
from sr_keras.layers import pool_size_set, pool_sizes
from sr_keras.models.precision import float32_copy

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
    else:  # a SavedModel written by export_saved_model alone: its signature says the size
        shape = Runtime(file).input_shape
    fixed = shape[1] is not None and shape[2] is not None
    sizes = [tuple(shape[1:3])] * 2 if fixed else pairs(sizes or CHECK_SIZES)
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
