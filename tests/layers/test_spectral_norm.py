"""`sr_keras.layers.SpectralNorm` equals SNGAN / SAGAN spectral normalisation (`torch.nn.utils.spectral_norm`).

The reference is an exact numpy derivation of PyTorch's algorithm (torch/nn/utils/spectral_norm.py): the weight
as a matrix W of shape [out, fan_in]; in training mode one power iteration v = normalise(W^T u), u =
normalise(W v) from the stored u, then sigma = u^T W v with u, v constant, output = layer(x; W / sigma); in
eval mode the stored u, v give sigma. The gradient of sum(output * g) with respect to W follows from
d(W/sigma)/dW = I/sigma - (W/sigma^2) (u v^T), which the test derives by hand. When PyTorch is installed the
same layer is compared with `torch.nn.utils.spectral_norm` itself.
"""
import numpy as np
import pytest
import tensorflow as tf
import keras

from sr_keras.layers import SpectralNorm
from tests.harness import run_layer_test

RTOL = 1e-5


@pytest.mark.parametrize("make_layer,input_shape,output_shape", [
    (lambda: keras.layers.Conv2D(5, 3, padding="same"), (1, 8, 8, 4), (1, 8, 8, 5)),
    (lambda: keras.layers.Dense(6), (3, 7), (3, 6)),
], ids=["conv", "dense"])
def test_layer_contract(make_layer, input_shape, output_shape, tmp_path):
    """The wrapped layer and u, v survive the `.keras` file (u and v after a training-mode call)."""
    x = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    run_layer_test(SpectralNorm, lambda: {"layer": make_layer(), "power_iterations": 2}, x, tmp_path,
                   expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2)


def _normalise(x):
    return x / max(np.linalg.norm(x), 1e-12)


def _reference(matrix, u, v, training):
    """(W_sn, sigma, u, v) by PyTorch's algorithm; `matrix` is [out, fan_in] in float64."""
    if training:
        v = _normalise(matrix.T @ u)
        u = _normalise(matrix @ v)
    sigma = u @ matrix @ v
    return matrix / sigma, sigma, u, v


def _weight_gradient(matrix, u, v, upstream):
    """d sum(W_sn * G) / dW with u, v constant: G / sigma - (sum(W * G) / sigma^2) u v^T."""
    sigma = u @ matrix @ v
    return upstream / sigma - (np.sum(matrix * upstream) / sigma ** 2) * np.outer(u, v)


def _layers():
    keras.utils.set_random_seed(3)
    conv = SpectralNorm(keras.layers.Conv2D(5, 3, padding="same", name="conv"), name="conv_sn")
    conv.build((None, 9, 11, 4))
    dense = SpectralNorm(keras.layers.Dense(6, name="dense"), name="dense_sn")
    dense.build((None, 7))
    return {"conv": (conv, np.random.default_rng(0).normal(size=(2, 9, 11, 4)).astype("float32")),
            "dense": (dense, np.random.default_rng(1).normal(size=(3, 7)).astype("float32"))}


def _as_matrix(layer):
    """The kernel as PyTorch's [out, fan_in] matrix (columns in Keras' kh, kw, in order: sigma is invariant)."""
    kernel = layer.layer.kernel.numpy().astype("float64")
    return kernel.reshape(-1, kernel.shape[-1]).T


def _plain_output(layer, x, normalised_kernel):
    inner = layer.layer
    if isinstance(inner, keras.layers.Conv2D):
        out = tf.nn.conv2d(x, normalised_kernel, 1, "SAME")
    else:
        out = tf.matmul(x, normalised_kernel)
    return (out + inner.bias).numpy()


@pytest.mark.parametrize("kind", ["conv", "dense"])
@pytest.mark.parametrize("training", [True, False])
def test_forward_gradient_and_u_equal_the_sngan_derivation(kind, training):
    layer, x = _layers()[kind]
    layer.layer.bias.assign(np.linspace(-0.5, 0.5, layer.units))
    matrix = _as_matrix(layer)
    u0, v0 = layer.u.numpy().astype("float64"), layer.v.numpy().astype("float64")
    w_sn, sigma, u1, v1 = _reference(matrix, u0, v0, training)
    kernel_sn = (w_sn.T.reshape(layer.layer.kernel.shape)).astype("float32")
    expected = _plain_output(layer, x, kernel_sn)
    upstream_out = np.random.default_rng(2).normal(size=expected.shape).astype("float32")
    with tf.GradientTape() as tape:
        out = layer(x, training=training)
        objective = tf.reduce_sum(out * upstream_out)
    gradient = tape.gradient(objective, layer.layer.kernel).numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
    # upstream gradient with respect to W_sn, by the plain op's own gradient
    kernel_var = tf.Variable(kernel_sn)
    with tf.GradientTape() as tape:
        plain = tf.reduce_sum(_plain_output_tensor(layer, x, kernel_var) * upstream_out)
    upstream_w = tape.gradient(plain, kernel_var).numpy().astype("float64")
    upstream_matrix = upstream_w.reshape(-1, layer.units).T
    expected_grad = _weight_gradient(matrix, u1, v1, upstream_matrix).T.reshape(gradient.shape)
    np.testing.assert_allclose(gradient, expected_grad, rtol=RTOL, atol=RTOL * np.abs(expected_grad).max())
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(layer.v.numpy(), v1, rtol=RTOL, atol=1e-7)
    if training:
        assert not np.allclose(u1, u0)  # the power iteration moved u
    # the raw weight is the parameter: it is never overwritten
    np.testing.assert_array_equal(_as_matrix(layer), matrix)
    assert sigma > 0


