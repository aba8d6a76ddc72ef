"""Image sets on disk: a folder of HR images, paired LR/HR folders, evaluation sets.

Every source is an `ImageSet`: HR files, the matching LR files (or None, when LR is made on the fly with
MATLAB bicubic from the HR image cropped to a multiple of the scale), and the checked image sizes. Its
`images()` method gives a tf.data.Dataset of whole images `{"lr", "hr", "path"}`, float32 RGB in [0, 255],
which `sr_keras.data.pipeline` turns into training batches or evaluation pairs.
"""
import dataclasses
import os
import re
import warnings

import tensorflow as tf

from sr_keras import checks
from sr_keras.data import io
from sr_keras.data.degrade import imresize, quantize_uint8
from sr_keras.data.io import DataError


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """HR image files with their LR counterparts (or None) at one scale.

    Attributes:
        name: a label for messages and logs.
        scale: the integer SR factor.
        hr_paths: HR image files.
        lr_paths: LR files aligned with `hr_paths`, or None to make LR with MATLAB bicubic.
        lr_sizes: (height, width) of each LR image (read or computed), used to skip images smaller than a crop.
        quantize_lr: LR made here is rounded and clipped to the uint8 grid (`degrade.quantize_uint8`), as
            MATLAB's `imresize` returns it for uint8 images and as every published LR set (DIV2K, Set5, ...)
            is stored; False keeps the float bicubic output (values slightly outside [0, 255], fractions).
            LR read from files is integer already.
    """

    name: str
    scale: int
    hr_paths: tuple
    lr_paths: tuple = None
    lr_sizes: tuple = ()
    quantize_lr: bool = True

    def __len__(self):
        return len(self.hr_paths)

    def select(self, keep):
        """A copy holding only the images whose index is in `keep` (an iterable of indices)."""
        keep = list(keep)
        return dataclasses.replace(
            self,
            hr_paths=tuple(self.hr_paths[i] for i in keep),
            lr_paths=None if self.lr_paths is None else tuple(self.lr_paths[i] for i in keep),
            lr_sizes=tuple(self.lr_sizes[i] for i in keep) if self.lr_sizes else ())

    def shard(self, num_shards, index):
        """Every `num_shards`-th image starting at `index` (for multi-worker input pipelines)."""
        return self.select(range(index, len(self), num_shards))

    def images(self, shuffle=False, seed=None, num_parallel_calls=tf.data.AUTOTUNE):
        """Whole images as a tf.data.Dataset of {"lr", "hr", "path"}; HR is cropped to LR size * scale.

        Args:
            shuffle: shuffle the file order (reshuffled each epoch).
            seed: shuffle seed.
            num_parallel_calls: parallelism of decoding.
        """
        scale, quantize = self.scale, self.quantize_lr
        files = {"hr": list(self.hr_paths)}
        if self.lr_paths is not None:
            files["lr"] = list(self.lr_paths)
        dataset = tf.data.Dataset.from_tensor_slices(files)
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)

        @tf.autograph.experimental.do_not_convert  # explicit TensorFlow ops (see sr_keras.data.pipeline)
        def load(item):
            hr = io.load_image(item["hr"])
            if "lr" in item:
                lr = io.load_image(item["lr"])
                lr_shape = tf.shape(lr)
                hr = hr[: lr_shape[0] * scale, : lr_shape[1] * scale]
            else:
                hr_shape = tf.shape(hr)
                hr = hr[: hr_shape[0] // scale * scale, : hr_shape[1] // scale * scale]
                lr = imresize(hr, scale=1.0 / scale)
                if quantize:
                    lr = quantize_uint8(lr)
            return {"lr": lr, "hr": hr, "path": item["hr"]}

        return dataset.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)


