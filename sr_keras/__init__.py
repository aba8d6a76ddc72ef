"""sr_keras: single-image super-resolution for TensorFlow 2 / Keras 3.

Importing the package registers every custom layer with Keras, so `.keras` files written by sr_keras load
with `keras.saving.load_model(path)` and the default `safe_mode=True`. TensorFlow's C++ start-up lines, and the
"failed call to cuInit" line of the first device listing on machines without a GPU, are kept off stderr during
the import (`SR_KERAS_VERBOSE=1` shows them).
"""
from sr_keras._quiet import filtered_stderr

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
