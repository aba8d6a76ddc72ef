"""Sub-pixel convolution upsampling (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016)."""
import keras
import tensorflow as tf

from sr_keras import checks


@keras.saving.register_keras_serializable(package="sr_keras")
class PixelShuffle(keras.layers.Layer):
    """Rearranges `scale**2` channel groups into a `scale`-times larger image (TensorFlow's depth_to_space).

    Channel order follows `tf.nn.depth_to_space`: output pixel (y*r + dy, x*r + dx, c) reads input channel
    (dy*r + dx)*C + c. PyTorch's PixelShuffle orders channels c*r^2 + dy*r + dx instead, so weights converted
    from PyTorch need that permutation on the convolution in front of this layer.

    Args:
        scale: integer upsampling factor r >= 1; the input depth must be a multiple of r*r.
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = checks.scale(scale, name="PixelShuffle scale")

    def build(self, input_shape):
        depth = input_shape[-1]
        if depth is not None and depth % (self.scale * self.scale):
            raise ValueError(
                f"PixelShuffle(scale={self.scale}) needs a channel count divisible by {self.scale ** 2}, "
                f"got {depth}")

    def call(self, inputs):
        if self.scale == 1:
            return inputs
        return tf.nn.depth_to_space(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        batch, height, width, depth = input_shape
        r = self.scale
        return (
            batch,
            None if height is None else height * r,
            None if width is None else width * r,
            None if depth is None else depth // (r * r),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config


@keras.saving.register_keras_serializable(package="sr_keras")
class PixelUnshuffle(keras.layers.Layer):
    """The inverse of `PixelShuffle`: `scale`-times smaller image, `scale**2` times the channels (TensorFlow's
    space_to_depth). Real-ESRGAN's RRDBNet x2 and x1 take their input through it.

    Channel order follows `tf.nn.space_to_depth`: output channel (dy*r + dx)*C + c holds input pixel
    (y*r + dy, x*r + dx, c). PyTorch's `pixel_unshuffle` orders them c*r^2 + dy*r + dx, so weights converted
    from PyTorch need that permutation on the input channels of the convolution after this layer.

    Args:
        scale: integer factor r >= 1; the input height and width must be multiples of r.
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = checks.scale(scale, name="PixelUnshuffle scale")

    def call(self, inputs):
        if self.scale == 1:
            return inputs
        return tf.nn.space_to_depth(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        batch, height, width, depth = input_shape
        r = self.scale
        return (batch, None if height is None else height // r, None if width is None else width // r,
                None if depth is None else depth * r * r)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config


@keras.saving.register_keras_serializable(package="sr_keras")
class ReflectPadToMultiple(keras.layers.Layer):
    """Pads the bottom and right edges by reflection up to the next multiple of `multiple` in height and width.

    Real-ESRGAN's inference (`RealESRGANer.pre_process`) pads x2 and x1 RRDBNet inputs this way before the
    network's pixel-unshuffle and crops the output afterwards (`CropToScaledInput`); inside the model, any size
    is accepted with the same result.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        if self.multiple == 1:
            return inputs
        shape = tf.shape(inputs)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        padded = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
        # Computed paddings hide every dimension from shape inference (LiteRT's converter then refuses the
        # convolutions after it): a reshape to the known channel count gives it back.
        return tf.reshape(padded, [shape[0], shape[1] + pad_h, shape[2] + pad_w, inputs.shape[-1]])

    def compute_output_shape(self, input_shape):
        batch, height, width, depth = input_shape
        r = self.multiple
        return (batch, None if height is None else -(-height // r) * r, None if width is None else -(-width // r) * r,
                depth)

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple})
        return config


@keras.saving.register_keras_serializable(package="sr_keras")
class CropToScaledInput(keras.layers.Layer):
    """Crops `[output, input]` to the input's height and width times `scale` (top-left), undoing
    `ReflectPadToMultiple` after the network (Real-ESRGAN's `RealESRGANer.post_process`)."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, inputs):
        output, original = inputs
        shape = tf.shape(original)
        return output[:, :shape[1] * self.scale, :shape[2] * self.scale, :]

    def compute_output_shape(self, input_shape):
        output_shape, original_shape = input_shape
        batch, height, width, _ = original_shape
        return (output_shape[0], None if height is None else height * self.scale,
                None if width is None else width * self.scale, output_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config
