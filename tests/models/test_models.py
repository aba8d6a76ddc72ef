import keras
import numpy as np
import pytest

from sr_keras import layers as L
from sr_keras.models import (DISCRIMINATORS, GENERATORS, MODELS, build_model, count_params, mdsr, srresnet)
from tests.harness import run_model_test

# ../shared/REFERENCE.md section 1: (name, builder arguments, trainable count, non-trainable count)
REFERENCE_COUNTS = [
    ("edsr_baseline", dict(scale=4), 1_517_571, 0),
    ("edsr_baseline", dict(scale=2), 1_369_859, 0),
    ("edsr_baseline", dict(scale=4, num_res_blocks=8), 926_723, 0),
    ("edsr", dict(scale=4, num_filters=256, num_res_blocks=32, res_scale=0.1), 43_089_923, 0),
    ("wdsr_b", dict(scale=4, num_filters=32, num_res_blocks=32, expansion=6), 615_088, 0),
    ("wdsr_a", dict(scale=4, num_filters=32, num_res_blocks=32, expansion=4), 2_388_080, 0),
    ("wdsr_a", dict(scale=2, num_filters=32, num_res_blocks=16, expansion=4), 1_190_100, 0),
    ("srresnet", dict(scale=4, num_filters=64, num_res_blocks=16), 1_550_659, 4_224),
    ("srgan_discriminator", dict(hr_size=96), 23_565_505, 3_712),
    ("vgg_style_discriminator", dict(input_size=128), 14_499_401, 5_760),  # BasicSR's VGGStyleDiscriminator(128, 64)
    # ../shared/REFERENCE.md section 13, from BasicSR 1.4.2's own modules: RRDBNet (ESRGAN, Real-ESRGAN x4plus /
    # x2plus, anime_6B), SRVGGNetCompact (realesr-general-x4v3: 32 convs; realesr-animevideov3: 16)
    ("rrdbnet", dict(scale=4), 16_697_987, 0),
    ("rrdbnet", dict(scale=2), 16_703_171, 0),
    ("rrdbnet", dict(scale=4, num_block=6), 4_467_779, 0),
    ("srvgg_compact", dict(scale=4, num_conv=32), 1_213_296, 0),
    ("srvgg_compact", dict(scale=4, num_conv=16), 621_424, 0),
]

TINY = {
    "edsr": dict(num_filters=8, num_res_blocks=2),
    "edsr_baseline": dict(num_filters=8, num_res_blocks=2),
    "mdsr": dict(num_filters=8, num_res_blocks=2),
    "mdsr_baseline": dict(num_filters=8, num_res_blocks=2),
    "wdsr_a": dict(num_filters=8, num_res_blocks=2),
    "wdsr_b": dict(num_filters=8, num_res_blocks=2),
    "srresnet": dict(num_filters=8, num_res_blocks=2),
    "a_srresnet": dict(num_filters=8, num_res_blocks=2),
    "srgan_discriminator": dict(hr_size=32, num_filters=8),
    "a_srgan_discriminator": dict(hr_size=32, num_filters=8),
    "unet_discriminator_sn": dict(num_feat=8),
    "rrdbnet": dict(num_feat=8, num_block=1, num_grow_ch=4),
    "srvgg_compact": dict(num_feat=8, num_conv=2),
    "vgg_style_discriminator": dict(input_size=128, num_feat=8),
}
# Discriminators of a fixed HR crop size that output the probability of "real" (SRGAN's kind), and those that
# output one logit per pixel for images of any size (a multiple of 8: Real-ESRGAN's U-Net).
CROP_DISCRIMINATORS = ("srgan_discriminator", "a_srgan_discriminator", "vgg_style_discriminator")
PIXEL_DISCRIMINATORS = ("unet_discriminator_sn",)


@pytest.mark.parametrize("name,kwargs,trainable,non_trainable", REFERENCE_COUNTS,
                         ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in a.items())}" for n, a, _, _ in REFERENCE_COUNTS])
