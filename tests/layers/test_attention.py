"""`sr_keras.layers.attention`: SAGAN self-attention (Zhang et al. 2018) in the official code's layout, and
A-SRGAN's Flexible Self Attention (Pathak et al. 2018), whose pool size changes on a built or loaded model."""
import keras
import numpy as np
import pytest

from sr_keras import layers as L
from tests.harness import run_layer_test


@pytest.mark.parametrize("layer_cls,init_kwargs", [
    (L.SelfAttention2D, {"power_iterations": 2}),
    (L.FlexibleSelfAttention, {"pool_size": 2}),
], ids=["SelfAttention2D", "FlexibleSelfAttention"])
def test_layer_contract(layer_cls, init_kwargs, tmp_path):
    """16 channels (query and key 2, value 8); 7 x 9 is not a multiple of the pool size. Weights: four 1x1
    kernels and gamma, the u and v of each kernel's spectral norm."""
    x = np.random.default_rng(0).normal(size=(1, 7, 9, 16)).astype("float32")
    run_layer_test(layer_cls, init_kwargs, x, tmp_path, expected_output_shape=(1, 7, 9, 16),
                   expected_num_trainable_weights=5, expected_num_non_trainable_weights=8)


def _attention_pair(channels=16, pool_size=1, gamma=0.7):
    x = np.random.default_rng(1).normal(size=(2, 12, 10, channels)).astype("float32")
    plain = L.SelfAttention2D()
    fsa = L.FlexibleSelfAttention(pool_size=pool_size)
    plain(x)
    fsa(x)
    fsa.set_weights(plain.get_weights())
    for layer in (plain, fsa):
        layer.gamma.assign(gamma)
    return x, plain, fsa


def test_self_attention_layout_and_zero_gamma(rng):
    x = rng.normal(size=(1, 6, 5, 32)).astype("float32")
    layer = L.SelfAttention2D()
    np.testing.assert_array_equal(layer(x).numpy(), x)  # gamma starts at 0
    shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.trainable_weights}
    assert shapes == {
        "query_sn/query/kernel": (1, 1, 32, 4), "key_sn/key/kernel": (1, 1, 32, 4),
        "value_sn/value/kernel": (1, 1, 32, 16), "attention_output_sn/attention_output/kernel": (1, 1, 16, 32),
        "gamma": (),
    }


def test_fsa_with_pool_size_one_equals_self_attention():
    x, plain, fsa = _attention_pair(pool_size=1)
    np.testing.assert_allclose(fsa(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)
    assert float(np.abs(plain(x).numpy() - x).max()) > 1e-3  # the attention path really contributes


def test_fsa_pools_attends_and_copies_back_to_exact_size():
    p = 4
    x = np.random.default_rng(2).normal(size=(1, 17, 23, 16)).astype("float32")
    plain = L.SelfAttention2D()
    fsa = L.FlexibleSelfAttention(pool_size=p)
    plain(x)
    fsa(x)
    fsa.set_weights(plain.get_weights())
    plain.gamma.assign(1.0)
    fsa.gamma.assign(0.5)
    padded = np.full((1, 20, 24, 16), -np.inf, "float32")
    padded[:, :17, :23] = x
    pooled = padded.reshape(1, 5, 4, 6, 4, 16).max(axis=(2, 4))
    attended = plain(pooled).numpy() - pooled  # gamma 1: the attention output o at pooled size
    upsampled = attended.repeat(p, axis=1).repeat(p, axis=2)[:, :17, :23]
    np.testing.assert_allclose(fsa(x).numpy(), x + 0.5 * upsampled, rtol=1e-4, atol=1e-4)


def test_attention_logits_fall_by_p_to_the_fourth():
    x = np.random.default_rng(3).normal(size=(1, 64, 48, 16)).astype("float32")
    layer = L.FlexibleSelfAttention(pool_size=1)
    counts = {}
    for p in (1, 2, 4):
        layer.pool_size = p
        counts[p] = int(np.prod(layer.attention_logits(x).shape))
    assert counts[1] == (64 * 48) ** 2
    assert counts[1] // counts[2] == 2 ** 4 and counts[1] // counts[4] == 4 ** 4


def test_changing_pool_size_keeps_weights():
    x, _, fsa = _attention_pair(pool_size=1)
    before = [(w.path, w.numpy().copy()) for w in fsa.weights]
    out1 = fsa(x).numpy()
    fsa.pool_size = 2
    out2 = fsa(x).numpy()
    after = [(w.path, w.numpy()) for w in fsa.weights]
    assert [p for p, _ in before] == [p for p, _ in after]
    for (_, a), (_, b) in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(out1, out2)
    with pytest.raises(ValueError, match="positive integer"):
        fsa.pool_size = 0


def test_set_pool_size_on_loaded_model(tmp_path):
    inputs = keras.Input((None, None, 8))
    outputs = L.FlexibleSelfAttention(pool_size=1, name="fsa")(keras.layers.Conv2D(8, 3, padding="same")(inputs))
    model = keras.Model(inputs, outputs)
    model.get_layer("fsa").gamma.assign(1.0)
    x = np.random.default_rng(4).normal(size=(1, 16, 12, 8)).astype("float32")
    path = tmp_path / "fsa.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    traced = loaded.predict(x, verbose=0)  # traced with p = 1
    weights = [w.numpy().copy() for w in loaded.weights]
    assert L.set_pool_size(loaded, 4) == 1
    assert loaded.get_layer("fsa").pool_size == 4
    pooled = loaded.predict(x, verbose=0)  # predict() must not reuse the function traced with p = 1
    assert not np.allclose(pooled, traced)
    np.testing.assert_allclose(pooled, loaded(x).numpy(), rtol=1e-5, atol=1e-5)
    for before, after in zip(weights, loaded.weights):
        np.testing.assert_array_equal(before, after.numpy())
    with pytest.raises(ValueError, match="no FlexibleSelfAttention"):
        L.set_pool_size(keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)]), 2)
