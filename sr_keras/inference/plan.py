"""One image's run: the plan (tiles, overlap, batch, self-ensemble), computed once with its checks, and its
execution into a sink.

    plan = make_plan(model, height, width, tile=256, max_attention_bytes=...)  # checks, memory, attention
    run_plan(model, rgb, plan, sink)   # sink(rows): the finished HR rows, top to bottom, band by band

`ArraySink` collects the rows into one array; a `sr_keras.data.png.PNGWriter`'s `write_rows` streams them to a
file. The FSA pool size is not part of the plan: `sr_keras.layers.pool_size_set` sets it around both calls.
"""
import dataclasses
import numbers
from typing import Optional

import numpy as np

from sr_keras.inference.ensemble import self_ensemble as ensemble_mean
from sr_keras.inference.memory import attention_layers, check_attention_memory, plan_tiles
from sr_keras.inference.runner import infer_scale, run_model
from sr_keras.inference.tiling import check_tiling, predict_tiled, tile_starts
from sr_keras.progress import Progress

# With progress=None a progress line is shown when a call runs more tiles (model passes) than this.
AUTO_PROGRESS_TILES = 16
# ... and only once the call has run this long: quick jobs print nothing.
AUTO_PROGRESS_QUIET_SECONDS = 3.0


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one image runs. `tile` None: the whole image in one pass; `passes`: model calls on tiles (or on the
    whole image) of the whole job, self-ensemble's eight included."""

    scale: int
    tile: Optional[int]
    overlap: int
    batch_size: int
    self_ensemble: bool
    passes: int


def make_plan(model, height, width, tile=None, overlap=16, batch_size=4, self_ensemble=False, max_memory=None,
              max_attention_bytes=None, output_in_memory=True):
    """The `Plan` of a `height` x `width` image, its arguments checked.

    With `tile` None and `max_memory` (bytes for the whole process), the tile size and batch (at most
    `batch_size`) come from the model's graph (`sr_keras.inference.memory.plan_tiles`; `output_in_memory`
    False when the rows are streamed to a file). With `max_attention_bytes`, the attention maps of FSA models at
    their current pool sizes are checked against it (`AttentionMemoryError`) before anything big is allocated.
    """
    tile, overlap, batch_size = check_tiling(tile, overlap, batch_size)
    scale = infer_scale(model)
    graph = getattr(model, "keras_model", model)  # a FastModel (`--fast`) plans with the Keras model it runs
    if tile is None and max_memory is not None:
        if isinstance(max_memory, bool) or not isinstance(max_memory, numbers.Real) or max_memory <= 0:
            raise ValueError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
        tile, batch_size = plan_tiles(graph, height, width, scale, max_memory, overlap, max_batch=batch_size,
                                      output_in_memory=output_in_memory)
    if tile is None:
        run_h, run_w, batch, tiles = height, width, 1, 1
    else:
        ys, run_h = tile_starts(height, tile, overlap)
        xs, run_w = tile_starts(width, tile, overlap)
        tiles = len(ys) * len(xs)
        batch = min(batch_size, tiles)
    if max_attention_bytes is not None:
        if not isinstance(max_attention_bytes, numbers.Real) or max_attention_bytes <= 0:
            raise ValueError(f"max_attention_bytes must be a positive number, got {max_attention_bytes!r}")
        if attention_layers(graph):
            check_attention_memory(graph, run_h, run_w, batch, limit=max_attention_bytes)
    return Plan(scale, tile, overlap, batch_size, bool(self_ensemble), tiles * (8 if self_ensemble else 1))


class ArraySink:
    """A sink that keeps the rows of a `height`-row output in one array (`array`), allocated at the first band
    with that band's width, channels and dtype, so the output is never held twice."""

    def __init__(self, height):
        self.height = height
        self.array = None
        self.written = 0

    def __call__(self, rows):
        if self.array is None:
            self.array = np.empty((self.height,) + rows.shape[1:], rows.dtype)
        self.array[self.written:self.written + len(rows)] = rows
        self.written += len(rows)


def run_plan(model, rgb, plan, sink, convert=None, progress=None):
    """Runs `model` on the float32 RGB image `rgb` [H, W, 3] as `plan` says; `sink(rows)` receives the output
    rows, top to bottom (float32 unclipped, or `convert(band, first_row)` of them). Tiled runs without
    self-ensemble pass each band of finished rows on as soon as it is done; otherwise the whole output is one
    band. `progress`: True, False, or None for a line when the job runs more than `AUTO_PROGRESS_TILES` tiles
    and for longer than `AUTO_PROGRESS_QUIET_SECONDS`."""
    enabled = bool(progress) if progress is not None else plan.passes > AUTO_PROGRESS_TILES
    bar = Progress(plan.passes, label="upscale", unit="tiles", enabled=enabled,
                   quiet_for=0.0 if progress else AUTO_PROGRESS_QUIET_SECONDS)
    streamed = plan.tile is not None and not plan.self_ensemble

    def run_batch(batch):
        output = run_model(model, batch)
        expected = (batch.shape[0], batch.shape[1] * plan.scale, batch.shape[2] * plan.scale, 3)
        if output.shape != expected:
            raise ValueError(f"the model returned shape {output.shape} for an input of shape {batch.shape}, "
                             f"expected {expected}")
        return output

    def single_pass(image):
        image = np.asarray(image, dtype="float32")
        if plan.tile is None:
            output = run_batch(image[None])[0]
            bar.advance(1)
            return output
        if streamed:
            return predict_tiled(run_batch, image, plan.scale, plan.tile, plan.overlap, plan.batch_size,
                                 on_batch=bar.advance, convert=convert, out_dtype=None, sink=sink)
        return predict_tiled(run_batch, image, plan.scale, plan.tile, plan.overlap, plan.batch_size,
                             on_batch=bar.advance)

    with bar:
        result = ensemble_mean(single_pass, rgb) if plan.self_ensemble else single_pass(rgb)
    if not streamed:
        sink(result if convert is None else convert(result, 0))
