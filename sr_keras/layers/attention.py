"""Self-attention (Zhang et al., "Self-Attention Generative Adversarial Networks", 2018) and the Flexible Self
Attention layer of A-SRGAN (Pathak et al., "Efficient Super Resolution For Large-Scale Image Using Attentional
GAN", 2018, section 2.4 and Fig. 2)."""
import keras
import tensorflow as tf

from sr_keras.checks import positive_int
from sr_keras.layers.spectral_norm import SpectralNorm


@keras.saving.register_keras_serializable(package="sr_keras")
class SelfAttention2D(keras.layers.Layer):
    """The SAGAN self-attention block in the layout of the official code (brain-research/self-attention-gan).

    query f = conv1x1 C/8, key g = conv1x1 C/8, value h = conv1x1 C/2, all without bias; logits = f g^T with no
    1/sqrt(d) scaling; softmax over the keys; the attended values go through conv1x1 C/2 -> C; the output is
    `x + gamma * o` with a scalar `gamma` initialised to 0 (the "learnable sum"). Every 1x1 convolution is
    spectral-normalised when `spectral_norm=True`. Unlike the official code, keys and values are not
    max-pooled 2x2 here: pooling is what `FlexibleSelfAttention` adds, on the whole input.

    For fewer than 8 (or 2) channels the reduced widths are rounded up to 1.

    Args:
        spectral_norm: wrap each 1x1 convolution in `sr_keras.layers.SpectralNorm` (SNGAN / SAGAN semantics).
        power_iterations: power iterations per training step of the spectral normalisation.
    """

    def __init__(self, spectral_norm=True, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = bool(spectral_norm)
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} needs a known number of input channels")
        self.channels = int(channels)
        self.query = self._conv1x1(max(1, channels // 8), "query")
        self.key = self._conv1x1(max(1, channels // 8), "key")
        self.value = self._conv1x1(max(1, channels // 2), "value")
        self.attention_output = self._conv1x1(channels, "attention_output")
        feature_shape = tuple(input_shape[:-1]) + (channels,)
        for conv in (self.query, self.key, self.value):
            conv.build(feature_shape)
        self.attention_output.build(tuple(input_shape[:-1]) + (max(1, channels // 2),))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def _conv1x1(self, filters, name):
        conv = keras.layers.Conv2D(filters, 1, use_bias=False, name=name, dtype=self.dtype_policy)
        if self.spectral_norm:
            return SpectralNorm(conv, power_iterations=self.power_iterations, name=f"{name}_sn",
                                dtype=self.dtype_policy)
        return conv

    def attention_logits(self, inputs, training=None):
        """Raw attention logits `f g^T` of shape [batch, N, N], N = number of positions attended over."""
        self._build_for(inputs)
        return self._attend(inputs, training)[1]

    def _build_for(self, inputs):
        if not self.built:
            self.build(tuple(inputs.shape))

    def _attend(self, features, training):
        """Attention on `features`: returns (o after the output conv, logits)."""
        shape = tf.shape(features)
        batch, height, width = shape[0], shape[1], shape[2]
        positions = height * width

        def flat(tensor):
            return tf.reshape(tensor, [batch, positions, tf.shape(tensor)[-1]])

        query = flat(self.query(features, training=training))
        key = flat(self.key(features, training=training))
        value = flat(self.value(features, training=training))
        logits = tf.matmul(query, key, transpose_b=True)
        weights = tf.nn.softmax(tf.cast(logits, "float32"), axis=-1)
        attended = tf.matmul(tf.cast(weights, value.dtype), value)
        attended = tf.reshape(attended, [batch, height, width, tf.shape(value)[-1]])
        return self.attention_output(attended, training=training), logits

    def call(self, inputs, training=None):
        attended, _ = self._attend(inputs, training)
        return inputs + keras.ops.cast(self.gamma, inputs.dtype) * attended

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"spectral_norm": self.spectral_norm, "power_iterations": self.power_iterations})
        return config


@keras.saving.register_keras_serializable(package="sr_keras")
class FlexibleSelfAttention(SelfAttention2D):
    """Flexible Self Attention (FSA) of A-SRGAN: pool, attend, deconvolve back, learnable sum.

    The input is max-pooled with kernel = stride = `pool_size` (p), SAGAN attention runs on the pooled map,
    and its output goes back to the input's exact height and width through a parameter-free deconvolution:
    a stride-p transposed convolution with a fixed all-ones p x p kernel per channel (each pooled value is
    copied to the p x p cell it came from), cropped to the input size. Sizes not divisible by p are padded
    at the bottom and right for the pooling (ceil) and cropped back. Then `x + gamma * o` as in SAGAN.

    The attention map has (H*W/p^2)^2 entries, p^4 fewer than plain attention. `pool_size` adds no weights:
    the seed trains with p = 1 (plain attention) on small crops and tests with p = 4 on 2000px images, so
    `pool_size` may be changed on a built or loaded model (`sr_keras.layers.set_pool_size`). With p = 1
    the layer equals `SelfAttention2D`.

    Args:
        pool_size: positive integer p.
        spectral_norm: see `SelfAttention2D`.
        power_iterations: see `SelfAttention2D`.
    """

    def __init__(self, pool_size=1, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _check_pool_size(pool_size)

    def __setattr__(self, name, value):
        if name == "pool_size":
            value = _check_pool_size(value)
        super().__setattr__(name, value)

    def _pool(self, inputs):
        if self.pool_size == 1:
            return inputs
        # Pad at the bottom and right only (TF's "SAME" would also pad the top and left and shift every pooling
        # window), with -inf so padding never wins the max; a window is never all padding since pad < p.
        p = self.pool_size
        shape = tf.shape(inputs)
        pad_h = (-shape[1]) % p
        pad_w = (-shape[2]) % p
        padded = tf.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], constant_values=float("-inf"))
        return tf.nn.max_pool2d(padded, ksize=p, strides=p, padding="VALID")

    def _unpool(self, pooled, like):
        if self.pool_size == 1:
            return pooled
        p = self.pool_size
        expanded = tf.repeat(tf.repeat(pooled, p, axis=1), p, axis=2)
        shape = tf.shape(like)
        return expanded[:, : shape[1], : shape[2], :]

    def attention_logits(self, inputs, training=None):
        self._build_for(inputs)
        return self._attend(self._pool(inputs), training)[1]

    def call(self, inputs, training=None):
        attended, _ = self._attend(self._pool(inputs), training)
        attended = self._unpool(attended, inputs)
        return inputs + keras.ops.cast(self.gamma, inputs.dtype) * attended

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size})
        return config


def _check_pool_size(pool_size):
    return positive_int(pool_size, "pool_size")
