"""Counting the direct-convolution FLOPs of a forward pass, for benchmarks (effective GFLOP/s).

A k x k convolution from C_in to C_out channels producing an H x W map costs 2 * k*k * C_in * C_out * H * W
FLOPs per image (one multiply and one add per weight and output pixel); a Dense layer 2 * inputs * units;
self-attention 2 * N^2 * (C/8 + C/2) for its two matrix products over N positions (plus its 1x1 convs).
Element-wise work (biases, activations, normalisation) is not counted.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import time

import keras
import numpy as np

from sr_keras.layers import SelfAttention2D, SpectralNorm, WeightNormConv2D


def _conv_like(layer):
    inner = layer.layer if isinstance(layer, (SpectralNorm, keras.layers.SpectralNormalization)) else layer
    if isinstance(inner, (keras.layers.Conv2D, WeightNormConv2D, keras.layers.Dense)):
        return inner
    return None


def _model_input(model):
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def forward_flops(model, inputs):
    """FLOPs of `model(inputs)` counted from the shapes the layers actually produce on `inputs`.

    Args:
        model: a functional Keras model (sr_keras generators and discriminators).
        inputs: a concrete batch (numpy or tensor).

    Returns:
        int, FLOPs of one forward pass over the whole batch.
    """
    counted = [layer for layer in model.layers if _conv_like(layer) is not None or isinstance(layer, SelfAttention2D)]
    probe = keras.Model(_model_input(model), [layer.output for layer in counted])
    outputs = probe(inputs, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    total = 0
    for layer, output in zip(counted, outputs):
        shape = tuple(int(d) for d in output.shape)
        if isinstance(layer, SelfAttention2D):
            total += _attention_flops(layer, shape)
            continue
        inner = _conv_like(layer)
        if isinstance(inner, keras.layers.Dense):
            total += 2 * int(inner.kernel.shape[0]) * int(inner.kernel.shape[1]) * shape[0]
        else:
            total += _conv_flops(inner, shape)
    return total


def conv_workload(model, inputs):
    """Every convolution a forward pass of `model(inputs)` runs, for per-kernel benchmarks.

    Args:
        model: a functional Keras model.
        inputs: a concrete batch.

    Returns:
        list of dicts, one per convolution layer in model order: `name`, `input_shape` (NHWC), `kernel_shape`
        (kh, kw, c_in, c_out), `strides`, `padding` ("SAME"/"VALID") and `flops` (forward, as in
        `forward_flops`).
    """
    convs = [(layer, _conv_like(layer)) for layer in model.layers
             if _conv_like(layer) is not None and not isinstance(_conv_like(layer), keras.layers.Dense)]
    probe = keras.Model(_model_input(model), [[layer.input, layer.output] for layer, _ in convs])
    pairs = probe(inputs, training=False)
    return [{"name": layer.name, "input_shape": tuple(int(d) for d in layer_input.shape),
             "kernel_shape": tuple(int(d) for d in inner.kernel.shape),
             "strides": tuple(int(s) for s in inner.strides), "padding": inner.padding.upper(),
             "flops": _conv_flops(inner, layer_output.shape)}
            for (layer, inner), (layer_input, layer_output) in zip(convs, pairs)]


def _conv_flops(conv, output_shape):
    kh, kw, c_in, c_out = (int(d) for d in conv.kernel.shape)
    return 2 * kh * kw * c_in * c_out * int(np.prod([int(d) for d in output_shape[:3]]))


def forward_flops_for_size(model, height, width, probe=(48, 64)):
    """FLOPs of one forward pass of a generator on a height x width LR image, without running it at that size.

    Convolution and dense FLOPs grow with the pixel count, so they are counted on a small probe image and
    scaled; self-attention FLOPs grow with the square of the positions and are computed for the real size
    (sr_keras generators attend at LR resolution). Running a large image through a probe that keeps every
    layer's output would need far more memory than the model itself.
    """
    probe_h, probe_w = probe
    attention = [layer for layer in model.layers if isinstance(layer, SelfAttention2D)]
    total = forward_flops(model, np.zeros((1, probe_h, probe_w, 3), "float32"))
    for layer in attention:
        channels = int(layer.input.shape[-1])
        total -= _attention_flops(layer, (1, probe_h, probe_w, channels))
    total = total * (height * width) / (probe_h * probe_w)
    for layer in attention:
        total += _attention_flops(layer, (1, height, width, int(layer.input.shape[-1])))
    return int(total)


def _attention_flops(layer, shape):
    batch, height, width, channels = shape
    pool = getattr(layer, "pool_size", 1)
    h, w = -(-height // pool), -(-width // pool)
    positions = h * w
    c8, c2 = max(1, channels // 8), max(1, channels // 2)
    convs = 2 * positions * channels * (2 * c8 + c2) + 2 * positions * c2 * channels
    products = 2 * positions * positions * (c8 + c2)
    return batch * (convs + products)


def matmul_gflops(size=4096, repeats=3):
    """GFLOP/s of a size^3 float32 `tf.matmul` on the default device: the machine's practical ceiling that
    the benchmarks compare their effective GFLOP/s with (2 * size^3 FLOPs per product)."""
    import tensorflow as tf

    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    tf.matmul(a, b).numpy()
    began = time.perf_counter()
    for _ in range(repeats):
        product = tf.matmul(a, b)
    product.numpy()
    return 2 * size ** 3 * repeats / (time.perf_counter() - began) / 1e9
