"""Inference: super-resolve whole images in bounded memory.

- `upscale(model, path_or_array, tile=..., self_ensemble=..., pool_size=...)`: uint8 in the input's layout.
- `predict(model, lr_float_rgb, ...)`: float32, unclipped.
- `upscale_to_file(model, path_or_array, png_path, ...)`: the same, streamed band by band into a PNG.
- `make_plan` / `run_plan` / `ArraySink`: the steps these compose (one plan of tiles, batch and checks per
  image, then its run into a sink of rows).
- `infer_scale(model)`: the model's integer factor.
- `self_ensemble(fn, lr)`: the EDSR+ geometric self-ensemble of any function.
- `attention_bytes` / `check_attention_memory` / `AttentionMemoryError`: the attention-map memory of models
  with `FlexibleSelfAttention` layers, checked by `upscale` before it runs.
- `plan_tiles` / `default_max_memory` / `MemoryBudgetError`: the tile size and batch that keep a whole upscale
  under a memory budget (`upscale(..., max_memory=...)`, `python -m sr_keras.upscale --max_memory=1GB`).
"""

from sr_keras._lazy import lazy_package

lazy_package(__name__, {
    "sr_keras.inference.ensemble": ("self_ensemble",),
    "sr_keras.inference.memory": ("DEFAULT_MAX_ATTENTION_BYTES", "AttentionMemoryError", "MemoryBudgetError",
                                  "attention_bytes", "check_attention_memory", "default_max_memory", "plan_tiles"),
    "sr_keras.inference.tiling": ("blend_weights", "tile_starts"),
    "sr_keras.inference.plan": ("ArraySink", "Plan", "make_plan", "run_plan"),
    "sr_keras.inference.runner": ("infer_scale",),
    "sr_keras.inference.upscale": ("predict", "upscale", "upscale_to_file"),
})

__all__ = [
    "DEFAULT_MAX_ATTENTION_BYTES", "ArraySink", "AttentionMemoryError", "MemoryBudgetError", "Plan",
    "attention_bytes", "blend_weights", "check_attention_memory", "default_max_memory", "infer_scale", "make_plan",
    "plan_tiles", "predict", "run_plan", "self_ensemble", "tile_starts", "upscale", "upscale_to_file",
]
