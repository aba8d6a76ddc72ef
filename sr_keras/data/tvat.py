"""TVAT texture measure (MMSR, section 3.2.2) in TensorFlow ops.

MMSR sorts training images into texture classes by their "total variation above threshold" (TVAT): every
pixel ``i`` gets a variation score ``VSP_i``, the sum over its 8 neighbours ``j`` of the squared Euclidean
distance ``||RGB_i - RGB_j||^2``; TVAT adds up the scores that exceed a threshold and divides by the number of
pixels, ``TVAT = sum_i VSP_i [VSP_i > threshold] / (rows * cols)``. The paper then splits the data at
TVAT = 2 and TVAT = 4 into smooth, medium and highly textured classes.

Border pixels only count the neighbours that exist (5 at an edge, 3 at a corner): nothing is padded, so an
image border adds no artificial variation and a constant image scores exactly 0.

Pixel scale. The paper gives neither the pixel scale nor the threshold, and both matter: VSP, the threshold
and TVAT all grow with the square of the pixel scale. Inputs are first divided by ``pixel_range`` (so uint8-like
data in [0, 255] and data in [0, 1] are treated alike) and then multiplied by ``pixel_scale``; the default
``pixel_scale = 8`` means TVAT is measured on pixels in [0, 8] (equivalently, 64 times the TVAT of [0, 1]
pixels). The [0, 1] scale was tried first and rejected: there, no scikit-image photo reaches TVAT 0.6
(``skimage.data.page()`` 0.46, ``grass()`` 0.37, ``astronaut()`` 0.11, ``chelsea()`` 0.039, every
Gaussian-blurred photo (sigma 2) below 0.021), and uniform white noise scores about 4, so the boundaries 2 and 4
would only separate noise from photos. In the [0, 255] scale every photo would land far above 4.

Threshold. ``DEFAULT_THRESHOLD = 4.0`` in the [0, 8] scale: a pixel counts as textured when its RGB root-mean-
square difference to its neighbours exceeds ``sqrt(4 / 24) / 8 * 255 ~= 13`` grey levels, well above sensor or
JPEG noise (Gaussian noise of sigma 3 grey levels gives a VSP of about 0.4), so flat and gently shaded areas
add nothing. With these defaults, on the 465 non-overlapping 64x64 tiles of the colour photos astronaut,
chelsea, coffee, rocket, hubble_deep_field and immunohistochemistry the terciles of TVAT are 2.38 and 4.08, i.e.
the paper's boundaries split ordinary photo content into roughly equal thirds (threshold 2.0 gives 2.69 / 4.47,
threshold 6.4 gives 1.97 / 3.79). Whole images (grey ones replicated to RGB):

==========================  ======  =====
image (``skimage.data``)    TVAT    class
==========================  ======  =====
any of these, blurred       < 0.8   0
colorwheel, retina, moon    < 0.25  0
chelsea                     1.73    0
brick                       2.84    1
immunohistochemistry        2.97    1
hubble_deep_field           3.61    1
rocket                      4.59    2
coffee                      6.04    2
astronaut                   6.60    2
gravel                      12.18   2
grass                       23.49   2
==========================  ======  =====

The measurements come from ``tvat`` itself on the full images; blurring was ``skimage.filters.gaussian``
with ``sigma=2`` per channel. When another data set calls for other boundaries, :func:`calibrate_tvat`
returns its quantiles.

Reference: MMSR, section 3.2.2 (texture classes by TVAT), as described in seed 001 of this project.
"""
import numbers

import numpy as np
import tensorflow as tf

__all__ = ["DEFAULT_THRESHOLD", "DEFAULT_PIXEL_SCALE", "DEFAULT_BOUNDARIES", "vsp", "tvat", "tvat_class",
           "calibrate_tvat"]

DEFAULT_PIXEL_SCALE = 8.0
DEFAULT_THRESHOLD = 4.0
DEFAULT_BOUNDARIES = (2.0, 4.0)


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return float(value)


def _check_threshold(threshold):
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
        raise ValueError(f"`threshold` must be a finite number, got {threshold!r}")
    if threshold < 0:
        raise ValueError(f"`threshold` must be non-negative, got {threshold}")
    return float(threshold)


