"""Pieces shared by the model builders: scale checks, the input, named convolutions."""
import keras

from sr_keras.checks import positive_int

SUPPORTED_SCALES = (2, 3, 4, 8)


def check_scale(scale, supported, model_name):
    """Returns `scale` as an int, or raises a ValueError naming the model and the scales it supports."""
    scale = positive_int(scale, f"{model_name}: scale")
    if scale not in supported:
        raise ValueError(
            f"{model_name} does not support scale {scale}; supported scales: {', '.join(map(str, supported))}")
    return scale


def check_positive(value, what, model_name):
    return positive_int(value, f"{model_name}: {what}")


def lr_input(name="lr"):
    """The generators' input: float RGB in [0, 255], any height and width."""
    return keras.Input(shape=(None, None, 3), name=name)


def conv2d(filters, kernel_size, name, strides=1, activation=None, spectral_norm=False, use_bias=True):
    """A 'same'-padded Conv2D layer, spectral-normalised (`<name>_sn` wrapping `<name>`) when asked."""
    layer = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation=activation,
                                use_bias=use_bias, name=name)
    if spectral_norm:
        return keras.layers.SpectralNormalization(layer, name=f"{name}_sn")
    return layer


def dense(units, name, spectral_norm=False):
    """A Dense layer, spectral-normalised (`<name>_sn` wrapping `<name>`) when asked."""
    layer = keras.layers.Dense(units, name=name)
    if spectral_norm:
        return keras.layers.SpectralNormalization(layer, name=f"{name}_sn")
    return layer
