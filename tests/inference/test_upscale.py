"""`sr_keras.inference.upscale`: input layouts and dtypes, files with EXIF orientation, uint8 output, pool size
and the attention-memory check."""
import time

import keras
import numpy as np
import pytest
from PIL import Image, ImageOps

from sr_keras.data.degrade import imresize
from sr_keras.inference import (
    DEFAULT_MAX_ATTENTION_BYTES, AttentionMemoryError, attention_bytes, check_attention_memory, predict, upscale)
from sr_keras.models import build_model


@pytest.fixture(scope="module")
def edsr_x2():
    keras.utils.set_random_seed(3)
    return build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1)


@pytest.fixture(scope="module")
def photo():
    """A real photo crop (scikit-image's coffee), uint8 RGB, 37 x 53."""
    from skimage import data

    return data.coffee()[100:137, 200:253].copy()


def expected_uint8(values):
    return np.round(np.clip(values, 0, 255)).astype("uint8")


def test_rgb_output_is_clipped_rounded_predict(edsr_x2, photo):
    out = upscale(edsr_x2, photo)
    raw = predict(edsr_x2, photo.astype("float32"))
    assert out.dtype == np.uint8 and out.shape == (74, 106, 3)
    np.testing.assert_array_equal(out, expected_uint8(raw))


def test_grayscale_2d_and_single_channel(edsr_x2, photo):
    gray = photo[..., 1]
    out = upscale(edsr_x2, gray)
    assert out.shape == (74, 106) and out.dtype == np.uint8
    raw = predict(edsr_x2, np.repeat(gray[..., None], 3, axis=-1).astype("float32")).astype("float64")
    np.testing.assert_array_equal(out, expected_uint8(raw @ np.array([0.299, 0.587, 0.114])))
    out3 = upscale(edsr_x2, gray[..., None])
    assert out3.shape == (74, 106, 1)
    np.testing.assert_array_equal(out3[..., 0], out)


def test_rgba_keeps_a_bicubic_alpha(edsr_x2, photo):
    alpha = np.linspace(0, 255, photo.shape[1])[None, :].repeat(photo.shape[0], 0).astype("uint8")
    alpha[10:20, 5:15] = 0
    rgba = np.concatenate([photo, alpha[..., None]], axis=-1)
    out = upscale(edsr_x2, rgba)
    assert out.shape == (74, 106, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], upscale(edsr_x2, photo))
    reference = np.asarray(imresize(alpha[..., None].astype("float32"), scale=2))[..., 0]
    np.testing.assert_array_equal(out[..., 3], expected_uint8(reference))


def test_rgba_alpha_through_the_model_as_realesrgan(edsr_x2, photo):
    """alpha_upsampler="model": the alpha as a gray image through the model, back to gray with the luma weights
    (Real-ESRGAN's default); a flat alpha stays exactly flat, in both modes."""
    alpha = np.linspace(0, 255, photo.shape[1])[None, :].repeat(photo.shape[0], 0).astype("uint8")
    rgba = np.concatenate([photo, alpha[..., None]], axis=-1)
    out = upscale(edsr_x2, rgba, alpha_upsampler="model")
    np.testing.assert_array_equal(out[..., :3], upscale(edsr_x2, photo))
    raw = predict(edsr_x2, np.repeat(alpha[..., None], 3, axis=-1).astype("float32"))
    expected = expected_uint8(np.clip(raw, 0, 255).astype("float64") @ np.array([0.299, 0.587, 0.114]))
    np.testing.assert_array_equal(out[..., 3], expected)
    assert np.abs(out[..., 3].astype(int) - upscale(edsr_x2, rgba)[..., 3]).max() > 0  # not the bicubic alpha
    flat = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 200, "uint8")], axis=-1)
    for mode in ("model", "bicubic"):
        assert (upscale(edsr_x2, flat, alpha_upsampler=mode)[..., 3] == 200).all()
    with pytest.raises(ValueError, match="alpha_upsampler"):
        upscale(edsr_x2, rgba, alpha_upsampler="lanczos")


