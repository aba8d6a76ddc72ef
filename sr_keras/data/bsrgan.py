"""BSRGAN's shuffled degradation model for one HR crop, as TensorFlow graph ops (for ``tf.data`` maps).

Zhang et al., "Designing a Practical Degradation Model for Deep Blind Image Super-Resolution", ICCV 2021; the
code followed is cszn/BSRGAN ``utils/utils_blindsr.py`` (``degradation_bsrgan``). On an image in [0, 1]:

- at x4, with probability 0.25, first halve it (OpenCV resize with a random mode, or MATLAB bicubic, 1/2 each)
  and go on at x2;
- then seven operations in a random order, the second down-sampling kept after the first: two blurs (each an
  anisotropic Gaussian of size 7-25 with eigenvalues up to ``4 + sf``, or an isotropic one of sigma up to
  ``2 + 0.2 sf``, mirror padding), a first down-sampling (p 0.75: OpenCV resize by a factor in [1, 2 sf],
  else a shifted Gaussian blur and nearest down-sampling), the second down-sampling to the size before the
  first divided by ``sf``, Gaussian noise of 2-25 grey levels (colour p 0.4, gray p 0.4, channel-correlated
  p 0.2), JPEG (p 0.9, quality 30-95), and the camera ISP model, which the published training code leaves out
  (``isp_model=None``), as here;
- a final JPEG of quality 30-95.

Differences, all in how an operation is computed, none in what is drawn: OpenCV's resizes are computed as
PyTorch's ``F.interpolate`` with a size (`sr_keras.data.interpolate`; bilinear is the same, bicubic uses the same
a = -0.75 kernel and clamps border taps) and "area" as ``tf.image.resize(method="area")``; JPEG is libjpeg
through ``tf.image.adjust_jpeg_quality`` (OpenCV also uses libjpeg); the shifted kernel of the first
down-sampling is shifted by bilinear interpolation, as SciPy's ``interp2d`` does; eigenvalues and sigmas are
kept above 1e-3 (the original's scipy call fails on the rare singular draw).
"""
import math

import tensorflow as tf

from sr_keras.data import kernels as K
from sr_keras.data.degrade import imresize
from sr_keras.data.interpolate import interpolate

_MAX_BLUR = 25  # kernels of size 2 * randint(2, 11) + 3: 7 to 25
_EPS = 1e-3


def min_hr_crop(scale):
    """The smallest HR crop side: every intermediate image must stay above the 12-pixel mirror padding of the
    largest blur, and the first down-sampling may shrink by up to ``2 sf``."""
    return 26 * scale


def _uniform(seed, low=0.0, high=1.0, dtype=tf.float32):
    return tf.random.stateless_uniform([], seed, minval=low, maxval=high, dtype=dtype)


def _randint(seed, low, high):
    """Python's ``random.randint(low, high)``: inclusive of both ends."""
    return tf.random.stateless_uniform([], seed, minval=low, maxval=high + 1, dtype=tf.int32)


