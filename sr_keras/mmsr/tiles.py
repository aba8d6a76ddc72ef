"""MMSR training data: training images cut into LR tiles, each tile assigned a texture class by TVAT.

Seed 001 (MMSR, section 3) splits the training images into fragments, measures each fragment's TVAT and
trains one model per TVAT class. Here a tile is an LR window of `tile` x `tile` pixels (neighbours overlap by
`overlap`), laid out exactly as `sr_keras.inference` lays out tiles at reconstruction time, with its HR
counterpart; TVAT is measured on the LR tile, which is what the router sees at inference time.
"""
import dataclasses

import numpy as np
import tensorflow as tf

from sr_keras.data.tvat import DEFAULT_BOUNDARIES, DEFAULT_THRESHOLD, tvat
from sr_keras.inference.tiling import tile_starts


def tile_grid(height, width, tile, overlap):
    """[(y, x)] LR top-left corners and the (tile_h, tile_w) size of the tiles covering an image."""
    ys, tile_h = tile_starts(height, tile, overlap)
    xs, tile_w = tile_starts(width, tile, overlap)
    return [(y, x) for y in ys for x in xs], (tile_h, tile_w)


def classify(values, boundaries=DEFAULT_BOUNDARIES):
    """Class index of each TVAT value: 0 below boundaries[0], 1 up to boundaries[1], ... (numpy)."""
    return np.searchsorted(np.asarray(boundaries, "float64"), np.asarray(values, "float64"), side="right")


@dataclasses.dataclass(frozen=True)
class TileSet:
    """LR/HR training tiles of one TVAT class, in memory; the `images()` contract of `ImageSet`.

    Attributes:
        name: label.
        scale: SR factor.
        lr: uint8 [N, t, t, 3] LR tiles.
        hr: uint8 [N, t*s, t*s, 3] HR tiles.
        tvat: float [N] TVAT of each LR tile.
    """

    name: str
    scale: int
    lr: np.ndarray
    hr: np.ndarray
    tvat: np.ndarray

    def __len__(self):
        return len(self.lr)

    @property
    def lr_sizes(self):
        return tuple((int(self.lr.shape[1]), int(self.lr.shape[2])) for _ in range(len(self)))

    @property
    def hr_paths(self):
        return tuple(f"{self.name}#{i}" for i in range(len(self)))

    def select(self, keep):
        keep = list(keep)
        return dataclasses.replace(self, lr=self.lr[keep], hr=self.hr[keep], tvat=self.tvat[keep])

    def shard(self, num_shards, index):
        return self.select(range(index, len(self), num_shards))

    def images(self, shuffle=False, seed=None, num_parallel_calls=tf.data.AUTOTUNE):
        del num_parallel_calls
        dataset = tf.data.Dataset.from_tensor_slices({"lr": self.lr, "hr": self.hr,
                                                      "path": list(self.hr_paths)})
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        return dataset.map(lambda item: {"lr": tf.cast(item["lr"], tf.float32), "hr": tf.cast(item["hr"], tf.float32),
                                         "path": item["path"]})


def cut_tiles(source, tile, overlap, threshold=DEFAULT_THRESHOLD):
    """Cuts every image of `source` (an ImageSet) into LR tiles with their HR tiles and TVAT values.

    Returns:
        (lr uint8 [N, t, t, 3], hr uint8 [N, t*s, t*s, 3], tvat float [N]); images smaller than `tile` on a side
        are left out. Tiles of one image share the size of that image's tile grid, so only images at least
        `tile` pixels on each side (all tiles exactly `tile`) are used.
    """
    scale = source.scale
    lr_tiles, hr_tiles = [], []
    for item in source.images(shuffle=False):
        lr = np.clip(np.round(item["lr"].numpy()), 0, 255).astype("uint8")
        hr = np.clip(np.round(item["hr"].numpy()), 0, 255).astype("uint8")
        height, width = lr.shape[:2]
        if height < tile or width < tile:
            continue
        corners, _ = tile_grid(height, width, tile, overlap)
        # The grid may shrink tiles to spread them evenly; training tiles keep the requested size (clamped in).
        for y, x in corners:
            y, x = min(y, height - tile), min(x, width - tile)
            lr_tiles.append(lr[y:y + tile, x:x + tile])
            hr_tiles.append(hr[y * scale:(y + tile) * scale, x * scale:(x + tile) * scale])
    if not lr_tiles:
        raise ValueError(f"no image of {source.name} is at least {tile}x{tile} LR pixels")
    lr_array, hr_array = np.stack(lr_tiles), np.stack(hr_tiles)
    values = np.concatenate([tvat(tf.constant(lr_array[i:i + 256], tf.float32), threshold=threshold).numpy()
                             for i in range(0, len(lr_array), 256)])
    return lr_array, hr_array, values


def class_tile_sets(source, tile, overlap, boundaries=DEFAULT_BOUNDARIES, threshold=DEFAULT_THRESHOLD):
    """{class: TileSet} of the training tiles of `source` split by TVAT class (classes with no tile omitted)."""
    return split_by_class(source, *cut_tiles(source, tile, overlap, threshold), boundaries)


def split_by_class(source, lr, hr, values, boundaries):
    """{class: TileSet} of tiles cut from `source` (`cut_tiles`' arrays), classes without tiles omitted."""
    classes = classify(values, boundaries)
    return {int(k): TileSet(f"{source.name}_tvat{k}", source.scale, lr[classes == k], hr[classes == k],
                            values[classes == k])
            for k in range(len(boundaries) + 1) if np.any(classes == k)}