def test_parameter_counts_equal_reference(name, kwargs, trainable, non_trainable):
    model = build_model(name, **kwargs)
    assert count_params(model, trainable=True) == trainable
    assert count_params(model, trainable=False) == non_trainable
    assert model.count_params() == trainable + non_trainable


def test_mdsr_parameter_count_equals_reference():
    models = mdsr(scales=(2, 3, 4), num_filters=64, num_res_blocks=80)
    assert count_params(models) == 7_953_987  # the mean shift is a fixed layer without weights
    assert count_params(models, trainable=False) == 0


def test_mdsr_models_share_head_body_tail_but_not_branches():
    models = mdsr(scales=(2, 3), num_filters=8, num_res_blocks=1)
    for shared in ("head_conv", "body_block1_conv1", "body_conv", "tail_conv"):
        assert models[2].get_layer(shared) is models[3].get_layer(shared)
    names2 = {layer.name for layer in models[2].layers}
    assert "x2_pre_block1_conv1" in names2 and "x3_pre_block1_conv1" not in names2
    shared_ids = {id(w) for w in models[2].weights} & {id(w) for w in models[3].weights}
    assert count_params(models) == count_params(models[2]) + count_params(models[3]) - sum(
        int(np.prod(w.shape)) for w in models[2].weights if id(w) in shared_ids)


def _generator_cases():
    for name in GENERATORS:
        for scale in MODELS[name].scales:
            yield name, scale


@pytest.mark.parametrize("name,scale", list(_generator_cases()))
def test_generator_maps_odd_sizes_at_every_scale(name, scale):
    """(The `.keras` file and config of every generator: tests/models/test_model_metadata.py.)"""
    kwargs = dict(TINY[name])
    if MODELS[name].kind == "multiscale_generator":
        kwargs["scales"] = (scale, 2) if scale != 2 else (2, 3)
    model = build_model(name, scale=scale, **kwargs)
    lr = np.random.default_rng(scale).uniform(0, 255, size=(2, 17, 23, 3)).astype("float32")
    sr = model(lr, training=False).numpy()
    assert sr.shape == (2, 17 * scale, 23 * scale, 3)
    assert np.isfinite(sr).all()


def test_every_discriminator_is_of_a_tested_kind():
    assert sorted(DISCRIMINATORS) == sorted(CROP_DISCRIMINATORS + PIXEL_DISCRIMINATORS)


@pytest.mark.parametrize("name", CROP_DISCRIMINATORS)
def test_discriminator_outputs_probabilities_and_round_trips(name, tmp_path):
    model = build_model(name, **TINY[name])
    size = TINY[name].get("hr_size") or TINY[name]["input_size"]
    hr = np.random.default_rng(0).uniform(0, 255, size=(3, size, size, 3)).astype("float32")
    out = model(hr, training=False).numpy()
    assert out.shape == (3, 1) and ((out > 0) & (out < 1)).all()
    logits_layer = model.get_layer("logits_sn" if name.startswith("a_") else "logits")
    assert model.get_layer("probability").input is logits_layer.output
    run_model_test(model, hr, tmp_path, atol=1e-6)
    with pytest.raises(ValueError):
        model(np.zeros((1, 48, 48, 3), "float32"))  # fixed crop size


@pytest.mark.parametrize("name", PIXEL_DISCRIMINATORS)
def test_pixel_discriminator_outputs_logits_of_any_size_and_round_trips(name, tmp_path):
    model = build_model(name, **TINY[name])
    hr = np.random.default_rng(0).uniform(0, 255, size=(3, 32, 32, 3)).astype("float32")
    out = model(hr, training=False).numpy()
    assert out.shape == (3, 32, 32, 1) and np.isfinite(out).all()
    assert model(hr[:1, :24, :16], training=False).shape == (1, 24, 16, 1)
    run_model_test(model, hr, tmp_path, atol=1e-6)


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("scale", [1, 5, 6, 2.5, "4x"])
def test_unsupported_scale_raises_when_building(name, scale):
    if scale in MODELS[name].scales:  # RRDBNet has an x1 (Real-ESRGAN's pixel-unshuffled input)
        scale = 3
    with pytest.raises(ValueError, match="scale"):
        build_model(name, scale=scale, **TINY[name])


