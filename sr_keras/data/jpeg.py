"""Batched JPEG compression with a quality per image, as TF ops: the JPEG model Real-ESRGAN trains with.

Real-ESRGAN compresses its synthetic LR images with BasicSR's ``DiffJPEG(differentiable=False)``
(``basicsr/utils/diffjpeg.py``, after M. Lomnitz's DiffJPEG), not with a real encoder: RGB to YCbCr (JFIF
matrix, +128 on the chroma), 2x2 average-pooled chroma, 8x8 block DCT-II of ``value - 128``, division by the
quantisation table times the quality factor (``5000 / q`` below 50, else ``200 - 2 q``, over 100; the quality
is a real number, drawn uniformly), rounding half to even, then the exact inverse steps, chroma upsampled by
repetition, clipped to [0, 255]. Images are zero-padded to multiples of 16 first and cropped back after. This
module follows it step by step, including two details of that code: the quantisation tables are used
transposed (the luminance table's rows pair with horizontal frequencies), and the padding is black. It runs on
whole batches with one quality per image, inside ``tf.data`` graphs, with no entropy coding (which is lossless
and changes nothing). ``tf.image.adjust_jpeg_quality`` (libjpeg, integer quality, one image at a time) is the
real encoder; `sr_keras.data.bsrgan` uses it, as BSRGAN uses OpenCV's.
"""
import math

import numpy as np
import tensorflow as tf

# ITU-T T.81 Annex K tables, as DiffJPEG holds them (transposed).
_LUMA_TABLE = np.array(
    [[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
     [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
     [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], np.float32).T
_CHROMA_TABLE = np.full((8, 8), 99, np.float32)
_CHROMA_TABLE[:4, :4] = np.array([[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]).T

_RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
                         np.float32).T
_YCBCR_TO_RGB = np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]], np.float32).T


def _dct_basis():
    """[8, 8] matrix D with D[u, x] = alpha(u) / 2 * cos((2x + 1) u pi / 16): the orthonormal DCT-II."""
    basis = np.zeros((8, 8), np.float64)
    for u in range(8):
        alpha = 1.0 / math.sqrt(2.0) if u == 0 else 1.0
        for x in range(8):
            basis[u, x] = 0.5 * alpha * math.cos((2 * x + 1) * u * math.pi / 16)
    return basis.astype(np.float32)


_DCT = _dct_basis()


def quality_to_factor(quality):
    """DiffJPEG's table multiplier for a (real) quality in (0, 100]: (5000 / q if q < 50 else 200 - 2 q) / 100."""
    quality = tf.convert_to_tensor(quality, tf.float32)
    return tf.where(quality < 50.0, 5000.0 / quality, 200.0 - 2.0 * quality) / 100.0


def _blocks(plane):
    """[B, H, W] -> [B, H/8, W/8, 8, 8]."""
    shape = tf.shape(plane)
    blocks = tf.reshape(plane, [shape[0], shape[1] // 8, 8, shape[2] // 8, 8])
    return tf.transpose(blocks, [0, 1, 3, 2, 4])


def _merge(blocks):
    """[B, h, w, 8, 8] -> [B, 8h, 8w]."""
    shape = tf.shape(blocks)
    return tf.reshape(tf.transpose(blocks, [0, 1, 3, 2, 4]), [shape[0], shape[1] * 8, shape[2] * 8])


def _quantise_plane(plane, table, factor):
    """DCT, quantise (round half to even), dequantise and inverse DCT of one [B, H, W] plane."""
    dct = tf.constant(_DCT)
    blocks = _blocks(plane - 128.0)
    coefficients = tf.einsum("ux,bijxy,vy->bijuv", dct, blocks, dct)
    steps = tf.constant(table)[None, None, None] * tf.reshape(factor, [-1, 1, 1, 1, 1])
    restored = tf.round(coefficients / steps) * steps
    return _merge(tf.einsum("ux,bijuv,vy->bijxy", dct, restored, dct)) + 128.0


def diff_jpeg(images, quality):
    """JPEG-compresses a batch, one real-valued quality per image, as BasicSR's ``DiffJPEG`` (non-differentiable).

    Args:
        images: float [B, H, W, 3] RGB in [0, 255] (clip first: the original clamps to [0, 1] before it).
        quality: [B] qualities in (0, 100] (Real-ESRGAN draws them uniformly from [30, 95]).

    Returns:
        float32 [B, H, W, 3] in [0, 255].
    """
    images = tf.cast(images, tf.float32)
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    pad_h, pad_w = (16 - height % 16) % 16, (16 - width % 16) % 16
    padded = tf.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    factor = quality_to_factor(quality)
    ycbcr = tf.tensordot(padded, tf.constant(_RGB_TO_YCBCR), axes=1) + tf.constant([0.0, 128.0, 128.0])
    luma = _quantise_plane(ycbcr[..., 0], _LUMA_TABLE, factor)
    chroma = tf.nn.avg_pool2d(ycbcr[..., 1:], 2, 2, "VALID")
    cb = _quantise_plane(chroma[..., 0], _CHROMA_TABLE, factor)
    cr = _quantise_plane(chroma[..., 1], _CHROMA_TABLE, factor)
    chroma = tf.stack([cb, cr], axis=-1)
    chroma = tf.repeat(tf.repeat(chroma, 2, axis=1), 2, axis=2)
    restored = tf.concat([luma[..., None], chroma], axis=-1)
    rgb = tf.tensordot(restored + tf.constant([0.0, -128.0, -128.0]), tf.constant(_YCBCR_TO_RGB), axes=1)
    rgb = tf.clip_by_value(rgb, 0.0, 255.0)
    return rgb[:, :height, :width, :]
