"""Memory estimates made before inference: the attention maps of `FlexibleSelfAttention` layers, and the
tile size that keeps a whole upscale under a memory budget (`plan_tiles`, `upscale --max_memory`).

An FSA layer with pool size p on a feature map of h x w positions attends over N = ceil(h/p) * ceil(w/p)
pooled positions and holds two [batch, N, N] float32 maps at once (the logits and their softmax). N grows with
the image area, so the maps grow with its square: A-SRResNet at p = 1 on a 350 x 500 LR image needs
175000^2 * 8 bytes = 245 GB. `check_attention_memory` computes this up front and raises a clear
`AttentionMemoryError` instead of letting TensorFlow try (and fail, or swap) to allocate it.
"""
import math
import os

import keras

from sr_keras.checks import parse_bytes  # the budget's text; in checks so commands parse it without Keras
from sr_keras.inference.tiling import tile_starts
from sr_keras.layers import FlexibleSelfAttention, iter_layers

__all__ = [
    "AttentionMemoryError", "DEFAULT_MAX_ATTENTION_BYTES", "attention_bytes", "attention_feature_sizes",
    "attention_layers", "check_attention_memory", "MemoryBudgetError", "activation_elements_per_pixel",
    "default_max_memory", "parse_bytes", "plan_tiles", "BUDGET_MARGIN",
]

DEFAULT_MAX_ATTENTION_BYTES = 4 * 2 ** 30
_BYTES_PER_ENTRY = 4   # float32: the softmax always runs in float32.
_MAPS_PER_LAYER = 2    # logits and softmax weights are alive together.
_POOL_CANDIDATES = (2, 4, 8, 16, 32, 64)
_TILE_CANDIDATES = (1024, 768, 512, 384, 256, 192, 128, 96, 64, 48, 32)


class AttentionMemoryError(MemoryError, ValueError):
    """The attention maps of a model's FSA layers would need more memory than allowed for this input.

    Raised before anything is allocated. The message gives the bytes needed (in GB), the pool size, the
    input size and a pool size or tile size that would fit.
    """


def attention_layers(model):
    """Returns the `FlexibleSelfAttention` layers of `model` (nested ones included), in model order."""
    return [layer for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention)]


def attention_feature_sizes(model, height, width):
    """The (height, width) of each FSA layer's input feature map for an input of `height` x `width` pixels.

    The sizes are found by symbolic shape inference through the model up to each FSA layer (no tensor is
    allocated). When that is impossible (the layer sits inside a nested sub-model, the model is not a
    functional graph, or its input has a fixed size), the layer is assumed to run at input resolution,
    which is where the FSA of the sr_keras generators (A-SRResNet) sits.

    Args:
        model: a Keras model.
        height: input height in pixels.
        width: input width in pixels.

    Returns:
        list of `(layer, feature_height, feature_width)`, one per FSA layer.
    """
    layers = attention_layers(model)
    sizes = {id(layer): (int(height), int(width)) for layer in layers}
    direct = [layer for layer in layers if layer in getattr(model, "layers", ())]
    if direct:
        try:
            probe = keras.Model(model.inputs, [layer.input for layer in direct])
            specs = probe.compute_output_spec(keras.KerasTensor((1, int(height), int(width), 3)))
            if not isinstance(specs, (list, tuple)):
                specs = [specs]
            for layer, spec in zip(direct, specs):
                feature_h, feature_w = spec.shape[1], spec.shape[2]
                if feature_h is not None and feature_w is not None:
                    sizes[id(layer)] = (int(feature_h), int(feature_w))
        except Exception:  # noqa: BLE001 - any failure of the symbolic probe falls back to input resolution.
            pass
    return [(layer,) + sizes[id(layer)] for layer in layers]


def _bytes(feature_sizes, batch, pool_size=None):
    total = 0
    for layer, feature_h, feature_w in feature_sizes:
        p = layer.pool_size if pool_size is None else pool_size
        positions = math.ceil(feature_h / p) * math.ceil(feature_w / p)
        total += batch * positions * positions * _BYTES_PER_ENTRY * _MAPS_PER_LAYER
    return total


def attention_bytes(model, height, width, batch=1):
    """Bytes the attention maps of `model` need for a batch of `height` x `width` inputs.

    Sum over the FSA layers of batch * N^2 * 4 bytes * 2 (logits + softmax), N = ceil(h/p) * ceil(w/p) where
    h x w is the layer's input feature size (see `attention_feature_sizes`) and p its pool size. Activations
    other than the attention maps are not counted. 0 for a model without FSA layers.

    Args:
        model: a Keras model.
        height: input height in pixels.
        width: input width in pixels.
        batch: number of images (or tiles) run together.

    Returns:
        int, bytes.
    """
    return _bytes(attention_feature_sizes(model, height, width), int(batch))


