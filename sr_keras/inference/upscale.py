"""Super-resolving whole images: scale detection, (tiled, self-ensembled) prediction and `upscale`.

    >>> from sr_keras.inference import upscale
    >>> sr = upscale(model, "photo.jpg", tile=256, overlap=16)            # uint8 [sH, sW, 3]

`predict` works on float RGB arrays and returns unclipped floats; `upscale` takes files or arrays of any
common layout (grayscale, RGB, RGBA; 8-bit, 16-bit or float) and returns uint8 in the same layout.
"""
import collections
import dataclasses
import numbers
import os
import sys
import time
import warnings
import weakref

import keras
import numpy as np
import tensorflow as tf

from sr_keras.data.degrade import imresize
from sr_keras.data.io import read_source_image
from sr_keras.inference.ensemble import self_ensemble as ensemble_mean
from sr_keras.inference.memory import (
    DEFAULT_MAX_ATTENTION_BYTES, attention_layers, check_attention_memory, plan_tiles)
from sr_keras.inference.tiling import check_tiling, predict_tiled, tile_starts
from sr_keras.layers import set_pool_size
from sr_keras.models.generator import model_scale

__all__ = ["AUTO_PROGRESS_TILES", "LUMA_WEIGHTS", "compiled", "infer_scale", "predict", "upscale"]

# BT.601 luma weights, used to turn the RGB output of a grayscale input back into one channel.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
# With progress=None a progress line is shown when a call runs more tiles (model passes) than this.
AUTO_PROGRESS_TILES = 16
# ... and only once the call has run this long: quick jobs print nothing.
AUTO_PROGRESS_QUIET_SECONDS = 3.0
# How an alpha channel is upscaled (`upscale`): MATLAB bicubic, or through the model as Real-ESRGAN does.
ALPHA_UPSAMPLERS = ("bicubic", "model")
_PROBE_SIZE = 8
# Scales found by the probe, keyed weakly by the model object (nothing is stored on the model itself).
_PROBED_SCALES = weakref.WeakKeyDictionary()


# Traced functions, keyed weakly by the model object. Not an attribute of the model: Keras tracks attributes,
# and a dict keyed by pool-size tuples makes the model unsavable (`tf.saved_model.save` refuses it).
_COMPILED = weakref.WeakKeyDictionary()


