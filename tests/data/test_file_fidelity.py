"""Files users care about survive `python -m sr_keras.upscale`: 16-bit PNG and TIFF in give 16-bit PNG out
whose 8-bit reduction equals the 8-bit output, the input's ICC profile and EXIF data are written into the
output (orientation reset: the pixels are turned already), on real photo crops written by the test with other
encoders (TensorFlow's PNG encoder, tifffile, Pillow)."""
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageCms
from skimage import data

from sr_keras.data.png import PNGWriter
from sr_keras.models import build_model
from tests import launch
from tests.conftest import wall_clock_limit


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(3)
    path = tmp_path_factory.mktemp("model") / "tiny_x2.keras"
    build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1).save(path)
    return path


@pytest.fixture(scope="module")
def crop16():
    """A 16-bit RGB crop with real content in the low byte too (not just 257 x 8-bit)."""
    rgb = data.astronaut()[120:160, 200:250].astype("float64")
    return np.clip(np.round(rgb * 257 + np.random.default_rng(0).integers(-100, 100, rgb.shape)), 0,
                   65535).astype("uint16")


def _upscale(args, cwd):
    result = launch.run([sys.executable, "-m", "sr_keras.upscale", *args], capture_output=True, text=True,
                        timeout=wall_clock_limit(300), cwd=cwd, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _read16(path):
    return tf.io.decode_png(open(path, "rb").read(), channels=0, dtype=tf.uint16).numpy()


def test_16_bit_png_and_tiff_give_16_bit_png_whose_8_bit_reduction_is_the_8_bit_output(model_file, crop16,
                                                                                      tmp_path):
    import tifffile

    (tmp_path / "in16.png").write_bytes(tf.io.encode_png(crop16).numpy())
    tifffile.imwrite(tmp_path / "tiff16.tif", crop16)
    _upscale([f"--model_path={model_file}", "in16.png", "tiff16.tif", "--output_dir=out16"], tmp_path)
    _upscale([f"--model_path={model_file}", "in16.png", "--output_dir=out8", "--bit_depth=8"], tmp_path)
    sixteen = _read16(tmp_path / "out16" / "in16_x2.png")
    assert sixteen.dtype == np.uint16 and sixteen.shape == (80, 100, 3)
    assert len(np.unique(sixteen % 257)) > 100  # real 16-bit values, not 8-bit ones times 257
    eight_path = tmp_path / "out8" / "in16_x2.png"
    assert Image.open(eight_path).mode == "RGB"
    np.testing.assert_array_equal(np.rint(sixteen / 257.0).astype("uint8"), np.asarray(Image.open(eight_path)))
    np.testing.assert_array_equal(_read16(tmp_path / "out16" / "tiff16_x2.png"), sixteen)  # same pixels in


def test_icc_profile_and_exif_are_kept(model_file, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # a real, non-sRGB profile
    photo = Image.fromarray(data.coffee()[100:130, 200:240])
    photo.save(tmp_path / "tagged.png", icc_profile=icc)
    exif = Image.Exif()
    exif[0x010F] = "sr_keras test camera"     # Make
    exif[0x0112] = 6                          # Orientation: rotate 90 degrees clockwise to view
    photo.save(tmp_path / "turned.jpg", quality=95, exif=exif.tobytes(), icc_profile=icc)
    _upscale([f"--model_path={model_file}", "tagged.png", "turned.jpg", "--output_dir=out"], tmp_path)
    tagged = Image.open(tmp_path / "out" / "tagged_x2.png")
    assert tagged.info.get("icc_profile") == icc and tagged.size == (80, 60)
    turned = Image.open(tmp_path / "out" / "turned_x2.png")
    assert turned.info.get("icc_profile") == icc
    assert turned.size == (60, 80)  # turned upright on reading, so the output's orientation must say 1
    written = turned.getexif()
    assert written.get(0x010F) == "sr_keras test camera" and written.get(0x0112) == 1


def test_png_writer_round_trips_every_layout(tmp_path):
    rng = np.random.default_rng(1)
    for channels, bits, mode in ((1, 8, "L"), (2, 8, "LA"), (3, 8, "RGB"), (4, 8, "RGBA"), (3, 16, None)):
        dtype = "uint16" if bits == 16 else "uint8"
        image = rng.integers(0, 2 ** bits, (7, 9, channels)).astype(dtype)
        path = tmp_path / f"w{channels}_{bits}.png"
        with PNGWriter(path, 9, 7, channels, bits) as writer:
            writer.write_rows(image[:3])
            writer.write_rows(image[3:])
        decoded = _read16(path) if bits == 16 else np.asarray(Image.open(path)).reshape(7, 9, channels)
        np.testing.assert_array_equal(decoded, image)
        if mode:
            assert Image.open(path).mode == mode
    with pytest.raises(ValueError, match="rows written"):
        with PNGWriter(tmp_path / "short.png", 9, 7, 3, 8) as writer:
            writer.write_rows(np.zeros((3, 9, 3), "uint8"))