@pytest.mark.parametrize("outscale,size", [(3.5, (129, 185)), (1.0, (37, 53)), (2, (74, 106))])
def test_outscale_resizes_the_output_with_matlab_bicubic(edsr_x2, photo, outscale, size):
    """The final factor as Real-ESRGAN's --outscale: int(H * f) x int(W * f), from the model's quantised output by
    MATLAB bicubic (Real-ESRGAN uses OpenCV's Lanczos-4: a documented difference); the model's own factor is
    the plain output."""
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, "uint8")], axis=-1)
    out = upscale(edsr_x2, rgba, outscale=outscale)
    assert out.shape == size + (4,) and out.dtype == np.uint8
    plain = upscale(edsr_x2, rgba)
    if size == plain.shape[:2]:
        np.testing.assert_array_equal(out, plain)
    else:
        resized = np.asarray(imresize(plain.astype("float32"), output_size=size))
        np.testing.assert_array_equal(out, expected_uint8(resized))
    assert upscale(edsr_x2, photo[..., 0], outscale=outscale).shape == size  # gray stays 2-D
    for bad in (0, -1.5, True):
        with pytest.raises(ValueError, match="outscale"):
            upscale(edsr_x2, photo, outscale=bad)


def test_uint16_and_float_inputs(edsr_x2, photo):
    reference = upscale(edsr_x2, photo)
    sixteen = upscale(edsr_x2, photo.astype("uint16") * 257)   # 16 bits in, 16 bits out
    assert sixteen.dtype == np.uint16
    np.testing.assert_array_equal(np.rint(sixteen / 257.0).astype("uint8"), reference)   # its 8-bit reduction
    np.testing.assert_array_equal(upscale(edsr_x2, photo.astype("uint16") * 257, bit_depth=8), reference)
    np.testing.assert_array_equal(upscale(edsr_x2, photo.astype("float32")), reference)
    np.testing.assert_array_equal(upscale(edsr_x2, photo.astype("float64")), reference)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_file_with_exif_orientation(edsr_x2, photo, tmp_path, suffix):
    path = tmp_path / f"rotated{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(photo).save(path, exif=exif)
    with Image.open(path) as stored:
        shown = np.asarray(ImageOps.exif_transpose(stored).convert("RGB"))
    assert shown.shape == (53, 37, 3)  # rotated relative to the stored 37 x 53
    out = upscale(edsr_x2, path)
    assert out.shape == (106, 74, 3)
    np.testing.assert_array_equal(out, upscale(edsr_x2, shown))
    np.testing.assert_array_equal(upscale(edsr_x2, str(path)), out)


def test_tiled_and_self_ensemble_pass_through(edsr_x2, photo):
    out = upscale(edsr_x2, photo, tile=20, overlap=8, batch_size=3, self_ensemble=True)
    raw = predict(edsr_x2, photo.astype("float32"), tile=20, overlap=8, batch_size=3, self_ensemble=True)
    np.testing.assert_array_equal(out, expected_uint8(raw))


@pytest.mark.parametrize("image, match", [
    (np.zeros((8, 9, 2), "uint8"), r"2 channels.*\(8, 9, 2\)"),
    (np.zeros((8, 9, 5), "uint8"), r"5 channels.*\(8, 9, 5\)"),
    (np.zeros((1, 8, 9, 3), "uint8"), r"rank 4.*\(1, 8, 9, 3\)"),
    (np.zeros((9,), "uint8"), r"rank 1.*\(9,\)"),
    (np.zeros((0, 9, 3), "uint8"), r"empty.*\(0, 9, 3\)"),
    (np.zeros((8, 9, 3), bool), r"dtype bool.*\(8, 9, 3\)"),
    (np.full((8, 9, 3), "a"), r"dtype <U1.*\(8, 9, 3\)"),
    (np.full((8, 9, 3), 300, "int32"), r"\[0, 255\].*\(8, 9, 3\)"),
    (np.full((8, 9, 3), np.nan, "float32"), r"NaN.*\(8, 9, 3\)"),
])
def test_bad_images_raise(edsr_x2, image, match):
    with pytest.raises(ValueError, match=match):
        upscale(edsr_x2, image)


def test_pool_size_needs_an_attention_model(edsr_x2, photo):
    with pytest.raises(ValueError, match="no FlexibleSelfAttention"):
        upscale(edsr_x2, photo, pool_size=4)


@pytest.fixture(scope="module")
def a_srresnet_x4():
    keras.utils.set_random_seed(4)
    return build_model("a_srresnet", scale=4, num_filters=8, num_res_blocks=1)