def compiled(model):
    """`model` in inference mode as a graph function over [batch, height, width, 3] float32 of any size.

    Graph execution lets TensorFlow fuse and plan the whole network (on the 2-core test machine WDSR-B runs a
    500x350 image in 0.79 s instead of 1.47 s eagerly, and tiles cost no more than the whole image). One trace
    serves every input size. The function is cached per model and FSA pool-size setting, so changing the pool
    size (`sr_keras.layers.set_pool_size`) gets a fresh trace; the cache holds the model weakly.
    """
    pools = tuple(getattr(layer, "pool_size", None) for layer in attention_layers(model))
    cache = _COMPILED.setdefault(model, {})
    if pools not in cache:
        cache[pools] = tf.function(_Inference(model),
                                   input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    return cache[pools]


class _Inference:
    """`model(images, training=False)` through a weak reference, so the cached function does not keep the model
    (the cache's key) alive. A callable object rather than a closure: TensorFlow counts traces per code object,
    and the one trace per model and pool size of a notebook evaluating several models read as "excessive
    retracing" warnings."""

    def __init__(self, model):
        self._model = weakref.ref(model)

    def __call__(self, images):
        return self._model()(images, training=False)


def _run(model, batch):
    """Runs `model` on a float32 numpy batch and returns a float32 numpy array."""
    tensor = tf.convert_to_tensor(batch, tf.float32)
    if isinstance(model, keras.Model):
        output = compiled(model)(tensor)
    elif isinstance(model, keras.layers.Layer):
        output = model(tensor, training=False)
    else:
        output = model(tensor)
    return np.asarray(output, dtype="float32")


def infer_scale(model):
    """The integer upscaling factor of `model`.

    Generators built or saved by sr_keras (`sr_keras.models.SRGenerator`) record their scale: it is read
    from the metadata (`sr_keras.models.model_scale`) and the model is not run. Any other model or callable
    (the MMSR router, `.keras` files saved before sr_keras recorded the metadata, your own functions) is run
    once on a zero [1, 8, 8, 3] input. That probe's answer is remembered in a module-level table keyed weakly by
    the model object (nothing is set on the model, and the entry goes when the model is garbage-collected),
    so later calls for the same object do not run it again.

    Args:
        model: a Keras model, or any callable from a float32 [B, H, W, 3] tensor to [B, sH, sW, 3].

    Returns:
        int scale s >= 1.

    Raises:
        ValueError: (for models without metadata) the model cannot run on an 8 x 8 input, its output is not
            [1, 8s, 8s, 3] for an integer s, or it does not have 3 channels.
    """
    recorded = model_scale(getattr(model, "keras_model", model))
    if recorded is not None:
        return recorded
    try:
        cached = _PROBED_SCALES.get(model)
    except TypeError:  # an object that cannot be weakly referenced or hashed: probe every time
        cached = None
    if cached is not None:
        return cached
    scale = _probe_scale(model)
    try:
        _PROBED_SCALES[model] = scale
    except TypeError:
        pass
    return scale


def _probe_scale(model):
    """Runs `model` on a zero [1, 8, 8, 3] input and returns the integer factor of its output size."""
    name = getattr(model, "name", getattr(model, "__name__", type(model).__name__))
    probe_shape = (1, _PROBE_SIZE, _PROBE_SIZE, 3)
    try:
        output = _run(model, np.zeros(probe_shape, "float32"))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        raise ValueError(f"cannot infer the scale of {name!r}: it fails on a {list(probe_shape)} input "
                         f"({error})") from None
    shape = tuple(output.shape)
    if len(shape) != 4 or shape[0] != 1 or shape[3] != 3:
        raise ValueError(f"{name!r} is not a super-resolution model from RGB to RGB: a {list(probe_shape)} input "
                         f"gives an output of shape {list(shape)}, expected [1, sH, sW, 3]")
    if shape[1] != shape[2] or shape[1] < _PROBE_SIZE or shape[1] % _PROBE_SIZE:
        raise ValueError(f"{name!r} does not upscale by an integer factor: a {list(probe_shape)} input gives "
                         f"an output of shape {list(shape)}")
    return shape[1] // _PROBE_SIZE


class _Progress:
    """Tiles done / total, tiles per second and ETA on stderr: redrawn in place on a terminal, otherwise at most
    one line per second and per 10% of the work. Automatic progress (`quiet_for` seconds) stays silent for
    jobs that finish sooner. The rate, and so the ETA, is measured over the last `WINDOW` seconds, so the
    first batch's graph tracing does not skew it."""

    WINDOW = 10.0

    def __init__(self, total, enabled, quiet_for=0.0):
        self.total = total
        self.enabled = enabled
        self.quiet_for = quiet_for
        self.done = 0
        self.start = time.monotonic()
        self.samples = collections.deque([(self.start, 0)])
        self.last_write = None
        self.last_decile = 0
        self.width = 0
        self.stream = sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty())

    def _line(self, now):
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.WINDOW:
            self.samples.popleft()
        then, done_then = self.samples[0]
        rate = (self.done - done_then) / max(now - then, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta_text = f"{eta:.0f}s" if eta != float("inf") else "?"
        return f"upscale: {self.done}/{self.total} tiles, {rate:.2f} tiles/s, ETA {eta_text}"

    def update(self, count):
        self.done += count
        now = time.monotonic()
        self.samples.append((now, self.done))
        if not self.enabled or now - self.start < self.quiet_for:
            return
        finished = self.done >= self.total
        if self.interactive:
            if finished or self.last_write is None or now - self.last_write >= 0.1:
                line = self._line(now)
                self.stream.write("\r" + line.ljust(self.width))  # pad over a longer previous line
                self.width = len(line)
                self.stream.flush()
                self.last_write = now
            return
        decile = self.done * 10 // self.total
        if decile > self.last_decile and (finished or self.last_write is None or now - self.last_write >= 1.0):
            self.last_decile = decile
            self.stream.write(self._line(now) + "\n")
            self.stream.flush()
            self.last_write = now

    def close(self):
        if self.enabled and self.interactive and self.last_write is not None:
            self.stream.write("\n")
            self.stream.flush()


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


def predict(model, lr, tile=None, overlap=16, batch_size=4, self_ensemble=False, progress=None, _convert=None,
            _sink=None):
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
    tile, overlap, batch_size = check_tiling(tile, overlap, batch_size)
    scale = infer_scale(model)
    height, width = lr.shape[:2]
    if tile is None:
        tiles_per_pass = 1
    else:
        tiles_per_pass = len(tile_starts(height, tile, overlap)[0]) * len(tile_starts(width, tile, overlap)[0])
    total = tiles_per_pass * (8 if self_ensemble else 1)
    reporter = _Progress(total, bool(progress) if progress is not None else total > AUTO_PROGRESS_TILES,
                         quiet_for=0.0 if progress else AUTO_PROGRESS_QUIET_SECONDS)

    def run_batch(batch):
        output = _run(model, batch)
        expected = (batch.shape[0], batch.shape[1] * scale, batch.shape[2] * scale, 3)
        if output.shape != expected:
            raise ValueError(f"the model returned shape {output.shape} for an input of shape {batch.shape}, "
                             f"expected {expected}")
        return output

    def single_pass(image):
        image = np.asarray(image, dtype="float32")
        if tile is None:
            output = run_batch(image[None])[0]
            reporter.update(1)
            return output
        if _convert is not None and not self_ensemble:  # finished rows converted (and sunk) band by band
            return predict_tiled(run_batch, image, scale, tile, overlap, batch_size, on_batch=reporter.update,
                                 convert=_convert, out_dtype=None, sink=_sink)
        return predict_tiled(run_batch, image, scale, tile, overlap, batch_size, on_batch=reporter.update)

    try:
        result = ensemble_mean(single_pass, lr) if self_ensemble else single_pass(lr)
    finally:
        reporter.close()
    if _convert is not None and (tile is None or self_ensemble):  # one band: the whole image
        result = _convert(result, 0)
        if _sink is not None:
            _sink(result)
            result = None
    return result


def _to_uint8(values):
    """Clip to [0, 255], round half to even (like tf.round) and cast to uint8."""
    values = np.clip(values, 0.0, 255.0)  # a new array: the caller's data is left as it was
    return np.rint(values, out=values).astype("uint8")


def _as_float_pixels(array, what):
    """uint8 as is, uint16 divided by 257, other integers if within [0, 255], finite floats as is."""
    if array.dtype == np.uint16:
        return array.astype("float32") / np.float32(257.0)
    if array.dtype.kind in "ui" and array.dtype != np.uint8:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{what}: integer images of dtype {array.dtype} must hold values in [0, 255], got "
                             f"[{low}, {high}] (shape {array.shape}); use uint16 for 16-bit images")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what}: the image holds NaN or infinite values (shape {array.shape})")
        if 0.0 < float(array.max()) <= 1.0:
            warnings.warn(f"{what}: float image with values in [0, 1]; sr_keras expects [0, 255]", stacklevel=3)
    return array.astype("float32")