def _prepare(images, pixel_range, pixel_scale, name):
    """Validates ``images`` and returns them as a float batch in the working pixel scale, plus a rank flag."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank not in (3, 4):
        raise ValueError(f"{name} expects an RGB image [H, W, 3] or a batch [B, H, W, 3], got shape {images.shape}")
    channels = images.shape[-1]
    if channels is not None and channels != 3:
        raise ValueError(f"{name} expects 3 (RGB) channels, got {channels} in shape {images.shape}")
    if not (images.dtype.is_floating or images.dtype.is_integer):
        raise ValueError(f"{name} expects real-valued images, got dtype {images.dtype.name}")
    pixel_range = _check_positive(pixel_range, "pixel_range")
    pixel_scale = _check_positive(pixel_scale, "pixel_scale")
    dtype = tf.float64 if images.dtype == tf.float64 else tf.float32
    single = images.shape.rank == 3
    batch = tf.cast(images[None] if single else images, dtype)
    if channels is None:
        tf.debugging.assert_equal(tf.shape(batch)[-1], 3, message=f"{name} expects 3 (RGB) channels")
    return batch * tf.cast(pixel_scale / pixel_range, dtype), single


def _vsp_batch(x):
    """VSP of a float ``[B, H, W, 3]`` batch already in the working scale; returns ``[B, H, W]``.

    Each of the 4 neighbour directions (right, down, down-right, down-left) gives one squared distance per
    pixel pair, which is added to both pixels of the pair; zero padding puts each distance in place and leaves
    missing neighbours out of the sum.
    """

    def pair_distance(a, b):
        return tf.reduce_sum(tf.square(a - b), axis=-1)

    def place(distance, rows, cols):
        return tf.pad(distance, [[0, 0], rows, cols])

    horizontal = pair_distance(x[:, :, 1:], x[:, :, :-1])          # pixel (i, j) with (i, j + 1)
    vertical = pair_distance(x[:, 1:, :], x[:, :-1, :])            # pixel (i, j) with (i + 1, j)
    diagonal = pair_distance(x[:, 1:, 1:], x[:, :-1, :-1])         # pixel (i, j) with (i + 1, j + 1)
    anti_diagonal = pair_distance(x[:, 1:, :-1], x[:, :-1, 1:])    # pixel (i, j + 1) with (i + 1, j)
    return (place(horizontal, [0, 0], [0, 1]) + place(horizontal, [0, 0], [1, 0])
            + place(vertical, [0, 1], [0, 0]) + place(vertical, [1, 0], [0, 0])
            + place(diagonal, [0, 1], [0, 1]) + place(diagonal, [1, 0], [1, 0])
            + place(anti_diagonal, [0, 1], [1, 0]) + place(anti_diagonal, [1, 0], [0, 1]))


def vsp(images, pixel_range=255.0, pixel_scale=DEFAULT_PIXEL_SCALE):
    """Variation score per pixel (MMSR section 3.2.2): summed squared RGB distance to the 8 neighbours.

    ``VSP_i = sum_{j in N8(i)} ||RGB_i - RGB_j||^2``, where only neighbours inside the image count (no
    padding values enter the sum). Pixels are mapped from ``[0, pixel_range]`` to ``[0, pixel_scale]`` first;
    see the module docstring for the choice of scale.

    Args:
        images: ``[H, W, 3]`` or ``[B, H, W, 3]`` RGB image(s) with values in ``[0, pixel_range]``.
        pixel_range: the value of a full-intensity pixel in ``images`` (255 for uint8-style data, 1 for [0, 1]).
        pixel_scale: the working scale; pixels are measured in ``[0, pixel_scale]``.

    Returns:
        float32 (float64 for float64 input) ``[H, W]`` or ``[B, H, W]`` scores.

    Raises:
        ValueError: for a rank other than 3 or 4, a channel count other than 3 or a non-positive scale.
    """
    batch, single = _prepare(images, pixel_range, pixel_scale, "vsp")
    scores = _vsp_batch(batch)
    return scores[0] if single else scores


def tvat(images, threshold=DEFAULT_THRESHOLD, pixel_range=255.0, pixel_scale=DEFAULT_PIXEL_SCALE):
    """Total variation above threshold (MMSR section 3.2.2): ``sum_i VSP_i [VSP_i > threshold] / (rows*cols)``.

    Args:
        images: ``[H, W, 3]`` or ``[B, H, W, 3]`` RGB image(s) with values in ``[0, pixel_range]``.
        threshold: non-negative VSP threshold in the working scale (``DEFAULT_THRESHOLD``; module docstring).
        pixel_range: the value of a full-intensity pixel in ``images``.
        pixel_scale: the working scale; pixels are measured in ``[0, pixel_scale]``.

    Returns:
        A float scalar for one image, or a ``[B]`` vector for a batch.

    Raises:
        ValueError: for a wrong rank, a channel count other than 3, a negative threshold or a non-positive scale.
    """
    threshold = _check_threshold(threshold)
    batch, single = _prepare(images, pixel_range, pixel_scale, "tvat")
    scores = _vsp_batch(batch)
    kept = tf.where(scores > tf.cast(threshold, scores.dtype), scores, tf.zeros_like(scores))
    values = tf.reduce_mean(kept, axis=[1, 2])
    return values[0] if single else values


def _check_boundaries(boundaries):
    try:
        values = [float(b) for b in boundaries]
    except (TypeError, ValueError):
        raise ValueError(f"`boundaries` must be a sequence of numbers, got {boundaries!r}") from None
    if not values:
        raise ValueError("`boundaries` must hold at least one value")
    if not all(np.isfinite(values)):
        raise ValueError(f"`boundaries` must be finite, got {boundaries!r}")
    if any(lo > hi for lo, hi in zip(values, values[1:])):
        raise ValueError(f"`boundaries` must be sorted in ascending order, got {boundaries!r}")
    return values


def tvat_class(images, boundaries=DEFAULT_BOUNDARIES, threshold=DEFAULT_THRESHOLD, pixel_range=255.0,
               pixel_scale=DEFAULT_PIXEL_SCALE):
    """Texture class of each image from its TVAT (MMSR section 3.2.2: classes split at TVAT 2 and 4).

    Class ``k`` holds the images with ``boundaries[k-1] <= TVAT < boundaries[k]`` (class 0 below the first
    boundary, the last class at or above the last one), for any number of sorted boundaries.

    Args:
        images: ``[H, W, 3]`` or ``[B, H, W, 3]`` RGB image(s) with values in ``[0, pixel_range]``.
        boundaries: ascending TVAT boundaries; the paper's ``(2.0, 4.0)`` by default.
        threshold: non-negative VSP threshold in the working scale.
        pixel_range: the value of a full-intensity pixel in ``images``.
        pixel_scale: the working scale; pixels are measured in ``[0, pixel_scale]``.

    Returns:
        int32 scalar for one image, or ``[B]`` for a batch, in ``[0, len(boundaries)]``.

    Raises:
        ValueError: for unsorted or empty boundaries, and for the errors of :func:`tvat`.
    """
    bounds = _check_boundaries(boundaries)
    values = tvat(images, threshold=threshold, pixel_range=pixel_range, pixel_scale=pixel_scale)
    bounds = tf.constant(bounds, values.dtype)
    at_or_above = tf.cast(values[..., None] >= bounds, tf.int32)
    return tf.reduce_sum(at_or_above, axis=-1)


def calibrate_tvat(dataset, num_classes=3, threshold=DEFAULT_THRESHOLD, max_images=None, pixel_range=255.0,
                   pixel_scale=DEFAULT_PIXEL_SCALE):
    """TVAT class boundaries that split a data set into ``num_classes`` equally large parts.

    The paper's fixed boundaries (MMSR section 3.2.2) depend on the data; this computes data-driven ones.
    The TVAT values are sorted and boundary ``k`` is placed halfway between the values of rank
    ``round(k * n / num_classes) - 1`` and ``round(k * n / num_classes)``, so that :func:`tvat_class` with the
    result puts part sizes that differ by at most one into the classes (ties in TVAT aside).

    Args:
        dataset: a ``tf.data.Dataset`` or any iterable whose elements are RGB images ``[H, W, 3]`` or batches
            ``[B, H, W, 3]`` (tensors or arrays, values in ``[0, pixel_range]``; sizes may differ).
        num_classes: number of classes, at least 2.
        threshold: non-negative VSP threshold in the working scale.
        max_images: use at most this many images (counting the images inside batches); None uses all.
        pixel_range: the value of a full-intensity pixel in the images.
        pixel_scale: the working scale; pixels are measured in ``[0, pixel_scale]``.

    Returns:
        A tuple of ``num_classes - 1`` ascending python floats.

    Raises:
        ValueError: for ``num_classes < 2``, a ``max_images`` below 1, fewer images than classes, or an
            element that is not an RGB image or batch.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2, got {num_classes!r}")
    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, numbers.Integral)
                                   or max_images < 1):
        raise ValueError(f"`max_images` must be a positive integer or None, got {max_images!r}")
    _check_threshold(threshold)

    values = []
    for element in dataset:
        if max_images is not None and len(values) >= max_images:
            break
        scores = np.atleast_1d(np.asarray(
            tvat(element, threshold=threshold, pixel_range=pixel_range, pixel_scale=pixel_scale), np.float64))
        values.extend(scores.tolist())
    if max_images is not None:
        values = values[:max_images]
    if len(values) < num_classes:
        raise ValueError(f"calibrate_tvat needs at least num_classes={num_classes} images, got {len(values)}")

    ordered = np.sort(np.asarray(values, np.float64))
    count = len(ordered)
    bounds = []
    for k in range(1, num_classes):
        rank = int(np.floor(k * count / num_classes + 0.5))
        rank = min(max(rank, 1), count - 1)
        bounds.append(float(0.5 * (ordered[rank - 1] + ordered[rank])))
    return tuple(bounds)
