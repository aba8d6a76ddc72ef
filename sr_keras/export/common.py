"""What every export format shares: the format table, optional packages, the export folder, real photo crops."""
import contextlib
import importlib
import importlib.metadata
import os
import re

import numpy as np

from sr_keras.data import photo_paths, read_image
from sr_keras.files import atomic_path
from sr_keras.layers import FlexibleSelfAttention, iter_layers

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
    needed = list(_NEEDS[check_format(format)]["convert"]) + (list(_NEEDS[format]["check"]) if check else [])
    missing = []
    for module, package in needed:
        try:
            importlib.import_module(module)
        except ImportError:
            if package not in missing:
                missing.append(package)
    if missing:
        raise MissingPackageError(format, missing)


def check_format(format):
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


def has_attention(model):
    """Whether `model` has a FlexibleSelfAttention layer (whose pool size an export fixes)."""
    return any(isinstance(layer, FlexibleSelfAttention) for layer, _ in iter_layers(model))


def check_pool_size(model, pool_size):
    if pool_size is not None and not has_attention(model):
        raise ValueError(f"pool_size only applies to models with FlexibleSelfAttention; {model.name} has none")


@contextlib.contextmanager
def export_folder(export_dir, overwrite=True):
    """The one prologue of every export: yields a staging folder that becomes `export_dir` when the block ends
    without an error (an existing `export_dir` is replaced only with `overwrite`), so a failed conversion
    leaves no half-written export."""
    export_dir = os.fspath(export_dir)
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"export directory exists: {export_dir}")
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot write to {parent}")
    with atomic_path(export_dir, directory=True) as staging:
        yield staging


def input_shape(format, input_size):
    """The export's input shape: LiteRT takes one image per call, the others any batch."""
    height, width = input_size or (None, None)
    return [1 if format == "litert" else None, height, width, 3]


def input_spec(format, input_size):
    import tensorflow as tf

    return tf.TensorSpec(input_shape(format, input_size), tf.float32, name="lr")


def photo_crops(sizes, split="valid", count=None, seed=None):
    """Float32 RGB crops in [0, 255] of scikit-image's photos (`sr_keras.data.photo_paths(split)`).

    One crop per size, each from the next photo, centred; with `count`, `count` crops of every size at
    positions drawn with `seed` from every photo in turn (the int8 calibration set). A photo smaller than a
    size is mirrored out to it.
    """
    paths = photo_paths(split)
    rng = np.random.default_rng(seed)
    crops = []
    for index, (height, width) in enumerate(pairs(sizes) * (count or 1)):
        image = read_image(paths[index % len(paths)])
        pad_h, pad_w = max(0, height - image.shape[0]), max(0, width - image.shape[1])
        if pad_h or pad_w:
            image = np.pad(image, [(0, pad_h), (0, pad_w), (0, 0)], mode="symmetric")
        room_h, room_w = image.shape[0] - height, image.shape[1] - width
        top, left = ((rng.integers(0, room_h + 1), rng.integers(0, room_w + 1)) if count
                     else (room_h // 2, room_w // 2))
        crops.append(image[top:top + height, left:left + width].astype("float32"))
    return crops


def pairs(sizes):
    return [(int(h), int(w)) for h, w in sizes]
