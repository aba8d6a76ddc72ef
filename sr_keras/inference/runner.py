"""Running a model on image batches: one traced graph function per model and pool-size setting, and the
model's integer scale."""
import weakref

import keras
import numpy as np
import tensorflow as tf

from sr_keras.inference.memory import attention_layers
from sr_keras.models.generator import model_scale

PROBE_SIZE = 8
# Scales found by the probe, keyed weakly by the model object (nothing is stored on the model itself).
_PROBED_SCALES = weakref.WeakKeyDictionary()
# Traced functions, keyed weakly by the model object. Not an attribute of the model: Keras tracks attributes,
# and a dict keyed by pool-size tuples makes the model unsavable (`tf.saved_model.save` refuses it).
_COMPILED = weakref.WeakKeyDictionary()


def compiled(model):
    """`model` in inference mode as a graph function over [batch, height, width, 3] float32 of any size.

    Graph execution lets TensorFlow fuse and plan the whole network (WDSR-B ran a 500x350 image in 0.79 s
    instead of 1.47 s eagerly on a 2-core CPU, and tiles cost no more than the whole image). One trace serves
    every input size. The function is cached per model and FSA pool-size setting, so changing the pool size
    (`sr_keras.layers.set_pool_size`) gets a fresh trace; the cache holds the model weakly.
    """
    pools = tuple(getattr(layer, "pool_size", None) for layer in attention_layers(model))
    cache = _COMPILED.setdefault(model, {})
    if pools not in cache:
        cache[pools] = tf.function(_Inference(model),
                                   input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
                                   autograph=False)
    return cache[pools]


class _Inference:
    """`model(images, training=False)` through a weak reference, so the cached function does not keep the model
    (the cache's key) alive. A callable object rather than a closure: TensorFlow counts traces per code object,
    and one trace per model and pool size would otherwise read as "excessive retracing" warnings."""

    def __init__(self, model):
        self._model = weakref.ref(model)

    def __call__(self, images):
        return self._model()(images, training=False)


def run_model(model, batch):
    """Runs `model` (a Keras model or layer, or any callable) on a float32 batch; returns float32 numpy."""
    tensor = tf.convert_to_tensor(batch, tf.float32)
    if isinstance(model, keras.Model):
        output = compiled(model)(tensor)
    elif isinstance(model, keras.layers.Layer):
        output = model(tensor, training=False)
    else:
        output = model(tensor)
    return np.asarray(output, dtype="float32")


def infer_scale(model):
    """The integer upscaling factor of `model`.

    Generators built or saved by sr_keras (`sr_keras.models.SRGenerator`) record their scale: it is read
    from the metadata (`sr_keras.models.model_scale`) and the model is not run. Any other model or callable
    (the MMSR router, `.keras` files saved before sr_keras recorded the metadata, your own functions) is run
    once on a zero [1, 8, 8, 3] input. That probe's answer is remembered in a module-level table keyed weakly by
    the model object (nothing is set on the model, and the entry goes when the model is garbage-collected),
    so later calls for the same object do not run it again.

    Args:
        model: a Keras model, or any callable from a float32 [B, H, W, 3] tensor to [B, sH, sW, 3].

    Returns:
        int scale s >= 1.

    Raises:
        ValueError: (for models without metadata) the model cannot run on an 8 x 8 input, its output is not
            [1, 8s, 8s, 3] for an integer s, or it does not have 3 channels.
    """
    recorded = model_scale(getattr(model, "keras_model", model))
    if recorded is not None:
        return recorded
    try:
        cached = _PROBED_SCALES.get(model)
    except TypeError:  # an object that cannot be weakly referenced or hashed: probe every time
        cached = None
    if cached is not None:
        return cached
    scale = _probe_scale(model)
    try:
        _PROBED_SCALES[model] = scale
    except TypeError:
        pass
    return scale


def _probe_scale(model):
    """Runs `model` on a zero [1, 8, 8, 3] input and returns the integer factor of its output size."""
    name = getattr(model, "name", getattr(model, "__name__", type(model).__name__))
    probe_shape = (1, PROBE_SIZE, PROBE_SIZE, 3)
    try:
        output = run_model(model, np.zeros(probe_shape, "float32"))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        raise ValueError(f"cannot infer the scale of {name!r}: it fails on a {list(probe_shape)} input "
                         f"({error})") from None
    shape = tuple(output.shape)
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
        raise ValueError(f"{name!r} is not a super-resolution model from RGB to RGB: a {list(probe_shape)} input "
                         f"gives an output of shape {list(shape)}, expected [1, sH, sW, 3]")
    if shape[1] != shape[2] or shape[1] < PROBE_SIZE or shape[1] % PROBE_SIZE:
        raise ValueError(f"{name!r} does not upscale by an integer factor: a {list(probe_shape)} input gives "
                         f"an output of shape {list(shape)}")
    return shape[1] // PROBE_SIZE
