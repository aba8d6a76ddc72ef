"""Pieces shared by the model builders: scale checks, the input, named convolutions."""
import keras

SUPPORTED_SCALES = (2, 3, 4, 8)


def _as_int(value, what, model_name):
    try:
        valid = not isinstance(value, bool) and float(value).is_integer()
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(f"{model_name}: {what} must be an integer, got {value!r}")
    return int(value)


def check_scale(scale, supported, model_name):
    """Returns `scale` as an int, or raises a ValueError naming the model and the scales it supports."""
    scale = _as_int(scale, "scale", model_name)
    if scale not in supported:
        raise ValueError(
            f"{model_name} does not support scale {scale}; supported scales: {', '.join(map(str, supported))}")
    return scale


def check_positive(value, what, model_name):
    number = _as_int(value, what, model_name)
    if number < 1:
        raise ValueError(f"{model_name}: {what} must be a positive integer, got {value!r}")
    return number


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
