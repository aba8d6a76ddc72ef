"""MMSR (seed 001): a multi-model SR framework that routes images or tiles by their TVAT texture class.

- `tiles`: cut training images into LR/HR tiles and split them by TVAT class (`class_tile_sets`);
- `config`: `MMSRConfig` (tiles, TVAT boundaries, per-class "X-Y" depths);
- `training`: `train_mmsr` trains the SRGAN of every class on that class's tiles with the class's depth
  (`python -m sr_keras.mmsr train`; `--mmsr_class=K` for one class per node) and writes `mmsr.json`;
- `router`: `MMSRRouter` sends each LR tile to its class's model; with `sr_keras.inference.upscale(router,
  image, tile=...)` (or `python -m sr_keras.upscale --mmsr_dir=...`) it reconstructs whole images.
"""

from sr_keras._lazy import lazy_package

lazy_package(__name__, {
    "sr_keras.mmsr.router": ("MANIFEST", "MMSRRouter", "load_router", "save_manifest"),
    "sr_keras.mmsr.tiles": ("TileSet", "class_tile_sets", "classify", "cut_tiles", "tile_grid"),
})

__all__ = ["MANIFEST", "MMSRRouter", "TileSet", "class_tile_sets", "classify", "cut_tiles", "load_router",
           "save_manifest", "tile_grid"]
