"""`sr_keras.layers.mean_shift`: the per-channel affine maps between [0, 255] and each model's working range."""
import numpy as np
import pytest

from sr_keras import layers as L
from tests.harness import run_layer_test


@pytest.mark.parametrize("layer_cls", [L.Normalize, L.Denormalize])
def test_layer_contract(layer_cls, tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, size=(1, 8, 8, 3)).astype("float32")
    run_layer_test(layer_cls, {"mean": [114.4, 111.5, 103.0], "scale": 127.5}, x, tmp_path,
                   expected_output_shape=(1, 8, 8, 3), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)


def test_normalize_then_denormalize_is_identity(rng):
    x = rng.uniform(0, 255, size=(2, 5, 7, 3)).astype("float32")
    mean = [114.4, 111.5, 103.0]
    y = L.Normalize(mean=mean, scale=127.5)(x).numpy()
    np.testing.assert_allclose(y, (x - np.array(mean)) / 127.5, rtol=1e-6, atol=1e-6)
    back = L.Denormalize(mean=mean, scale=127.5)(y).numpy()
    np.testing.assert_allclose(back, x, atol=1e-4)


def test_normalize_rejects_non_rgb_and_bad_arguments():
    with pytest.raises(ValueError, match="3 channels"):
        L.Normalize()(np.zeros((1, 4, 4, 4), "float32"))
    with pytest.raises(ValueError, match="non-zero"):
        L.Normalize(scale=0)
    with pytest.raises(ValueError, match="3 per-channel"):
        L.Denormalize(mean=[1.0, 2.0])