@dataclasses.dataclass
class _Source:
    """An input as `upscale` runs it: float RGB for the model plus what the output must keep."""

    rgb: np.ndarray            # float32 [H, W, 3] in [0, 255]
    alpha: object              # float32 [H, W] in [0, 255] or None
    layout: str                # "gray2" ([H, W] out), "gray3" ([H, W, 1]), "rgb", "rgba"
    bit_depth: int             # 8 or 16: the input's
    icc_profile: object = None
    exif: object = None

    @property
    def channels(self):
        return {"gray2": 1, "gray3": 1, "rgb": 3, "rgba": 4}[self.layout] + (
            1 if self.layout.startswith("gray") and self.alpha is not None else 0)


def _load(image):
    """The `_Source` of a path (`read_source_image`: 16 bits, alpha, gray, ICC and EXIF kept) or an array."""
    if isinstance(image, (str, os.PathLike)):
        source = read_source_image(image)
        divisor = np.float32(257.0) if source.bit_depth == 16 else np.float32(1.0)
        rgb = source.rgb.astype("float32") / divisor
        alpha = None if source.alpha is None else source.alpha.astype("float32") / divisor
        layout = "gray2" if source.gray else ("rgb" if alpha is None else "rgba")
        return _Source(rgb, alpha, layout, source.bit_depth, source.icc_profile, source.exif)
    array = np.asarray(image)
    what = "upscale"
    if array.dtype.kind not in "uif":
        raise ValueError(f"{what}: expected a numeric (uint8, uint16 or float) image, got dtype {array.dtype} "
                         f"with shape {array.shape}")
    if array.ndim not in (2, 3):
        raise ValueError(f"{what}: expected an image [H, W] or [H, W, C], got rank {array.ndim} with shape "
                         f"{array.shape}")
    if array.ndim == 3 and array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{what}: expected 1 (gray), 3 (RGB) or 4 (RGBA) channels, got {array.shape[-1]} "
                         f"channels with shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what}: empty image of shape {array.shape}")
    bits = 16 if array.dtype == np.uint16 else 8
    pixels = _as_float_pixels(array, what)
    if pixels.ndim == 2:
        return _Source(np.repeat(pixels[..., None], 3, axis=-1), None, "gray2", bits)
    if pixels.shape[-1] == 1:
        return _Source(np.repeat(pixels, 3, axis=-1), None, "gray3", bits)
    if pixels.shape[-1] == 4:
        return _Source(pixels[..., :3], pixels[..., 3], "rgba", bits)
    return _Source(pixels, None, "rgb", bits)


