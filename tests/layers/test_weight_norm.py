"""`sr_keras.layers.WeightNormConv2D`: w = g * v / ||v|| (Salimans & Kingma 2016), starting as a plain Conv2D."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras import layers as L
from tests.harness import run_layer_test


def test_layer_contract(tmp_path):
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 4)).astype("float32")
    run_layer_test(L.WeightNormConv2D, {"filters": 5, "kernel_size": (1, 3), "strides": 2, "activation": "relu"},
                   x, tmp_path, expected_output_shape=(1, 4, 4, 5), expected_num_trainable_weights=3,
                   expected_num_non_trainable_weights=0)


def test_weight_norm_conv_initially_equals_plain_conv(rng):
    x = rng.normal(size=(2, 11, 13, 5)).astype("float32")
    wn = L.WeightNormConv2D(7, 3, bias_initializer="random_normal")
    y = wn(x)
    plain = keras.layers.Conv2D(7, 3, padding="same")
    plain.build(x.shape)
    plain.set_weights([wn.kernel.numpy(), wn.bias.numpy()])
    np.testing.assert_allclose(y.numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wn.g.numpy(), np.linalg.norm(wn.kernel.numpy().reshape(-1, 7), axis=0), rtol=1e-6)


def test_weight_norm_conv_uses_g_times_unit_direction(rng):
    x = rng.normal(size=(1, 6, 6, 4)).astype("float32")
    wn = L.WeightNormConv2D(3, (3, 1), use_bias=False)
    wn(x)
    wn.g.assign([1.0, 2.0, 3.0])
    v = wn.kernel.numpy()
    w = v / np.linalg.norm(v.reshape(-1, 3), axis=0) * np.array([1.0, 2.0, 3.0])
    expected = tf.nn.conv2d(x, w, 1, "SAME").numpy()
    np.testing.assert_allclose(wn(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_weight_norm_conv_gradients_reach_v_and_g(rng):
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    wn = L.WeightNormConv2D(4, 3)
    wn(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(wn(x) - 1.0))
    grads = tape.gradient(loss, [wn.kernel, wn.g, wn.bias])
    assert [w.name for w in wn.trainable_weights] == ["kernel", "g", "bias"]
    for grad in grads:
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0.0


def test_weight_norm_conv_valid_padding_and_errors():
    assert L.WeightNormConv2D(4, 3, padding="valid")(np.zeros((1, 9, 7, 2), "float32")).shape == (1, 7, 5, 4)
    with pytest.raises(ValueError, match="padding"):
        L.WeightNormConv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="pair of ints"):
        L.WeightNormConv2D(4, (3, 3, 3))
