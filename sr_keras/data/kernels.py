"""Blur kernels, per-image filtering and unsharp masking for real-world degradations, as batched TF ops.

The kernel families are Real-ESRGAN's (Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution
with Pure Synthetic Data", ICCVW 2021), as BasicSR writes them in ``basicsr/data/degradations.py``:

- Gaussian, isotropic or anisotropic: ``k(p) = exp(-q / 2)`` with ``q = p^T S^-1 p``, ``S = R diag(sx^2, sy^2)
  R^T`` and ``R`` the rotation by ``theta``;
- generalized Gaussian: ``exp(-q^beta / 2)``;
- plateau: ``1 / (q^beta + 1)``;
- the circular low-pass ("sinc") filter: ``wc J1(wc r) / (2 pi r)``, ``wc^2 / (4 pi)`` at the centre;

each normalised to sum 1 on its own odd ``size x size`` grid (``p`` from ``-size//2 + 1`` to ``size//2``,
``x`` along the width) and zero-padded to 21 x 21. Here every kernel of a batch is computed directly on the
21 x 21 grid with the taps outside its own size set to zero, which is the same kernel. Kernels are computed in
float64 and returned as float32.

`filter2d` is BasicSR's ``filter2D`` (a correlation with one kernel per image, reflect padding of ``k // 2``),
and `usm_sharpen` its ``USMSharp`` (OpenCV's Gaussian kernel of size 51 with sigma from the size, weight 0.5,
threshold 10 grey levels).
"""
import math

import tensorflow as tf

MAX_KERNEL_SIZE = 21
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")


