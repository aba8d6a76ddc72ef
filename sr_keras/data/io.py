"""Reading and checking image files.

Two readers share one contract, RGB uint8 [H, W, 3]: `read_image` (PIL, for inference and tools: applies EXIF
orientation) and `decode_image` (TensorFlow ops, for tf.data pipelines). Both turn grayscale into RGB, drop
an alpha channel and convert 16-bit images to 8 bits. `inspect_images` checks files before a pipeline is
built, so a corrupt file is reported by name up front instead of failing mid-training.

Every reader checks the pixel count a file declares in its header before decoding it (`max_pixels`, default
`DEFAULT_MAX_PIXELS` = 100 MP, e.g. 10000 x 10000; the environment variable SR_KERAS_MAX_PIXELS overrides it):
a "decompression bomb" (a small file declaring a huge image) is refused by name, without the memory its
decoding would take.
"""
import concurrent.futures
import dataclasses
import logging
import os
import re
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


def _tensorflow():
    """TensorFlow, imported quietly on first use: reading and checking image files needs only Pillow and numpy,
    so commands check their inputs before TensorFlow loads (`sr_keras._lazy`)."""
    from sr_keras._quiet import import_tensorflow

    import_tensorflow()
    import tensorflow

    return tensorflow


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_VARIABLE = "SR_KERAS_MAX_PIXELS"

log = logging.getLogger(__name__)


class ImageReadError(ValueError):
    """An image file is missing, not an image, or corrupt. The message names the file."""


class DataError(ValueError):
    """A data source is unusable (missing or empty directory, no matching LR files, ...). Names the path."""


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What `inspect_images` learned about one file."""

    path: str
    height: int
    width: int
    mode: str

    @property
    def has_alpha(self):
        return self.mode in ("RGBA", "LA", "PA") or self.mode.endswith("A")


def list_images(directory, recursive=True):
    """Sorted paths of the image files (png, jpg, jpeg, bmp, webp; any case) under `directory`.

    Raises:
        DataError: `directory` does not exist, is not a directory, or holds no image file.
    """
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise DataError(f"directory not found: {directory}")
    if not os.path.isdir(directory):
        raise DataError(f"not a directory: {directory}")
    found = []
    if recursive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            found.extend(os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS))
    else:
        found = [os.path.join(directory, f) for f in os.listdir(directory) if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not found:
        raise DataError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in {directory}")
    return sorted(found)


def max_pixels():
    """The largest pixel count a reader decodes: $SR_KERAS_MAX_PIXELS, else `DEFAULT_MAX_PIXELS`.

    Raises:
        ValueError: the variable is not a positive integer (the message names it).
    """
    value = os.environ.get(MAX_PIXELS_VARIABLE)
    if not value:
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(value.replace("_", ""))
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ValueError(f"{MAX_PIXELS_VARIABLE} must be a positive whole number of pixels, got {value!r}")
    return limit


def _too_large(path, pixels, size=""):
    return ImageReadError(f"image too large: {path} declares {size}{pixels / 1e6:,.0f} MP, above the limit of "
                          f"{max_pixels() / 1e6:,.0f} MP (a decompression bomb or a huge image; raise "
                          f"{MAX_PIXELS_VARIABLE} to read it)")


def _bomb_error(path, error):
    """Our message for PIL's own DecompressionBombError (raised past twice PIL's limit, before ours is seen)."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return _too_large(path, int(found.group(1))) if found else ImageReadError(f"image too large: {path}: {error}")


def _check_size(image, path):
    pixels = image.width * image.height
    if pixels > max_pixels():
        raise _too_large(path, pixels, f"{image.width}x{image.height} = ")


def _open_header(path):
    """The PIL image of `path`, header read and its size checked, pixels not decoded yet."""
    try:
        with warnings.catch_warnings():  # PIL's own bomb warning: our limit decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise _bomb_error(path, error) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"cannot read image {path}: {error}") from None
    _check_size(image, path)
    return image


