"""Custom Keras layers of sr_keras; every class is registered for `.keras` serialisation."""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import contextlib

import keras

from sr_keras.layers.attention import FlexibleSelfAttention, SelfAttention2D
from sr_keras.layers.mean_shift import DIV2K_RGB_MEAN, Denormalize, Normalize
from sr_keras.layers.pixel_shuffle import CropToScaledInput, PixelShuffle, PixelUnshuffle, ReflectPadToMultiple
from sr_keras.layers.spectral_norm import SpectralNorm
from sr_keras.layers.weight_norm import WeightNormConv2D

__all__ = [
    "CropToScaledInput", "DIV2K_RGB_MEAN", "Denormalize", "FlexibleSelfAttention", "Normalize", "PixelShuffle",
    "PixelUnshuffle", "ReflectPadToMultiple", "SelfAttention2D", "SpectralNorm", "WeightNormConv2D", "iter_layers",
    "pool_size_set", "set_pool_size",
]


def iter_layers(layer, parent=None):
    """Yields `(layer, parent)` for `layer` and every layer nested in it, depth first, each once.

    Follows sub-models, wrappers (`SpectralNorm.layer`) and the sublayers that custom layers keep
    as attributes (the 1x1 convolutions of the attention layers).
    """
    seen = set()
    stack = [(layer, parent)]
    while stack:
        current, owner = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current, owner
        children = list(getattr(current, "layers", None) or []) if isinstance(current, keras.Model) else []
        for value in vars(current).values():
            if isinstance(value, keras.layers.Layer):
                children.append(value)
            elif isinstance(value, (list, tuple)):
                children.extend(v for v in value if isinstance(v, keras.layers.Layer))
        stack.extend((child, current) for child in reversed(children))


def set_pool_size(model, pool_size):
    """Sets the pool size of every `FlexibleSelfAttention` layer in `model`; weights are untouched.

    Typical use: a model trained with pool size 1 on crops, switched to 4 before upscaling 2000px images.
    Compiled predict/train functions are dropped so the next call traces with the new pool size.

    Args:
        model: a Keras model or layer.
        pool_size: positive integer.

    Returns:
        The number of FSA layers changed.

    Raises:
        ValueError: `model` has no FlexibleSelfAttention layer, or `pool_size` is not a positive integer.
    """
    changed = 0
    for layer, _ in iter_layers(model):
        if isinstance(layer, FlexibleSelfAttention):
            layer.pool_size = pool_size
            changed += 1
    if not changed:
        raise ValueError(f"model {getattr(model, 'name', model)!r} has no FlexibleSelfAttention layer")
    _drop_compiled_functions(model)
    return changed


def _drop_compiled_functions(model):
    for layer, _ in iter_layers(model):
        if isinstance(layer, keras.Model):
            for attr in ("predict_function", "train_function", "test_function"):
                if getattr(layer, attr, None) is not None:
                    setattr(layer, attr, None)


def pool_sizes(model):
    """The pool size of every `FlexibleSelfAttention` layer of `model`, in layer order."""
    return [layer.pool_size for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention)]


@contextlib.contextmanager
def pool_size_set(model, pool_size):
    """Within the block, every FSA layer of `model` has `pool_size`; afterwards each has its own again.

    `pool_size=None` changes nothing (and accepts models without FSA layers).
    """
    if pool_size is None:
        yield model
        return
    layers = [layer for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention)]
    before = [layer.pool_size for layer in layers]
    set_pool_size(model, pool_size)
    try:
        yield model
    finally:
        for layer, size in zip(layers, before):
            layer.pool_size = size
        _drop_compiled_functions(model)
