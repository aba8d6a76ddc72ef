"""PSNR and SSIM computed the way super-resolution papers report them, as TensorFlow ops on batches.

Published SR numbers follow one protocol (the MATLAB code of the early papers, ported to Python by BasicSR,
``basicsr/metrics/psnr_ssim.py`` and ``basicsr/utils/color_util.py``, https://github.com/XPixelGroup/BasicSR):

1. the SR output is quantised to 8-bit values: clipped to [0, 255] and rounded (this module rounds half to
   even, like ``numpy.round`` in BasicSR's ``tensor2img`` and ``tf.round``); HR is quantised too, which does
   nothing to an integral HR image;
2. ``crop_border`` pixels (usually the scale factor) are removed at the top, bottom, left and right;
3. optionally only the luma is compared: Y of MATLAB's ``rgb2ycbcr`` (ITU-R BT.601, studio range), not rounded;
4. PSNR = 10 log10(255^2 / MSE) in float64; SSIM with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
   K2 = 0.03, L = 255, 'valid' filtering and the mean of the SSIM map (Wang et al. 2004); on RGB the SSIM of
   every channel is computed separately and the three values are averaged.

Every function takes ``[H, W, 3]`` or ``[B, H, W, 3]`` images of any integer or floating dtype on the [0, 255]
scale and returns a float64 scalar or ``[B]`` per-image values: nothing is ever averaged over the batch
(average the per-image values yourself, or use :func:`mean_metrics`, to get a data-set score).

Invalid arguments raise ``ValueError`` when the shapes are known statically (always in eager mode); inside a
``tf.function`` with unknown dimensions the same checks run as TensorFlow assertions and raise
``tf.errors.InvalidArgumentError``.

References:
    X. Wang et al., BasicSR, ``basicsr/metrics/psnr_ssim.py`` (``calculate_psnr``, ``calculate_ssim``) and
    ``basicsr/utils/color_util.py`` (``rgb2ycbcr``), https://github.com/XPixelGroup/BasicSR.
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image Quality Assessment: From Error Visibility to
    Structural Similarity", IEEE Trans. Image Processing 13(4), 2004.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import math

import tensorflow as tf

from sr_keras.checks import integer

__all__ = ["quantize", "rgb_to_y", "psnr", "ssim", "image_metrics", "mean_metrics"]

_PEAK = 255.0
# BT.601 luma weights of MATLAB rgb2ycbcr for R, G, B in [0, 1]; the offset 16 gives Y in [16, 235].
_Y_WEIGHTS = (65.481, 128.553, 24.966)
_Y_OFFSET = 16.0
# SSIM constants of Wang et al. 2004.
_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_C1 = (0.01 * _PEAK) ** 2
_SSIM_C2 = (0.03 * _PEAK) ** 2


def _as_image_tensor(images, name):
    """Converts ``images`` to a tensor and checks its dtype, rank (3 or 4) and channel count (3)."""
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype.is_integer):
        raise ValueError(f"{name} must have an integer or floating dtype, got {images.dtype.name}")
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(f"{name} must be [H, W, 3] or [B, H, W, 3], got shape {images.shape} (rank {rank})")
    channels = images.shape[-1]
    if channels is None:
        tf.debugging.assert_equal(tf.shape(images)[-1], 3, message=f"{name} must have 3 (RGB) channels")
    elif channels != 3:
        raise ValueError(f"{name} must have 3 (RGB) channels, got shape {images.shape}")
    return images


def _check_crop_border(crop_border):
    """Returns ``crop_border`` as a python int after checking it is a non-negative integer."""
    return integer(crop_border, "crop_border", minimum=0)


def _prepare_pair(sr, hr, crop_border, y_channel, min_size, metric):
    """Validates a pair, then quantises, crops and (optionally) converts it to Y.

    Args:
        sr: super-resolved images, ``[H, W, 3]`` or ``[B, H, W, 3]``.
        hr: ground-truth images of the same shape.
        crop_border: pixels removed at every border.
        y_channel: whether to keep only the BT.601 luma.
        min_size: smallest height and width the metric accepts after cropping.
        metric: name used in error messages.

    Returns:
        ``(sr, hr)`` as float64 tensors of shape ``[..., H - 2c, W - 2c, 3 or 1]``.
    """
    sr = _as_image_tensor(sr, "sr")
    hr = _as_image_tensor(hr, "hr")
    crop_border = _check_crop_border(crop_border)
    if sr.shape.is_fully_defined() and hr.shape.is_fully_defined():
        if sr.shape != hr.shape:
            raise ValueError(f"sr and hr must have the same shape, got sr {sr.shape} and hr {hr.shape}")
    elif not sr.shape.is_compatible_with(hr.shape):
        raise ValueError(f"sr and hr must have the same shape, got sr {sr.shape} and hr {hr.shape}")
    else:
        tf.debugging.assert_equal(tf.shape(sr), tf.shape(hr), message="sr and hr must have the same shape")

    height, width = sr.shape[-3], sr.shape[-2]
    if height is not None and width is not None:
        left_h, left_w = height - 2 * crop_border, width - 2 * crop_border
        if left_h < 1 or left_w < 1:
            raise ValueError(f"crop_border={crop_border} is too large for a {height}x{width} image "
                             f"(it leaves {left_h}x{left_w} pixels)")
        if left_h < min_size or left_w < min_size:
            raise ValueError(f"{metric} needs images of at least {min_size}x{min_size} pixels after cropping "
                             f"(the {min_size}x{min_size} SSIM window), got {left_h}x{left_w} from a "
                             f"{height}x{width} image with crop_border={crop_border}")
    else:
        dynamic = tf.shape(sr)
        for axis in (-3, -2):
            tf.debugging.assert_greater_equal(
                dynamic[axis] - 2 * crop_border, min_size,
                message=f"{metric}: image too small for crop_border={crop_border} "
                        f"(at least {min_size} pixels must remain)")

    sr, hr = quantize(sr), quantize(hr)
    if crop_border:
        sr = sr[..., crop_border:-crop_border, crop_border:-crop_border, :]
        hr = hr[..., crop_border:-crop_border, crop_border:-crop_border, :]
    if y_channel:
        sr, hr = rgb_to_y(sr), rgb_to_y(hr)
    return sr, hr


def quantize(images):
    """Quantises images to 8-bit values, as SR outputs are before they are scored.

    The values are clipped to [0, 255] and rounded half to even (``tf.round``, which matches the
    ``numpy.round`` BasicSR applies in ``tensor2img``); images that are already integral in [0, 255] are
    returned unchanged (the operation is idempotent).

    Reference: BasicSR ``basicsr/utils/img_util.py`` (``tensor2img``) and ``basicsr/metrics/psnr_ssim.py``.

    Args:
        images: tensor or array of any integer or floating dtype on the [0, 255] scale, any shape.

    Returns:
        A float64 tensor of the same shape with integral values in [0, 255].
    """
    images = tf.cast(tf.convert_to_tensor(images), tf.float64)
    return tf.round(tf.clip_by_value(images, 0.0, _PEAK))


def rgb_to_y(images):
    """Luma (Y) of MATLAB's ``rgb2ycbcr`` (ITU-R BT.601, studio swing), not rounded.

    With R, G, B on the [0, 255] scale, ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``, so black maps
    to 16 and white to 235. The input is not quantised here (:func:`psnr` and :func:`ssim` quantise first).

    Reference: BasicSR ``basicsr/utils/color_util.py`` (``rgb2ycbcr(img, y_only=True)``; BasicSR reads BGR
    images and uses the same weights in reversed order).

    Args:
        images: RGB images ``[H, W, 3]`` or ``[B, H, W, 3]`` of any integer or floating dtype, range [0, 255].

    Returns:
        float64 tensor of shape ``[H, W, 1]`` or ``[B, H, W, 1]`` with Y in [16, 235] for inputs in range.

    Raises:
        ValueError: if the rank is not 3 or 4 or there are not 3 channels.
    """
    images = tf.cast(_as_image_tensor(images, "images"), tf.float64)
    weights = tf.constant(_Y_WEIGHTS, tf.float64) / _PEAK
    y = tf.tensordot(images, weights, axes=[[-1], [0]]) + _Y_OFFSET
    return y[..., tf.newaxis]


def psnr(sr, hr, crop_border=0, y_channel=False):
    """Peak signal-to-noise ratio (peak 255) of every image pair, in float64.

    Both images are quantised (:func:`quantize`), ``crop_border`` pixels are removed at every border, the
    images are optionally reduced to Y (:func:`rgb_to_y`), then ``PSNR = 10 log10(255^2 / MSE)`` with the MSE
    taken over the pixels and channels of each image separately. Identical images give ``+inf``.

    Reference: BasicSR ``basicsr/metrics/psnr_ssim.py`` (``calculate_psnr``).

    Args:
        sr: super-resolved RGB images ``[H, W, 3]`` or ``[B, H, W, 3]``, any integer/float dtype, [0, 255].
        hr: ground-truth RGB images of the same shape.
        crop_border: pixels removed at the top, bottom, left and right (usually the scale); 0 crops nothing.
        y_channel: compare the BT.601 luma only instead of the three RGB channels.

    Returns:
        float64 scalar for ``[H, W, 3]`` inputs, float64 ``[B]`` (one value per image) for batches.

    Raises:
        ValueError: on a shape mismatch, a rank other than 3 or 4, a channel count other than 3, or a
            negative ``crop_border`` or one that leaves no pixels.
    """
    sr, hr = _prepare_pair(sr, hr, crop_border, y_channel, min_size=1, metric="PSNR")
    mse = tf.reduce_mean(tf.math.squared_difference(sr, hr), axis=[-3, -2, -1])
    # 255^2 / 0 = +inf and log(+inf) = +inf: identical images need no special case.
    ratio = tf.constant(_PEAK * _PEAK, tf.float64) / mse
    return 10.0 * tf.math.log(ratio) / tf.constant(math.log(10.0), tf.float64)


def _gaussian_window_1d():
    """Normalised 1-D Gaussian of 11 taps and sigma 1.5; its outer product is the 2-D SSIM window.

    Reference: Wang et al. 2004, section III-C (``fspecial('gaussian', 11, 1.5)``); BasicSR
    ``cv2.getGaussianKernel(11, 1.5)`` in ``basicsr/metrics/psnr_ssim.py``.

    Returns:
        float64 tensor of shape [11] summing to 1.
    """
    radius = _SSIM_WINDOW // 2
    x = tf.range(-radius, radius + 1, dtype=tf.float64)
    g = tf.exp(-(x * x) / (2.0 * _SSIM_SIGMA * _SSIM_SIGMA))
    return g / tf.reduce_sum(g)


def _filter_valid(images, window):
    """Separable 'valid' Gaussian filtering of every channel of ``[B, H, W, C]`` (float64) on its own.

    Depthwise convolutions, one per direction: in float64 on a CPU they take about 0.4x the time of filtering
    the same planes as single-channel images with ``conv2d``, and the sums are the same up to rounding (1e-13
    on a 0-255 scale)."""
    taps = tf.shape(window)[0]
    channels = tf.shape(images)[3]
    vertical = tf.tile(tf.reshape(window, tf.stack([taps, 1, 1, 1])), tf.stack([1, 1, channels, 1]))
    horizontal = tf.tile(tf.reshape(window, tf.stack([1, taps, 1, 1])), tf.stack([1, 1, channels, 1]))
    images = tf.nn.depthwise_conv2d(images, vertical, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depthwise_conv2d(images, horizontal, strides=[1, 1, 1, 1], padding="VALID")


def ssim(sr, hr, crop_border=0, y_channel=False):
    """Structural similarity (Wang et al. 2004) of every image pair, in float64.

    Both images are quantised (:func:`quantize`), cropped and optionally reduced to Y like in :func:`psnr`.
    Local means, variances and the covariance are taken with an 11x11 normalised Gaussian window (sigma 1.5)
    without padding ('valid': the SSIM map is 10 pixels smaller than the image in each dimension), with
    population (not sample) statistics, K1 = 0.01, K2 = 0.03 and L = 255. The score is the mean of the SSIM
    map; for RGB it is computed for each channel and the three values are averaged (BasicSR). Identical
    images give exactly 1.

    Reference: Wang et al., "Image Quality Assessment: From Error Visibility to Structural Similarity",
    IEEE TIP 2004; BasicSR ``basicsr/metrics/psnr_ssim.py`` (``calculate_ssim``, ``_ssim``).

    Args and returns: as :func:`psnr`.

    Raises:
        ValueError: as :func:`psnr`, and for images smaller than 11x11 after cropping.
    """
    sr, hr = _prepare_pair(sr, hr, crop_border, y_channel, min_size=_SSIM_WINDOW, metric="SSIM")
    single = sr.shape.rank == 3
    if single:
        sr, hr = sr[tf.newaxis], hr[tf.newaxis]
    # The five filtered quantities of every channel, stacked along the channel axis: one filtering call.
    filtered = _filter_valid(tf.concat([sr, hr, sr * sr, hr * hr, sr * hr], axis=-1), _gaussian_window_1d())
    mu_x, mu_y, xx, yy, xy = tf.split(filtered, 5, axis=-1)
    mu_x2, mu_y2, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x, var_y, cov_xy = xx - mu_x2, yy - mu_y2, xy - mu_xy
    ssim_map = ((2.0 * mu_xy + _SSIM_C1) * (2.0 * cov_xy + _SSIM_C2)) / (
        (mu_x2 + mu_y2 + _SSIM_C1) * (var_x + var_y + _SSIM_C2))
    per_channel = tf.reduce_mean(ssim_map, axis=[1, 2])  # [B, C]
    per_image = tf.reduce_mean(per_channel, axis=1)
    return per_image[0] if single else per_image


def image_metrics(sr, hr, crop_border):
    """PSNR and SSIM on RGB and on Y for one image pair, as python floats.

    This is the record written per image by training validation and the evaluate CLI; combine records with
    :func:`mean_metrics`.

    Reference: BasicSR ``basicsr/metrics/psnr_ssim.py`` (``calculate_psnr`` / ``calculate_ssim`` with
    ``test_y_channel`` False and True).

    Args:
        sr: one super-resolved RGB image ``[H, W, 3]`` (or a batch of one, ``[1, H, W, 3]``), numpy array or
            tensor, any integer/float dtype, range [0, 255].
        hr: the ground-truth image, same shape.
        crop_border: pixels removed at every border before scoring (usually the scale factor).

    Returns:
        ``{"psnr_rgb": float, "ssim_rgb": float, "psnr_y": float, "ssim_y": float}``; the PSNRs are ``inf``
        for identical images.

    Raises:
        ValueError: for a batch of more than one image, and in every case :func:`ssim` raises.
    """
    sr, hr = tf.convert_to_tensor(sr), tf.convert_to_tensor(hr)
    if sr.shape.rank == 4:
        if sr.shape[0] != 1:
            raise ValueError(f"image_metrics scores one image pair; got sr of shape {sr.shape} "
                             "(use psnr/ssim for batches)")
        sr = sr[0]
        if hr.shape.rank == 4:
            hr = hr[0]
    return {
        "psnr_rgb": float(psnr(sr, hr, crop_border, y_channel=False)),
        "ssim_rgb": float(ssim(sr, hr, crop_border, y_channel=False)),
        "psnr_y": float(psnr(sr, hr, crop_border, y_channel=True)),
        "ssim_y": float(ssim(sr, hr, crop_border, y_channel=True)),
    }


def mean_metrics(records):
    """Averages per-image metric records over a data set (the way SR benchmarks are reported).

    Every key is averaged as a plain arithmetic mean over images (PSNR is averaged in dB, per image, like
    BasicSR and the SR literature, not computed from a pooled MSE). An infinite PSNR (an SR image identical
    to its HR) makes the mean of that key ``inf``; drop such records first if that is not wanted.

    Reference: BasicSR ``basicsr/models/sr_model.py`` (``nondist_validation``: metric sums divided by the
    number of images).

    Args:
        records: non-empty sequence of dicts with the same keys and float values, e.g. from
            :func:`image_metrics`.

    Returns:
        Dict with the mean of every key as a python float, plus ``"num_images"`` (int).

    Raises:
        ValueError: if ``records`` is empty or the records do not all have the same keys.
    """
    records = list(records)
    if not records:
        raise ValueError("mean_metrics needs at least one record")
    keys = list(records[0])
    for index, record in enumerate(records):
        if set(record) != set(keys):
            raise ValueError(f"record {index} has keys {sorted(record)}, expected {sorted(keys)}")
    means = {key: math.fsum(float(record[key]) for record in records) / len(records) for key in keys}
    means["num_images"] = len(records)
    return means
