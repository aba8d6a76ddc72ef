"""An image as `upscale` runs it: float RGB for the model, and what its output must keep (layout, alpha, bit
depth, ICC profile, EXIF), and the conversion of the model's float rows back to that layout."""
import dataclasses
import os
import warnings

import numpy as np

from sr_keras.data.io import read_source_image

# BT.601 luma weights, used to turn the RGB output of a grayscale input back into one channel.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


@dataclasses.dataclass
class Source:
    """An input of `upscale`: float RGB for the model plus what the output must keep."""

    rgb: np.ndarray            # float32 [H, W, 3] in [0, 255]
    alpha: object              # float32 [H, W] in [0, 255] or None
    layout: str                # "gray2" ([H, W] out), "gray3" ([H, W, 1]), "rgb", "rgba"
    bit_depth: int             # 8 or 16: the input's
    icc_profile: object = None
    exif: object = None

    @property
    def channels(self):
        return {"gray2": 1, "gray3": 1, "rgb": 3, "rgba": 4}[self.layout] + (
            1 if self.layout.startswith("gray") and self.alpha is not None else 0)


def load_source(image):
    """The `Source` of a path (`read_source_image`: 16 bits, alpha, gray, ICC and EXIF kept) or an array."""
    if isinstance(image, Source):
        return image
    if isinstance(image, (str, os.PathLike)):
        source = read_source_image(image)
        divisor = np.float32(257.0) if source.bit_depth == 16 else np.float32(1.0)
        rgb = source.rgb.astype("float32") / divisor
        alpha = None if source.alpha is None else source.alpha.astype("float32") / divisor
        layout = "gray2" if source.gray else ("rgb" if alpha is None else "rgba")
        return Source(rgb, alpha, layout, source.bit_depth, source.icc_profile, source.exif)
    array = np.asarray(image)
    what = "upscale"
    if array.dtype.kind not in "uif":
        raise ValueError(f"{what}: expected a numeric (uint8, uint16 or float) image, got dtype {array.dtype} "
                         f"with shape {array.shape}")
    if array.ndim not in (2, 3):
        raise ValueError(f"{what}: expected an image [H, W] or [H, W, C], got rank {array.ndim} with shape "
                         f"{array.shape}")
    if array.ndim == 3 and array.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{what}: expected 1 (gray), 3 (RGB) or 4 (RGBA) channels, got {array.shape[-1]} "
                         f"channels with shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what}: empty image of shape {array.shape}")
    bits = 16 if array.dtype == np.uint16 else 8
    pixels = _as_float_pixels(array, what)
    if pixels.ndim == 2:
        return Source(np.repeat(pixels[..., None], 3, axis=-1), None, "gray2", bits)
    if pixels.shape[-1] == 1:
        return Source(np.repeat(pixels, 3, axis=-1), None, "gray3", bits)
    if pixels.shape[-1] == 4:
        return Source(pixels[..., :3], pixels[..., 3], "rgba", bits)
    return Source(pixels, None, "rgb", bits)


def _as_float_pixels(array, what):
    """uint8 as is, uint16 divided by 257, other integers if within [0, 255], finite floats as is."""
    if array.dtype == np.uint16:
        return array.astype("float32") / np.float32(257.0)
    if array.dtype.kind in "ui" and array.dtype != np.uint8:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{what}: integer images of dtype {array.dtype} must hold values in [0, 255], got "
                             f"[{low}, {high}] (shape {array.shape}); use uint16 for 16-bit images")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what}: the image holds NaN or infinite values (shape {array.shape})")
        if 0.0 < float(array.max()) <= 1.0:
            warnings.warn(f"{what}: float image with values in [0, 1]; sr_keras expects [0, 255]", stacklevel=4)
    return array.astype("float32")


def to_uint8(values):
    """Clip to [0, 255], round half to even (like tf.round) and cast to uint8."""
    values = np.clip(values, 0.0, 255.0)  # a new array: the caller's data is left as it was
    return np.rint(values, out=values).astype("uint8")


def to_uint16(values):
    """[0, 255] floats -> uint16: the value nearest 257 x that rounds back (v / 257, half to even) to
    `to_uint8(x)`, so a 16-bit output reduced to 8 bits equals the 8-bit output exactly."""
    values = np.clip(values, 0.0, 255.0)
    eight = np.rint(values)
    offset = np.clip(np.rint((values - eight) * 257.0), -128.0, 128.0)
    return (eight * 257.0 + offset).astype("uint16")


def to_gray(values):
    """RGB floats [..., 3] -> one channel [...] with the BT.601 luma weights (float64)."""
    return values.astype("float64") @ np.asarray(LUMA_WEIGHTS, "float64")


def output_rows(source, to_int, alpha_hr=None):
    """`convert(band, first_row)`: the model's float RGB rows in `source`'s layout, as integers (`to_int`), with
    the rows of the upscaled alpha `alpha_hr` ([sH, sW, 1] integers or None) appended."""
    def convert(band, first_row):
        rows = to_int(to_gray(band))[..., None] if source.layout in ("gray2", "gray3") else to_int(band)
        if alpha_hr is not None:
            rows = np.concatenate([rows, alpha_hr[first_row:first_row + len(rows)]], axis=-1)
        return rows[..., 0] if source.layout == "gray2" and alpha_hr is None else rows

    return convert
