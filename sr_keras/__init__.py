"""sr_keras: single-image super-resolution for TensorFlow 2 / Keras 3.

Importing the package registers every custom layer with Keras, so `.keras` files written by sr_keras load
with `keras.saving.load_model(path)` and the default `safe_mode=True`. TensorFlow's C++ start-up lines, and the
"failed call to cuInit" line of the first device listing on machines without a GPU, are kept off stderr during
the import (`SR_KERAS_VERBOSE=1` shows them); under `python -m sr_keras.<command>` its later INFO and WARNING
lines are kept off too (`TF_CPP_MIN_LOG_LEVEL=2`, unless set or --verbose is given).

TensorFlow's oneDNN kernels are switched on (`TF_ENABLE_ONEDNN_OPTS=1`, unless the variable is already set) when
sr_keras is imported before TensorFlow, as its command-line tools are. TensorFlow enables them by itself only on
x86 CPUs with AVX-512 VNNI/BF16 or AMX; on AVX2-only CPUs it falls back to Eigen's kernels, which on this
project's AMD EPYC (AVX2) test machine took 1.49x as long to upscale a 500x350 photo with the default x4 model
(3.15 s against 2.11 s) and 1.25x as long for an EDSR-baseline training step (4.88 s against 3.89 s). oneDNN
rounds float sums in another order (differences of float32 rounding, as on any other CPU where TensorFlow
enables it); `TF_ENABLE_ONEDNN_OPTS=0` restores TensorFlow's own choice.
"""
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # read once, when TensorFlow is first imported

from sr_keras._quiet import filtered_stderr, verbose  # noqa: E402

if sys.argv[:1] == ["-m"] and not verbose():
    # `python -m sr_keras.<command>`: Python imports this package while it locates the command (sys.argv[0] is
    # still "-m"), so TensorFlow is imported before the command's own code runs. Its INFO and WARNING lines
    # (a PNG's iCCP profile, tf.data's notes) are kept off the command's stderr from here; --verbose keeps them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

with filtered_stderr():  # TensorFlow's C++ start-up lines (see sr_keras/_quiet.py); SR_KERAS_VERBOSE=1 keeps them
    from sr_keras import layers
    from sr_keras import models
    from sr_keras import pretrained
    from sr_keras.models import MODELS, build_model

    # The first device listing prints "failed call to cuInit" on machines without a GPU; listing the physical
    # devices does not initialise them, so memory growth and visible devices can still be set afterwards.
    import tensorflow as _tf

    _tf.config.list_physical_devices()
    del _tf

__version__ = "0.1.0"

__all__ = ["layers", "models", "pretrained", "MODELS", "build_model", "__version__"]
