"""Memory estimates for the attention maps of `FlexibleSelfAttention` layers, checked before inference.

An FSA layer with pool size p on a feature map of h x w positions attends over N = ceil(h/p) * ceil(w/p)
pooled positions and holds two [batch, N, N] float32 maps at once (the logits and their softmax). N grows with
the image area, so the maps grow with its square: A-SRResNet at p = 1 on a 350 x 500 LR image needs
175000^2 * 8 bytes = 245 GB. `check_attention_memory` computes this up front and raises a clear
`AttentionMemoryError` instead of letting TensorFlow try (and fail, or swap) to allocate it.
"""
import math

import keras

from sr_keras.layers import FlexibleSelfAttention, iter_layers

__all__ = [
    "AttentionMemoryError", "DEFAULT_MAX_ATTENTION_BYTES", "attention_bytes", "attention_feature_sizes",
    "attention_layers", "check_attention_memory",
]

DEFAULT_MAX_ATTENTION_BYTES = 4 * 2 ** 30
_BYTES_PER_ENTRY = 4   # float32: the softmax always runs in float32.
_MAPS_PER_LAYER = 2    # logits and softmax weights are alive together.
_POOL_CANDIDATES = (2, 4, 8, 16, 32, 64)
_TILE_CANDIDATES = (1024, 768, 512, 384, 256, 192, 128, 96, 64, 48, 32)


class AttentionMemoryError(MemoryError, ValueError):
    """The attention maps of a model's FSA layers would need more memory than allowed for this input.

    Raised before anything is allocated. The message gives the bytes needed (in GB), the pool size, the
    input size and a pool size or tile size that would fit.
    """


def attention_layers(model):
    """Returns the `FlexibleSelfAttention` layers of `model` (nested ones included), in model order."""
    return [layer for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention)]


def attention_feature_sizes(model, height, width):
    """The (height, width) of each FSA layer's input feature map for an input of `height` x `width` pixels.

    The sizes are found by symbolic shape inference through the model up to each FSA layer (no tensor is
    allocated). When that is impossible (the layer sits inside a nested sub-model, the model is not a
    functional graph, or its input has a fixed size), the layer is assumed to run at input resolution,
    which is where the FSA of the sr_keras generators (A-SRResNet) sits.

    Args:
        model: a Keras model.
        height: input height in pixels.
        width: input width in pixels.

    Returns:
        list of `(layer, feature_height, feature_width)`, one per FSA layer.
    """
    layers = attention_layers(model)
    sizes = {id(layer): (int(height), int(width)) for layer in layers}
    direct = [layer for layer in layers if layer in getattr(model, "layers", ())]
    if direct:
        try:
            probe = keras.Model(model.inputs, [layer.input for layer in direct])
            specs = probe.compute_output_spec(keras.KerasTensor((1, int(height), int(width), 3)))
            if not isinstance(specs, (list, tuple)):
                specs = [specs]
            for layer, spec in zip(direct, specs):
                feature_h, feature_w = spec.shape[1], spec.shape[2]
                if feature_h is not None and feature_w is not None:
                    sizes[id(layer)] = (int(feature_h), int(feature_w))
        except Exception:  # noqa: BLE001 - any failure of the symbolic probe falls back to input resolution.
            pass
    return [(layer,) + sizes[id(layer)] for layer in layers]


def _bytes(feature_sizes, batch, pool_size=None):
    total = 0
    for layer, feature_h, feature_w in feature_sizes:
        p = layer.pool_size if pool_size is None else pool_size
        positions = math.ceil(feature_h / p) * math.ceil(feature_w / p)
        total += batch * positions * positions * _BYTES_PER_ENTRY * _MAPS_PER_LAYER
    return total


def attention_bytes(model, height, width, batch=1):
    """Bytes the attention maps of `model` need for a batch of `height` x `width` inputs.

    Sum over the FSA layers of batch * N^2 * 4 bytes * 2 (logits + softmax), N = ceil(h/p) * ceil(w/p) where
    h x w is the layer's input feature size (see `attention_feature_sizes`) and p its pool size. Activations
    other than the attention maps are not counted. 0 for a model without FSA layers.

    Args:
        model: a Keras model.
        height: input height in pixels.
        width: input width in pixels.
        batch: number of images (or tiles) run together.

    Returns:
        int, bytes.
    """
    return _bytes(attention_feature_sizes(model, height, width), int(batch))


def _suggestion(model, feature_sizes, height, width, batch, limit):
    """A pool size (for the whole input) and a tile size (at the current pool size) that fit in `limit`."""
    current = max((layer.pool_size for layer, _, _ in feature_sizes), default=1)
    advice = []
    for p in _POOL_CANDIDATES:
        if p > current and _bytes(feature_sizes, batch, pool_size=p) <= limit:
            advice.append(f"pool_size={p}")
            break
    for tile in _TILE_CANDIDATES:
        if tile < max(height, width) and attention_bytes(model, min(tile, height), min(tile, width), batch) <= limit:
            advice.append(f"tile={tile}")
            break
    if not advice:
        return "use a larger pool_size or a smaller tile"
    return "use " + " or ".join(advice)


def check_attention_memory(model, height, width, batch=1, limit=DEFAULT_MAX_ATTENTION_BYTES):
    """Raises `AttentionMemoryError` if the attention maps for this input would exceed `limit` bytes.

    Only shapes are computed; nothing big is allocated.

    Args:
        model: a Keras model (no check for a model without FSA layers).
        height: input (image or tile) height in pixels.
        width: input (image or tile) width in pixels.
        batch: images or tiles per model call.
        limit: the largest number of bytes allowed.

    Returns:
        The estimated bytes (int) when they fit.

    Raises:
        AttentionMemoryError: the estimate exceeds `limit`. The message gives the need in GB (10^9 bytes),
            the pool size(s), the input size and a pool or tile size that would fit.
    """
    feature_sizes = attention_feature_sizes(model, height, width)
    needed = _bytes(feature_sizes, int(batch))
    if needed <= limit:
        return needed
    pools = sorted({layer.pool_size for layer, _, _ in feature_sizes})
    pool_text = ", ".join(str(p) for p in pools)
    advice = _suggestion(model, feature_sizes, height, width, int(batch), limit)
    raise AttentionMemoryError(
        f"the attention maps of {getattr(model, 'name', 'the model')!r} would need {needed / 1e9:.1f} GB "
        f"({needed} bytes) for a {height}x{width} input (batch {batch}, pool_size={pool_text}), more than the "
        f"limit of {limit / 1e9:.1f} GB; {advice} (or raise max_attention_bytes)")