def _to_uint16(values):
    """[0, 255] floats -> uint16: the value nearest 257 x that rounds back (v / 257, half to even) to
    `_to_uint8(x)`, so a 16-bit output reduced to 8 bits equals the 8-bit output exactly."""
    values = np.clip(values, 0.0, 255.0)
    eight = np.rint(values)
    offset = np.clip(np.rint((values - eight) * 257.0), -128.0, 128.0)
    return (eight * 257.0 + offset).astype("uint16")


def upscale(model, image, tile=None, overlap=16, batch_size=4, self_ensemble=False, progress=None,
            pool_size=None, max_attention_bytes=DEFAULT_MAX_ATTENTION_BYTES, max_memory=None, bit_depth=None,
            alpha_upsampler="bicubic", outscale=None, _sink=None, _source=None, _plan=None):
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
    if alpha_upsampler not in ALPHA_UPSAMPLERS:
        raise ValueError(f"alpha_upsampler must be one of {', '.join(ALPHA_UPSAMPLERS)}, got {alpha_upsampler!r}")
    if outscale is not None:
        return _outscaled(model, image, outscale, dict(
            tile=tile, overlap=overlap, batch_size=batch_size, self_ensemble=self_ensemble, progress=progress,
            pool_size=pool_size, max_attention_bytes=max_attention_bytes, max_memory=max_memory,
            bit_depth=bit_depth, alpha_upsampler=alpha_upsampler, _source=_source, _plan=_plan), _sink)
    if pool_size is None:
        return _upscale(model, image, tile, overlap, batch_size, self_ensemble, progress, max_attention_bytes,
                        max_memory, bit_depth, _sink, _source, _plan, alpha_upsampler)
    layers = attention_layers(model)
    if not layers:
        set_pool_size(model, pool_size)  # raises the ValueError naming the model
    previous = [(layer, layer.pool_size) for layer in layers]
    try:
        # Set on the layers directly rather than with set_pool_size, which also drops the model's compiled
        # predict/train functions: restored below, the model is left exactly as it was. `compiled` keeps one
        # traced function per pool-size setting, so this call traces (or reuses) its own.
        for layer in layers:
            layer.pool_size = pool_size
        return _upscale(model, image, tile, overlap, batch_size, self_ensemble, progress, max_attention_bytes,
                        max_memory, bit_depth, _sink, _source, _plan, alpha_upsampler)
    finally:
        for layer, value in previous:
            layer.pool_size = value


def outscale_size(height, width, outscale):
    """(height, width) of the output at the final factor `outscale`: int(H * outscale) x int(W * outscale), as
    Real-ESRGAN's `--outscale`; ValueError for a factor that is not a positive number or an empty result."""
    if isinstance(outscale, bool) or not isinstance(outscale, numbers.Real) or not outscale > 0:
        raise ValueError(f"outscale must be a positive number, got {outscale!r}")
    size = (int(height * outscale), int(width * outscale))
    if min(size) < 1:
        raise ValueError(f"outscale {outscale} makes the {width}x{height} image empty")
    return size


def _outscaled(model, image, outscale, options, sink):
    """`upscale` at the model's scale, then MATLAB bicubic to the final factor `outscale` (see `upscale`)."""
    source = options.pop("_source") or _load(image)
    size = outscale_size(source.rgb.shape[0], source.rgb.shape[1], outscale)
    out = upscale(model, image, _source=source, **options)
    if out.shape[:2] != size:
        layers = out.reshape(out.shape[:2] + (-1,)).astype("float32")
        resized = np.asarray(imresize(layers, output_size=size))
        out = (_to_uint16 if out.dtype == np.uint16 else _to_uint8)(resized).reshape(size + out.shape[2:])
    if sink is None:
        return out
    sink(out)
    return None


