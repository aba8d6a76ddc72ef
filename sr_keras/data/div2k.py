"""DIV2K (Agustsson & Timofte, "NTIRE 2017 Challenge on Single Image Super-Resolution: Dataset and Study",
CVPRW 2017): 800 training images (0001-0800) and 100 validation images (0801-0900) of about 2K pixels.

Two ways in:
- `div2k(root, ...)`: the official archives extracted under one folder (`download_div2k(root)` in
  `sr_keras/data/div2k_download.py`, or `python -m sr_keras.download_div2k --root data/div2k`, downloads and
  checks them), e.g. `root/DIV2K_train_HR/0001.png` with `root/DIV2K_train_LR_bicubic/X4/0001x4.png`;
- `div2k_tfds(config, ...)`: the tensorflow-datasets builder `div2k/<config>` when the user has prepared it
  (this package never triggers its multi-GB download).
"""
import os

import tensorflow as tf

from sr_keras import checks
from sr_keras.data.div2k_archives import HR, SPLITS, TRACKS
from sr_keras.data.folders import paired_folders
from sr_keras.data.io import DataError



def div2k_lr_dir(root, split, track, scale):
    """The LR folder of a track in the official layout, e.g. `root/DIV2K_train_LR_bicubic/X4`."""
    _check(split, track, scale)
    return os.path.join(os.fspath(root), TRACKS[track].folder.format(split=split, scale=scale))


def _check(split, track, scale):
    if split not in SPLITS:
        raise ValueError(f"DIV2K split must be one of {SPLITS}, got {split!r}")
    if track not in TRACKS:
        raise ValueError(f"DIV2K track must be one of {tuple(TRACKS)}, got {track!r}")
    checks.scale(scale, TRACKS[track].scales, owner=f"DIV2K track {track!r}")


def div2k(root, split="train", track="bicubic", scale=4, skip_bad=False, verify="header"):
    """DIV2K from the official archive layout under `root`.

    Args:
        root: folder holding `DIV2K_<split>_HR/` and the LR folders of the tracks used.
        split: "train" (0001-0800) or "valid" (0801-0900).
        track: "bicubic" (x2, x3, x4), "unknown" (x2, x3, x4), "x8" (bicubic x8), "mild" or "difficult"
            (realistic x4 tracks).
        scale: the SR factor of the track.
        skip_bad: leave unreadable or unpaired files out with a warning instead of raising.
        verify: "header" (default: fast structural check of 1,600 2K files) or "full" (decode every file).

    Returns:
        An `ImageSet` of LR/HR pairs.

    Raises:
        DataError: a missing folder (the message names it and how to get it), or files that do not pair.
    """
    _check(split, track, scale)
    root = os.fspath(root)
    hr_dir = os.path.join(root, HR.folder.format(split=split))
    lr_dir = div2k_lr_dir(root, split, track, scale)
    for folder in (hr_dir, lr_dir):
        if not os.path.isdir(folder):
            raise DataError(f"DIV2K folder not found: {folder} (python -m sr_keras.download_div2k --root {root} "
                            f"--tracks {track} --scales {scale} downloads and checks the official archives)")
    suffix = TRACKS[track].suffix.format(scale=scale)
    return paired_folders(lr_dir, hr_dir, scale, name=f"div2k_{split}_{track}_x{scale}", skip_bad=skip_bad,
                          verify=verify, lr_suffix=suffix)


class TFDSImageSet:
    """DIV2K from a prepared tensorflow-datasets `div2k/<config>`; the same `images()` contract as `ImageSet`."""

    def __init__(self, config="bicubic_x4", split="train", data_dir=None):
        import tensorflow_datasets as tfds

        try:
            scale = int(config.rsplit("_x", 1)[1])
        except (IndexError, ValueError):
            raise ValueError(f"not a div2k config: {config!r} (expected e.g. 'bicubic_x4')") from None
        if split not in ("train", "validation"):
            raise ValueError(f"div2k tfds split must be 'train' or 'validation', got {split!r}")
        self.builder = tfds.builder(f"div2k/{config}", data_dir=data_dir)
        if not tf.io.gfile.exists(os.path.join(self.builder.data_dir, "dataset_info.json")):
            raise DataError(f"tensorflow-datasets div2k/{config} is not prepared in {self.builder.data_dir}; "
                            f"prepare it with tfds (a multi-GB download) or use the archive layout "
                            f"(sr_keras.data.div2k)")
        self.name = f"tfds_div2k_{config}_{split}"
        self.scale = scale
        self.split = split
        self.lr_sizes = ()

    def __len__(self):
        return self.builder.info.splits[self.split].num_examples

    def images(self, shuffle=False, seed=None, num_parallel_calls=tf.data.AUTOTUNE):
        dataset = self.builder.as_dataset(split=self.split, shuffle_files=shuffle,
                                          read_config=_read_config(seed))
        if shuffle:
            dataset = dataset.shuffle(16, seed=seed)
        scale = self.scale

        @tf.autograph.experimental.do_not_convert
        def convert(item):
            lr = tf.cast(item["lr"], tf.float32)
            lr_shape = tf.shape(lr)
            hr = tf.cast(item["hr"], tf.float32)[: lr_shape[0] * scale, : lr_shape[1] * scale]
            return {"lr": lr, "hr": hr, "path": tf.constant(self.name)}

        return dataset.map(convert, num_parallel_calls=num_parallel_calls, deterministic=True)


def _read_config(seed):
    import tensorflow_datasets as tfds

    return tfds.ReadConfig(shuffle_seed=seed)


def div2k_tfds(config="bicubic_x4", split="train", data_dir=None):
    """DIV2K from tensorflow-datasets (`div2k/bicubic_x4`, `div2k/unknown_x2`, `div2k/realistic_mild_x4`, ...).

    Raises:
        DataError: the dataset is not prepared under `data_dir` (tfds' default when None).
    """
    return TFDSImageSet(config, split, data_dir)