def _open_checked(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageReadError(f"image file not found: {path}")
    image = _open_header(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except Image.DecompressionBombError as error:
        raise _bomb_error(path, error) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"cannot read image {path}: {error}") from None
    return image


def _to_rgb_uint8(image, path):
    """PIL image of any mode -> RGB uint8 array; 16-bit and 32-bit gray are scaled down to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image).astype("float64")
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        gray = np.clip(np.round(array * (255.0 / peak)), 0, 255).astype("uint8")
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode == "F":
        raise ImageReadError(f"cannot read image {path}: floating-point images are not supported")
    return np.asarray(image.convert("RGB"), dtype="uint8")


def read_image(path, exif_transpose=True):
    """Reads an image file as RGB uint8 [H, W, 3].

    Grayscale becomes RGB, an alpha channel is dropped (with a warning), 16-bit becomes 8-bit, and the EXIF
    orientation is applied.

    Raises:
        ImageReadError: the file is missing, not an image, or corrupt.
    """
    image = _open_checked(path)
    if exif_transpose:
        image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        warnings.warn(f"{path}: alpha channel dropped", stacklevel=2)
    return _to_rgb_uint8(image, path)


GRAY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "I;16N")


def read_image_with_alpha(path, exif_transpose=True):
    """Like `read_image`, but returns (rgb uint8 [H, W, 3], alpha uint8 [H, W] or None)."""
    image = _open_checked(path)
    if exif_transpose:
        image = ImageOps.exif_transpose(image)
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"), dtype="uint8")[..., 3]
    return _to_rgb_uint8(image, path), alpha


@dataclasses.dataclass
class SourceImage:
    """An image file as `upscale` reads it: pixels at their own bit depth and what a faithful output carries.

    Attributes:
        rgb: uint8 or uint16 [H, W, 3] (gray files replicated to RGB), EXIF orientation applied.
        alpha: the alpha channel [H, W] of the same dtype, or None.
        gray: the file holds one gray channel (and maybe alpha).
        bit_depth: 8 or 16.
        icc_profile: the embedded ICC profile (bytes) or None.
        exif: the EXIF block (bytes) with its orientation set to 1 (the pixels are already turned), or None.
    """

    rgb: np.ndarray
    alpha: object
    gray: bool
    bit_depth: int
    icc_profile: object
    exif: object


_ORIENTATION = 0x0112


def _orient(array, orientation):
    """Applies an EXIF orientation (1-8) to an array [H, W, ...] as `ImageOps.exif_transpose` does to images."""
    turned = {
        2: lambda a: a[:, ::-1],                         # FLIP_LEFT_RIGHT
        3: lambda a: np.rot90(a, 2),                     # ROTATE_180
        4: lambda a: a[::-1],                            # FLIP_TOP_BOTTOM
        5: lambda a: a.swapaxes(0, 1),                   # TRANSPOSE
        6: lambda a: np.rot90(a, 3),                     # ROTATE_270 (counter-clockwise)
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),       # TRANSVERSE
        8: lambda a: np.rot90(a, 1),                     # ROTATE_90
    }.get(orientation, lambda a: a)(array)
    return np.ascontiguousarray(turned)


def _is_16_bit(image, path):
    if image.format == "PNG":
        with open(path, "rb") as handle:
            header = handle.read(26)
        return len(header) == 26 and header[24] == 16
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (8,))
        return (bits if isinstance(bits, int) else max(bits)) == 16
    return image.mode.startswith("I;16")


def _decode_16_bit(image, path):
    """uint16 [H, W, C] of a 16-bit PNG (TensorFlow's decoder) or TIFF (tifffile, or Pillow for gray)."""
    if image.format == "PNG":
        tf = _tensorflow()
        with open(path, "rb") as handle:
            try:
                return tf.io.decode_png(handle.read(), channels=0, dtype=tf.uint16).numpy()
            except tf.errors.InvalidArgumentError as error:
                raise ValueError(str(error)) from None
    if image.mode.startswith("I;16"):
        return np.asarray(image).astype("uint16")[..., None]
    try:
        import tifffile
    except ImportError:
        raise ImageReadError(f"cannot read the 16-bit TIFF {path}: pip install tifffile") from None
    array = np.asarray(tifffile.imread(path))
    if array.dtype != np.uint16 or array.ndim not in (2, 3):
        raise ImageReadError(f"cannot read image {path}: a TIFF of {array.dtype} {list(array.shape)}")
    return array[..., None] if array.ndim == 2 else array


def read_source_image(path):
    """Reads an image file for upscaling, keeping 16 bits, alpha, grayness, the ICC profile and the EXIF data
    (`SourceImage`). The declared size is checked first (`max_pixels`).

    Raises:
        ImageReadError: the file is missing, not an image, corrupt, too large, or of an unsupported kind.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageReadError(f"image file not found: {path}")
    image = _open_header(path)
    icc = image.info.get("icc_profile") or None
    exif_data = image.getexif()
    orientation = exif_data.get(_ORIENTATION, 1)
    exif = None
    if len(exif_data):
        exif_data[_ORIENTATION] = 1
        exif = exif_data.tobytes()
    if _is_16_bit(image, path):
        try:
            pixels = _decode_16_bit(image, path)
        except (OSError, ValueError) as error:
            raise ImageReadError(f"cannot read image {path}: {str(error).splitlines()[0]}") from None
        pixels = _orient(pixels, orientation)
        channels = pixels.shape[-1]
        gray = channels in (1, 2)
        rgb = np.repeat(pixels[..., :1], 3, axis=-1) if gray else pixels[..., :3]
        alpha = pixels[..., -1] if channels in (2, 4) else None
        return SourceImage(np.ascontiguousarray(rgb), alpha, gray, 16, icc, exif)
    rgb, alpha = read_image_with_alpha(path)
    gray = image.mode in GRAY_MODES or image.mode == "LA"
    return SourceImage(rgb, alpha, gray, 8, icc, exif)


def _inspect_one(path, full):
    path = os.fspath(path)
    if full:
        image = _open_checked(path)
    else:
        image = _open_header(path)
        try:
            image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise ImageReadError(f"cannot read image {path}: {error}") from None
    return ImageInfo(path, image.height, image.width, image.mode)


def inspect_images(paths, skip_bad=False, full=True, workers=None, alpha_dropped=True):
    """Checks image files and returns their sizes and modes.

    Args:
        paths: image file paths.
        skip_bad: leave unreadable files out with a warning instead of raising.
        full: decode every file completely (catches truncated JPEGs); False only reads headers and checks
            the file structure (fast, for very large sets).
        workers: threads used for decoding (default: number of CPUs).
        alpha_dropped: warn that alpha channels are dropped (as the training and evaluation readers do);
            False for callers that keep alpha (`upscale`).

    Returns:
        list of `ImageInfo` for the readable files, in the order of `paths`. Warns once, naming the first
        file, when some images have an alpha channel (it is dropped).

    Raises:
        ImageReadError: an unreadable file and `skip_bad` is False.
    """
    paths = [os.fspath(p) for p in paths]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = [pool.submit(_inspect_one, p, full) for p in paths]
        infos = []
        for future in futures:
            try:
                infos.append(future.result())
            except ImageReadError as error:
                if not skip_bad:
                    raise
                warnings.warn(f"skipped: {error}", stacklevel=2)
    with_alpha = [info.path for info in infos if info.has_alpha]
    if with_alpha and alpha_dropped:
        warnings.warn(f"{len(with_alpha)} image(s) have an alpha channel, which is dropped (first: {with_alpha[0]})",
                      stacklevel=2)
    return infos


def decode_image(contents):
    """TensorFlow op: encoded png/jpeg/bmp/webp/gif bytes -> RGB uint8 [H, W, 3].

    Grayscale is replicated to RGB, alpha dropped, 16-bit PNG converted to 8 bits.
    """
    tf = _tensorflow()
    image = tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def load_image(path):
    """TensorFlow op: reads and decodes an image file to float32 RGB [H, W, 3] in [0, 255]."""
    tf = _tensorflow()
    return tf.cast(decode_image(tf.io.read_file(path)), tf.float32)
