"""sr_keras: single-image super-resolution for TensorFlow 2 / Keras 3.

`import sr_keras` is light: it imports no TensorFlow, so `sr_keras.download` and the commands' `--help` start
at once. The units load when first used (`sr_keras.models`, `sr_keras.layers`, ...; `sr_keras.build_model`,
`sr_keras.MODELS` and `sr_keras.pretrained` load on first access). Importing `sr_keras.models` registers the
custom layers and the generator class with Keras, so `.keras` files written by sr_keras load with
`keras.saving.load_model(path)` and the default `safe_mode=True`; `sr_keras.models.load_generator(path)` does
both. TensorFlow's C++ start-up lines are kept off stderr when sr_keras imports it (`SR_KERAS_VERBOSE=1` shows
them; see sr_keras/_quiet.py).

TensorFlow's oneDNN kernels are switched on (`TF_ENABLE_ONEDNN_OPTS=1`, unless the variable is already set) when
sr_keras is imported before TensorFlow, as its command-line tools are. TensorFlow enables them by itself only on
x86 CPUs with AVX-512 VNNI/BF16 or AMX; on AVX2-only CPUs it falls back to Eigen's kernels, which on this
project's AMD EPYC (AVX2) test machine took 1.49x as long to upscale a 500x350 photo with the default x4 model
(3.15 s against 2.11 s) and 1.25x as long for an EDSR-baseline training step (4.88 s against 3.89 s). oneDNN
rounds float sums in another order (differences of float32 rounding, as on any other CPU where TensorFlow
enables it); `TF_ENABLE_ONEDNN_OPTS=0` restores TensorFlow's own choice.
"""
import importlib
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # read once, when TensorFlow is first imported

__version__ = "0.1.0"

_LAZY = {"layers": ("sr_keras.layers", None), "models": ("sr_keras.models", None),
         "pretrained": ("sr_keras.pretrained", None), "MODELS": ("sr_keras.models", "MODELS"),
         "build_model": ("sr_keras.models", "build_model")}


def __getattr__(name):
    """`sr_keras.models`, `sr_keras.build_model`, ... imported on first access (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'sr_keras' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    return value if attribute is None else getattr(value, attribute)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["layers", "models", "pretrained", "MODELS", "build_model", "__version__"]
