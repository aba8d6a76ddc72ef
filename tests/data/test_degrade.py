"""Tests of the MATLAB-compatible bicubic resize against an independent loop implementation.

The reference below follows MATLAB's ``imresize`` (bicubic, antialiasing) as described in its documentation and
ported by BasicSR (``basicsr/utils/matlab_functions.py``): Keys cubic kernel (a = -0.5), kernel stretched by
1/scale when shrinking, u = x / scale + 0.5 * (1 - 1 / scale), ceil(width) + 2 taps from floor(u - width / 2),
normalised rows, all-zero edge tap columns dropped, symmetric borders. It loops over output pixels and taps in
float64 and shares no code with ``sr_keras.data.degrade``.
"""
import math

import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from sr_keras.data.degrade import bicubic_degrade, imresize, modcrop

SCALES = [1 / 2, 1 / 3, 1 / 4, 2, 3, 4]


# ----------------------------------------------------------------------------------------- loop reference
def ref_cubic(t):
    """Keys (1981) cubic convolution kernel, a = -0.5."""
    t = abs(t)
    if t <= 1:
        return 1.5 * t ** 3 - 2.5 * t ** 2 + 1
    if t <= 2:
        return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
    return 0.0


def ref_mirror(j, n):
    """MATLAB 'symmetric' border for a 1-based index: 0 -> 1, -1 -> 2, n + 1 -> n, n + 2 -> n - 1."""
    while j < 1 or j > n:
        if j < 1:
            j = 1 - j
        if j > n:
            j = 2 * n + 1 - j
    return j - 1  # zero-based


def ref_contributions(in_len, out_len, scale):
    width = 4.0 / scale if scale < 1 else 4.0
    taps = math.ceil(width) + 2
    weights = np.zeros((out_len, taps))
    indices = np.zeros((out_len, taps), dtype=int)
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        for p in range(taps):
            j = left + p
            distance = u - j
            weights[x - 1, p] = scale * ref_cubic(scale * distance) if scale < 1 else ref_cubic(distance)
            indices[x - 1, p] = j
        weights[x - 1] /= weights[x - 1].sum()
    keep = list(range(taps))
    if not np.any(weights[:, -1]):
        keep.pop()
    if not np.any(weights[:, 0]):
        keep.pop(0)
    return weights[:, keep], indices[:, keep]


def ref_resize_axis(image, out_len, scale, axis):
    moved = np.moveaxis(image, axis, 0)
    in_len = moved.shape[0]
    weights, indices = ref_contributions(in_len, out_len, scale)
    out = np.zeros((out_len,) + moved.shape[1:])
    for o in range(out_len):
        for p in range(weights.shape[1]):
            out[o] += weights[o, p] * moved[ref_mirror(indices[o, p], in_len)]
    return np.moveaxis(out, 0, axis)


def ref_imresize(image, scale=None, output_size=None):
    image = np.asarray(image, np.float64)
    in_h, in_w = image.shape[:2]
    if scale is not None:
        out_h, out_w = math.ceil(in_h * scale), math.ceil(in_w * scale)
        scale_h = scale_w = scale
    else:
        out_h, out_w = output_size
        scale_h, scale_w = out_h / in_h, out_w / in_w
    if scale_h <= scale_w:
        return ref_resize_axis(ref_resize_axis(image, out_h, scale_h, 0), out_w, scale_w, 1)
    return ref_resize_axis(ref_resize_axis(image, out_w, scale_w, 1), out_h, scale_h, 0)


# ----------------------------------------------------------------------------------------------- photos
def _unit(image):
    return image.astype(np.float32) / 255.0


CROPS = {
    "astronaut_101x77": lambda: _unit(data.astronaut()[150:251, 180:257]),
    "chelsea_57x91": lambda: _unit(data.chelsea()[90:147, 150:241]),
    "coffee_101x77": lambda: _unit(data.coffee()[120:221, 250:327]),
    "coffee_57x91": lambda: _unit(data.coffee()[200:257, 300:391]),
}


@pytest.fixture(scope="module")
def crops():
    return {name: make() for name, make in CROPS.items()}


# ---------------------------------------------------------------------------------------------- tests
def test_reference_reproduces_keys_kernel_values():
    # Sanity of the reference itself: Keys' kernel at integers is an interpolating delta, and the upscaling
    # weights for u halfway between pixels are the textbook (-1/16, 9/16, 9/16, -1/16).
    assert [ref_cubic(t) for t in (0, 1, 2, 3)] == [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose([ref_cubic(t) for t in (-1.5, -0.5, 0.5, 1.5)], [-1 / 16, 9 / 16, 9 / 16, -1 / 16])
    assert ref_mirror(0, 5) == 0 and ref_mirror(-1, 5) == 1 and ref_mirror(6, 5) == 4 and ref_mirror(7, 5) == 3


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: f"x{s:.3g}")
@pytest.mark.parametrize("name", list(CROPS))
def test_matches_loop_reference_on_photos(crops, name, scale):
    image = crops[name]
    got = imresize(image, scale=scale)
    expected = ref_imresize(image, scale=scale)
    assert got.dtype == tf.float32
    assert got.shape == expected.shape == (math.ceil(image.shape[0] * scale), math.ceil(image.shape[1] * scale), 3)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-4, rtol=0)


