"""Overlapping tiles with a linear blend, so large images go through a model in bounded memory.

Geometry: along each axis, tiles of `tile` LR pixels start every `tile - overlap` pixels, and the last tile is
aligned to the far edge, so every tile has the full size when the image is at least `tile` pixels (an image
smaller than `tile` gives one tile of the image's size along that axis). All tiles therefore share one shape
and are batched.

Blending: each tile's output is weighted by a separable window computed at HR resolution. On a side of the
tile that lies inside the image, the weight is 0 over the outer quarter of the (HR) overlap, rises linearly
over the middle half and is 1 beyond; on a side on the image border it is 1 up to the edge. Two tiles that
overlap by exactly `overlap` get weights summing to 1 (a partition of unity); the output is
sum(weight * tile output) / sum(weight) in any case.

Consequence: a tile contributes only pixels that are at least overlap/4 LR pixels from its inner edges. If
the model's receptive-field radius r (in LR pixels; receptive field 2r + 1) satisfies overlap/4 >= r, i.e.
overlap >= 2 * (receptive field - 1), every contributing pixel equals the whole-image output and the tiled
result is the whole-image result up to float rounding. With a smaller overlap the outputs near tile borders
differ (the tile's zero padding), and the linear blend spreads the difference over half the overlap instead
of leaving a visible seam.
"""
import math

import numpy as np

from sr_keras.checks import integer, is_integer

__all__ = ["blend_weights", "check_tiling", "predict_tiled", "tile_starts"]


def check_tiling(tile, overlap, batch_size):
    """Validates the tiling arguments and returns them as python ints (`tile` may be None).

    Raises:
        ValueError: `tile` is not a positive integer or None, `overlap` is not a non-negative integer, `tile`
            does not exceed `overlap`, or `batch_size` is not a positive integer.
    """
    batch_size = integer(batch_size, "batch_size", minimum=1)
    overlap = integer(overlap, "overlap", minimum=0)
    if tile is None:
        return None, overlap, batch_size
    if not is_integer(tile) or tile < 1:
        raise ValueError(f"tile must be a positive integer or None, got {tile!r}")
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap}): tiles advance by "
                         f"tile - overlap pixels")
    return int(tile), int(overlap), int(batch_size)


def tile_starts(length, tile, overlap):
    """Start offsets of the tiles covering `length` pixels along one axis.

    Args:
        length: image size along the axis, >= 1.
        tile: largest tile size, > overlap.
        overlap: smallest overlap between neighbouring tiles.

    Returns:
        `(starts, size)`: sorted start offsets and the common tile size along this axis. The fewest tiles of
        at most `tile` pixels that overlap by at least `overlap` are spread evenly, all of the same size
        (`min(tile, length)` or a little less), so no compute is spent on a last tile that mostly repeats
        its neighbour: a 500-pixel side with tile 256 and overlap 8 gets 2 tiles of 254, not 2 of 256 that
        overlap by 12.
    """
    if length <= tile:
        return [0], length
    count = math.ceil((length - overlap) / (tile - overlap))
    size = min(tile, math.ceil((length + (count - 1) * overlap) / count))
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)]
    return starts, size


def blend_weights(length, overlap, inside_start, inside_end):
    """One-dimensional blending window of a tile, at the resolution it is applied (HR).

    Args:
        length: tile size in (HR) pixels.
        overlap: overlap in the same pixels (LR overlap * scale).
        inside_start: the tile's first side lies inside the image (another tile overlaps it there).
        inside_end: same for the last side.

    Returns:
        float32 array of `length` weights in [0, 1]: at pixel centre c (distance from an inner edge), weight
        clip((c - overlap/4) / (overlap/2), 0, 1); 1 everywhere along border sides or when `overlap` is 0.
    """
    weights = np.ones(length, "float64")
    if overlap <= 0:
        return weights.astype("float32")
    centres = np.arange(length, dtype="float64") + 0.5

    def ramp(distance):
        return np.clip((distance - overlap / 4.0) / (overlap / 2.0), 0.0, 1.0)

    if inside_start:
        weights = np.minimum(weights, ramp(centres))
    if inside_end:
        weights = np.minimum(weights, ramp(length - centres))
    return weights.astype("float32")