def _plain_output_tensor(layer, x, kernel):
    inner = layer.layer
    out = tf.nn.conv2d(x, kernel, 1, "SAME") if isinstance(inner, keras.layers.Conv2D) else tf.matmul(x, kernel)
    return out + inner.bias


@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_matches_torch_spectral_norm(kind):
    """The same weights, u and v in `torch.nn.utils.spectral_norm`: outputs in training and eval mode, the
    gradient with respect to the raw weight, and the updated u and v agree to 1e-5."""
    torch = pytest.importorskip("torch")
    layer, x = _layers()[kind]
    kernel = layer.layer.kernel.numpy()
    if kind == "conv":  # Keras [kh, kw, in, out] -> PyTorch [out, in, kh, kw]; v's columns (kh, kw, in) -> (in, kh, kw)
        module = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1)
        weight = kernel.transpose(3, 2, 0, 1)
        v = layer.v.numpy().reshape(kernel.shape[:3]).transpose(2, 0, 1).ravel()
        inputs, to_keras = torch.tensor(x.transpose(0, 3, 1, 2)), (0, 2, 3, 1)
    else:
        module = torch.nn.Linear(kernel.shape[0], kernel.shape[1])
        weight, v, inputs, to_keras = kernel.T, layer.v.numpy(), torch.tensor(x), (0, 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(weight))
        module.bias.copy_(torch.tensor(layer.layer.bias.numpy()))
    module = torch.nn.utils.spectral_norm(module)
    with torch.no_grad():
        module.weight_u.copy_(torch.tensor(layer.u.numpy()))
        module.weight_v.copy_(torch.tensor(v))
    module.train()
    expected = module(inputs)
    upstream = np.random.default_rng(5).normal(size=expected.shape).astype("float32")
    (expected * torch.tensor(upstream)).sum().backward()
    with tf.GradientTape() as tape:
        got = layer(x, training=True)
        objective = tf.reduce_sum(got * upstream.transpose(*to_keras))
    gradient = tape.gradient(objective, layer.layer.kernel).numpy()
    torch_gradient = module.weight_orig.grad.numpy()
    torch_gradient = torch_gradient.transpose(2, 3, 1, 0) if kind == "conv" else torch_gradient.T
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy().transpose(*to_keras), rtol=RTOL, atol=1e-5)
    np.testing.assert_allclose(gradient, torch_gradient, rtol=RTOL, atol=1e-5 * np.abs(torch_gradient).max())
    np.testing.assert_allclose(layer.u.numpy(), module.weight_u.numpy(), rtol=RTOL, atol=1e-7)
    torch_v = module.weight_v.numpy()
    if kind == "conv":
        torch_v = torch_v.reshape(kernel.shape[2], 3, 3).transpose(1, 2, 0).ravel()
    np.testing.assert_allclose(layer.v.numpy(), torch_v, rtol=RTOL, atol=1e-7)
    module.eval()
    with torch.no_grad():
        evaluated = module(inputs).numpy().transpose(*to_keras)
    np.testing.assert_allclose(layer(x, training=False).numpy(), evaluated, rtol=RTOL, atol=1e-5)


def test_files_saved_with_keras_spectral_normalization_still_load(tmp_path):
    """Models saved before sr_keras had its own wrapper used `keras.layers.SpectralNormalization`: they load
    with that wrapper and give the same output as before saving."""
    import sr_keras  # noqa: F401  (registers the package's layers, as loading a real old file needs)

    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3, padding="same"))(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "old.keras")
    loaded = keras.saving.load_model(tmp_path / "old.keras")
    assert isinstance(loaded.layers[-1], keras.layers.SpectralNormalization)
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_weight_paths_survive_loading(tmp_path):
    """The wrapped layer's weights keep the wrapper's part of their paths in a loaded model (`EMA.averaged_copy`
    pairs weights by path), and the loaded model computes the same."""
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, SpectralNorm(keras.layers.Conv2D(4, 3, name="conv"), name="conv_sn")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    x = np.random.default_rng(0).normal(size=(1, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


def test_a_copied_generator_keeps_every_weight_path():
    """`float32_copy` (export, `--fast`) and the EMA's averaged copy revive the model from its config: every
    weight of a spectral-normalised generator keeps its path there."""
    from sr_keras.models import build_model
    from sr_keras.models.precision import float32_copy

    model = build_model("a_srresnet", scale=2, num_filters=8, num_res_blocks=1)
    assert any(isinstance(layer, SpectralNorm) for layer in model.layers)
    copy = float32_copy(model, always_copy=True)
    assert copy is not model
    assert [w.path for w in copy.weights] == [w.path for w in model.weights]
