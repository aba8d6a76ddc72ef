"""`sr_keras.layers.pixel_shuffle`: sub-pixel upsampling (Shi et al. 2016) in TensorFlow's channel order, its
inverse, and Real-ESRGAN's reflect padding to a multiple with the crop that undoes it."""
import numpy as np
import pytest

from sr_keras import layers as L
from tests.harness import run_layer_test

X = np.random.default_rng(0).normal(size=(1, 8, 8, 4)).astype("float32")


@pytest.mark.parametrize("layer_cls,init_kwargs,input_data,expected_output_shape", [
    (L.PixelShuffle, {"scale": 2}, X, (1, 16, 16, 1)),
    (L.PixelUnshuffle, {"scale": 2}, X, (1, 4, 4, 16)),
    (L.ReflectPadToMultiple, {"multiple": 4}, X[:, :7, :6], (1, 8, 8, 4)),
    (L.CropToScaledInput, {"scale": 2}, [X, X[:, :3, :2]], (1, 6, 4, 4)),
], ids=["PixelShuffle", "PixelUnshuffle", "ReflectPadToMultiple", "CropToScaledInput"])
def test_layer_contract(layer_cls, init_kwargs, input_data, expected_output_shape, tmp_path):
    run_layer_test(layer_cls, init_kwargs, input_data, tmp_path, expected_output_shape=expected_output_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_pixel_shuffle_matches_depth_to_space_order(rng):
    r, c = 3, 2
    x = rng.normal(size=(1, 4, 5, r * r * c)).astype("float32")
    y = L.PixelShuffle(r)(x).numpy()
    assert y.shape == (1, 12, 15, c)
    for yy in range(4):
        for xx in range(5):
            for dy in range(r):
                for dx in range(r):
                    for ch in range(c):
                        assert y[0, yy * r + dy, xx * r + dx, ch] == x[0, yy, xx, (dy * r + dx) * c + ch]


def test_pixel_unshuffle_undoes_pixel_shuffle(rng):
    x = rng.normal(size=(2, 3, 5, 18)).astype("float32")
    np.testing.assert_array_equal(L.PixelUnshuffle(3)(L.PixelShuffle(3)(x)).numpy(), x)


def test_pixel_shuffle_rejects_bad_scale_and_depth():
    with pytest.raises(ValueError, match="positive integer"):
        L.PixelShuffle(0)
    with pytest.raises(ValueError, match="positive integer"):
        L.PixelUnshuffle(-1)
    with pytest.raises(ValueError, match="divisible by 4"):
        L.PixelShuffle(2)(np.zeros((1, 3, 3, 6), "float32"))


def test_reflect_pad_is_numpy_reflect_at_the_bottom_right_and_the_crop_undoes_it(rng):
    """Padding as Real-ESRGAN's `RealESRGANer.pre_process` (`F.pad(..., "reflect")`, which is numpy's "reflect":
    the edge pixel not repeated); after a x2 network the crop keeps the top-left 2h x 2w."""
    x = rng.normal(size=(1, 5, 7, 3)).astype("float32")
    padded = L.ReflectPadToMultiple(4)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (0, 3), (0, 1), (0, 0)], mode="reflect"))
    upscaled = padded.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_array_equal(L.CropToScaledInput(2)([upscaled, x]).numpy(),
                                  x.repeat(2, axis=1).repeat(2, axis=2))
