"""Weight-normalised convolution (Salimans & Kingma, "Weight Normalization", NIPS 2016), as used by every
convolution of WDSR (Yu et al., "Wide Activation for Efficient and Accurate Image Super-Resolution", 2018).

Keras 3 has no WeightNormalization wrapper and `Conv2D.kernel` cannot be replaced, so this layer holds the
direction `v` and the per-filter magnitude `g` itself and convolves with `w = g * v / ||v||`.
"""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="sr_keras")
class WeightNormConv2D(keras.layers.Layer):
    """2-D convolution with the kernel re-parametrised as `w = g * v / ||v||`.

    The norm is taken over (kernel height, kernel width, input channels) for each output filter. `g` is
    initialised to `||v||` of the initial `v`, so at initialisation the layer computes exactly what a plain
    `Conv2D` with kernel `v` computes (PyTorch `weight_norm` and tensorflow-addons `data_init=False`
    semantics). Both `v` (the `kernel` weight) and `g` are trained; parameters are `v`, `g` and the bias.

    Args:
        filters: number of output channels.
        kernel_size: int or (height, width).
        strides: int or (height, width).
        padding: "same" or "valid".
        use_bias: whether to add a bias.
        kernel_initializer: initializer of `v`.
        bias_initializer: initializer of the bias.
        activation: optional activation applied after the bias.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        padding = str(padding).lower()
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None:
            raise ValueError("WeightNormConv2D needs a known number of input channels")
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (in_channels, self.filters),
            initializer=self.kernel_initializer)
        self.g = self.add_weight(name="g", shape=(self.filters,), initializer=self._norm_of_kernel)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)

    def _norm_of_kernel(self, shape, dtype=None):
        return keras.ops.cast(self._kernel_norm(keras.ops.convert_to_tensor(self.kernel)), dtype or "float32")

    @staticmethod
    def _kernel_norm(kernel):
        return keras.ops.sqrt(keras.ops.sum(keras.ops.square(kernel), axis=(0, 1, 2)))

    def normalized_kernel(self):
        """The effective kernel `g * v / ||v||` as a tensor."""
        kernel = keras.ops.convert_to_tensor(self.kernel)
        norm = keras.ops.maximum(self._kernel_norm(kernel), 1e-12)
        return kernel * (keras.ops.convert_to_tensor(self.g) / norm)

    def call(self, inputs):
        kernel = keras.ops.cast(self.normalized_kernel(), inputs.dtype)
        outputs = tf.nn.conv2d(inputs, kernel, strides=(1,) + self.strides + (1,), padding=self.padding.upper())
        if self.use_bias:
            outputs = outputs + keras.ops.cast(self.bias, outputs.dtype)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, _out_size(height, self.kernel_size[0], self.strides[0], self.padding),
                _out_size(width, self.kernel_size[1], self.strides[1], self.padding), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "activation": keras.activations.serialize(self.activation) if self.activation else None,
        })
        return config


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value


def _out_size(size, kernel, stride, padding):
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1
