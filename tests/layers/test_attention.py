import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras import layers as L


def _roundtrip(layer):
    config = layer.get_config()
    restored = type(layer).from_config(config)
    assert restored.get_config() == config
    return restored


# --- PixelShuffle -------------------------------------------------------------------------------------------

def test_pixel_shuffle_matches_depth_to_space_order(rng):
    r, c = 3, 2
    x = rng.normal(size=(1, 4, 5, r * r * c)).astype("float32")
    y = L.PixelShuffle(r)(x).numpy()
    assert y.shape == (1, 12, 15, c)
    for yy in range(4):
        for xx in range(5):
            for dy in range(r):
                for dx in range(r):
                    for ch in range(c):
                        assert y[0, yy * r + dy, xx * r + dx, ch] == x[0, yy, xx, (dy * r + dx) * c + ch]


def test_pixel_shuffle_rejects_bad_scale_and_depth():
    with pytest.raises(ValueError, match="positive integer"):
        L.PixelShuffle(0)
    with pytest.raises(ValueError, match="divisible by 4"):
        L.PixelShuffle(2)(np.zeros((1, 3, 3, 6), "float32"))
    assert _roundtrip(L.PixelShuffle(4)).scale == 4


# --- Normalize / Denormalize --------------------------------------------------------------------------------

def test_normalize_then_denormalize_is_identity(rng):
    x = rng.uniform(0, 255, size=(2, 5, 7, 3)).astype("float32")
    mean = [114.4, 111.5, 103.0]
    y = L.Normalize(mean=mean, scale=127.5)(x).numpy()
    np.testing.assert_allclose(y, (x - np.array(mean)) / 127.5, rtol=1e-6, atol=1e-6)
    back = L.Denormalize(mean=mean, scale=127.5)(y).numpy()
    np.testing.assert_allclose(back, x, atol=1e-4)
    assert _roundtrip(L.Normalize(mean=mean, scale=2.0)).mean == pytest.approx(mean)


def test_normalize_rejects_non_rgb_and_bad_arguments():
    with pytest.raises(ValueError, match="3 channels"):
        L.Normalize()(np.zeros((1, 4, 4, 4), "float32"))
    with pytest.raises(ValueError, match="non-zero"):
        L.Normalize(scale=0)
    with pytest.raises(ValueError, match="3 per-channel"):
        L.Denormalize(mean=[1.0, 2.0])


# --- WeightNormConv2D ---------------------------------------------------------------------------------------

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


def test_weight_norm_conv_config_and_errors():
    restored = _roundtrip(L.WeightNormConv2D(5, (1, 3), strides=2, activation="relu", use_bias=False))
    assert restored.kernel_size == (1, 3) and restored.strides == (2, 2) and not restored.use_bias
    with pytest.raises(ValueError, match="padding"):
        L.WeightNormConv2D(4, 3, padding="causal")
    y = L.WeightNormConv2D(4, 3, strides=2)(np.zeros((1, 9, 7, 2), "float32"))
    assert y.shape == (1, 5, 4, 4)


# --- Self-attention and FSA ---------------------------------------------------------------------------------

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
    assert _roundtrip(L.FlexibleSelfAttention(pool_size=8)).pool_size == 8


def test_set_pool_size_on_loaded_model(tmp_path):
    inputs = keras.Input((None, None, 8))
    outputs = L.FlexibleSelfAttention(pool_size=1, name="fsa")(keras.layers.Conv2D(8, 3, padding="same")(inputs))
    model = keras.Model(inputs, outputs)
    model.get_layer("fsa").gamma.assign(1.0)
    x = np.random.default_rng(4).normal(size=(1, 16, 12, 8)).astype("float32")
    path = tmp_path / "fsa.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    weights = [w.numpy().copy() for w in loaded.weights]
    assert L.set_pool_size(loaded, 4) == 1
    assert loaded.get_layer("fsa").pool_size == 4
    pooled = loaded.predict(x, verbose=0)  # predict() must not reuse the function traced with p = 1
    assert not np.allclose(pooled, model.predict(x, verbose=0))
    np.testing.assert_allclose(pooled, loaded(x).numpy(), rtol=1e-5, atol=1e-5)
    for before, after in zip(weights, loaded.weights):
        np.testing.assert_array_equal(before, after.numpy())
    with pytest.raises(ValueError, match="no FlexibleSelfAttention"):
        L.set_pool_size(keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 1)]), 2)