def _suggestion(model, feature_sizes, height, width, batch, limit):
    """A pool size (for the whole input) and a tile size (at the current pool size) that fit in `limit`."""
    current = max((layer.pool_size for layer, _, _ in feature_sizes), default=1)
    advice = []
    for p in _POOL_CANDIDATES:
        if p > current and _bytes(feature_sizes, batch, pool_size=p) <= limit:
            advice.append(f"pool_size={p}")
            break
    for tile in _TILE_CANDIDATES:
        if tile < max(height, width) and attention_bytes(model, min(tile, height), min(tile, width), batch) <= limit:
            advice.append(f"tile={tile}")
            break
    if not advice:
        return "use a larger pool_size or a smaller tile"
    return "use " + " or ".join(advice)


def check_attention_memory(model, height, width, batch=1, limit=DEFAULT_MAX_ATTENTION_BYTES):
    """Raises `AttentionMemoryError` if the attention maps for this input would exceed `limit` bytes.

    Only shapes are computed; nothing big is allocated.

    Args:
        model: a Keras model (no check for a model without FSA layers).
        height: input (image or tile) height in pixels.
        width: input (image or tile) width in pixels.
        batch: images or tiles per model call.
        limit: the largest number of bytes allowed.

    Returns:
        The estimated bytes (int) when they fit.

    Raises:
        AttentionMemoryError: the estimate exceeds `limit`. The message gives the need in GB (10^9 bytes),
            the pool size(s), the input size and a pool or tile size that would fit.
    """
    feature_sizes = attention_feature_sizes(model, height, width)
    needed = _bytes(feature_sizes, int(batch))
    if needed <= limit:
        return needed
    pools = sorted({layer.pool_size for layer, _, _ in feature_sizes})
    pool_text = ", ".join(str(p) for p in pools)
    advice = _suggestion(model, feature_sizes, height, width, int(batch), limit)
    raise AttentionMemoryError(
        f"the attention maps of {getattr(model, 'name', 'the model')!r} would need {needed / 1e9:.1f} GB "
        f"({needed} bytes) for a {height}x{width} input (batch {batch}, pool_size={pool_text}), more than the "
        f"limit of {limit / 1e9:.1f} GB; {advice} (or raise max_attention_bytes)")


# ------------------------------------------------------------------------------------ tiles from a budget

_FLOAT_BYTES = 4
# Peak resident memory grows by about the estimated live activations: measured on the 2-core test machine,
# EDSR baseline x4 (estimate 2048 floats = 8.0 kB per LR tile pixel) on a 1000x1000 photo peaked at 944 MB
# with 128-pixel tiles and 1351 MB with 256-pixel tiles, 8.3 kB per added tile pixel. The margin covers
# oneDNN scratch buffers and TensorFlow's allocator.
ACTIVATION_OVERHEAD = 1.25
# Memory the first model run adds beyond what is counted (the traced graph, oneDNN's primitive cache): on a
# 2000x2000 photo at x4 with 128-pixel tiles the count without it was 1005 MB and the measured peak 1027 MB.
RUNTIME_MARGIN = 64 * 2 ** 20
# The share of the budget's room (the budget less what the process already holds) that the plan keeps in reserve:
# the counts above are estimates measured on an idle machine, and a run sharing the CPU with other jobs peaked
# 3.5% above its 1 GB budget when the plan aimed at the whole of it (thread pools and allocator caches grow with
# waiting work). The promise is the budget itself: the peak resident memory stays below `budget`, planned at
# `budget - BUDGET_MARGIN * (budget - held)`.
BUDGET_MARGIN = 0.25
_BUDGET_TILES = (512, 448, 384, 320, 256, 224, 192, 160, 128, 96, 64, 48, 32)


