"""MATLAB-compatible bicubic degradation written with TensorFlow ops only.

Super-resolution benchmarks (Set5, Set14, B100, Urban100, DIV2K "bicubic" tracks) build their low-resolution
inputs with MATLAB's ``imresize(hr, 1/scale, 'bicubic')``, which antialiases when down-scaling.
``tf.image.resize(..., method='bicubic', antialias=True)`` uses the same Keys kernel but differs in two ways:
it maps coordinates with the ratio out/in instead of the requested scale (so an image whose size is not a
multiple of the factor is resampled at shifted positions everywhere), and at the borders it renormalises the
kernel over the taps inside the image instead of MATLAB's symmetric extension (on ``skimage.data.astronaut()``
down-scaled by 4 the border pixels differ by up to 12 grey levels, the interior agrees). Models evaluated on
LR images made one way and trained on the other lose PSNR for nothing. This module reproduces MATLAB's
algorithm, as also ported to Python by BasicSR (``basicsr/utils/matlab_functions.py``, Wang et al.,
https://github.com/XPixelGroup/BasicSR), so that the LR images can be generated inside ``tf.data`` (and on a
GPU) with dynamic image sizes.

References:
    R. Keys, "Cubic convolution interpolation for digital image processing", IEEE Trans. ASSP 29(6), 1981.
    MathWorks, ``imresize`` (Image Processing Toolbox), functions ``contributions`` and ``cubic``.
    B. Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017 (the
    benchmark protocol: modcrop, then MATLAB bicubic down-scaling).
"""
import math
import numbers

import tensorflow as tf

from sr_keras import checks

__all__ = ["imresize", "modcrop", "bicubic_degrade", "quantize_uint8"]

# Support of the Keys cubic kernel (it is non-zero on (-2, 2)).
_KERNEL_WIDTH = 4.0


