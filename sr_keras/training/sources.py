"""The training and validation image sets of a run, from its `DataConfig`."""
from sr_keras import data as sr_data


def training_source(data, scale):
    """The training `ImageSet` of `data` (a `DataConfig`) at `scale`."""
    if data.kind == "embedded":
        return sr_data.embedded_photos("train", scale)
    if data.kind == "folder":
        return sr_data.hr_folder(data.data_dir, scale)
    if data.kind == "paired":
        return sr_data.paired_folders(data.lr_dir, data.data_dir, scale)
    if data.kind == "div2k":
        return sr_data.div2k(data.data_dir, "train", data.div2k_track, scale)
    return sr_data.div2k_tfds(f"{data.div2k_track}_x{scale}", "train", data_dir=data.data_dir)


def validation_source(data, scale):
    """The validation `ImageSet` of `data` at `scale`: `valid_dir`, DIV2K's validation split, or the embedded
    validation photos."""
    if data.valid_dir:
        return sr_data.evaluation_set(data.valid_dir, scale)
    if data.kind == "div2k":
        return sr_data.div2k(data.data_dir, "valid", data.div2k_track, scale)
    if data.kind == "tfds":
        return sr_data.div2k_tfds(f"{data.div2k_track}_x{scale}", "validation", data_dir=data.data_dir)
    return sr_data.embedded_photos("valid", scale)
