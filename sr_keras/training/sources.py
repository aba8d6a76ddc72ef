"""The training and validation image sets of a run, from its `DataConfig`."""
import dataclasses

from sr_keras import data as sr_data


def _lr_grid(source, data):
    """`source` with the run's choice of LR quantisation (ImageSets that make their own LR)."""
    if isinstance(source, sr_data.ImageSet) and source.quantize_lr != data.quantize_lr:
        return dataclasses.replace(source, quantize_lr=data.quantize_lr)
    return source


def training_source(data, scale):
    """The training `ImageSet` of `data` (a `DataConfig`) at `scale`."""
    return _lr_grid(_training_source(data, scale), data)


def validation_source(data, scale):
    """The validation `ImageSet` of `data` at `scale`: `valid_dir`, DIV2K's validation split, or the embedded
    validation photos."""
    return _lr_grid(_validation_source(data, scale), data)


def _training_source(data, scale):
    if data.kind == "embedded":
        return sr_data.embedded_photos("train", scale)
    if data.kind == "folder":
        return sr_data.hr_folder(data.data_dir, scale)
    if data.kind == "paired":
        return sr_data.paired_folders(data.lr_dir, data.data_dir, scale)
    if data.kind == "div2k":
        return sr_data.div2k(data.data_dir, "train", data.div2k_track, scale)
    return sr_data.div2k_tfds(f"{data.div2k_track}_x{scale}", "train", data_dir=data.data_dir)


def _validation_source(data, scale):
    if data.valid_dir:
        return sr_data.evaluation_set(data.valid_dir, scale)
    if data.kind == "div2k":
        return sr_data.div2k(data.data_dir, "valid", data.div2k_track, scale)
    if data.kind == "tfds":
        return sr_data.div2k_tfds(f"{data.div2k_track}_x{scale}", "validation", data_dir=data.data_dir)
    return sr_data.embedded_photos("valid", scale)
