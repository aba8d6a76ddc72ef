"""Tests of sr_keras.metrics against scikit-image and hand computations.

The reference is scikit-image's ``peak_signal_noise_ratio`` and ``structural_similarity`` (Gaussian weights,
sigma 1.5, population covariance, data_range 255) applied to the same quantised, cropped and Y-converted
float64 arrays, prepared here with numpy only. With ``gaussian_weights=True`` scikit-image forces
``truncate=3.5``, so its Gaussian has radius int(3.5 * 1.5 + 0.5) = 5 (an 11x11 window, as in Wang et al. 2004
and BasicSR) and it averages the SSIM map after removing (11 - 1) // 2 = 5 pixels at every edge, which is
exactly the 'valid' region; no extra argument is needed.
"""
import io
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sr_keras.metrics import image_metrics, mean_metrics, psnr, quantize, rgb_to_y, ssim

TOLERANCE = 1e-6


# ----------------------------------------------------------------------------------------------- helpers
def bicubic_round_trip(image, factor):
    """Down-scales a uint8 RGB image by ``factor`` and back to its size with PIL bicubic (uint8)."""
    pil = Image.fromarray(image)
    small = pil.resize((image.shape[1] // factor, image.shape[0] // factor), Image.BICUBIC)
    return np.asarray(small.resize((image.shape[1], image.shape[0]), Image.BICUBIC))


def jpeg(image, quality):
    """JPEG-compresses a uint8 RGB image in memory."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def ref_prepare(sr, hr, crop_border, y_channel):
    """Quantise (clip, round half to even), crop and optionally take Y, with numpy in float64."""
    out = []
    for image in (sr, hr):
        image = np.round(np.clip(np.asarray(image, np.float64), 0, 255))
        if crop_border:
            image = image[crop_border:-crop_border, crop_border:-crop_border]
        if y_channel:
            image = 16.0 + (65.481 * image[..., 0] + 128.553 * image[..., 1] + 24.966 * image[..., 2]) / 255.0
        out.append(image)
    return out


def ref_metrics(sr, hr, crop_border, y_channel):
    """scikit-image PSNR and SSIM of the prepared pair."""
    sr, hr = ref_prepare(sr, hr, crop_border, y_channel)
    ref_psnr = peak_signal_noise_ratio(hr, sr, data_range=255)
    ref_ssim = structural_similarity(hr, sr, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255, channel_axis=None if y_channel else -1)
    return ref_psnr, ref_ssim


@pytest.fixture(scope="module")
def pairs(photos):
    """Realistically degraded (sr, hr) pairs of real photos, with float32, uint8 and float64 SR images."""
    rng = np.random.default_rng(0)
    astronaut, chelsea, coffee = photos["astronaut"], photos["chelsea"], photos["coffee"]
    # x4 bicubic round trip plus unquantised noise: float32 values off the integer grid and outside [0, 255].
    sr_astronaut = bicubic_round_trip(astronaut, 4).astype(np.float32) + rng.normal(0, 3, astronaut.shape)
    # Noise then JPEG: a uint8 SR image.
    noisy = np.clip(chelsea + rng.normal(0, 8, chelsea.shape), 0, 255).astype(np.uint8)
    sr_chelsea = jpeg(noisy, 40)
    # x3 bicubic round trip, JPEG, then a sub-pixel offset in float64.
    sr_coffee = jpeg(bicubic_round_trip(coffee, 3), 60).astype(np.float64) + 0.4
    return {"astronaut": (sr_astronaut.astype(np.float32), astronaut),
            "chelsea": (sr_chelsea, chelsea),
            "coffee": (sr_coffee, coffee)}


# ------------------------------------------------------------------------------------- against skimage
@pytest.mark.parametrize("crop_border", [0, 4])
@pytest.mark.parametrize("y_channel", [False, True], ids=["rgb", "y"])
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_matches_skimage_on_degraded_photos(pairs, name, y_channel, crop_border):
    sr, hr = pairs[name]
    ref_psnr, ref_ssim = ref_metrics(sr, hr, crop_border, y_channel)
    got_psnr = psnr(sr, hr, crop_border=crop_border, y_channel=y_channel)
    got_ssim = ssim(sr, hr, crop_border=crop_border, y_channel=y_channel)
    assert got_psnr.dtype == tf.float64 and got_psnr.shape == ()
    assert got_ssim.dtype == tf.float64 and got_ssim.shape == ()
    assert 15 < ref_psnr < 45 and 0.3 < ref_ssim < 0.99  # realistic degradations, not trivial ones
    assert abs(float(got_psnr) - ref_psnr) < TOLERANCE
    assert abs(float(got_ssim) - ref_ssim) < TOLERANCE


def test_quantisation_changes_the_score(pairs):
    """The float SR image scores differently from its unquantised self, so quantising is not a no-op."""
    sr, hr = pairs["astronaut"]
    unquantised = 10 * np.log10(255.0 ** 2 / np.mean((sr.astype(np.float64) - hr) ** 2))
    assert abs(float(psnr(sr, hr)) - unquantised) > 1e-3


# ------------------------------------------------------------------------------------------ batches
def test_batch_gives_per_image_values(pairs):
    crops = [(sr[100:196, 120:248], hr[100:196, 120:248]) for sr, hr in pairs.values()]
    sr_batch = np.stack([np.asarray(sr, np.float32) for sr, _ in crops])
    hr_batch = np.stack([hr for _, hr in crops])
    for metric in (psnr, ssim):
        for y_channel in (False, True):
            batch = metric(sr_batch, hr_batch, crop_border=4, y_channel=y_channel).numpy()
            assert batch.shape == (3,)
            singles = [float(metric(sr_batch[i], hr_batch[i], crop_border=4, y_channel=y_channel))
                       for i in range(3)]
            np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-12)
            assert len(set(np.round(batch, 6))) == 3  # three different pairs, three different values


def test_works_in_tf_function_with_unknown_shapes(pairs):
    sr, hr = pairs["chelsea"]
    spec = tf.TensorSpec([None, None, None, 3], tf.uint8)

    @tf.function(input_signature=[spec, spec])
    def both(a, b):
        return psnr(a, b, crop_border=4, y_channel=True), ssim(a, b, crop_border=4, y_channel=True)

    graph_psnr, graph_ssim = both(sr[None], hr[None])
    assert abs(float(graph_psnr[0]) - float(psnr(sr, hr, 4, True))) < 1e-12
    assert abs(float(graph_ssim[0]) - float(ssim(sr, hr, 4, True))) < 1e-12
    with pytest.raises(tf.errors.InvalidArgumentError):
        both(sr[None, :8, :8], hr[None, :8, :8])  # smaller than the SSIM window after cropping


# ------------------------------------------------------------------------------------ special values
def test_identical_images(photos):
    image = photos["coffee"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y_channel in (False, True):
            value = float(psnr(image, image, crop_border=4, y_channel=y_channel))
            assert value == float("inf")
            assert float(ssim(image, image, crop_border=4, y_channel=y_channel)) == pytest.approx(1.0, abs=1e-12)
        other = np.clip(image.astype(np.int16) + 5, 0, 255).astype(np.uint8)
        mixed = psnr(np.stack([image, other]), np.stack([image, image])).numpy()
    assert mixed[0] == np.inf and np.isfinite(mixed[1]) and not np.isnan(mixed).any()


def test_rgb_to_y_known_colours():
    colours = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    y = rgb_to_y(colours)
    assert y.dtype == tf.float64 and y.shape == (1, 5, 1)
    expected = [16.0, 235.0, 16.0 + 65.481, 16.0 + 128.553, 16.0 + 24.966]
    np.testing.assert_allclose(y.numpy()[0, :, 0], expected, rtol=0, atol=1e-9)
    assert rgb_to_y(np.stack([colours, colours])).shape == (2, 1, 5, 1)
    # Not rounded: a grey of 100 gives 16 + 219 * 100 / 255 = 101.882...
    grey = np.full((1, 1, 3), 100.0)
    assert float(rgb_to_y(grey)[0, 0, 0]) == pytest.approx(16.0 + 219.0 * 100.0 / 255.0, abs=1e-9)


def test_sr_is_clipped_and_rounded_before_scoring():
    hr = np.full((16, 16, 3), 200, np.uint8)
    hr[::2, :, 1] = 30
    sr = hr.astype(np.float64)
    sr[0, 0, 0], sr[1, 1, 1], sr[2, 2, 2], sr[3, 3, 0], sr[4, 4, 0] = 254.6, 300.0, -3.0, 10.5, 11.5
    manual = hr.astype(np.float64)
    manual[0, 0, 0], manual[1, 1, 1], manual[2, 2, 2], manual[3, 3, 0], manual[4, 4, 0] = 255, 255, 0, 10, 12
    np.testing.assert_array_equal(quantize(sr).numpy(), manual)  # 10.5 -> 10, 11.5 -> 12: half to even
    mse = np.mean((manual - hr) ** 2)
    assert float(psnr(sr, hr)) == pytest.approx(10 * np.log10(255.0 ** 2 / mse), abs=1e-9)
    assert float(ssim(sr, hr)) == pytest.approx(float(ssim(manual, hr)), abs=1e-12)


# ------------------------------------------------------------------------------------ record helpers
def test_image_metrics_and_mean(pairs):
    sr, hr = pairs["coffee"]
    record = image_metrics(sr, hr, crop_border=3)
    assert set(record) == {"psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"}
    assert all(type(value) is float for value in record.values())
    assert record["psnr_y"] == float(psnr(sr, hr, 3, y_channel=True))
    assert record["ssim_rgb"] == float(ssim(sr, hr, 3))
    assert image_metrics(tf.constant(sr[None]), tf.constant(hr[None]), 3) == record
    with pytest.raises(ValueError, match="one image pair"):
        image_metrics(np.stack([sr, sr]), np.stack([hr, hr]), 3)

    other = {"psnr_rgb": 30.0, "ssim_rgb": 0.5, "psnr_y": 32.0, "ssim_y": 0.75}
    means = mean_metrics([record, other])
    assert means["num_images"] == 2
    assert means["psnr_y"] == pytest.approx((record["psnr_y"] + 32.0) / 2)
    perfect = image_metrics(hr, hr, 3)
    assert perfect["psnr_rgb"] == float("inf") and perfect["ssim_y"] == pytest.approx(1.0)
    assert mean_metrics([other, perfect])["psnr_rgb"] == float("inf")
    with pytest.raises(ValueError, match="at least one"):
        mean_metrics([])
    with pytest.raises(ValueError, match="keys"):
        mean_metrics([other, {"psnr_rgb": 1.0}])


# -------------------------------------------------------------------------------------------- errors
RGB = np.zeros((32, 40, 3), np.float32)


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_shape_mismatch(metric):
    with pytest.raises(ValueError, match=r"sr \(32, 40, 3\) and hr \(32, 41, 3\)"):
        metric(RGB, np.zeros((32, 41, 3)))
    with pytest.raises(ValueError, match="same shape"):
        metric(RGB, RGB[None])


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("shape", [(32, 40), (1, 1, 32, 40, 3)])
def test_bad_rank(metric, shape):
    image = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match="rank"):
        metric(image, image)


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("y_channel", [False, True])
def test_bad_channels(metric, y_channel):
    image = np.zeros((32, 40, 1), np.float32)
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        metric(image, image, y_channel=y_channel)


def test_rgb_to_y_rejects_bad_input():
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        rgb_to_y(np.zeros((2, 4, 4, 4)))
    with pytest.raises(ValueError, match="rank"):
        rgb_to_y(np.zeros((4, 3)))


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_bad_crop_border(metric):
    with pytest.raises(ValueError, match="non-negative"):
        metric(RGB, RGB, crop_border=-1)
    with pytest.raises(ValueError, match="non-negative integer"):
        metric(RGB, RGB, crop_border=1.5)
    with pytest.raises(ValueError, match=r"crop_border=16 is too large for a 32x40 image \(it leaves 0x8"):
        metric(RGB, RGB, crop_border=16)


def test_too_small_for_ssim_window():
    assert np.isfinite(float(psnr(RGB + 1, RGB, crop_border=11)))  # PSNR only needs one pixel
    with pytest.raises(ValueError, match=r"11x11 pixels after cropping .* got 10x18 from a 32x40 image"):
        ssim(RGB, RGB, crop_border=11)
    with pytest.raises(ValueError, match=r"got 10x10"):
        ssim(np.zeros((10, 10, 3)), np.zeros((10, 10, 3)))
    assert float(ssim(RGB[:11, :11], RGB[:11, :11])) == pytest.approx(1.0)  # 11x11 is enough
