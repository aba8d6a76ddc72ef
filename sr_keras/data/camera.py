"""A fixed, seeded camera-like degradation for scoring models on real-world LR: not a training pipeline.

The chain (per photo, parameters drawn from a NumPy generator seeded by ``(seed, index)``):

1. Gaussian blur of the HR photo, sigma uniform in [0.5, 1.2] HR pixels (lens and demosaicking softness),
   kernel ``2 ceil(3 sigma) + 1`` wide, reflect padding;
2. MATLAB bicubic down-scaling by the SR factor, rounded to the uint8 grid;
3. Gaussian sensor noise, sigma uniform in [1, 4] grey levels, independent per channel, rounded and clipped;
4. JPEG (libjpeg, 4:2:0 chroma) at an integer quality uniform in [55, 85].

It is deliberately unlike `sr_keras.data.realesrgan` and `sr_keras.data.bsrgan` (one blur, no resize chain,
mild noise, one JPEG), so a model trained on those is scored on a degradation it did not see: this is the
held-out chain of `docs/models/real.md` and `python -m sr_keras.evaluate --degradation=camera`.
"""
import math

import numpy as np
import tensorflow as tf

from sr_keras.data.degrade import bicubic_degrade, quantize_uint8

BLUR_SIGMA = (0.5, 1.2)
NOISE_SIGMA = (1.0, 4.0)
JPEG_QUALITY = (55, 85)


def camera_parameters(seed, index):
    """{"blur_sigma", "noise_sigma", "jpeg_quality", "noise_seed"} of photo `index` under `seed`."""
    rng = np.random.default_rng([int(seed), int(index)])
    return {"blur_sigma": float(rng.uniform(*BLUR_SIGMA)), "noise_sigma": float(rng.uniform(*NOISE_SIGMA)),
            "jpeg_quality": int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)),
            "noise_seed": int(rng.integers(0, 2 ** 31 - 1))}


def _gaussian_blur(image, sigma):
    half = int(math.ceil(3 * sigma))
    x = np.arange(-half, half + 1, dtype=np.float64)
    kernel_1d = np.exp(-(x * x) / (2 * sigma * sigma))
    kernel_1d = tf.constant(kernel_1d / kernel_1d.sum(), tf.float32)
    padded = tf.pad(image[None], [[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")
    vertical = tf.tile(tf.reshape(kernel_1d, [-1, 1, 1, 1]), [1, 1, 3, 1])
    horizontal = tf.tile(tf.reshape(kernel_1d, [1, -1, 1, 1]), [1, 1, 3, 1])
    out = tf.nn.depthwise_conv2d(padded, vertical, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(out, horizontal, [1, 1, 1, 1], "VALID")[0]


def camera_degrade(hr, scale, seed=0, index=0):
    """The LR of one HR photo under the camera chain.

    Args:
        hr: [H, W, 3] in [0, 255] (cropped to a multiple of `scale`), at least 13 pixels on each side.
        scale: integer SR factor.
        seed, index: the chain's seed and the photo's index in its set.

    Returns:
        (lr float32 [H / scale, W / scale, 3] on the uint8 grid, the parameters used).
    """
    params = camera_parameters(seed, index)
    hr = tf.cast(hr, tf.float32)
    blurred = _gaussian_blur(hr, params["blur_sigma"])
    _, lr = bicubic_degrade(blurred, scale)
    lr = quantize_uint8(lr)
    noise = tf.random.stateless_normal(tf.shape(lr), [params["noise_seed"], 0]) * params["noise_sigma"]
    lr = quantize_uint8(lr + noise)
    encoded = tf.io.encode_jpeg(tf.cast(lr, tf.uint8), quality=params["jpeg_quality"])
    lr = tf.cast(tf.io.decode_jpeg(encoded, channels=3), tf.float32)
    return lr, params