def predict_tiled(run_batch, lr, scale, tile, overlap, batch_size, on_batch=None, convert=None, out_dtype="float32",
                  sink=None):
    """Super-resolves `lr` tile by tile and blends the tile outputs (see the module docstring).

    Tiles are processed one row at a time and the HR rows that no later tile touches are finalised (divided by
    their weight, passed through `convert`, written to the output) as soon as their row is done, so besides
    the output only one band of tile-height HR rows is held in float: upscaling 2000x2000 to 8000x8000 with
    uint8 output keeps about 0.2 GB of output and 0.13 GB of band (tile 256), not 1 GB of float accumulators.

    Args:
        run_batch: function from a float32 numpy batch [B, h, w, 3] to a numpy batch [B, scale*h, scale*w, 3].
        lr: float32 numpy [H, W, 3].
        scale: integer SR factor of `run_batch`.
        tile: tile size in LR pixels (> overlap).
        overlap: overlap in LR pixels.
        batch_size: tiles per `run_batch` call (within one row of tiles).
        on_batch: optional callback receiving the number of tiles finished after each call.
        convert: optional function `convert(band, first_row)` applied to each finished float32 band of HR rows
            (starting at HR row `first_row`) before it is stored (e.g. clip, round and cast to uint8); it may
            change the channel count.
        out_dtype: dtype of the returned array (that of `convert`'s output).
        sink: optional function receiving each finished (converted) band in order, top to bottom; then nothing
            is kept (e.g. the rows go straight into a file) and None is returned.

    Returns:
        numpy [scale*H, scale*W, C] of `out_dtype` (C = 3 unless `convert` changes it); float32 and not
        clipped by default; None with `sink`.
    """
    height, width = lr.shape[:2]
    ys, tile_h = tile_starts(height, tile, overlap)
    xs, tile_w = tile_starts(width, tile, overlap)
    hr_overlap = overlap * scale
    cols = {x: blend_weights(tile_w * scale, hr_overlap, x > 0, x + tile_w < width) for x in xs}
    out, written = None, 0
    if sink is None:
        def sink(rows):  # collect the bands into the returned array
            nonlocal out, written
            if out is None:
                out = np.empty((height * scale, width * scale) + rows.shape[2:], out_dtype or rows.dtype)
            out[written: written + len(rows)] = rows
            written += len(rows)
    band_h = tile_h * scale
    carry_total = carry_weight = None
    for row, y in enumerate(ys):
        row_weights = blend_weights(band_h, hr_overlap, y > 0, y + tile_h < height)
        total = np.zeros((band_h, width * scale, 3), "float32")
        weight_sum = np.zeros((band_h, width * scale, 1), "float32")
        if carry_total is not None:
            total[: len(carry_total)] = carry_total
            weight_sum[: len(carry_weight)] = carry_weight
        for first in range(0, len(xs), batch_size):
            chunk = xs[first:first + batch_size]
            outputs = run_batch(np.stack([lr[y:y + tile_h, x:x + tile_w] for x in chunk]))
            for x, output in zip(chunk, outputs):
                weight = (row_weights[:, None] * cols[x][None, :])[..., None]
                columns = slice(x * scale, (x + tile_w) * scale)
                in_place = output.dtype == np.float32 and output.flags.writeable
                output = np.multiply(output, weight, out=output if in_place else None)
                total[:, columns] += output
                weight_sum[:, columns] += weight
            if on_batch is not None:
                on_batch(len(chunk))
        done = (ys[row + 1] - y) * scale if row + 1 < len(ys) else band_h
        if not np.all(weight_sum[:done] > 0):  # cannot happen for tile > overlap; guards against future edits.
            raise RuntimeError("tiling left pixels without weight")
        band = np.divide(total[:done], weight_sum[:done], out=total[:done])
        sink(convert(band, y * scale) if convert is not None else band)
        carry_total, carry_weight = total[done:], weight_sum[done:]
    return out