def activation_elements_per_pixel(model, probe=32):
    """Peak live activation elements per LR input pixel of `model`, from its graph (nothing is run).

    Every layer's output size comes from symbolic shape inference on a `probe` x `probe` input; a tensor is
    live from the layer that makes it to the last layer that reads it, layers running in model order (as the
    traced graph does). Returns None for models that are not functional graphs.
    """
    layers = [layer for layer in getattr(model, "layers", []) if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or not getattr(model, "inputs", None):
        return None
    try:
        outputs = [layer.output for layer in layers]
        specs = keras.Model(model.inputs, outputs).compute_output_spec(keras.KerasTensor((1, probe, probe, 3)))
    except Exception:  # noqa: BLE001 - shared or nested layers, fixed input sizes: no estimate
        return None
    size = {id(t): math.prod(int(d) for d in spec.shape[1:]) for t, spec in zip(outputs, specs)}
    size[id(model.inputs[0])] = probe * probe * 3
    last_use = {}
    for index, layer in enumerate(layers):
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        for tensor in inputs:
            last_use[id(tensor)] = index
    alive, peak = {id(model.inputs[0]): size[id(model.inputs[0])]}, 0
    for index, layer in enumerate(layers):
        alive[id(layer.output)] = size[id(layer.output)]
        peak = max(peak, sum(alive.values()))
        alive = {t: n for t, n in alive.items() if last_use.get(t, -1) > index}
    return peak / (probe * probe)


def _paired_batch(per_row, batch):
    """The largest batch from 2 to `batch` that runs a row of `per_row` tiles in calls of two tiles or more (no
    call of one tile), or None when there is none; `batch` itself when the row has a single tile."""
    if per_row == 1:
        return batch
    return next((b for b in range(batch, 1, -1) if per_row % b != 1), None)


def available_memory():
    """Bytes of memory available to this process: MemAvailable of /proc/meminfo (Linux), else None."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def resident_memory():
    """This process's resident memory in bytes (/proc/self/statm), or 0 where unknown."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def default_max_memory():
    """The default budget of `plan_tiles`: a quarter of the available memory, at most 1.5 GB (2 GB of peak
    resident memory for the process is the promise), at least 0.5 GB; and at least `DEFAULT_ROOM` more than the
    process holds when it is called, so that a process already holding a large model (RRDBNet, or the exports
    `upscale --fast` measured) still gets working room. Call it once the model is loaded."""
    available = available_memory()
    cap = int(1.5 * 2 ** 30)
    rule = cap if available is None else max(min(available // 4, cap), 2 ** 29)
    return max(rule, resident_memory() + DEFAULT_ROOM)


# The default budget's least room above what the process holds (see `default_max_memory`).
DEFAULT_ROOM = 2 ** 30


class MemoryBudgetError(MemoryError, ValueError):
    """No tile size fits the memory budget; the message gives the budget and what the smallest tile needs."""


def plan_tiles(model, height, width, scale, budget, overlap=16, max_batch=4, output_in_memory=True):
    """The (tile, batch_size) that keeps upscaling a `height` x `width` image under `budget` bytes of resident
    memory, or (None, 1) when the whole image fits in one pass. The plan keeps `BUDGET_MARGIN` of the room above
    what the process holds in reserve, so that the estimate's error stays inside the budget.

    What is counted: the memory the process already holds (the runtime, the model), the input as float32, the
    uint8 output (unless `output_in_memory` is False: `upscale_to_file` streams it), the float32 band of blended
    tile rows, the tiles' live activations (from the model's graph, `activation_elements_per_pixel`, times
    `ACTIVATION_OVERHEAD`) and, for models with FSA layers, their attention maps at the layers' current pool
    sizes (`attention_bytes`, quadratic in the tile's positions). The largest tile from 512 down to
    32 that fits is taken, then as many tiles per batch (up to `max_batch`) as still fit.

    Where a row holds several tiles, the plan takes the largest tile whose row runs in calls of two tiles or
    more (`_paired_batch`), and falls back to the rule above only when no tile size allows that. oneDNN (on in
    sr_keras) runs some convolutions at batch 1 with a slower kernel: RRDBNet's 192-to-64-channel convolution
    on a 183x178 input took 118 ms at batch 1 (`x64:gemm:jit`) and 75 ms for two inputs at batch 2
    (`brg_conv_fwd:avx2`) on the 2-core AVX2 EPYC, and a 500x350 photo through RRDBNet (23 blocks) under the
    default budget took 121.8 s in 256-pixel tiles one per call, 55.8 s in 160-pixel tiles two per call.

    Raises:
        MemoryBudgetError: even the smallest tile does not fit (the message says how much is needed).
    """
    held = resident_memory()
    target = budget - BUDGET_MARGIN * max(budget - held, 0)
    per_pixel = activation_elements_per_pixel(model)
    if per_pixel is None:
        per_pixel = 64.0 * 3 * scale * scale  # unknown graph: assume 64-channel features at HR size
    activation = per_pixel * _FLOAT_BYTES * ACTIVATION_OVERHEAD
    fixed = held + RUNTIME_MARGIN + height * width * 3 * _FLOAT_BYTES
    if output_in_memory:
        fixed += height * width * scale * scale * 3

    def need(run_h, run_w, batch, band_h):
        band = 2.5 * band_h * scale * width * scale * 3 * _FLOAT_BYTES  # band, weights, the converted copy
        # FSA attention maps grow with the square of the positions: not a per-pixel cost (0 without FSA layers)
        return fixed + band + activation * run_h * run_w * batch + attention_bytes(model, run_h, run_w, batch)

    if need(height, width, 1, 0) + height * width * scale * scale * 3 * _FLOAT_BYTES <= target:
        return None, 1
    for paired in (max_batch > 1, False):
        for tile in _BUDGET_TILES:
            if tile <= overlap or tile > max(height, width):
                continue
            run_h, run_w = min(tile, height), min(tile, width)
            if need(run_h, run_w, 1, run_h) > target:
                continue
            batch = 1
            while batch < max_batch and need(run_h, run_w, batch + 1, run_h) <= target:
                batch += 1
            if paired:
                batch = _paired_batch(len(tile_starts(width, tile, overlap)[0]), batch)
                if batch is None:
                    continue
            return tile, batch
    smallest = next((t for t in reversed(_BUDGET_TILES) if t > overlap), _BUDGET_TILES[0])
    raise MemoryBudgetError(f"a memory budget of {budget / 2 ** 30:.2f} GB is too small for a {width}x{height} "
                            f"image at x{scale}: even {smallest}-pixel tiles need "
                            f"{need(smallest, smallest, 1, smallest) / 2 ** 30:.2f} GB, and the plan keeps "
                            f"{BUDGET_MARGIN:.0%} of the room above the {held / 2 ** 30:.2f} GB the process holds "
                            f"in reserve")


