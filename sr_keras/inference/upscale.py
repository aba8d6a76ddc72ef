"""Super-resolving whole images: `predict` on float RGB arrays, `upscale` on files and arrays of any common
layout, `upscale_to_file` streaming into a PNG. Each is a short composition of the same steps:

    source = load_source(image)                         # float RGB + layout, alpha, bit depth, ICC, EXIF
    with pool_size_set(model, pool_size):               # the FSA pool size for this call only
        plan = make_plan(model, height, width, ...)     # tiles, batch, memory and attention checked once
        run_plan(model, source.rgb, plan, sink, convert=output_rows(source, ...))

    >>> from sr_keras.inference import upscale
    >>> sr = upscale(model, "photo.jpg", tile=256, overlap=16)            # uint8 [sH, sW, 3]
"""
import numbers

import numpy as np

from sr_keras.data.degrade import imresize
from sr_keras.inference.memory import DEFAULT_MAX_ATTENTION_BYTES
from sr_keras.inference.plan import AUTO_PROGRESS_TILES, ArraySink, make_plan, run_plan
from sr_keras.inference.runner import compiled, infer_scale
from sr_keras.inference.source import LUMA_WEIGHTS, load_source, output_rows, to_gray, to_uint8, to_uint16
from sr_keras.layers import pool_size_set

__all__ = ["ALPHA_UPSAMPLERS", "AUTO_PROGRESS_TILES", "LUMA_WEIGHTS", "compiled", "infer_scale", "outscale_size",
           "predict", "upscale", "upscale_to_file"]

# How an alpha channel is upscaled (`upscale`): MATLAB bicubic, or through the model as Real-ESRGAN does.
ALPHA_UPSAMPLERS = ("bicubic", "model")


def predict(model, lr, tile=None, overlap=16, batch_size=4, self_ensemble=False, progress=None):
    """Super-resolves one float RGB image, whole or in overlapping tiles, optionally with self-ensemble.

    Tiling (`sr_keras.inference.tiling`): the fewest tiles of at most `tile` x `tile` LR pixels overlapping
    by at least `overlap` are spread evenly over the image and run `batch_size` at a time, so memory is bounded
    by the tile size and the batch (plus the HR output). Their outputs are
    blended with weights that are 0 over the outer quarter of the overlap on inner sides, rise linearly over
    its middle half and are 1 elsewhere (computed at HR resolution). The result equals the whole-image pass
    (up to float rounding) when overlap / 4 >= the model's receptive-field radius, i.e.
    overlap >= 2 * (receptive field - 1); with smaller overlaps the blend hides the seams.

    This function does not check the attention memory of FSA models; `upscale` does.

    Args:
        model: a Keras SR model (float RGB [0, 255] in, any size), or any callable mapping a float32 tensor
            [B, h, w, 3] to [B, s*h, s*w, 3].
        lr: numeric array [H, W, 3] with values in [0, 255].
        tile: tile size in LR pixels, or None for one whole-image pass.
        overlap: overlap between neighbouring tiles in LR pixels (non-negative, smaller than `tile`).
        batch_size: tiles per model call.
        self_ensemble: average the outputs for the 8 flips/rotations of the input (EDSR+), 8 times the work.
        progress: True to write a progress line on stderr, False for none, None (default) to write one when
            more than `AUTO_PROGRESS_TILES` tiles (model passes) are run.

    Returns:
        float32 numpy [s*H, s*W, 3], not clipped.

    Raises:
        ValueError: bad image shape or dtype, bad tiling arguments, or a model that is not an integer-scale
            RGB model.
    """
    lr = _as_lr(lr)
    plan = make_plan(model, lr.shape[0], lr.shape[1], tile, overlap, batch_size, self_ensemble)
    sink = ArraySink(lr.shape[0] * plan.scale)
    run_plan(model, lr, plan, sink, progress=progress)
    return sink.array


def _as_lr(lr):
    """Checks a `predict` input and returns it as float32 numpy [H, W, 3]."""
    array = np.asarray(lr)
    if array.dtype.kind not in "uif":
        raise ValueError(f"predict expects a numeric image, got dtype {array.dtype} with shape {array.shape}")
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"predict expects an RGB image [H, W, 3], got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"predict got an empty image of shape {array.shape}")
    return array.astype("float32", copy=False)


