"""Input normalisation and output de-normalisation that live inside the models.

Every sr_keras generator takes float RGB in [0, 255] and returns [0, 255]; each architecture's own value
range (EDSR's mean shift, WDSR's (x - mean) / 127.5, SRGAN's [0, 1] in and [-1, 1] out) is made by these two
layers, so no caller ever has to know it.
"""
import keras
import numpy as np

# Mean RGB of the DIV2K training images in [0, 1] (EDSR-PyTorch common.MeanShift, WDSR).
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def _as_channel_vector(value, name):
    array = np.asarray(value, dtype="float64")
    if array.ndim == 0:
        array = np.full((3,), float(array))
    if array.shape != (3,):
        raise ValueError(f"{name} must be a scalar or 3 per-channel values (RGB), got shape {array.shape}")
    return [float(v) for v in array]


class _ChannelAffine(keras.layers.Layer):
    """Shared base: a fixed per-channel affine map with no weights."""

    def __init__(self, mean=0.0, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.mean = _as_channel_vector(mean, "mean")
        self.scale = _as_channel_vector(scale, "scale")
        if any(s == 0.0 for s in self.scale):
            raise ValueError(f"scale must be non-zero, got {self.scale}")

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != 3:
            raise ValueError(
                f"{type(self).__name__} expects RGB input with 3 channels, got {input_shape[-1]} channels")

    def compute_output_shape(self, input_shape):
        return input_shape

    def _constants(self, dtype):
        mean = keras.ops.convert_to_tensor(self.mean, dtype=dtype)
        scale = keras.ops.convert_to_tensor(self.scale, dtype=dtype)
        return mean, scale

    def get_config(self):
        config = super().get_config()
        config.update({"mean": list(self.mean), "scale": list(self.scale)})
        return config


@keras.saving.register_keras_serializable(package="sr_keras")
class Normalize(_ChannelAffine):
    """Maps RGB in [0, 255] to a model's working range: `(x - mean) / scale`, per channel, no weights.

    EDSR's mean shift is `Normalize(mean=255 * DIV2K_RGB_MEAN)`, WDSR uses
    `Normalize(mean=255 * DIV2K_RGB_MEAN, scale=127.5)`, SRResNet's [0, 1] input is `Normalize(scale=255)`.

    Args:
        mean: scalar or 3 values, subtracted first (in the input's units).
        scale: scalar or 3 non-zero values, divided by second.
    """

    def call(self, inputs):
        mean, scale = self._constants(inputs.dtype)
        return (inputs - mean) / scale


@keras.saving.register_keras_serializable(package="sr_keras")
class Denormalize(_ChannelAffine):
    """Inverse of `Normalize`: `x * scale + mean`, per channel, no weights.

    Args:
        mean: scalar or 3 values, added last.
        scale: scalar or 3 non-zero values, multiplied first.
    """

    def call(self, inputs):
        mean, scale = self._constants(inputs.dtype)
        return inputs * scale + mean
