"""Data for sr_keras: image sources, MATLAB bicubic degradation, tf.data pipelines and the TVAT measure.

Sources (all give whole images as float32 RGB in [0, 255]):
    embedded_photos(split, scale)          real photos shipped with scikit-image (the default, offline)
    hr_folder(directory, scale)            your own HR images; LR made with MATLAB bicubic
    paired_folders(lr_dir, hr_dir, scale)  your own LR/HR pairs, matched by name
    evaluation_set(directory, scale)       Set5, Set14, B100, Urban100, any folder
    div2k(root, split, track, scale)       DIV2K from the official archives, extracted under root
    div2k_tfds(config, split)              DIV2K from a prepared tensorflow-datasets div2k/<config>

Real-world LR (graph ops; `training_dataset(..., degradation=...)`):
    realesrgan.degrade_batch(hr, scale, seed, RealESRGANSettings())   Real-ESRGAN's second-order model
    bsrgan.degrade_image(hr, scale, seed)                             BSRGAN's shuffled model
    camera.camera_degrade(hr, scale, seed, index)                     the fixed held-out camera chain

Getting DIV2K:
    download_div2k(root, splits, tracks)   downloads, checks (size, sha256) and extracts the official archives
                                           under root, resuming and skipping finished folders (the command
                                           line: python -m sr_keras.download_div2k --root data/div2k)
"""

from sr_keras._lazy import lazy_package

lazy_package(__name__, {
    "sr_keras.data.degrade": ("bicubic_degrade", "imresize", "modcrop", "quantize_uint8"),
    "sr_keras.data.div2k": ("div2k", "div2k_tfds"),
    "sr_keras.data.div2k_download": ("download_div2k",),
    "sr_keras.data.folders": ("ImageSet", "evaluation_set", "hr_files", "hr_folder", "paired_folders"),
    "sr_keras.data.io": ("DataError", "ImageReadError", "inspect_images", "list_images", "read_image"),
    "sr_keras.data.pipeline": ("DEGRADATIONS", "distributed_training_dataset", "interleave_scales",
                               "training_dataset"),
    "sr_keras.data.realesrgan": ("RealESRGANSettings",),
    "sr_keras.data.samples": ("embedded_photos", "photo_paths"),
    "sr_keras.data.tvat": ("calibrate_tvat", "tvat", "tvat_class", "vsp"),
}, light=("div2k_archives", "div2k_download", "io"))

__all__ = [
    "DEGRADATIONS", "DataError", "ImageReadError", "ImageSet", "RealESRGANSettings", "bicubic_degrade",
    "calibrate_tvat", "distributed_training_dataset",
    "div2k", "div2k_tfds", "download_div2k", "embedded_photos", "evaluation_set", "hr_files",
    "hr_folder", "imresize", "inspect_images", "interleave_scales", "list_images", "modcrop", "paired_folders",
    "photo_paths", "quantize_uint8", "read_image", "training_dataset", "tvat", "tvat_class", "vsp",
]