def test_attention_bytes_formula(a_srresnet_x4):
    model = a_srresnet_x4
    model.get_layer("attention").pool_size = 4
    # One FSA at LR resolution: N = ceil(350/4) * ceil(500/4) = 88 * 125 = 11000 positions.
    assert attention_bytes(model, 350, 500) == 11000 ** 2 * 8
    assert attention_bytes(model, 96, 96, batch=3) == 3 * (24 * 24) ** 2 * 8
    assert attention_bytes(build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1), 500, 500) == 0
    assert check_attention_memory(model, 350, 500) == 11000 ** 2 * 8 < DEFAULT_MAX_ATTENTION_BYTES


def test_a_srresnet_large_image_pool_4_and_memory_error_at_pool_1(a_srresnet_x4):
    from skimage import data

    image = np.asarray(Image.fromarray(data.chelsea()).resize((500, 350), Image.BICUBIC))   # width 500, height 350
    assert image.shape == (350, 500, 3)
    attention = a_srresnet_x4.get_layer("attention")
    attention.pool_size = 1   # as trained (another test of this module sets 4 on the shared model)
    start = time.perf_counter()
    out = upscale(a_srresnet_x4, image, pool_size=4)
    print(f"A-SRResNet x4 tiny, 350x500 -> 1400x2000 at pool 4: {time.perf_counter() - start:.1f} s")
    assert out.shape == (1400, 2000, 3) and out.dtype == np.uint8
    assert attention.pool_size == 1   # pool_size applies to that call only

    start = time.perf_counter()
    with pytest.raises(AttentionMemoryError) as caught:
        upscale(a_srresnet_x4, image, pool_size=1)
    elapsed = time.perf_counter() - start
    message = str(caught.value)
    print(message, f"({elapsed:.3f} s)")
    # N = 350 * 500 = 175000 positions: 175000^2 * 4 bytes * 2 maps = 245 GB, refused before allocating.
    assert "245.0 GB" in message and str(175000 ** 2 * 8) in message
    assert "pool_size=1" in message and "350x500" in message and "pool_size=4" in message and "tile=" in message
    assert isinstance(caught.value, MemoryError) and isinstance(caught.value, ValueError)
    assert elapsed < 2.0
    # The estimate follows the tile layout and batch: at pool 1, tile 200 / overlap 16 spreads 2 x 3 tiles of
    # 183 x 178 over 350 x 500 -> (183 * 178)^2 * 8 bytes = 8.5 GB per tile, over the 4 GiB limit; 128 x 128
    # tiles, batch 2 -> 2 * 16384^2 * 8 bytes = exactly 4 GiB, allowed.
    with pytest.raises(AttentionMemoryError, match=r"8\.5 GB .* 183x178 input \(batch 1"):
        upscale(a_srresnet_x4, image, tile=200, overlap=16, batch_size=1)
    assert check_attention_memory(a_srresnet_x4, 128, 128, batch=2) == DEFAULT_MAX_ATTENTION_BYTES
    small = upscale(a_srresnet_x4, image[:40, :60], tile=32, overlap=8, batch_size=2)
    assert small.shape == (160, 240, 3)
    # A custom limit.
    with pytest.raises(AttentionMemoryError):
        upscale(a_srresnet_x4, image[:40, :60], max_attention_bytes=1000)


def test_a_model_used_for_inference_still_exports(tmp_path, astronaut):
    """The traced inference function is cached outside the model. Kept as a model attribute, it was tracked by
    Keras once a training run had happened in the process, and `tf.saved_model.save` then refused the model
    ("Unable to save the object {(): Function}") after its first `upscale`: the train notebook's export failed."""
    import tensorflow as tf

    from sr_keras.inference import upscale
    from sr_keras.models import load_generator
    from sr_keras.export import export_saved_model
    from sr_keras.training import make_config, train

    config = make_config("edsr_baseline", str(tmp_path / "run"), scale=2, steps=2, num_res_blocks=1, num_filters=8,
                         batch_size=2, crop_size=12, max_eval_images=1, eval_every=2)
    model = load_generator(train(config)["saved"]["2"])
    lr = astronaut[:24, :32]
    expected = upscale(model, lr)
    upscale(model, astronaut[:20, :28])  # a second size
    export_saved_model(model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export")).signatures["serve"]
    out = list(served(tf.constant(lr[None].astype("uint8"))).values())[0].numpy()[0]
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1
    model.save(tmp_path / "model.keras")
