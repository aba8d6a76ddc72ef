"""PyTorch's ``F.interpolate`` for batches, as TF ops: modes "area", "bilinear" and "bicubic".

Real-ESRGAN resizes with ``torch.nn.functional.interpolate`` (``align_corners=False``, no antialiasing), and its
degradations are defined by what that function does, which no TensorFlow resize reproduces:
``tf.image.resize`` maps coordinates with the size ratio where PyTorch, given a ``scale_factor``, uses the factor
itself; TensorFlow's bicubic is Keys' a = -0.5 where PyTorch uses a = -0.75 with clamped border taps; and
PyTorch's "area" is an adaptive average pool (bins ``floor(i * in / out)`` to ``ceil((i + 1) * in / out)``),
not TensorFlow's fractional box filter. Here each axis gets an ``[out, in]`` weight matrix built from PyTorch's
formulas (ATen ``UpSample.h``: ``area_pixel_compute_source_index``, ``upsample_get_value_bounded``,
``cubic_convolution1/2``; ``AdaptiveAveragePooling.cpp``), applied with two matrix products, so sizes and
factors can be tensors drawn inside a ``tf.data`` graph.
"""
import tensorflow as tf

MODES = ("area", "bilinear", "bicubic")
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic coefficient


def _source_coordinates(in_length, out_length, scale_factor):
    """float64 [out] source coordinates (align_corners=False): ``(dst + 0.5) * r - 0.5``, with ``r = 1 / factor``
    when a factor is given (PyTorch keeps it) and ``in / out`` otherwise."""
    if scale_factor is None:
        ratio = tf.cast(in_length, tf.float64) / tf.cast(out_length, tf.float64)
    else:
        ratio = 1.0 / tf.cast(scale_factor, tf.float64)
    return (tf.cast(tf.range(out_length), tf.float64) + 0.5) * ratio - 0.5


def _bilinear_matrix(in_length, out_length, scale_factor):
    source = tf.maximum(_source_coordinates(in_length, out_length, scale_factor), 0.0)  # PyTorch clamps at 0
    low = tf.cast(tf.floor(source), tf.int32)
    low = tf.minimum(low, in_length - 1)
    lam = source - tf.cast(low, tf.float64)
    high = tf.where(low < in_length - 1, low + 1, low)
    return ((1.0 - lam)[:, None] * tf.one_hot(low, in_length, dtype=tf.float64)
            + lam[:, None] * tf.one_hot(high, in_length, dtype=tf.float64))


def _cubic_weights(t):
    """PyTorch's four bicubic tap weights for fractional offsets t (a = -0.75)."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a

    return far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)


def _bicubic_matrix(in_length, out_length, scale_factor):
    source = _source_coordinates(in_length, out_length, scale_factor)
    base = tf.floor(source)
    t = source - base
    base = tf.cast(base, tf.int32)
    matrix = tf.zeros([out_length, in_length], tf.float64)
    for offset, weight in zip((-1, 0, 1, 2), _cubic_weights(t)):
        index = tf.clip_by_value(base + offset, 0, in_length - 1)  # border taps repeat the edge pixel
        matrix += weight[:, None] * tf.one_hot(index, in_length, dtype=tf.float64)
    return matrix


def _area_matrix(in_length, out_length):
    """Adaptive average pooling: output i averages inputs floor(i * in / out) .. ceil((i + 1) * in / out) - 1."""
    i = tf.cast(tf.range(out_length), tf.float64)
    n_in, n_out = tf.cast(in_length, tf.float64), tf.cast(out_length, tf.float64)
    start = tf.floor(i * n_in / n_out)
    end = tf.math.ceil((i + 1.0) * n_in / n_out)
    j = tf.cast(tf.range(in_length), tf.float64)
    inside = tf.cast((j[None, :] >= start[:, None]) & (j[None, :] < end[:, None]), tf.float64)
    return inside / (end - start)[:, None]


def resize_matrix(in_length, out_length, mode, scale_factor=None):
    """The float64 ``[out, in]`` matrix of one axis of ``F.interpolate``.

    Args:
        in_length, out_length: int scalars (python or tensors).
        mode: "area", "bilinear", "bicubic", or an int32 tensor indexing `MODES`.
        scale_factor: the factor given to ``F.interpolate`` (float or tensor), or None when a size was given.
    """
    in_length = tf.cast(in_length, tf.int32)
    out_length = tf.cast(out_length, tf.int32)
    builders = (lambda: _area_matrix(in_length, out_length),
                lambda: _bilinear_matrix(in_length, out_length, scale_factor),
                lambda: _bicubic_matrix(in_length, out_length, scale_factor))
    if isinstance(mode, str):
        if mode not in MODES:
            raise ValueError(f"interpolation mode must be one of {', '.join(MODES)}, got {mode!r}")
        return builders[MODES.index(mode)]()
    return tf.switch_case(tf.cast(mode, tf.int32), builders)


def interpolate(images, mode, size=None, scale_factor=None):
    """``F.interpolate(images, size or scale_factor, mode, align_corners=False)`` on [B, H, W, C] images.

    Args:
        images: float [B, H, W, C].
        mode: "area", "bilinear", "bicubic" or an int32 tensor indexing `MODES` (drawn in a graph).
        size: (height, width) of the output (ints or int tensors), or None.
        scale_factor: one factor for both axes (float or tensor): the output is ``floor(in * factor)`` and,
            as PyTorch does, bilinear and bicubic map coordinates with the factor itself.

    Returns:
        [B, out_h, out_w, C] in the images' dtype (computed through float64 weights cast to it).
    """
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate needs exactly one of size and scale_factor")
    images = tf.convert_to_tensor(images)
    shape = tf.shape(images)
    in_h, in_w = shape[1], shape[2]
    if size is not None:
        out_h, out_w = (tf.cast(v, tf.int32) for v in size)
        factor = None
    else:
        factor = tf.cast(scale_factor, tf.float64)
        out_h = tf.cast(tf.floor(tf.cast(in_h, tf.float64) * factor), tf.int32)
        out_w = tf.cast(tf.floor(tf.cast(in_w, tf.float64) * factor), tf.int32)
    rows = tf.cast(resize_matrix(in_h, out_h, mode, factor), images.dtype)
    cols = tf.cast(resize_matrix(in_w, out_w, mode, factor), images.dtype)
    out = tf.einsum("oh,bhwc->bowc", rows, images)
    return tf.einsum("pw,bowc->bopc", cols, out)
