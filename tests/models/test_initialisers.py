"""Each builder starts its weights as its original does: PyTorch's default `nn.Conv2d` initialisation for the
PyTorch originals (EDSR-PyTorch: EDSR, MDSR; wdsr_ntire2018: WDSR-A/B, weight norm v then g = ||v||), Glorot
uniform with zero biases and batch-norm epsilon 1e-3 for the TensorFlow ones (brade31919/SRGAN-tensorflow and
krasserm/super-resolution: SRResNet, SRGAN; seed 000's A-SRGAN is built on them).

PyTorch's `Conv2d.reset_parameters`: kaiming_uniform_(weight, a=sqrt(5)) -> U(-b, b), b = gain * sqrt(3 /
fan_in) with gain = sqrt(2 / (1 + 5)), i.e. b = 1 / sqrt(fan_in); bias U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)).
"""
import math

import keras
import numpy as np
import pytest

import sr_keras
from sr_keras.layers import WeightNormConv2D, iter_layers


def _uniform_with_bound(values, bound):
    values = np.asarray(values, "float64").ravel()
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    if values.size >= 200:  # U(-b, b): standard deviation b / sqrt(3), largest draws near b
        assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
        assert np.abs(values).max() > 0.9 * bound


@pytest.mark.parametrize("name", ["edsr_baseline", "mdsr_baseline", "wdsr_a", "wdsr_b"])
def test_pytorch_originals_start_as_pytorch_conv2d(name):
    keras.utils.set_random_seed(0)
    model = sr_keras.build_model(name, scale=2, num_filters=16, num_res_blocks=2)
    convs = [layer for layer, _ in iter_layers(model) if isinstance(layer, (keras.layers.Conv2D, WeightNormConv2D))]
    assert len(convs) >= 6
    for layer in convs:
        kernel = layer.kernel  # WeightNormConv2D: v
        if not kernel.trainable:
            continue  # MeanShift convolutions are frozen constants
        fan_in = int(np.prod(kernel.shape[:-1]))
        bound = 1 / math.sqrt(fan_in)
        _uniform_with_bound(kernel.numpy(), bound)
        _uniform_with_bound(layer.bias.numpy(), bound)
        assert np.any(layer.bias.numpy() != 0), layer.name
        if isinstance(layer, WeightNormConv2D):
            norms = np.sqrt((kernel.numpy() ** 2).reshape(-1, kernel.shape[-1]).sum(axis=0))
            np.testing.assert_allclose(layer.g.numpy().ravel(), norms, rtol=1e-5)


@pytest.mark.parametrize("name", ["srresnet", "a_srresnet", "srgan_discriminator", "a_srgan_discriminator"])
def test_tensorflow_originals_start_glorot_with_zero_bias_and_bn_epsilon_1e3(name):
    keras.utils.set_random_seed(0)
    kwargs = dict(hr_size=32, num_filters=16) if "discriminator" in name else dict(scale=2, num_filters=16,
                                                                                    num_res_blocks=2)
    model = sr_keras.build_model(name, **kwargs)
    convs = [layer for layer, _ in iter_layers(model) if isinstance(layer, keras.layers.Conv2D)]
    norms = [layer for layer, _ in iter_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    assert convs and norms
    for layer in convs:
        kernel = layer.kernel.numpy()
        fan_in, fan_out = int(np.prod(kernel.shape[:-1])), int(np.prod(kernel.shape[:-2])) * kernel.shape[-1]
        _uniform_with_bound(kernel, math.sqrt(6 / (fan_in + fan_out)))
        if layer.use_bias:
            assert not np.any(layer.bias.numpy()), layer.name
    assert {layer.epsilon for layer in norms} == {1e-3}
