"""Spectral normalisation with the semantics of SNGAN / SAGAN (`torch.nn.utils.spectral_norm`).

Miyato et al. 2018 (SNGAN) and Zhang et al. 2019 (SAGAN), the references of seed 000's A-SRGAN, keep the raw
weight W as the trained parameter and use W / sigma(W) in the forward pass:

- W is seen as a matrix with one row per output unit (PyTorch `[out, in * kh * kw]`; here the Keras kernel
  `[kh, kw, in, out]` reshaped to `[kh * kw * in, out]`, whose transpose is that matrix up to a permutation
  of its columns, which leaves sigma unchanged);
- in training mode each call first runs `power_iterations` steps of the power method from the stored u,
  v = normalise(W^T u), u = normalise(W v), without gradient, and stores the new u and v;
- sigma = u^T W v with u and v held constant, so the gradient flows through sigma into W;
- in inference mode nothing is updated and the stored u and v give sigma.

This is not `keras.layers.SpectralNormalization`, which overwrites the stored kernel with kernel / sigma on
every training call, sends no gradient through sigma and does nothing at inference; the difference changes
both the training dynamics and the trained model's output, hence this layer.

Under tf.distribute the weights are identical on every replica, so every replica computes the same u and v;
they are stored with `aggregation="only_first_replica"`, which keeps the first replica's value: the same as
one device. The power iteration runs at every training-mode call, as in PyTorch (a discriminator called on
real and on generated images in one step updates u once per call). One difference, at creation only: u and v
start from power iterations on the initial kernel rather than from random vectors (see `build`).
"""
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from sr_keras.checks import positive_int


INITIAL_ITERATIONS = 20


def _normalise(vector, epsilon):
    return vector / ops.maximum(ops.sqrt(ops.sum(ops.square(vector))), epsilon)


def _initial_vectors(matrix, u, epsilon):
    """(u, v) after INITIAL_ITERATIONS power-method steps from u on `matrix` [fan_in, units], in float32 numpy."""
    def normalise(vector):
        return vector / max(np.sqrt(np.sum(vector * vector)), np.float32(epsilon))

    u = normalise(u)
    for _ in range(INITIAL_ITERATIONS):
        v = normalise(matrix @ u)
        u = normalise(v @ matrix)
    return u, v


@keras.saving.register_keras_serializable(package="sr_keras")
class SpectralNorm(keras.layers.Wrapper):
    """Spectral normalisation of a `Conv2D` or `Dense` layer (SNGAN / SAGAN, PyTorch semantics).

    Args:
        layer: a `keras.layers.Conv2D` (channels last) or `keras.layers.Dense`.
        power_iterations: power-method steps per training call (1 in SNGAN and SAGAN).
        epsilon: the floor of the norms in the normalisation (PyTorch's `eps`, 1e-12).
        **kwargs: base layer arguments (name, dtype, ...).
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, **kwargs):
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            raise ValueError(f"SpectralNorm wraps Conv2D or Dense layers, got {type(layer).__name__}")
        super().__init__(layer, **kwargs)
        self.power_iterations = positive_int(power_iterations, "power_iterations")
        self.epsilon = float(epsilon)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The wrapped layer is revived unbuilt (its `build_config` dropped), so that `build` builds it inside this
        wrapper's name scope: its weights keep their paths (`<wrapper>/<layer>/kernel`) in a loaded or copied
        model, as in the original. Keras's `Wrapper.from_config` builds it at once, outside that scope, and the
        paths lose the wrapper's part (`EMA.averaged_copy` pairs weights by path)."""
        config = dict(config)
        layer = {key: value for key, value in config.pop("layer").items() if key != "build_config"}
        return cls(keras.saving.deserialize_keras_object(layer, custom_objects=custom_objects), **config)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel_shape = tuple(self.layer.kernel.shape)
        self.units = int(kernel_shape[-1])
        self.fan_in = int(math.prod(kernel_shape[:-1]))
        self.u = self.add_weight(shape=(self.units,), initializer=keras.initializers.RandomNormal(),
                                 trainable=False, name="u", aggregation="only_first_replica")
        self.v = self.add_weight(shape=(self.fan_in,), initializer=keras.initializers.RandomNormal(),
                                 trainable=False, name="v", aggregation="only_first_replica")
        # PyTorch starts from normalised random u and v, so until the first training call its inference-mode
        # sigma is u^T W v for random vectors (often near 0 or negative). Here u and v start from
        # INITIAL_ITERATIONS power-method steps on the initial kernel instead, so an untrained model is already
        # normalised; from the first training call on, the update is PyTorch's.
        # In numpy when eager (the usual case): 20 steps as tensor ops cost 0.1 s per layer in op dispatch alone,
        # 20 s for a paper-size A-SRGAN's discriminator and generator.
        matrix = ops.reshape(ops.cast(self.layer.kernel, "float32"), (self.fan_in, self.units))
        if tf.executing_eagerly():
            u, v = _initial_vectors(np.asarray(matrix), np.asarray(self.u, "float32"), self.epsilon)
        else:
            u = _normalise(ops.convert_to_tensor(self.u), self.epsilon)
            for _ in range(INITIAL_ITERATIONS):
                v = _normalise(ops.matmul(matrix, u), self.epsilon)
                u = _normalise(ops.matmul(v, matrix), self.epsilon)
        self.u.assign(u)
        self.v.assign(v)
        self.built = True

    def normalised_kernel(self, training=False):
        """W / sigma(W) as the layer uses it; in training mode the power iteration updates u and v first."""
        kernel = self.layer.kernel
        matrix = ops.reshape(ops.cast(kernel, "float32"), (self.fan_in, self.units))  # columns: output units
        u, v = ops.convert_to_tensor(self.u), ops.convert_to_tensor(self.v)
        if training:
            frozen = ops.stop_gradient(matrix)
            for _ in range(self.power_iterations):
                v = _normalise(ops.matmul(frozen, u), self.epsilon)       # W^T u in PyTorch's layout
                u = _normalise(ops.matmul(v, frozen), self.epsilon)       # W v
            u, v = ops.stop_gradient(u), ops.stop_gradient(v)
            self.u.assign(u)
            self.v.assign(v)
        sigma = ops.sum(v * ops.matmul(matrix, u))                        # u^T W v
        return ops.cast(kernel, "float32") / sigma

    def call(self, inputs, training=None):
        kernel = ops.cast(self.normalised_kernel(training=bool(training)), self.compute_dtype)
        layer = self.layer
        if isinstance(layer, keras.layers.Conv2D):
            outputs = ops.conv(inputs, kernel, strides=layer.strides, padding=layer.padding,
                               data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        else:
            outputs = ops.matmul(inputs, kernel)
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, self.compute_dtype)
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"power_iterations": self.power_iterations, "epsilon": self.epsilon})
        return config