def test_float64_input_stays_float64_and_matches_tightly(crops):
    image = crops["chelsea_57x91"].astype(np.float64)
    for scale in (1 / 3, 2):
        got = imresize(image, scale=scale)
        assert got.dtype == tf.float64
        np.testing.assert_allclose(got.numpy(), ref_imresize(image, scale=scale), atol=1e-10, rtol=0)


def test_output_size_with_different_axis_scales_matches_reference(crops):
    image = crops["astronaut_101x77"]
    for size in [(40, 150), (150, 40), (101, 30), (33, 77)]:
        got = imresize(image, output_size=size)
        assert got.shape == size + (3,)
        np.testing.assert_allclose(got.numpy(), ref_imresize(image, output_size=size), atol=1e-4, rtol=0)


@pytest.mark.parametrize("scale", SCALES, ids=lambda s: f"x{s:.3g}")
def test_constant_image_stays_constant(scale):
    image = np.full((57, 91, 3), 0.37, np.float32)
    out = imresize(image, scale=scale).numpy()
    assert out.shape == (math.ceil(57 * scale), math.ceil(91 * scale), 3)
    np.testing.assert_allclose(out, 0.37, atol=1e-5, rtol=0)


def test_unit_scale_and_same_output_size_are_identity(crops):
    image = data.astronaut()[150:251, 180:257]  # uint8
    for out in (imresize(image, scale=1), imresize(image, scale=1.0), imresize(image, output_size=(101, 77))):
        assert out.dtype == tf.float32
        np.testing.assert_array_equal(out.numpy(), image.astype(np.float32))


def test_uint8_is_cast_not_rescaled_and_not_clipped(crops):
    image = data.astronaut()[150:251, 180:257]
    out = imresize(image, scale=1 / 3)
    np.testing.assert_allclose(out.numpy(), imresize(image.astype(np.float32), scale=1 / 3).numpy(), atol=1e-3)
    assert out.numpy().max() > 1.5  # still in [0, 255]
    # A sharp edge overshoots under bicubic interpolation: values outside [0, 1] must survive.
    step = np.zeros((20, 20, 1), np.float32)
    step[:, 10:] = 1.0
    up = imresize(step, scale=3).numpy()
    assert up.max() > 1.01 and up.min() < -0.01


def test_batch_equals_per_image(crops):
    images = [crops["astronaut_101x77"], crops["coffee_101x77"], crops["coffee_101x77"][::-1]]
    batch = np.stack(images)
    for scale in (1 / 4, 3):
        out = imresize(batch, scale=scale)
        assert out.shape[0] == 3
        for i, image in enumerate(images):
            np.testing.assert_allclose(out[i].numpy(), imresize(image, scale=scale).numpy(), atol=1e-6, rtol=0)


def test_output_sizes_are_ceil_of_scaled_sizes():
    for height, width in [(1, 1), (7, 5), (10, 11), (101, 77), (57, 91)]:
        image = tf.zeros((height, width, 1))
        for scale in SCALES + [0.3, 1.5, 1 / 7]:
            out = imresize(image, scale=scale)
            assert out.shape == (math.ceil(height * scale), math.ceil(width * scale), 1), (height, width, scale)


def test_dynamic_shapes_in_tf_data_match_eager(crops):
    images = [crops[name] for name in CROPS]
    assert len({image.shape for image in images}) > 1
    dataset = tf.data.Dataset.from_generator(lambda: iter(images),
                                             output_signature=tf.TensorSpec([None, None, 3], tf.float32))
    by_scale = dataset.map(lambda image: imresize(image, scale=1 / 3))
    by_size = dataset.map(lambda image: imresize(image, output_size=(40, 150)))
    assert by_scale.element_spec.shape.as_list() == [None, None, 3]
    for image, small, sized in zip(images, by_scale, by_size):
        np.testing.assert_allclose(small.numpy(), imresize(image, scale=1 / 3).numpy(), atol=1e-6, rtol=0)
        np.testing.assert_allclose(sized.numpy(), imresize(image, output_size=(40, 150)).numpy(), atol=1e-6,
                                   rtol=0)
    # The reference, too, on the first element of each map.
    first = images[0]
    np.testing.assert_allclose(next(iter(by_size)).numpy(), ref_imresize(first, output_size=(40, 150)),
                               atol=1e-4, rtol=0)