def _grid(size=MAX_KERNEL_SIZE):
    """(x, y): float64 [size, size] coordinates centred on the middle tap, x along the width."""
    axis = tf.range(-(size // 2), size // 2 + 1, dtype=tf.float64)
    y, x = tf.meshgrid(axis, axis, indexing="ij")
    return x, y


def _support(kernel_size, size=MAX_KERNEL_SIZE):
    """[B, size, size] float64 masks: 1 on the taps of each kernel's own odd size, centred."""
    x, y = _grid(size)
    half = tf.cast(tf.reshape(kernel_size, [-1, 1, 1]) // 2, tf.float64)
    return tf.cast((tf.abs(x)[None] <= half) & (tf.abs(y)[None] <= half), tf.float64)


def _normalised(values, support):
    values = values * support
    return values / tf.reduce_sum(values, axis=[1, 2], keepdims=True)


def _quadratic_form(sigma_x, sigma_y, theta):
    """[B, 21, 21] values of p^T S^-1 p for S = R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T."""
    x, y = _grid()
    sigma_x, sigma_y, theta = (tf.reshape(tf.cast(v, tf.float64), [-1, 1, 1]) for v in (sigma_x, sigma_y, theta))
    cos, sin = tf.cos(theta), tf.sin(theta)
    # Coordinates in the rotated frame: R^T p.
    u = cos * x[None] + sin * y[None]
    v = -sin * x[None] + cos * y[None]
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def gaussian_kernels(kernel_size, sigma_x, sigma_y, theta):
    """Bivariate Gaussian kernels (BasicSR ``bivariate_Gaussian``), one per batch entry.

    Args:
        kernel_size: [B] odd sizes in [3, 21].
        sigma_x, sigma_y: [B] standard deviations in pixels (isotropic: equal, theta 0).
        theta: [B] rotation in radians.

    Returns:
        float32 [B, 21, 21] kernels, zero outside their own size, each summing to 1.
    """
    q = _quadratic_form(sigma_x, sigma_y, theta)
    return tf.cast(_normalised(tf.exp(-0.5 * q), _support(kernel_size)), tf.float32)


def generalized_gaussian_kernels(kernel_size, sigma_x, sigma_y, theta, beta):
    """Generalized Gaussian kernels ``exp(-q^beta / 2)`` (BasicSR ``bivariate_generalized_Gaussian``)."""
    q = _quadratic_form(sigma_x, sigma_y, theta)
    beta = tf.reshape(tf.cast(beta, tf.float64), [-1, 1, 1])
    return tf.cast(_normalised(tf.exp(-0.5 * tf.pow(q, beta)), _support(kernel_size)), tf.float32)


def plateau_kernels(kernel_size, sigma_x, sigma_y, theta, beta):
    """Plateau kernels ``1 / (q^beta + 1)`` (BasicSR ``bivariate_plateau``)."""
    q = _quadratic_form(sigma_x, sigma_y, theta)
    beta = tf.reshape(tf.cast(beta, tf.float64), [-1, 1, 1])
    return tf.cast(_normalised(1.0 / (tf.pow(q, beta) + 1.0), _support(kernel_size)), tf.float32)


def sinc_kernels(kernel_size, cutoff):
    """Circular low-pass kernels (BasicSR ``circular_lowpass_kernel``), zero-padded to 21 x 21.

    Args:
        kernel_size: [B] odd sizes in [3, 21].
        cutoff: [B] cutoff frequencies in radians (pi is the Nyquist frequency).
    """
    x, y = _grid()
    radius = tf.sqrt(x * x + y * y)[None]
    cutoff = tf.reshape(tf.cast(cutoff, tf.float64), [-1, 1, 1])
    safe = tf.where(radius > 0, radius, tf.ones_like(radius))
    values = cutoff * tf.math.special.bessel_j1(cutoff * safe) / (2.0 * math.pi * safe)
    values = tf.where(radius > 0, values, cutoff ** 2 / (4.0 * math.pi) * tf.ones_like(values))
    return tf.cast(_normalised(values, _support(kernel_size)), tf.float32)


def pulse_kernels(batch_size):
    """[B, 21, 21] identity kernels (a single 1 in the middle): filtering with them changes nothing."""
    centre = tf.one_hot(MAX_KERNEL_SIZE * MAX_KERNEL_SIZE // 2, MAX_KERNEL_SIZE * MAX_KERNEL_SIZE)
    return tf.tile(tf.reshape(centre, [1, MAX_KERNEL_SIZE, MAX_KERNEL_SIZE]), [batch_size, 1, 1])


def filter2d(images, kernels):
    """Correlates each image with its own kernel, reflect-padding by ``k // 2`` (BasicSR ``filter2D``).

    Args:
        images: float [B, H, W, C], H and W larger than ``k // 2``.
        kernels: [B, k, k] (one per image) or [k, k] (the same for all), k odd.

    Returns:
        [B, H, W, C] in the images' dtype.
    """
    images = tf.convert_to_tensor(images)
    kernels = tf.cast(kernels, images.dtype)
    size = kernels.shape[-1]
    half = size // 2
    padded = tf.pad(images, [[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")
    if kernels.shape.rank == 2:
        channels = images.shape[-1]
        kernel = tf.tile(kernels[:, :, None, None], [1, 1, channels, 1])
        return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
    shape = tf.shape(images)
    batch, channels = shape[0], images.shape[-1]
    # One depthwise convolution over a single "image" whose channels are (image, channel) pairs.
    stacked = tf.transpose(padded, [1, 2, 0, 3])
    stacked = tf.reshape(stacked, [1, tf.shape(padded)[1], tf.shape(padded)[2], batch * channels])
    kernel = tf.repeat(tf.transpose(kernels, [1, 2, 0]), channels, axis=2)[:, :, :, None]
    out = tf.nn.depthwise_conv2d(stacked, kernel, [1, 1, 1, 1], "VALID")
    out = tf.reshape(out, [shape[1], shape[2], batch, channels])
    return tf.transpose(out, [2, 0, 1, 3])


def opencv_gaussian_1d(size, sigma=0.0):
    """OpenCV's ``getGaussianKernel(size, sigma)`` (float64 [size]); sigma <= 0 gives
    ``0.3 * ((size - 1) / 2 - 1) + 0.8``."""
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = tf.range(size, dtype=tf.float64) - (size - 1) / 2.0
    values = tf.exp(-(x * x) / (2.0 * sigma * sigma))
    return values / tf.reduce_sum(values)


def _separable_blur(images, kernel_1d):
    """Reflect-padded correlation with the outer product of `kernel_1d` with itself, as two 1-D passes."""
    size = kernel_1d.shape[0]
    half = size // 2
    channels = images.shape[-1]
    kernel_1d = tf.cast(kernel_1d, images.dtype)
    padded = tf.pad(images, [[0, 0], [half, half], [half, half], [0, 0]], mode="REFLECT")
    vertical = tf.tile(tf.reshape(kernel_1d, [size, 1, 1, 1]), [1, 1, channels, 1])
    horizontal = tf.tile(tf.reshape(kernel_1d, [1, size, 1, 1]), [1, 1, channels, 1])
    out = tf.nn.depthwise_conv2d(padded, vertical, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(out, horizontal, [1, 1, 1, 1], "VALID")


def usm_sharpen(images, weight=0.5, radius=50, threshold=10):
    """Unsharp masking as Real-ESRGAN sharpens its targets (BasicSR ``USMSharp``), on [0, 255] images.

    ``blur`` = Gaussian blur (OpenCV kernel of size ``radius`` rounded up to odd, sigma from the size, reflect
    padding); ``residual = image - blur``; ``mask`` = 1 where ``|residual| > threshold`` grey levels, blurred the
    same way; ``sharp = clip(image + weight * residual, 0, 255)``; output ``mask * sharp + (1 - mask) * image``.
    The 2-D kernel is the outer product of OpenCV's 1-D kernel (as BasicSR builds it), applied here as two 1-D
    passes, which is the same filter.

    Args:
        images: float [B, H, W, C] in [0, 255], H and W above ``radius // 2``.

    Returns:
        float32 [B, H, W, C].
    """
    images = tf.cast(images, tf.float32) / 255.0  # the original's [0, 1] scale, threshold compared as it does
    if radius % 2 == 0:
        radius += 1
    kernel_1d = opencv_gaussian_1d(radius)
    blur = _separable_blur(images, kernel_1d)
    residual = images - blur
    mask = tf.cast(tf.abs(residual) * 255.0 > threshold, tf.float32)
    soft_mask = _separable_blur(mask, kernel_1d)
    sharp = tf.clip_by_value(images + weight * residual, 0.0, 1.0)
    return 255.0 * (soft_mask * sharp + (1.0 - soft_mask) * images)