def upscale(model, image, tile=None, overlap=16, batch_size=4, self_ensemble=False, progress=None,
            pool_size=None, max_attention_bytes=DEFAULT_MAX_ATTENTION_BYTES, max_memory=None, bit_depth=None,
            alpha_upsampler="bicubic", outscale=None):
    """Super-resolves an image file or array to uint8 (uint16 for 16-bit inputs), keeping its layout (gray,
    RGB or RGBA).

    Inputs:
        - a path (str or os.PathLike), read with `sr_keras.data.io.read_source_image` (EXIF orientation
          applied; a grayscale file gives a grayscale result, as a grayscale array does; an alpha channel is
          kept; 16-bit PNG and TIFF files are read at 16 bits);
        - an array of dtype uint8, uint16 (16-bit values are divided by 257 to the 8-bit range for the
          model, without rounding), another integer type with values in [0, 255], or float with values in
          [0, 255]; of shape
          [H, W] or [H, W, 1] (grayscale: replicated to RGB for the model, the output converted back with the
          BT.601 luma weights 0.299, 0.587, 0.114), [H, W, 3] (RGB) or [H, W, 4] (RGBA: RGB through the
          model, alpha as `alpha_upsampler` says).

    For models with `FlexibleSelfAttention` layers the attention-map memory for the image (or the tile and
    batch) is estimated first, and `AttentionMemoryError` is raised before anything big is allocated if it
    exceeds `max_attention_bytes`.

    Args:
        model: a Keras SR model (float RGB [0, 255] in and out).
        image: a path or an array, see above.
        tile, overlap, batch_size, self_ensemble, progress: see `predict`.
        pool_size: if given, the FSA pool size for this call only: set on every FSA layer before the model
            runs and set back to each layer's previous value afterwards, also when the call raises, so
            `model` is left as it was (use `sr_keras.layers.set_pool_size` to change a model for good).
            ValueError for a model without FSA layers or a pool size that is not a positive integer.
        max_attention_bytes: the largest attention-map memory allowed, in bytes (default 4 GiB).
        max_memory: with `tile` None, a budget in bytes for the whole process: the tile size and tiles per
            batch (at most `batch_size`) are chosen from the model's graph so that the peak resident memory
            stays under it (`sr_keras.inference.memory.plan_tiles`; `default_max_memory()` is the CLI's
            default). None (default) with `tile` None runs the whole image at once.
        bit_depth: 8 (uint8) or 16 (uint16) output; None (default) follows the input: 16 for uint16 arrays and
            16-bit files. A 16-bit output v reduces to the 8-bit output exactly as round(v / 257).
        alpha_upsampler: "bicubic" (default): the alpha channel is upscaled with MATLAB bicubic `imresize`;
            "model": it runs through the model as a gray image (replicated to RGB, the output taken back to gray
            with the luma weights and clipped), Real-ESRGAN's default (`--alpha_upsampler realesrgan`), one more
            model pass. A flat alpha (one value everywhere) stays that value in both, without a model pass.
        outscale: the final factor when it is not the model's scale (Real-ESRGAN's `--outscale`): the network's
            output, quantised as any output here, is resized with MATLAB bicubic `imresize` to int(W * outscale)
            x int(H * outscale). Real-ESRGAN resizes with OpenCV's Lanczos-4 instead; sr_keras keeps the one
            resampler it reproduces exactly (MATLAB's) and holds the output in memory for it.

    Returns:
        uint8 (or uint16) numpy: [sH, sW] for [H, W] input, [sH, sW, 1], [sH, sW, 3] or [sH, sW, 4]
        otherwise (s: `outscale` when given); values clipped to [0, 255] (times 257 for 16 bits) and rounded half
        to even.

    Raises:
        ValueError: wrong rank, channel count, empty image or non-numeric dtype (the message gives the
            shape), bad tiling arguments, or a bad `pool_size` or one for a model without FSA layers.
        AttentionMemoryError: the attention maps would not fit in `max_attention_bytes`.
        MemoryBudgetError: no tile size fits `max_memory`.
        sr_keras.data.io.ImageReadError: an unreadable file.
    """
    source = load_source(image)
    height, width = _output_size(model, source, outscale)
    sink = ArraySink(height)
    _upscale_into(sink, model, source, tile, overlap, batch_size, self_ensemble, progress, pool_size,
                  max_attention_bytes, max_memory, bit_depth, alpha_upsampler, outscale, output_in_memory=True)
    return sink.array


