"""The model registry: every `ModelSpec` agrees with its builder, its GAN pair, the training recipes, the
converters and the shipped `.keras` files."""
import dataclasses
import glob
import inspect
import os

import pytest

import sr_keras.convert as convert
from sr_keras.convert._common import ConversionError, report
from sr_keras.layers import pool_sizes
from sr_keras.models import DISCRIMINATORS, GENERATORS, MODELS, build_model, load_generator, model_info
from sr_keras.pretrained import PRESETS, WEIGHTS_DIR
from sr_keras.training import GAN_MODELS, PAPER_RECIPES, RECIPES, TRAINABLE_MODELS
from sr_keras.training.recipes import paper_recipes

# The tiniest size of each builder, whatever its originals call the arguments (BasicSR: num_feat, num_block, ...).
TINY = {"num_filters": 8, "num_feat": 8, "num_res_blocks": 1, "num_block": 1, "num_conv": 1, "num_grow_ch": 4}
TINY_HR_SIZE = 16  # the SRGAN discriminators' total stride


def tiny_arguments(spec):
    parameters = inspect.signature(spec.builder).parameters
    arguments = {key: value for key, value in TINY.items() if key in parameters}
    if "hr_size" in parameters:
        arguments["hr_size"] = TINY_HR_SIZE
    if "input_size" in parameters:
        arguments["input_size"] = spec.hr_sizes[0]
    return arguments


def built_models(name):
    """[(scale, model)] of a tiny `name` at each of its spec's scales ((None, model) for a discriminator)."""
    spec = MODELS[name]
    arguments = tiny_arguments(spec)
    if spec.kind == "discriminator":
        return [(None, build_model(name, **arguments))]
    if spec.kind == "multiscale_generator":  # every scale in one set sharing layers
        return sorted(spec.builder(scales=spec.scales, **arguments).items())
    return [(scale, build_model(name, scale=scale, **arguments)) for scale in spec.scales]


def check_attention(spec, model):
    """The spec says attention exactly when the model has FSA layers, at the spec's (and builder's) pool size."""
    assert bool(pool_sizes(model)) == spec.has_attention, spec.name
    if spec.has_attention:
        assert set(pool_sizes(model)) == {spec.pool_size}
        assert inspect.signature(spec.builder).parameters["pool_size"].default == spec.pool_size
    else:
        assert spec.eval_pool_size is None


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_builds_at_every_scale_and_records_its_registry_name(name):
    spec = MODELS[name]
    built = built_models(name)
    assert [scale for scale, _ in built] == sorted(spec.scales)
    for scale, model in built:
        assert (model_info(model)["architecture"], model_info(model)["scale"]) == (name, scale)
        check_attention(spec, model)


@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_builds_and_gives_what_its_trainer_takes(name):
    spec = MODELS[name]
    assert spec.scales == () and spec.gan is None and not spec.recipes
    ((_, model),) = built_models(name)
    assert model_info(model) is None  # a plain Keras model, not a generator
    if spec.per_pixel:  # RealESRGANTrainer: a logit per pixel
        assert model.output.shape[1:] == model.input.shape[1:3] + (1,)
    else:  # GANTrainer: one probability per crop, the sigmoid of the logits it takes as the layer's input
        assert model.output.shape[1:] == (1,)
        assert model.layers[-1] is model.get_layer("probability") and model.layers[-1].activation.__name__ == "sigmoid"
    check_attention(spec, model)


def test_gan_pairs_are_trainable_under_their_own_names():
    pairs = {spec.gan.name: (name, spec.gan.discriminator) for name, spec in MODELS.items() if spec.gan}
    assert pairs == GAN_MODELS and {"srgan", "a_srgan", "realesrgan"} <= set(pairs)
    assert not set(pairs) & set(MODELS)
    assert set(TRAINABLE_MODELS) == set(GENERATORS) | set(pairs)
    for generator, discriminator in pairs.values():
        assert MODELS[generator].kind != "discriminator" and MODELS[discriminator].kind == "discriminator"


def test_every_listed_recipe_exists_and_trains_that_model():
    for name, spec in MODELS.items():
        trained = [(name, spec.recipes)]
        if spec.gan:
            trained += [(spec.gan.name, spec.gan.recipes), (name, spec.gan.init_recipes)]
        for model, recipes in trained:
            for recipe in recipes:
                assert RECIPES[recipe].model in (None, model), (model, recipe)
    assert set(PAPER_RECIPES) == set(TRAINABLE_MODELS)
    assert PAPER_RECIPES["a_srgan"] == MODELS["a_srresnet"].gan.recipes[0]


def test_training_refuses_a_spec_naming_a_missing_or_foreign_recipe():
    edsr = MODELS["edsr"]
    with pytest.raises(ValueError, match="'edsr_v2' for edsr; there is no such recipe"):
        paper_recipes({"edsr": dataclasses.replace(edsr, recipes=("edsr_v2",))})
    with pytest.raises(ValueError, match="'wdsr_b_paper' for edsr; it trains wdsr_b"):
        paper_recipes({"edsr": dataclasses.replace(edsr, recipes=("wdsr_b_paper",))})


def test_converter_sources_resolve_and_every_source_makes_a_model():
    listed = {source for spec in MODELS.values() for source in spec.sources}
    assert listed == set(convert.SOURCES)
    for preset in PRESETS.values():
        if preset.source is not None:
            assert preset.source in MODELS[preset.architecture].sources, preset.name
    with pytest.raises(ConversionError, match="does not list 'krasserm' among the sources of rrdbnet"):
        report("krasserm", "rrdbnet", {}, (4,), 0)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(WEIGHTS_DIR, "*.keras"))),
                         ids=os.path.basename)
def test_shipped_models_load_as_their_registry_model(path):
    info = model_info(load_generator(path))
    assert info["architecture"] in GENERATORS and info["scale"] in MODELS[info["architecture"]].scales
