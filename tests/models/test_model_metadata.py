"""Generators carry architecture, scale and builder arguments (`sr_keras.models.SRGenerator`) through `.keras`
files; `infer_scale` reads them instead of running the model; `upscale(pool_size=...)` leaves the model as it
was."""
import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import sr_keras
from sr_keras.inference import AttentionMemoryError, infer_scale, upscale
from sr_keras.inference.memory import attention_layers
from sr_keras.layers import FlexibleSelfAttention
from sr_keras.models import (
    DISCRIMINATORS, GENERATORS, SRGenerator, build_model, get_spec, load_generator, model_info, model_scale)
from tests.harness import run_model_test

TINY = {"num_filters": 8, "num_res_blocks": 1}
# Generators whose originals name their sizes otherwise (BasicSR's num_feat, num_block, num_conv)
TINY_BY_NAME = {"rrdbnet": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}, "srvgg_compact": {"num_feat": 8,
                                                                                              "num_conv": 1}}
SCALES = (2, 3)
SCALES_BY_NAME = {"rrdbnet": (1, 2)}


def expected_arguments(name, given):
    """The builder's signature defaults updated with `given`, as JSON types (tuples become lists)."""
    parameters = inspect.signature(get_spec(name).builder).parameters
    arguments = {key: parameter.default for key, parameter in parameters.items()}
    arguments.update(given)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in arguments.items()}


def built_generators(name):
    """[(scale, model, arguments given)] for every scale of SCALES (or the model's own); MDSR: the members of one
    shared set."""
    spec = get_spec(name)
    keras.utils.set_random_seed(7)
    if spec.kind == "multiscale_generator":
        given = dict(TINY, scales=SCALES)
        members = spec.builder(**given)
        assert sorted(members) == list(SCALES)
        return [(scale, members[scale], given) for scale in SCALES]
    tiny = TINY_BY_NAME.get(name, TINY)
    return [(scale, spec.builder(**dict(tiny, scale=scale)), dict(tiny, scale=scale))
            for scale in SCALES_BY_NAME.get(name, SCALES)]


def lr_batch(height=10, width=12, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(1, height, width, 3)).astype("float32")


def recording_calls(monkeypatch):
    """Records the input shape of every Keras model call (nested sub-models included)."""
    shapes = []
    original_call = keras.Model.__call__

    def recording_call(self, inputs, *args, **kwargs):
        shapes.append(tuple(inputs.shape))
        return original_call(self, inputs, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "__call__", recording_call)
    return shapes


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_keep_their_metadata_through_a_keras_file(name, tmp_path):
    x = lr_batch()
    for scale, model, given in built_generators(name):
        assert isinstance(model, SRGenerator) and isinstance(model, keras.Model)
        assert model.architecture == name and model.scale == scale
        assert model.arguments == expected_arguments(name, given)
        assert model_info(model) == {"architecture": name, "scale": scale, "arguments": model.arguments}
        assert model_scale(model) == scale
        assert model.get_config()["sr_keras"] == model_info(model)

        folder = tmp_path / f"x{scale}"
        folder.mkdir()
        loaded = run_model_test(model, x, folder, rtol=0, atol=0)  # `.keras` file and JSON config
        assert type(loaded) is SRGenerator
        assert model_info(loaded) == model_info(model)
        assert loaded.name == model.name
        assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
        assert model_info(load_generator(folder / f"{model.name}.keras")) == model_info(model)


def test_mdsr_members_share_layers_and_arguments_but_not_the_scale():
    members = sr_keras.models.mdsr_baseline(scales=(2, 4), **TINY)
    assert {s: m.scale for s, m in members.items()} == {2: 2, 4: 4}
    assert members[2].arguments == members[4].arguments == expected_arguments("mdsr_baseline",
                                                                               dict(TINY, scales=(2, 4)))
    assert members[2].get_layer("head_conv") is members[4].get_layer("head_conv")
    # build_model records the public builder's arguments too, the scales built together included
    member = build_model("mdsr", scale=3, scales=(2, 3), **TINY)
    assert (member.architecture, member.scale, member.arguments["scales"]) == ("mdsr", 3, [2, 3])


def test_build_model_records_every_argument_and_the_registry_name():
    model = sr_keras.models.wdsr_b(3, 8, num_res_blocks=2, expansion=2, name="tiny")   # positional too
    assert model_info(model) == {
        "architecture": "wdsr_b", "scale": 3,
        "arguments": {"scale": 3, "num_filters": 8, "num_res_blocks": 2, "expansion": 2, "res_scale": 1.0,
                      "low_rank_ratio": 0.8, "rgb_mean": None, "name": "tiny"}}
    assert build_model("wdsr_b", scale=3, **TINY).arguments == dict(model.arguments, num_res_blocks=1, expansion=6,
                                                                    name=None)
    # a builder calling another (edsr_baseline -> edsr) records the public one
    assert build_model("edsr_baseline", scale=2, **TINY).architecture == "edsr_baseline"
    # numpy numbers become plain JSON numbers
    assert build_model("edsr", scale=np.int64(2), res_scale=np.float32(0.5), **TINY).arguments["res_scale"] == 0.5


