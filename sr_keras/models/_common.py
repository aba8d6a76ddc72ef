"""Pieces shared by the model builders: scale checks, the input, named convolutions."""
import math

import keras

from sr_keras import checks
from sr_keras.checks import positive_int
from sr_keras.layers.spectral_norm import SpectralNorm

SUPPORTED_SCALES = (2, 3, 4, 8)


def check_scale(scale, supported, model_name):
    """Returns `scale` as an int, or raises a ValueError naming the model and the scales it supports."""
    return checks.scale(scale, supported, owner=model_name, name=f"{model_name}: scale")


def check_positive(value, what, model_name):
    return positive_int(value, f"{model_name}: {what}")


def lr_input(name="lr"):
    """The generators' input: float RGB in [0, 255], any height and width."""
    return keras.Input(shape=(None, None, 3), name=name)


def torch_init(in_channels, kernel_size):
    """Initialisers of PyTorch's default `nn.Conv2d` (`reset_parameters`) for a conv with this fan-in.

    PyTorch draws the kernel with `kaiming_uniform_(a=sqrt(5))`, which is U(-b, b) with b = 1 / sqrt(fan_in)
    (gain sqrt(2 / 6) times sqrt(3 / fan_in)), here `VarianceScaling(1/3, "fan_in", "uniform")`, and the bias
    from U(-b, b) with the same b. The originals written in PyTorch (EDSR-PyTorch, wdsr_ntire2018) keep these
    defaults. Keras would start with Glorot-uniform kernels and zero biases.
    """
    bound = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
    return {"kernel_initializer": keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}


def conv2d(filters, kernel_size, name, strides=1, activation=None, spectral_norm=False, use_bias=True,
           torch_in_channels=None):
    """A 'same'-padded Conv2D layer, spectral-normalised (`<name>_sn` wrapping `<name>`) when asked
    (`sr_keras.layers.SpectralNorm`: SNGAN / SAGAN semantics). With `torch_in_channels`, PyTorch's default
    initialisation for that many input channels (`torch_init`); otherwise Keras' (Glorot-uniform, zero bias),
    which is also what the TensorFlow originals use."""
    init = torch_init(torch_in_channels, kernel_size) if torch_in_channels else {}
    layer = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation=activation,
                                use_bias=use_bias, name=name, **init)
    if spectral_norm:
        return SpectralNorm(layer, name=f"{name}_sn")
    return layer


def dense(units, name, spectral_norm=False):
    """A Dense layer, spectral-normalised (`<name>_sn` wrapping `<name>`) when asked."""
    layer = keras.layers.Dense(units, name=name)
    if spectral_norm:
        return SpectralNorm(layer, name=f"{name}_sn")
    return layer
