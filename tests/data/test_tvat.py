"""Tests of the TVAT texture measure (MMSR section 3.2.2) against a plain loop over pixels and neighbours."""
import numpy as np
import pytest
import tensorflow as tf
from skimage import data, filters

from sr_keras.data.tvat import (DEFAULT_BOUNDARIES, DEFAULT_PIXEL_SCALE, DEFAULT_THRESHOLD, calibrate_tvat,
                                tvat, tvat_class, vsp)


def rgb(image):
    """scikit-image photo as float32 RGB in [0, 255] (grey photos replicated, alpha dropped)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.float32)


# ----------------------------------------------------------------------------------------- loop reference
def ref_vsp(image, pixel_range=255.0, pixel_scale=DEFAULT_PIXEL_SCALE):
    """VSP_i = sum over the existing 8 neighbours j of ||RGB_i - RGB_j||^2, pixels mapped to [0, pixel_scale]."""
    x = np.asarray(image, np.float64) * (pixel_scale / pixel_range)
    rows, cols = x.shape[:2]
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            total = 0.0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if (di, dj) == (0, 0):
                        continue
                    ni, nj = i + di, j + dj
                    if 0 <= ni < rows and 0 <= nj < cols:
                        difference = x[i, j] - x[ni, nj]
                        total += float(difference @ difference)
            out[i, j] = total
    return out


def ref_tvat(image, threshold=DEFAULT_THRESHOLD, **kwargs):
    scores = ref_vsp(image, **kwargs)
    rows, cols = scores.shape
    total = 0.0
    for value in scores.ravel():
        if value > threshold:
            total += value
    return total / (rows * cols)


CROPS = {  # small crops keep the loops fast
    "astronaut_40x50": lambda: rgb(data.astronaut())[180:220, 200:250],
    "coffee_40x50": lambda: rgb(data.coffee())[150:190, 300:350],
    "chelsea_37x23": lambda: rgb(data.chelsea())[100:137, 200:223],
}

# 64x64 tiles picked by their TVAT with the default settings (see the module docstring of sr_keras.data.tvat).
def flat_tile():
    return rgb(data.rocket())[0:64, 192:256]  # clear sky, TVAT 0.000


def mid_tile():
    return rgb(data.chelsea())[192:256, 192:256]  # cat fur, TVAT 2.89


def grass_tile():
    return rgb(data.grass())[64:128, 256:320]  # TVAT 12.6, the least textured 64x64 grass tile


def gravel_tile():
    return rgb(data.gravel())[128:192, 128:192]  # TVAT 9.2, the least textured 64x64 gravel tile


@pytest.fixture(scope="module")
def crops():
    return {name: make() for name, make in CROPS.items()}


def tiles_of(image, size=48):
    rows, cols = image.shape[:2]
    return [image[i:i + size, j:j + size] for i in range(0, rows - size + 1, size)
            for j in range(0, cols - size + 1, size)]


# ---------------------------------------------------------------------------------------------- tests
def test_reference_counts_only_existing_neighbours():
    # 2x2 image: every pixel is a corner with 3 neighbours.
    image = np.array([[[0, 0, 0], [1, 0, 0]], [[0, 2, 0], [0, 0, 3]]], np.float64)
    expected_corner = 1 + 4 + 9  # pixel (0, 0) against (0, 1), (1, 0), (1, 1)
    assert ref_vsp(image, pixel_range=1.0, pixel_scale=1.0)[0, 0] == expected_corner
    np.testing.assert_allclose(vsp(image, pixel_range=1.0, pixel_scale=1.0).numpy()[0, 0], expected_corner)


@pytest.mark.parametrize("name", list(CROPS))
def test_vsp_matches_loop_reference(crops, name):
    image = crops[name]
    got = vsp(image)
    assert got.shape == image.shape[:2] and got.dtype == tf.float32
    expected = ref_vsp(image)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-4 * expected.max())


@pytest.mark.parametrize("name", list(CROPS))
@pytest.mark.parametrize("threshold", [0.0, DEFAULT_THRESHOLD, 12.0])
def test_tvat_matches_loop_reference(crops, name, threshold):
    image = crops[name]
    expected = ref_tvat(image, threshold=threshold)
    got = float(tvat(image, threshold=threshold))
    assert expected > 0
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_pixel_range_and_scale(crops):
    image = crops["coffee_40x50"]
    in_unit = tvat(image / 255.0, pixel_range=1.0)
    np.testing.assert_allclose(float(tvat(image.astype(np.uint8))), float(in_unit), rtol=1e-5)
    np.testing.assert_allclose(float(tvat(image)), float(in_unit), rtol=1e-5)
    # Without a threshold, TVAT is quadratic in the pixel scale.
    np.testing.assert_allclose(float(tvat(image, threshold=0.0, pixel_scale=1.0)) * DEFAULT_PIXEL_SCALE ** 2,
                               float(tvat(image, threshold=0.0)), rtol=1e-5)
    np.testing.assert_allclose(float(tvat(image, threshold=0.0, pixel_scale=1.0)),
                               ref_tvat(image, threshold=0.0, pixel_scale=1.0), rtol=1e-4)


def test_blurred_photo_scores_lower_and_flat_image_scores_zero():
    astronaut = rgb(data.astronaut())
    blurred = (filters.gaussian(astronaut / 255.0, sigma=2, channel_axis=-1) * 255.0).astype(np.float32)
    sharp, soft = float(tvat(astronaut)), float(tvat(blurred))
    assert soft < 0.25 * sharp
    assert float(tvat(np.full((30, 40, 3), 123.0, np.float32))) == 0.0
    assert float(tvat(np.full((30, 40, 3), 123.0, np.float32), threshold=0.0)) == 0.0
    assert not np.any(vsp(np.full((5, 6, 3), 0.7, np.float32), pixel_range=1.0).numpy())


def test_default_classes_of_real_photo_tiles():
    assert DEFAULT_BOUNDARIES == (2.0, 4.0)
    flat, mid, grass, gravel = flat_tile(), mid_tile(), grass_tile(), gravel_tile()
    values = [float(tvat(tile)) for tile in (flat, mid, grass, gravel)]
    assert values[0] < 2.0 <= values[1] < 4.0 <= min(values[2:]), values
    assert int(tvat_class(flat)) == 0
    assert int(tvat_class(mid)) == 1
    assert int(tvat_class(grass)) == 2
    assert int(tvat_class(gravel)) == 2
    assert tvat_class(flat).dtype == tf.int32
    # The same tiles as one batch.
    np.testing.assert_array_equal(tvat_class(np.stack([flat, mid, grass, gravel])).numpy(), [0, 1, 2, 2])


def test_tvat_class_general_boundaries(crops):
    image = crops["astronaut_40x50"]
    value = float(tvat(image))
    assert int(tvat_class(image, boundaries=[value * 0.5, value * 0.9, value * 1.1, value * 2])) == 2
    assert int(tvat_class(image, boundaries=[value * 2])) == 0
    assert int(tvat_class(image, boundaries=[0.0])) == 1
    assert int(tvat_class(image, boundaries=[value / 3, value / 2])) == 2


def test_batch_equals_per_image(crops):
    images = [crops["astronaut_40x50"], crops["coffee_40x50"], mid_tile()[:40, :50]]
    batch = np.stack(images)
    batch_vsp, batch_tvat, batch_class = vsp(batch), tvat(batch), tvat_class(batch)
    assert batch_vsp.shape == (3, 40, 50) and batch_tvat.shape == (3,) and batch_class.shape == (3,)
    for i, image in enumerate(images):
        np.testing.assert_allclose(batch_vsp[i].numpy(), vsp(image).numpy(), rtol=1e-6)
        np.testing.assert_allclose(float(batch_tvat[i]), float(tvat(image)), rtol=1e-6)
        assert int(batch_class[i]) == int(tvat_class(image))


def test_works_in_tf_data_with_dynamic_shapes(crops):
    images = list(crops.values())
    dataset = tf.data.Dataset.from_generator(lambda: iter(images),
                                             output_signature=tf.TensorSpec([None, None, 3], tf.float32))
    values = [float(v) for v in dataset.map(tvat)]
    np.testing.assert_allclose(values, [float(tvat(image)) for image in images], rtol=1e-6)


def test_calibrate_splits_tiles_into_thirds():
    tiles = (tiles_of(rgb(data.astronaut())[::2, ::2]) + tiles_of(rgb(data.coffee())[::2, ::2])
             + tiles_of(rgb(data.chelsea())))
    assert len(tiles) >= 40
    boundaries = calibrate_tvat(tf.data.Dataset.from_tensor_slices(np.stack(tiles)))
    assert len(boundaries) == 2 and boundaries[0] < boundaries[1]
    classes = tvat_class(np.stack(tiles), boundaries=boundaries).numpy()
    counts = np.bincount(classes, minlength=3)
    assert counts.max() - counts.min() <= 1, counts

    # Batches and plain iterables give the same boundaries; max_images limits the images used.
    batched = calibrate_tvat(tf.data.Dataset.from_tensor_slices(np.stack(tiles)).batch(7))
    np.testing.assert_allclose(batched, boundaries, rtol=1e-6)
    listed = calibrate_tvat(tiles)
    np.testing.assert_allclose(listed, boundaries, rtol=1e-6)
    first = calibrate_tvat(tiles, num_classes=4, max_images=20)
    assert len(first) == 3
    counts = np.bincount(tvat_class(np.stack(tiles[:20]), boundaries=first).numpy(), minlength=4)
    np.testing.assert_array_equal(counts, [5, 5, 5, 5])


@pytest.mark.parametrize("call, message", [
    (lambda: vsp(np.zeros((8, 8))), "shape"),
    (lambda: tvat(np.zeros((1, 1, 8, 8, 3))), "shape"),
    (lambda: tvat(np.zeros((8, 8, 4))), "3 \\(RGB\\) channels"),
    (lambda: vsp(np.zeros((2, 8, 8, 1))), "3 \\(RGB\\) channels"),
    (lambda: tvat(np.zeros((8, 8, 3)), threshold=-1.0), "non-negative"),
    (lambda: tvat(np.zeros((8, 8, 3)), pixel_range=0), "positive"),
    (lambda: tvat_class(np.zeros((8, 8, 3)), boundaries=(4.0, 2.0)), "sorted"),
    (lambda: tvat_class(np.zeros((8, 8, 3)), boundaries=()), "at least one"),
    (lambda: calibrate_tvat([np.zeros((8, 8, 3))] * 5, num_classes=1), "num_classes"),
    (lambda: calibrate_tvat([np.zeros((8, 8, 3))] * 2, num_classes=3), "at least"),
    (lambda: calibrate_tvat([np.zeros((8, 8, 3))] * 5, threshold=-0.5), "non-negative"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