def test_dynamic_batch_in_tf_function(crops):
    batch = np.stack([crops["chelsea_57x91"], crops["coffee_57x91"]])
    resize = tf.function(lambda x: imresize(x, scale=1 / 2),
                         input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    out = resize(batch)
    assert out.shape == (2, 29, 46, 3)
    np.testing.assert_allclose(out.numpy(), imresize(batch, scale=1 / 2).numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("scale", [1 / 4, 3])
def test_linear_ramp_reproduced_in_interior(scale):
    # Bicubic (Keys, a = -0.5) reproduces linear functions exactly where no tap reaches the border.
    height, width = 96, 128
    rows, cols = np.meshgrid(np.arange(1, height + 1), np.arange(1, width + 1), indexing="ij")
    ramp = (0.01 * rows + 0.003 * cols + 0.2)[..., None]
    out = imresize(ramp, scale=scale).numpy()[..., 0]  # float64 in, float64 out
    out_rows, out_cols = np.meshgrid(np.arange(1, out.shape[0] + 1), np.arange(1, out.shape[1] + 1), indexing="ij")
    u_rows = out_rows / scale + 0.5 * (1 - 1 / scale)
    u_cols = out_cols / scale + 0.5 * (1 - 1 / scale)
    expected = 0.01 * u_rows + 0.003 * u_cols + 0.2
    reach = 2 / scale if scale < 1 else 2  # kernel half-width in input pixels
    interior = (u_rows - reach >= 1) & (u_rows + reach <= height) & (u_cols - reach >= 1) & (u_cols + reach <= width)
    assert interior.sum() > 0.5 * interior.size
    np.testing.assert_allclose(out[interior], expected[interior], atol=1e-10, rtol=0)
    # At the border the symmetric extension bends the ramp, so the test above is not vacuous.
    assert abs(out[0, 0] - expected[0, 0]) > 1e-3


@pytest.mark.parametrize("scale", [1 / 4, 1 / 2, 2])
def test_interior_agrees_with_tensorflow_antialiased_bicubic(crops, scale):
    # Independent cross-check: tf.image.resize(bicubic, antialias=True) uses the same Keys kernel and, when
    # in * scale is an integer, the same coordinate mapping; it only differs at the borders, where it
    # renormalises over in-image taps instead of MATLAB's symmetric extension.
    image = crops["astronaut_101x77"][:100, :76]
    ours = imresize(image, scale=scale).numpy()
    theirs = tf.image.resize(image, ours.shape[:2], method="bicubic", antialias=True).numpy()
    margin = 3 * max(1, int(scale))
    np.testing.assert_allclose(ours[margin:-margin, margin:-margin], theirs[margin:-margin, margin:-margin],
                               atol=1e-4, rtol=0)
    assert np.abs(ours - theirs).max() > 1e-3


def test_modcrop_and_bicubic_degrade(crops):
    image = crops["astronaut_101x77"]
    assert modcrop(image, 4).shape == (100, 76, 3)
    assert modcrop(np.stack([image, image]), 3).shape == (2, 99, 75, 3)
    np.testing.assert_array_equal(modcrop(image, 4).numpy(), image[:100, :76])
    for scale in (2, 3, 4):
        hr, lr = bicubic_degrade(image, scale)
        assert hr.shape == (101 // scale * scale, 77 // scale * scale, 3)
        assert lr.shape == (101 // scale, 77 // scale, 3)
        np.testing.assert_allclose(lr.numpy(), ref_imresize(hr.numpy(), scale=1 / scale), atol=1e-4, rtol=0)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32)])
    def degrade(x):
        return bicubic_degrade(x, 3)

    hr, lr = degrade(image)
    assert hr.shape == (99, 75, 3) and lr.shape == (33, 25, 3)
    np.testing.assert_allclose(lr.numpy(), bicubic_degrade(image, 3)[1].numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("call, message", [
    (lambda: imresize(np.zeros((4, 4)), scale=0.5), "rank"),
    (lambda: imresize(np.zeros((1, 1, 4, 4, 3)), scale=0.5), "rank"),
    (lambda: imresize(np.zeros((4, 4, 3)), scale=0), "positive"),
    (lambda: imresize(np.zeros((4, 4, 3)), scale=-2), "positive"),
    (lambda: imresize(np.zeros((4, 4, 3)), scale=float("nan")), "positive"),
    (lambda: imresize(np.zeros((4, 4, 3))), "exactly one"),
    (lambda: imresize(np.zeros((4, 4, 3)), scale=2, output_size=(8, 8)), "exactly one"),
    (lambda: imresize(np.zeros((4, 4, 3)), output_size=(0, 8)), "at least 1"),
    (lambda: imresize(np.zeros((4, 4, 3)), output_size=(8,)), "pair"),
    (lambda: modcrop(np.zeros((4, 4, 3)), 0), "positive integer"),
    (lambda: modcrop(np.zeros((4, 4, 3)), 2.5), "positive integer"),
    (lambda: bicubic_degrade(np.zeros((4, 4)), 2), "rank"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
