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
import numbers

import numpy as np

__all__ = ["blend_weights", "check_tiling", "predict_tiled", "tile_starts"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_tiling(tile, overlap, batch_size):
    """Validates the tiling arguments and returns them as python ints (`tile` may be None).

    Raises:
        ValueError: `tile` is not a positive integer or None, `overlap` is not a non-negative integer, `tile`
            does not exceed `overlap`, or `batch_size` is not a positive integer.
    """
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not _is_int(overlap) or overlap < 0:
        raise ValueError(f"overlap must be a non-negative integer, got {overlap!r}")
    if tile is None:
        return None, int(overlap), int(batch_size)
    if not _is_int(tile) or tile < 1:
        raise ValueError(f"tile must be a positive integer or None, got {tile!r}")
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than overlap ({overlap}): tiles advance by "
                         f"tile - overlap pixels")
    return int(tile), int(overlap), int(batch_size)


def tile_starts(length, tile, overlap):
    """Start offsets of the tiles covering `length` pixels along one axis.

    Args:
        length: image size along the axis, >= 1.
        tile: tile size, > overlap.
        overlap: overlap between neighbouring tiles.

    Returns:
        `(starts, size)`: sorted list of start offsets and the tile size along this axis (`min(tile, length)`).
        Tiles start every `tile - overlap` pixels; the last one ends at `length`.
    """
    if length <= tile:
        return [0], length
    stride = tile - overlap
    count = math.ceil((length - tile) / stride) + 1
    return [min(i * stride, length - tile) for i in range(count)], tile


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


def predict_tiled(run_batch, lr, scale, tile, overlap, batch_size, on_batch=None):
    """Super-resolves `lr` tile by tile and blends the tile outputs (see the module docstring).

    Args:
        run_batch: function from a float32 numpy batch [B, h, w, 3] to a numpy batch [B, scale*h, scale*w, 3].
        lr: float32 numpy [H, W, 3].
        scale: integer SR factor of `run_batch`.
        tile: tile size in LR pixels (> overlap).
        overlap: overlap in LR pixels.
        batch_size: tiles per `run_batch` call.
        on_batch: optional callback receiving the number of tiles finished after each call.

    Returns:
        float32 numpy [scale*H, scale*W, 3], not clipped.
    """
    height, width = lr.shape[:2]
    ys, tile_h = tile_starts(height, tile, overlap)
    xs, tile_w = tile_starts(width, tile, overlap)
    hr_overlap = overlap * scale
    rows = {y: blend_weights(tile_h * scale, hr_overlap, y > 0, y + tile_h < height) for y in ys}
    cols = {x: blend_weights(tile_w * scale, hr_overlap, x > 0, x + tile_w < width) for x in xs}
    total = np.zeros((height * scale, width * scale, 3), "float32")
    weight_sum = np.zeros((height * scale, width * scale, 1), "float32")
    positions = [(y, x) for y in ys for x in xs]
    for first in range(0, len(positions), batch_size):
        chunk = positions[first:first + batch_size]
        batch = np.stack([lr[y:y + tile_h, x:x + tile_w] for y, x in chunk])
        outputs = run_batch(batch)
        for (y, x), output in zip(chunk, outputs):
            weight = (rows[y][:, None] * cols[x][None, :])[..., None]
            region = (slice(y * scale, (y + tile_h) * scale), slice(x * scale, (x + tile_w) * scale))
            total[region] += weight * output
            weight_sum[region] += weight
        if on_batch is not None:
            on_batch(len(chunk))
    if not np.all(weight_sum > 0):  # cannot happen for tile > overlap; guards against future edits.
        raise RuntimeError("tiling left pixels without weight")
    return total / weight_sum