def test_registry_errors_are_clear():
    with pytest.raises(ValueError, match="unknown model 'esrgan'; valid names: a_srgan_discriminator"):
        build_model("esrgan")
    with pytest.raises(ValueError, match="takes no scale"):
        build_model("srgan_discriminator", scale=4)
    with pytest.raises(ValueError, match="unexpected keyword argument 'num_blocks'"):
        build_model("edsr", num_blocks=3)
    with pytest.raises(ValueError, match="not among the scales"):
        build_model("mdsr", scale=8, num_filters=8, num_res_blocks=1)
    with pytest.raises(ValueError, match="num_filters must be a positive integer"):
        build_model("wdsr_b", num_filters=0)
    with pytest.raises(ValueError, match="smaller than the network's total stride"):
        build_model("srgan_discriminator", hr_size=8)


def test_generators_default_to_x4_and_registry_has_every_seed_model():
    assert set(MODELS) == {"edsr", "edsr_baseline", "mdsr", "mdsr_baseline", "wdsr_a", "wdsr_b", "srresnet",
                           "srgan_discriminator", "a_srresnet", "a_srgan_discriminator", "unet_discriminator_sn",
                           "rrdbnet", "srvgg_compact", "vgg_style_discriminator"}
    model = build_model("edsr_baseline", num_filters=8, num_res_blocks=1)
    assert model.output_shape == (None, None, None, 3)
    assert model(np.zeros((1, 5, 6, 3), "float32")).shape == (1, 20, 24, 3)


def test_srresnet_x3_uses_one_factor_three_step_and_x8_three_factor_two_steps():
    x3 = {layer.name for layer in srresnet(3, num_filters=8, num_res_blocks=1).layers}
    x8 = {layer.name for layer in srresnet(8, num_filters=8, num_res_blocks=1).layers}
    assert "upsample_1_conv" in x3 and "upsample_2_conv" not in x3
    assert {"upsample_1_conv", "upsample_2_conv", "upsample_3_conv"} <= x8


def _convs_and_dense(model):
    found = []
    for layer, parent in L.iter_layers(model):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            found.append((layer, parent))
    return found


@pytest.mark.parametrize("name", ["a_srresnet", "a_srgan_discriminator"])
def test_every_conv_and_dense_of_a_srgan_is_spectral_normalised(name):
    model = build_model(name, **TINY[name])
    found = _convs_and_dense(model)
    fsa = [layer for layer, _ in L.iter_layers(model) if isinstance(layer, L.FlexibleSelfAttention)]
    assert len(fsa) == 1
    # the model's own convs, plus the 4 1x1 convs inside the FSA layer, were all reached by the walk
    convs_in_fsa = [layer for layer, parent in found if parent in (fsa[0].query, fsa[0].key, fsa[0].value,
                                                                    fsa[0].attention_output)]
    assert len(convs_in_fsa) == 4
    assert len(found) > 4
    for layer, parent in found:
        assert isinstance(parent, L.SpectralNorm), f"{layer.name} is not spectral-normalised"


@pytest.mark.parametrize("name", ["srresnet", "srgan_discriminator"])
def test_the_walk_does_find_plain_layers_in_srgan(name):
    found = _convs_and_dense(build_model(name, **TINY[name]))
    assert found and not any(isinstance(p, (L.SpectralNorm, keras.layers.SpectralNormalization)) for _, p in found)


def test_a_srresnet_pool_size_changes_after_building_without_new_weights():
    model = build_model("a_srresnet", scale=4, pool_size=1, **TINY["a_srresnet"])
    count = count_params(model)
    attention = model.get_layer("attention")
    attention.gamma.assign(1.0)
    lr = np.random.default_rng(0).uniform(0, 255, size=(1, 21, 18, 3)).astype("float32")
    y1 = model(lr).numpy()
    L.set_pool_size(model, 4)
    y4 = model(lr).numpy()
    assert count_params(model) == count and attention.pool_size == 4
    assert y4.shape == y1.shape == (1, 84, 72, 3) and not np.allclose(y1, y4)
