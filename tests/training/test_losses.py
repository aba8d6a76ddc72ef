"""The two VGG54 loss scales of the TensorFlow SRGAN originals differ by exactly the channel count."""
import keras
import numpy as np
import pytest

from sr_keras.training import losses


def test_per_position_is_channel_count_times_per_element():
    keras.utils.set_random_seed(0)
    features = losses.vgg_feature_extractor("vgg22", weights=None)  # random VGG: the scale is what is tested
    rng = np.random.default_rng(0)
    sr = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    hr = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    element = losses.vgg_loss(features, sr, hr, "per_element").numpy()
    position = losses.vgg_loss(features, sr, hr, "per_position").numpy()
    channels = features.output.shape[-1]
    assert channels == 128 and element.shape == (2,)
    np.testing.assert_allclose(position, channels * element, rtol=1e-5)
    with pytest.raises(ValueError, match="vgg_scale"):
        losses.vgg_loss(features, sr, hr, "mean")