def test_metadata_is_read_only_and_discriminators_have_none():
    model = build_model("srresnet", scale=2, **TINY)
    model.arguments["num_filters"] = 99          # a fresh copy: the model's record does not change
    assert model.arguments["num_filters"] == 8
    for name in DISCRIMINATORS:
        tiny = {"unet_discriminator_sn": dict(num_feat=8), "vgg_style_discriminator": dict(num_feat=8)}.get(
            name, dict(hr_size=16, num_filters=8, num_layers=2))
        discriminator = build_model(name, **tiny)
        assert not isinstance(discriminator, SRGenerator)
        assert model_info(discriminator) is None and model_scale(discriminator) is None
    assert model_scale(lambda images: images) is None
    bare = SRGenerator(model.inputs, model.outputs)   # a generator whose metadata was never set
    assert model_info(bare) is None and "sr_keras" not in bare.get_config()
    with pytest.raises(ValueError, match="scale"):
        bare.set_metadata("srresnet", 0, {})
    with pytest.raises(TypeError, match="JSON"):
        bare.set_metadata("srresnet", 2, {"callback": print})


def test_loaded_generator_exports_and_traces(tmp_path):
    keras.utils.set_random_seed(5)
    model = build_model("a_srresnet", scale=2, **TINY)
    path = str(tmp_path / "a_srresnet_x2.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = lr_batch(9, 7)
    expected = np.asarray(model(x, training=False))

    traced = tf.function(lambda images: loaded(images, training=False),
                         input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    np.testing.assert_allclose(traced(tf.constant(x)).numpy(), expected, atol=1e-3)

    archive = keras.export.ExportArchive()   # as sr_keras.serving does
    archive.track(loaded)
    archive.add_endpoint("serve_float", lambda images: loaded(images, training=False),
                         input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    archive.write_out(str(tmp_path / "export"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(restored.serve_float(tf.constant(x)).numpy(), expected, atol=1e-3)


@pytest.fixture
def eager_functions():
    """Runs tf.functions eagerly, so a recorded model call sees the real input shape (not a trace's None)."""
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(False)


def test_loaded_generator_reports_its_scale_without_running(tmp_path, monkeypatch, eager_functions):
    keras.utils.set_random_seed(6)
    path = str(tmp_path / "wdsr_b_x3.keras")
    build_model("wdsr_b", scale=3, **TINY).save(path)
    loaded = keras.saving.load_model(path)
    assert model_scale(loaded) == 3

    shapes = recording_calls(monkeypatch)
    assert infer_scale(loaded) == 3 and shapes == []
    image = np.random.default_rng(1).integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
    out = upscale(loaded, image)
    assert out.shape == (30, 36, 3) and out.dtype == np.uint8
    assert shapes == [(1, 10, 12, 3)]   # the image only: no [1, 8, 8, 3] probe

    # The recording would see a probe: a model saved without the metadata (as before sr_keras recorded it)
    # is run once on a zero 8 x 8 input first.
    plain = keras.Model(loaded.inputs, loaded.outputs, name="plain_wdsr_b_x3")
    plain_path = str(tmp_path / "plain.keras")
    plain.save(plain_path)
    old = keras.saving.load_model(plain_path)
    assert not isinstance(old, SRGenerator) and model_scale(old) is None
    shapes.clear()
    assert upscale(old, image).shape == (30, 36, 3)
    assert shapes == [(1, 8, 8, 3), (1, 10, 12, 3)]


@pytest.fixture
def tiny_a_srresnet():
    keras.utils.set_random_seed(8)
    model = build_model("a_srresnet", scale=2, **TINY)
    layers = attention_layers(model)
    assert len(layers) == 1 and [layer.pool_size for layer in layers] == [1]
    return model, layers


def test_upscale_pool_size_applies_to_that_call_only(tiny_a_srresnet, monkeypatch):
    model, layers = tiny_a_srresnet
    used = []
    original_call = FlexibleSelfAttention.call

    def recording_call(self, inputs, *args, **kwargs):
        used.append(self.pool_size)
        return original_call(self, inputs, *args, **kwargs)

    monkeypatch.setattr(FlexibleSelfAttention, "call", recording_call)
    image = np.random.default_rng(2).integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
    out = upscale(model, image, pool_size=4)
    assert out.shape == (20, 24, 3)
    assert used and set(used) == {4}                     # the model ran with pool size 4 ...
    assert [layer.pool_size for layer in layers] == [1]  # ... and has pool size 1 again afterwards
    used.clear()
    upscale(model, image)
    assert set(used) == {1}


def test_upscale_restores_the_pool_size_when_it_raises(tiny_a_srresnet):
    model, layers = tiny_a_srresnet
    image = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(ValueError, match="tile"):
        upscale(model, image, tile=0, pool_size=4)
    assert [layer.pool_size for layer in layers] == [1]
    with pytest.raises(AttentionMemoryError, match="pool_size=2"):   # raised while the pool size is 2
        upscale(model, image, pool_size=2, max_attention_bytes=1000)
    assert [layer.pool_size for layer in layers] == [1]
    with pytest.raises(ValueError, match="pool_size"):
        upscale(model, image, pool_size=0)
    assert [layer.pool_size for layer in layers] == [1]
    with pytest.raises(ValueError, match="no FlexibleSelfAttention"):
        upscale(build_model("edsr_baseline", scale=2, **TINY), image, pool_size=4)