def upscale_to_file(model, image, path, tile=None, overlap=16, batch_size=4, self_ensemble=False, progress=None,
                    pool_size=None, max_attention_bytes=DEFAULT_MAX_ATTENTION_BYTES, max_memory=None,
                    bit_depth=None, alpha_upsampler="bicubic", outscale=None):
    """Upscales `image` (as `upscale` does) straight into the PNG file `path`, band by band: the output is never
    held whole (an 8000 x 8000 result costs its band of rows, not 192 MB), 16-bit inputs give 16-bit PNGs
    (`bit_depth=8` forces 8), and a file input's ICC profile and EXIF data (orientation reset, the pixels being
    turned already) are written into the output. The file appears only when complete
    (`sr_keras.files.atomic_path`). `alpha_upsampler` and `outscale` as in `upscale` (with `outscale` the output
    is held whole for the final resize).

    Returns:
        {"width", "height", "channels", "bit_depth"} of the written image, and the "tile" and "batch_size" it
        ran with (chosen from `max_memory` when `tile` is None).
    """
    from sr_keras.data.png import PNGWriter
    from sr_keras.files import atomic_path

    source = load_source(image)
    height, width = _output_size(model, source, outscale)
    bits = _bit_depth(source, bit_depth)
    with atomic_path(path) as temporary:
        with PNGWriter(temporary, width, height, source.channels, bits, icc_profile=source.icc_profile,
                       exif=source.exif) as writer:
            plan = _upscale_into(writer.write_rows, model, source, tile, overlap, batch_size, self_ensemble,
                                 progress, pool_size, max_attention_bytes, max_memory, bit_depth, alpha_upsampler,
                                 outscale, output_in_memory=outscale is not None)
    return {"width": width, "height": height, "channels": source.channels, "bit_depth": bits, "tile": plan.tile,
            "batch_size": plan.batch_size}


def outscale_size(height, width, outscale):
    """(height, width) of the output at the final factor `outscale`: int(H * outscale) x int(W * outscale), as
    Real-ESRGAN's `--outscale`; ValueError for a factor that is not a positive number or an empty result."""
    if isinstance(outscale, bool) or not isinstance(outscale, numbers.Real) or not outscale > 0:
        raise ValueError(f"outscale must be a positive number, got {outscale!r}")
    size = (int(height * outscale), int(width * outscale))
    if min(size) < 1:
        raise ValueError(f"outscale {outscale} makes the {width}x{height} image empty")
    return size


def _output_size(model, source, outscale):
    height, width = source.rgb.shape[:2]
    if outscale is not None:
        return outscale_size(height, width, outscale)
    scale = infer_scale(model)
    return height * scale, width * scale


def _bit_depth(source, bit_depth):
    bits = source.bit_depth if bit_depth is None else bit_depth
    if bits not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16 (or None: the input's), got {bit_depth!r}")
    return bits


def _upscale_into(sink, model, source, tile, overlap, batch_size, self_ensemble, progress, pool_size,
                  max_attention_bytes, max_memory, bit_depth, alpha_upsampler, outscale, output_in_memory):
    """`upscale`'s work: the output rows of `source` go to `sink` in the source's layout and bit depth; returns
    the plan it ran."""
    if alpha_upsampler not in ALPHA_UPSAMPLERS:
        raise ValueError(f"alpha_upsampler must be one of {', '.join(ALPHA_UPSAMPLERS)}, got {alpha_upsampler!r}")
    to_int = to_uint16 if _bit_depth(source, bit_depth) == 16 else to_uint8
    height, width = source.rgb.shape[:2]
    with pool_size_set(model, pool_size):
        plan = make_plan(model, height, width, tile, overlap, batch_size, self_ensemble, max_memory,
                         max_attention_bytes, output_in_memory)
        alpha_hr = _upscaled_alpha(model, source, plan, to_int, alpha_upsampler, progress)
        if outscale is None:
            run_plan(model, source.rgb, plan, sink, output_rows(source, to_int, alpha_hr), progress)
            return plan
        whole = ArraySink(height * plan.scale)
        run_plan(model, source.rgb, plan, whole, output_rows(source, to_int, alpha_hr), progress)
    out, size = whole.array, outscale_size(height, width, outscale)
    if out.shape[:2] != size:  # the network's output, quantised, then MATLAB bicubic to the final factor
        layers = out.reshape(out.shape[:2] + (-1,)).astype("float32")
        out = to_int(np.asarray(imresize(layers, output_size=size))).reshape(size + out.shape[2:])
    sink(out)
    return plan


def _upscaled_alpha(model, source, plan, to_int, alpha_upsampler, progress):
    """The alpha channel at the model's scale as integers [sH, sW, 1], or None without one."""
    if source.alpha is None:
        return None
    size = (source.alpha.shape[0] * plan.scale, source.alpha.shape[1] * plan.scale)
    if source.alpha.min() == source.alpha.max():  # flat: nothing to interpolate
        return to_int(np.full(size + (1,), source.alpha.flat[0], "float32"))
    if alpha_upsampler == "bicubic":
        return to_int(np.asarray(imresize(source.alpha[..., None], output_size=size)))
    # Real-ESRGAN: the alpha as a gray image through the model
    gray = ArraySink(size[0])
    run_plan(model, np.repeat(source.alpha[..., None], 3, axis=-1), plan, gray, progress=progress)
    return to_int(to_gray(np.clip(gray.array, 0.0, 255.0)))[..., None]
