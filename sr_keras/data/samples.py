"""The embedded default data set: real photos that scikit-image ships inside its wheel.

They make every command of sr_keras run out of the box, offline, on a fresh machine. The split is fixed:
six photos for training (about 4.6 megapixels), three for validation. Motorcycle left and right are one
stereo pair, so both stay on the training side.
"""
import os

from sr_keras.data.folders import hr_files
from sr_keras.data.io import DataError

TRAIN_PHOTOS = (
    "astronaut.png",            # 512x512, portrait with fabric, metal and a flag
    "rocket.jpg",               # 640x427, rocket, sky and trees
    "motorcycle_left.png",      # 741x500, stereo pair, left view
    "motorcycle_right.png",     # 741x500, stereo pair, right view
    "hubble_deep_field.jpg",    # 1000x872, galaxies on black
    "retina.jpg",               # 1411x1411, fundus photograph
)
VALID_PHOTOS = (
    "chelsea.png",              # 451x300, a cat's fur
    "coffee.png",               # 600x400, a cup of coffee on a table
    "ihc.png",                  # 512x512, immunohistochemistry micrograph
)


def photo_dir():
    """The folder of scikit-image's bundled photos."""
    try:
        import skimage.data
    except ImportError:
        raise DataError("the embedded photos come with scikit-image: pip install scikit-image") from None
    return skimage.data.data_dir


def photo_paths(split="train"):
    """Paths of the embedded photos of `split` ("train", "valid" or "all")."""
    names = {"train": TRAIN_PHOTOS, "valid": VALID_PHOTOS, "all": TRAIN_PHOTOS + VALID_PHOTOS}
    if split not in names:
        raise ValueError(f"split must be one of {tuple(names)}, got {split!r}")
    paths = [os.path.join(photo_dir(), name) for name in names[split]]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DataError(f"scikit-image photo missing: {missing[0]} (reinstall scikit-image)")
    return paths


def embedded_photos(split="train", scale=4):
    """The embedded photos of `split` as an `ImageSet` (LR made with MATLAB bicubic)."""
    return hr_files(photo_paths(split), scale, name=f"embedded_{split}")