def hr_files(paths, scale, name, skip_bad=False, verify="full"):
    """HR image files only; LR is made with MATLAB bicubic after cropping HR to a multiple of `scale`.

    Raises:
        DataError: no readable image, or an image smaller than the scale.
        ImageReadError: an unreadable file (unless `skip_bad`).
    """
    scale = checks.scale(scale)
    infos = io.inspect_images(paths, skip_bad=skip_bad, full=verify == "full")
    if not infos:
        raise DataError(f"no readable image in {name}")
    small = [info.path for info in infos if info.height < scale or info.width < scale]
    if small:
        raise DataError(f"image smaller than the scale {scale}: {small[0]}")
    return ImageSet(
        name=name,
        scale=scale,
        hr_paths=tuple(info.path for info in infos),
        lr_paths=None,
        lr_sizes=tuple((info.height // scale, info.width // scale) for info in infos))


def hr_folder(directory, scale, name=None, recursive=True, skip_bad=False, verify="full"):
    """A folder of HR images only; LR is made with MATLAB bicubic after cropping HR to a multiple of `scale`.

    Args:
        directory: folder searched (recursively by default) for png, jpg, jpeg, bmp and webp files.
        scale: integer SR factor.
        name: label, default the folder name.
        recursive: search sub-folders.
        skip_bad: leave unreadable files out with a warning instead of raising.
        verify: "full" decodes every file once to catch corrupt ones; "header" only checks file structure.

    Raises:
        DataError: missing or empty directory, or no readable image.
        ImageReadError: an unreadable file (unless `skip_bad`).
    """
    name = name or os.path.basename(os.path.normpath(os.fspath(directory)))
    return hr_files(io.list_images(directory, recursive), scale, name, skip_bad=skip_bad, verify=verify)


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def paired_folders(lr_dir, hr_dir, scale, name=None, skip_bad=False, verify="full", lr_suffix=None):
    """LR and HR folders matched by file name.

    An HR file `<stem>.<ext>` matches the LR file `<stem>x<scale>.<any ext>` (DIV2K's `0001x4.png`),
    `<stem><lr_suffix>.<any ext>` when `lr_suffix` is given (DIV2K's realistic tracks: "x4m", "x4d"), or a
    same-name file `<stem>.<any ext>`. Each LR image must be HR size // scale (HR is cropped to LR * scale).

    Raises:
        DataError: a missing or empty directory, no LR file matching the scale, HR files without an LR
            partner (unless `skip_bad`), or sizes that do not agree with the scale.
    """
    scale = checks.scale(scale)
    hr_files = io.list_images(hr_dir)
    lr_files = io.list_images(lr_dir)
    lr_by_stem = {}
    for path in lr_files:
        lr_by_stem.setdefault(_stem(path), path)
    suffixes = [lr_suffix] if lr_suffix else [f"x{scale}", f"X{scale}", ""]
    pairs, missing = [], []
    for hr_path in hr_files:
        stem = _stem(hr_path)
        match = next((lr_by_stem[stem + s] for s in suffixes if stem + s in lr_by_stem), None)
        if match is None:
            missing.append(hr_path)
        else:
            pairs.append((hr_path, match))
    if not pairs:
        other = sorted({m.group(1) for m in (re.search(r"x(\d+)$", _stem(p)) for p in lr_files) if m})
        found = f" (LR files there are for scale(s) {', '.join(other)})" if other else ""
        raise DataError(f"no LR file for scale {scale} in {lr_dir} matches the HR files of {hr_dir}: expected "
                        f"names like {_stem(hr_files[0])}{suffixes[0]}.png{found}")
    if missing:
        message = f"{len(missing)} HR file(s) of {hr_dir} have no LR partner for scale {scale} in {lr_dir}, " \
                  f"first: {missing[0]}"
        if not skip_bad:
            raise DataError(message)
        warnings.warn(message + " (left out)", stacklevel=2)
    full = verify == "full"
    hr_infos = {i.path: i for i in io.inspect_images([h for h, _ in pairs], skip_bad=skip_bad, full=full)}
    lr_infos = {i.path: i for i in io.inspect_images([lr for _, lr in pairs], skip_bad=skip_bad, full=full)}
    kept = []
    for hr_path, lr_path in pairs:
        if hr_path not in hr_infos or lr_path not in lr_infos:
            continue
        hr_info, lr_info = hr_infos[hr_path], lr_infos[lr_path]
        if hr_info.height // scale != lr_info.height or hr_info.width // scale != lr_info.width:
            message = (f"size mismatch at scale {scale}: HR {hr_path} is {hr_info.width}x{hr_info.height}, LR "
                       f"{lr_path} is {lr_info.width}x{lr_info.height} (expected "
                       f"{hr_info.width // scale}x{hr_info.height // scale})")
            if not skip_bad:
                raise DataError(message)
            warnings.warn(message + " (left out)", stacklevel=2)
            continue
        kept.append((hr_path, lr_path, (lr_info.height, lr_info.width)))
    if not kept:
        raise DataError(f"no usable LR/HR pair in {lr_dir} and {hr_dir}")
    return ImageSet(
        name=name or os.path.basename(os.path.normpath(os.fspath(hr_dir))),
        scale=scale,
        hr_paths=tuple(h for h, _, _ in kept),
        lr_paths=tuple(lr for _, lr, _ in kept),
        lr_sizes=tuple(size for _, _, size in kept))


def evaluation_set(directory, scale, name=None, verify="full"):
    """An evaluation set (Set5, Set14, B100, Urban100, DIV2K valid or any folder) as whole images.

    Accepts the layout of the EDSR benchmark archives, `<dir>/HR/*.png` with `<dir>/LR_bicubic/X<scale>/`,
    and otherwise treats `directory` as a folder of HR images whose LR is made with MATLAB bicubic after a
    modcrop (the benchmarks' protocol).
    """
    directory = os.fspath(directory)
    hr_dir = os.path.join(directory, "HR")
    lr_dir = os.path.join(directory, "LR_bicubic", f"X{scale}")
    name = name or os.path.basename(os.path.normpath(directory))
    if os.path.isdir(hr_dir) and os.path.isdir(lr_dir):
        return paired_folders(lr_dir, hr_dir, scale, name=name, verify=verify)
    return hr_folder(directory, scale, name=name, verify=verify)