def _grid():
    axis = tf.range(-(_MAX_BLUR // 2), _MAX_BLUR // 2 + 1, dtype=tf.float64)
    y, x = tf.meshgrid(axis, axis, indexing="ij")
    return x, y


def _masked(values, size):
    x, y = _grid()
    half = tf.cast(size // 2, tf.float64)
    values = values * tf.cast((tf.abs(x) <= half) & (tf.abs(y) <= half), tf.float64)
    return values / tf.reduce_sum(values)


def _blur_kernel(seed, sf):
    """``add_blur``'s kernel: [25, 25] float32, zero outside its own size."""
    s = tf.random.experimental.stateless_split(seed, 6)
    sf = tf.cast(sf, tf.float64)
    wd2, wd = 4.0 + sf, 2.0 + 0.2 * sf
    size = 2 * _randint(s[0], 2, 11) + 3
    x, y = _grid()
    # Anisotropic: covariance V diag(l1, l2) V with V the reflection built from the angle (gm_blur_kernel).
    theta = _uniform(s[1], dtype=tf.float64) * math.pi
    l1 = tf.maximum(wd2 * _uniform(s[2], dtype=tf.float64), _EPS)
    l2 = tf.maximum(wd2 * _uniform(s[3], dtype=tf.float64), _EPS)
    c, n = tf.cos(theta), tf.sin(theta)
    # V = [[c, n], [n, -c]] is its own inverse; Sigma^-1 = V diag(1/l1, 1/l2) V.
    u = c * x + n * y
    w = n * x - c * y
    aniso = tf.exp(-0.5 * (u * u / l1 + w * w / l2))
    sigma = tf.maximum(wd * _uniform(s[4], dtype=tf.float64), _EPS)
    iso = tf.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    half = tf.cast(size // 2, tf.float64)
    inside = (tf.abs(x) <= half) & (tf.abs(y) <= half)
    largest = tf.reduce_max(tf.where(inside, iso, tf.zeros_like(iso)))
    iso = tf.where(iso < 2.220446049250313e-16 * largest, tf.zeros_like(iso), iso)  # fspecial's cut
    kernel = tf.cond(_uniform(s[5]) < 0.5, lambda: _masked(aniso, size), lambda: _masked(iso, size))
    return tf.cast(kernel, tf.float32)


def _blur(image, kernel):
    return K.filter2d(image[None], kernel[None])[0]


def _cv2_resize(image, height, width, mode):
    """OpenCV ``resize`` with mode 0 linear, 1 cubic, 2 area (``random.choice([1, 2, 3])``)."""
    batch = image[None]
    return tf.switch_case(mode, [
        lambda: interpolate(batch, "bilinear", size=[height, width])[0],
        lambda: interpolate(batch, "bicubic", size=[height, width])[0],
        lambda: tf.image.resize(batch, [height, width], method="area")[0],
    ])


def _shifted_gaussian(sigma, sf):
    """``shift_pixel(fspecial('gaussian', 25, sigma), sf)`` normalised: sampled at +(sf - 1) / 2 pixels in both
    axes by bilinear interpolation, coordinates clipped to the kernel."""
    axis = tf.range(_MAX_BLUR, dtype=tf.float64) - (_MAX_BLUR - 1) / 2.0
    gauss_1d = tf.exp(-(axis * axis) / (2.0 * sigma * sigma))
    shift = (tf.cast(sf, tf.float64) - 1.0) * 0.5
    positions = tf.clip_by_value(tf.range(_MAX_BLUR, dtype=tf.float64) + shift, 0.0, _MAX_BLUR - 1.0)
    low = tf.cast(tf.floor(positions), tf.int32)
    high = tf.minimum(low + 1, _MAX_BLUR - 1)
    frac = positions - tf.floor(positions)
    shifted = tf.gather(gauss_1d, low) * (1.0 - frac) + tf.gather(gauss_1d, high) * frac
    kernel = shifted[:, None] * shifted[None, :]  # the Gaussian and the bilinear shift are both separable
    return tf.cast(kernel / tf.reduce_sum(kernel), tf.float32)


def _gaussian_noise(image, seed):
    s = tf.random.experimental.stateless_split(seed, 6)
    level = tf.cast(_randint(s[0], 2, 25), tf.float32) / 255.0
    choice = _uniform(s[1])
    shape = tf.shape(image)
    color = tf.random.stateless_normal(shape, s[2]) * level
    gray = tf.random.stateless_normal(tf.concat([shape[:2], [1]], 0), s[3]) * level
    # Channel-correlated: cov = |L^2 U^T D U| with U an orthonormal basis of a random matrix, sampled as NumPy's
    # multivariate_normal does (SVD of the covariance).
    big = 25.0 / 255.0
    d = tf.linalg.diag(tf.random.stateless_uniform([3], s[4], dtype=tf.float64))
    _, u, _ = tf.linalg.svd(tf.random.stateless_uniform([3, 3], s[5], dtype=tf.float64))
    cov = tf.abs(big * big * tf.matmul(tf.matmul(u, d, transpose_a=True), u))
    sv, left, right = tf.linalg.svd(cov)
    del left
    transform = tf.cast(tf.sqrt(sv)[:, None] * tf.transpose(right), tf.float32)
    correlated = tf.tensordot(tf.random.stateless_normal(shape, s[2]), transform, axes=1)
    noise = tf.where(choice > 0.6, color, tf.where(choice < 0.4, gray + tf.zeros_like(color), correlated))
    return tf.clip_by_value(image + noise, 0.0, 1.0)


def _jpeg(image, seed):
    """libjpeg at a quality drawn from 30-95, on the image rounded to uint8 (BSRGAN's ``add_JPEG_noise``)."""
    quality = _randint(seed, 30, 95)
    image_u8 = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)
    return tf.cast(tf.image.adjust_jpeg_quality(image_u8, quality), tf.float32) / 255.0


def degrade_image(hr, scale, seed):
    """One HR crop degraded by ``degradation_bsrgan`` (without its final random crop).

    Args:
        hr: float [H, W, 3] in [0, 255], H and W multiples of `scale` and at least `min_hr_crop(scale)`.
        scale: 2, 3 or 4.
        seed: int [2] tensor.

    Returns:
        LR float32 [H / scale, W / scale, 3] on the uint8 grid, in [0, 255].
    """
    hr = tf.cast(hr, tf.float32)
    height, width = tf.shape(hr)[0], tf.shape(hr)[1]
    s = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 16)
    image = hr / 255.0
    sf = tf.constant(scale, tf.int32)
    if scale == 4:
        def halve():
            h2, w2 = tf.shape(image)[0] // 2, tf.shape(image)[1] // 2
            cv2 = _cv2_resize(image, h2, w2, _randint(s[2], 0, 2))
            matlab = imresize(image, output_size=(h2, w2))
            return tf.clip_by_value(tf.cond(_uniform(s[3]) < 0.5, lambda: cv2, lambda: matlab), 0.0, 1.0)

        halved = _uniform(s[1]) < 0.25
        image = tf.cond(halved, halve, lambda: image)
        sf = tf.where(halved, 2, 4)
    # Random order of the 7 operations with operation 2 (first down-sampling) before 3 (second).
    order = tf.argsort(tf.random.stateless_uniform([7], s[4]))
    pos2 = tf.argmax(tf.cast(tf.equal(order, 2), tf.int32))
    pos3 = tf.argmax(tf.cast(tf.equal(order, 3), tf.int32))
    swap = pos2 > pos3
    order = tf.where(swap & tf.equal(order, 2), 3, tf.where(swap & tf.equal(order, 3), 2, order))
    op_seeds = tf.random.experimental.stateless_split(s[5], 7)
    before = tf.shape(image)[:2]
    for position in range(7):
        op_seed = op_seeds[position]
        o = tf.random.experimental.stateless_split(op_seed, 4)
        current = image

        def blur(current=current, o=o):
            return _blur(current, _blur_kernel(o[0], sf))

        def down1(current=current, o=o):
            factor = 1.0 + _uniform(o[0]) * (2.0 * tf.cast(sf, tf.float32) - 1.0)
            h, w = tf.shape(current)[0], tf.shape(current)[1]
            size_h = tf.cast(tf.cast(h, tf.float32) / factor, tf.int32)
            size_w = tf.cast(tf.cast(w, tf.float32) / factor, tf.int32)

            def resized():
                return _cv2_resize(current, size_h, size_w, _randint(o[2], 0, 2))

            def shifted():
                sigma = tf.cast(_uniform(o[3], 0.1, 0.6) * tf.cast(sf, tf.float32), tf.float64)
                blurred = _blur(current, _shifted_gaussian(sigma, sf))
                return blurred[::sf, ::sf]

            return tf.clip_by_value(tf.cond(_uniform(o[1]) < 0.75, resized, shifted), 0.0, 1.0)

        def down2(current=current, o=o):
            return tf.clip_by_value(_cv2_resize(current, before[0] // sf, before[1] // sf, _randint(o[0], 0, 2)),
                                    0.0, 1.0)

        def noise(current=current, o=o):
            return _gaussian_noise(current, o[0])

        def jpeg(current=current, o=o):
            return tf.cond(_uniform(o[1]) < 0.9, lambda: _jpeg(current, o[0]), lambda: current)

        def isp(current=current):
            return current

        op = order[position]
        # The size before the first down-sampling is what the second one divides (its `a, b`).
        before = tf.where(tf.equal(op, 2), tf.shape(current)[:2], before)
        image = tf.switch_case(op, [blur, blur, down1, down2, noise, jpeg, isp])
        image.set_shape([None, None, 3])
    image = _jpeg(image, s[6])
    lr = tf.clip_by_value(tf.round(image * 255.0), 0.0, 255.0)
    lr = tf.ensure_shape(lr, [None, None, 3])
    tf.debugging.assert_equal(tf.shape(lr)[:2], tf.stack([height // scale, width // scale]),
                              message="bsrgan: the LR size is not the HR size / scale")
    return lr