def _upscale(model, image, tile, overlap, batch_size, self_ensemble, progress, max_attention_bytes, max_memory,
             bit_depth=None, sink=None, source=None, plan=None, alpha_upsampler="bicubic"):
    """`upscale` with the model's FSA pool sizes as they are; with `sink`, the output rows go to it band by band
    (top to bottom) and None is returned."""
    source = source or _load(image)
    rgb = source.rgb
    tile, overlap, batch_size = check_tiling(tile, overlap, batch_size)
    bits = source.bit_depth if bit_depth is None else bit_depth
    if bits not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16 (or None: the input's), got {bit_depth!r}")
    graph = getattr(model, "keras_model", model)  # a FastModel (`--fast`) plans with the Keras model it runs
    if tile is None and max_memory is not None:
        if not isinstance(max_memory, numbers.Real) or max_memory <= 0:
            raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
        tile, batch_size = plan_tiles(graph, rgb.shape[0], rgb.shape[1], infer_scale(model), max_memory, overlap,
                                      max_batch=batch_size, output_in_memory=sink is None)
    if plan is not None:
        plan.update(tile=tile, batch_size=batch_size)
    if not isinstance(max_attention_bytes, numbers.Real) or max_attention_bytes <= 0:
        raise ValueError(f"max_attention_bytes must be a positive number, got {max_attention_bytes!r}")
    height, width = rgb.shape[:2]
    if attention_layers(graph):
        if tile is None:
            run_h, run_w, batch = height, width, 1
        else:
            ys, run_h = tile_starts(height, tile, overlap)
            xs, run_w = tile_starts(width, tile, overlap)
            batch = min(batch_size, len(ys) * len(xs))
        check_attention_memory(graph, run_h, run_w, batch, limit=max_attention_bytes)
    to_int = _to_uint16 if bits == 16 else _to_uint8
    alpha_hr = None
    if source.alpha is not None:
        scale = infer_scale(model)
        size = (height * scale, width * scale)
        if source.alpha.min() == source.alpha.max():  # flat: nothing to interpolate
            alpha_hr = to_int(np.full(size + (1,), source.alpha.flat[0], "float32"))
        elif alpha_upsampler == "model":  # Real-ESRGAN: the alpha as a gray image through the model
            gray = np.repeat(source.alpha[..., None], 3, axis=-1)
            hr = predict(model, gray, tile=tile, overlap=overlap, batch_size=batch_size,
                         self_ensemble=self_ensemble, progress=progress)
            alpha_hr = to_int(np.clip(hr, 0.0, 255.0).astype("float64") @ np.asarray(LUMA_WEIGHTS, "float64"))[
                ..., None]
        else:
            alpha_hr = to_int(np.asarray(imresize(source.alpha[..., None], output_size=size)))

    def convert(band, first_row):
        if source.layout in ("gray2", "gray3"):
            rows = to_int(band.astype("float64") @ np.asarray(LUMA_WEIGHTS, "float64"))[..., None]
        else:
            rows = to_int(band)
        if alpha_hr is not None:
            rows = np.concatenate([rows, alpha_hr[first_row:first_row + len(rows)]], axis=-1)
        return rows[..., 0] if source.layout == "gray2" and alpha_hr is None else rows

    return predict(model, rgb, tile=tile, overlap=overlap, batch_size=batch_size, self_ensemble=self_ensemble,
                   progress=progress, _convert=convert, _sink=sink)


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

    source = _load(image)
    scale = infer_scale(model)
    bits = source.bit_depth if bit_depth is None else bit_depth
    height, width = source.rgb.shape[0] * scale, source.rgb.shape[1] * scale
    if outscale is not None:
        height, width = outscale_size(source.rgb.shape[0], source.rgb.shape[1], outscale)
    plan = {"tile": tile, "batch_size": batch_size}
    with atomic_path(path) as temporary:
        with PNGWriter(temporary, width, height, source.channels, bits if bits in (8, 16) else 8,
                       icc_profile=source.icc_profile, exif=source.exif) as writer:
            upscale(model, image, tile=tile, overlap=overlap, batch_size=batch_size, self_ensemble=self_ensemble,
                    progress=progress, pool_size=pool_size, max_attention_bytes=max_attention_bytes,
                    max_memory=max_memory, bit_depth=bit_depth, alpha_upsampler=alpha_upsampler, outscale=outscale,
                    _sink=writer.write_rows, _source=source, _plan=plan)
    return {"width": width, "height": height, "channels": source.channels, "bit_depth": bits, **plan}