def _cubic(x):
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``; Keys 1981, eq. 15).

    Args:
        x: floating tensor of distances.

    Returns:
        The kernel value at every element of ``x``: 1.5|x|^3 - 2.5|x|^2 + 1 for |x| <= 1,
        -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 for 1 < |x| <= 2 and 0 elsewhere.
    """
    absx = tf.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    inner = 1.5 * absx3 - 2.5 * absx2 + 1.0
    outer = -0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0
    zero = tf.zeros_like(x)
    return tf.where(absx <= 1.0, inner, tf.where(absx <= 2.0, outer, zero))


def _as_float64(value):
    """float64 scalar tensor; python numbers are converted directly (``tf.cast`` would round them to float32)."""
    if isinstance(value, tf.Tensor):
        return tf.cast(value, tf.float64)
    return tf.constant(float(value), tf.float64)


def _contributions(in_length, out_length, scale):
    """Tap indices and weights of a 1-D antialiased bicubic resize (MATLAB ``imresize>contributions``).

    Everything is computed with TensorFlow ops in float64 (MATLAB computes in double), so the lengths and the
    scale may be dynamic tensors.

    Args:
        in_length: input length along the axis (python int or int scalar tensor).
        out_length: output length along the axis (python int or int scalar tensor).
        scale: scale factor out/in used for the kernel (python float or float scalar tensor).

    Returns:
        ``(indices, weights)``: int32 ``[out_length, P]`` zero-based input indices, already folded into
        ``[0, in_length)`` by symmetric reflection, and float64 ``[out_length, P]`` weights whose rows sum to 1.
    """
    in_length = tf.cast(in_length, tf.int32)
    out_length = tf.cast(out_length, tf.int32)
    scale = _as_float64(scale)
    downscaling = scale < 1.0
    # Antialiasing: when shrinking, stretch the kernel by 1/scale (and scale its height by `scale`).
    kernel_width = tf.where(downscaling, _KERNEL_WIDTH / scale, tf.constant(_KERNEL_WIDTH, tf.float64))

    # Output pixel x (1-based) maps to input coordinate u (1-based), pixel centres aligned.
    x = tf.cast(tf.range(1, out_length + 1), tf.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = tf.floor(u - kernel_width / 2.0)
    num_taps = tf.cast(tf.math.ceil(kernel_width), tf.int32) + 2
    indices = left[:, None] + tf.cast(tf.range(num_taps), tf.float64)[None, :]
    distance = u[:, None] - indices
    weights = tf.where(downscaling, scale * _cubic(scale * distance), _cubic(distance))
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)

    # MATLAB drops tap columns that are zero for every output position; with P = ceil(width) + 2 taps that is
    # the first and/or the last one. The dropped taps contribute nothing, dropping them just saves work (and
    # keeps 0 * inf from turning an infinite border pixel into NaN, as in MATLAB).
    nonzero_columns = tf.reduce_any(tf.not_equal(weights, 0.0), axis=0)
    start = tf.where(nonzero_columns[0], 0, 1)
    stop = tf.where(nonzero_columns[-1], num_taps, num_taps - 1)
    weights = weights[:, start:stop]
    indices = indices[:, start:stop]

    # Symmetric ('symmetric' padarray) border: 1-based index 0 -> 1, -1 -> 2, in+1 -> in, in+2 -> in-1 ...
    # Folding modulo 2*in also covers kernels wider than the image.
    zero_based = tf.cast(indices, tf.int32) - 1
    period = 2 * in_length
    folded = tf.math.floormod(zero_based, period)
    folded = tf.where(folded < in_length, folded, period - 1 - folded)
    return folded, weights


def _resize_axis(images, out_length, scale, axis, dtype):
    """Resizes a ``[B, H, W, C]`` tensor along ``axis`` (1 or 2) with MATLAB's bicubic contributions.

    The taps are accumulated one at a time (gather + multiply-add), which keeps memory at the size of the
    output and avoids matrix multiplications, whose TF32 mode on recent GPUs would cost precision.

    Args:
        images: ``[B, H, W, C]`` tensor of ``dtype``.
        out_length: output length along ``axis``.
        scale: scale factor along ``axis`` (out/in, or the user's scale).
        axis: 1 (height) or 2 (width).
        dtype: compute dtype (float32 or float64).

    Returns:
        The resized tensor.
    """
    in_length = tf.shape(images)[axis]
    indices, weights = _contributions(in_length, out_length, scale)
    weights = tf.cast(weights, dtype)
    weight_shape = [1, -1, 1, 1] if axis == 1 else [1, 1, -1, 1]
    num_taps = tf.shape(weights)[1]

    out_shape = tf.tensor_scatter_nd_update(tf.shape(images), [[axis]], [tf.cast(out_length, tf.int32)])
    accumulator = tf.zeros(out_shape, dtype)

    def body(tap, total):
        gathered = tf.gather(images, indices[:, tap], axis=axis)
        return tap + 1, total + gathered * tf.reshape(weights[:, tap], weight_shape)

    _, result = tf.while_loop(lambda tap, total: tap < num_taps, body, (tf.constant(0), accumulator))
    return result


def _static_int(value):
    """Returns ``value`` as a python int when it is statically known, else None."""
    if isinstance(value, tf.Tensor):
        static = tf.get_static_value(value)
        return None if static is None else int(static)
    return int(value)


def _compute_dtype(images):
    """float64 stays float64; every other dtype (uint8, ints, float16, bfloat16, float32) computes in float32."""
    return tf.float64 if images.dtype == tf.float64 else tf.float32


def _resize(images, out_h, out_w, scale_h, scale_w):
    """Shared body of :func:`imresize`: separable resize of a rank-3 or rank-4 tensor.

    Args:
        images: rank-3 or rank-4 tensor, already validated.
        out_h, out_w: output sizes (python ints or int scalar tensors).
        scale_h, scale_w: per-axis scales (python floats or float64 scalar tensors).

    Returns:
        The resized tensor in the compute dtype, rank as the input.
    """
    dtype = _compute_dtype(images)
    images = tf.cast(images, dtype)
    single = images.shape.rank == 3
    batch = images[None] if single else images

    static_scales = not isinstance(scale_h, tf.Tensor) and not isinstance(scale_w, tf.Tensor)
    in_h, in_w = batch.shape[1], batch.shape[2]

    def skip(scale, in_len, out_len):
        # A unit scale with an unchanged size gives identity weights: skip the work (exactly the same result).
        return (not isinstance(scale, tf.Tensor) and scale == 1.0 and in_len is not None
                and _static_int(out_len) == in_len)

    def along_h(x):
        return x if skip(scale_h, in_h, out_h) else _resize_axis(x, out_h, scale_h, 1, dtype)

    def along_w(x):
        return x if skip(scale_w, in_w, out_w) else _resize_axis(x, out_w, scale_w, 2, dtype)

    # MATLAB order: the dimension with the smaller scale factor is resized first (a stable sort, so height
    # first on ties). Shrinking first makes the second pass cheaper.
    if static_scales:
        result = along_w(along_h(batch)) if scale_h <= scale_w else along_h(along_w(batch))
    else:
        result = tf.cond(_as_float64(scale_h) <= _as_float64(scale_w),
                         lambda: along_w(along_h(batch)), lambda: along_h(along_w(batch)))
    result.set_shape([batch.shape[0], _static_int(out_h), _static_int(out_w), batch.shape[3]])
    return result[0] if single else result


def _check_rank(images, name):
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"{name} expects a single image [H, W, C] or a batch [B, H, W, C] with a known rank, "
            f"got shape {images.shape}")
    height, width = images.shape[-3], images.shape[-2]
    if (height is not None and height < 1) or (width is not None and width < 1):
        raise ValueError(f"{name} got an empty image of shape {images.shape}")


def imresize(images, scale=None, output_size=None):
    """MATLAB-compatible ``imresize(images, scale, 'bicubic')`` with antialiasing, in TensorFlow ops.

    Reproduces MATLAB's Image Processing Toolbox ``imresize`` (bicubic, ``'Antialiasing', true``) as ported by
    BasicSR (``basicsr/utils/matlab_functions.py``): Keys cubic kernel with a = -0.5 (Keys, IEEE TASSP 1981);
    when down-scaling by ``s < 1`` the kernel is stretched to width ``4 / s`` and weighted ``s * cubic(s * d)``;
    output pixel ``x`` (1-based) samples input coordinate ``u = x / s + 0.5 * (1 - 1 / s)`` with
    ``ceil(width) + 2`` taps starting at ``floor(u - width / 2)``; rows are normalised to sum to 1, all-zero
    first/last tap columns are dropped and borders are extended by symmetric reflection (the edge pixel is
    repeated). The resize is separable and, as in MATLAB, the dimension with the smaller scale factor is
    processed first (height first when the factors are equal). Weights are computed in float64 from
    ``tf.shape``, so this works inside ``tf.data.Dataset.map`` on images of varying size and on a GPU.

    Args:
        images: ``[H, W, C]`` or ``[B, H, W, C]`` tensor or array, any real dtype (uint8 is cast, not rescaled).
        scale: positive float factor applied to both axes; the output size is ``ceil(in * scale)``.
        output_size: ``(height, width)`` of the output, each >= 1; the per-axis scales are then
            ``out / in`` as in MATLAB. Exactly one of ``scale`` and ``output_size`` must be given.

    Returns:
        float32 tensor (float64 if the input is float64) of the resized images, same rank as ``images``.
        Values are neither clipped nor rounded. A unit scale (or an output size equal to the input size)
        returns the input cast to the output dtype.

    Raises:
        ValueError: for a rank other than 3 or 4, an empty image, a non-positive or non-finite scale, both or
            neither of ``scale`` and ``output_size``, or an output size below 1.
    """
    images = tf.convert_to_tensor(images)
    _check_rank(images, "imresize")
    if images.dtype.is_complex or images.dtype == tf.bool or images.dtype == tf.string:
        raise ValueError(f"imresize expects real-valued images, got dtype {images.dtype.name}")
    if (scale is None) == (output_size is None):
        raise ValueError("imresize needs exactly one of `scale` and `output_size`, "
                         f"got scale={scale!r} and output_size={output_size!r}")

    shape = tf.shape(images)
    in_h = images.shape[-3] if images.shape[-3] is not None else shape[-3]
    in_w = images.shape[-2] if images.shape[-2] is not None else shape[-2]

    if scale is not None:
        if isinstance(scale, tf.Tensor) or not isinstance(scale, numbers.Real):
            raise ValueError(f"imresize `scale` must be a python number, got {scale!r}")
        scale = float(scale)
        if not math.isfinite(scale) or scale <= 0.0:
            raise ValueError(f"imresize `scale` must be a positive finite number, got {scale}")
        if scale == 1.0:
            return tf.cast(images, _compute_dtype(images))

        def out_len(in_len):
            # MATLAB: ceil(scale * in) in double precision.
            if isinstance(in_len, int):
                return int(math.ceil(in_len * scale))
            return tf.cast(tf.math.ceil(tf.cast(in_len, tf.float64) * scale), tf.int32)

        return _resize(images, out_len(in_h), out_len(in_w), scale, scale)

    try:
        out_h, out_w = output_size
    except (TypeError, ValueError):
        raise ValueError(f"imresize `output_size` must be a pair (height, width), got {output_size!r}") from None
    sizes = []
    for value in (out_h, out_w):
        if isinstance(value, tf.Tensor):
            static = tf.get_static_value(value)
            if static is None:
                value = tf.cast(value, tf.int32)
                sizes.append(value)
                continue
            value = static
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"imresize `output_size` must hold integers, got {output_size!r}")
        value = int(value)
        if value < 1:
            raise ValueError(f"imresize `output_size` must be at least 1 in each dimension, got {output_size!r}")
        sizes.append(value)
    out_h, out_w = sizes

    def axis_scale(out_len, in_len):
        if isinstance(out_len, int) and isinstance(in_len, int):
            return out_len / in_len
        return tf.cast(out_len, tf.float64) / tf.cast(in_len, tf.float64)

    if all(isinstance(v, int) for v in (out_h, out_w, in_h, in_w)) and (out_h, out_w) == (in_h, in_w):
        return tf.cast(images, _compute_dtype(images))
    return _resize(images, out_h, out_w, axis_scale(out_h, in_h), axis_scale(out_w, in_w))


def modcrop(images, scale):
    """Crops height and width down to multiples of ``scale``, keeping the top-left corner.

    The standard preparation of SR benchmark HR images (MATLAB ``modcrop`` of Dong et al., "Image
    Super-Resolution Using Deep Convolutional Networks", TPAMI 2016; also BasicSR ``mod_crop``), so that the HR
    image is exactly ``scale`` times its LR counterpart.

    Args:
        images: ``[H, W, C]`` or ``[B, H, W, C]`` tensor (static or dynamic spatial size).
        scale: positive integer factor.

    Returns:
        The cropped tensor, same dtype; ``H - H % scale`` by ``W - W % scale``.

    Raises:
        ValueError: for a wrong rank or a scale that is not a positive integer.
    """
    images = tf.convert_to_tensor(images)
    _check_rank(images, "modcrop")
    scale = checks.scale(scale, name="modcrop `scale`")
    shape = tf.shape(images)
    height = images.shape[-3] if images.shape[-3] is not None else shape[-3]
    width = images.shape[-2] if images.shape[-2] is not None else shape[-2]
    return images[..., :height - height % scale, :width - width % scale, :]


def quantize_uint8(images):
    """Float images on the uint8 grid, as MATLAB's uint8 conversion makes them: values clipped to [0, 255] and
    rounded half away from zero (for the non-negative values left: floor(x + 0.5)). Returns the input's float
    dtype (float32 for integers)."""
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
        images = tf.cast(images, tf.float32)
    return tf.floor(tf.clip_by_value(images, 0.0, 255.0) + 0.5)


def bicubic_degrade(hr, scale):
    """Standard bicubic SR benchmark pair: ``modcrop`` then MATLAB ``imresize(hr, 1/scale, 'bicubic')``.

    This is the degradation of the "bicubic" benchmarks (Set5/Set14/B100/Urban100, DIV2K track 1; Timofte et
    al., "NTIRE 2017 Challenge on Single Image Super-Resolution", CVPRW 2017; Lim et al., EDSR, CVPRW 2017).
    The LR size is exactly ``cropped / scale``: it is passed as the output size, whose per-axis factor
    ``(H / s) / H`` equals the float ``1 / s``, so floating error in ``ceil(H * (1 / s))`` cannot add a pixel.

    Args:
        hr: ``[H, W, C]`` or ``[B, H, W, C]`` high-resolution image(s), any real dtype (values not rescaled).
        scale: positive integer down-scaling factor; the cropped HR must be at least ``scale`` pixels high/wide.

    Returns:
        ``(hr_cropped, lr)``: the modcropped HR (input dtype) and the float32 (float64 for float64 input) LR.

    Raises:
        ValueError: for a wrong rank or a scale that is not a positive integer.
    """
    hr_cropped = modcrop(hr, scale)
    scale = checks.scale(scale, name="bicubic_degrade `scale`")
    if scale == 1:
        return hr_cropped, tf.cast(hr_cropped, _compute_dtype(hr_cropped))
    shape = tf.shape(hr_cropped)
    height = hr_cropped.shape[-3] if hr_cropped.shape[-3] is not None else shape[-3]
    width = hr_cropped.shape[-2] if hr_cropped.shape[-2] is not None else shape[-2]
    if isinstance(height, int) and height < scale or isinstance(width, int) and width < scale:
        raise ValueError(f"bicubic_degrade needs images of at least {scale}x{scale} pixels, got {hr.shape}")
    lr = _resize(hr_cropped, height // scale, width // scale, 1.0 / scale, 1.0 / scale)
    return hr_cropped, lr
