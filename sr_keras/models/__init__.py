"""Model builders of sr_keras and the registry behind `--model`.

    >>> from sr_keras.models import build_model, get_spec, model_scale
    >>> model = build_model("wdsr_b", scale=4)          # float RGB [0, 255] in, [0, 255] out, any size
    >>> disc = build_model("srgan_discriminator", hr_size=96)
    >>> unet = build_model("unet_discriminator_sn")     # per-pixel logits for any size, a multiple of 8
    >>> model_scale(model)                              # read from the model's metadata, kept in .keras files
    4
    >>> get_spec("a_srresnet").gan.discriminator, get_spec("a_srresnet").eval_pool_size
    ('a_srgan_discriminator', 4)

`MODELS` holds one `ModelSpec` per model, under its builder's name: everything the package knows about it
(attention and pool sizes, its GAN pair, its training recipes, the converters' sources). Training and
conversion read it instead of testing model names.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import dataclasses
import inspect
from typing import Callable, Optional

from sr_keras.models._common import SUPPORTED_SCALES
from sr_keras.models.asrgan import a_srgan_discriminator, a_srresnet
from sr_keras.models.edsr import edsr, edsr_baseline, mdsr, mdsr_baseline
from sr_keras.models.esrgan import (RRDB_SCALES, VGG_STYLE_SIZES, rrdbnet, srvgg_compact,
                                    vgg_style_discriminator)
from sr_keras.models.generator import SRGenerator, model_info, model_scale
from sr_keras.models.realesrgan import unet_discriminator_sn
from sr_keras.models.saving import load_generator
from sr_keras.models.srgan import srgan_discriminator, srresnet
from sr_keras.models.wdsr import wdsr_a, wdsr_b

DEFAULT_MDSR_SCALES = (2, 3, 4)


@dataclasses.dataclass(frozen=True)
class GANSpec:
    """How a generator is trained adversarially.

    Attributes:
        name: the GAN's `--model` value (e.g. "srgan"); the generator is the model whose spec holds this.
        discriminator: the registry name of its discriminator.
        recipes: names of `sr_keras.training.recipes.RECIPES` training the GAN; the first applies when no
            `--recipe` is named.
        init_recipes: recipes that train the generator the GAN starts from (`--init_from`) when it is not the
            generator's own first recipe (Real-ESRGAN starts from Real-ESRNet), one per scale.
        any_generator: the GAN trains any single-scale generator (`--generator`), not only its own.
    """

    name: str
    discriminator: str
    recipes: tuple = ()
    init_recipes: tuple = ()
    any_generator: bool = False


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything sr_keras knows about one model. Its name is its builder's (`def wdsr_b` is "wdsr_b"), which
    is also the architecture its generators record in `.keras` files.

    Attributes:
        builder: the function that builds the model.
        kind: "generator", "multiscale_generator" (MDSR: the builder returns {scale: model}) or
            "discriminator".
        scales: scales a generator supports (empty for discriminators).
        paper: short reference.
        pool_size: the pool size of its `FlexibleSelfAttention` layers when built (the builder's default:
            plain attention, for training on crops); None for a model without attention.
        eval_pool_size: the pool size for validation and export on large images (A-SRGAN's test-time 4).
        recipes: names of `sr_keras.training.recipes.RECIPES` training it (models may not import training;
            training checks the names); the first applies when no `--recipe` is named.
        gan: its GAN (`GANSpec`), for a generator trained adversarially.
        sources: the `sr_keras.convert` sources (checkpoint layouts of the originals) that convert into it;
            a conversion whose report names another source is refused.
        per_pixel: discriminators: one logit per pixel (Real-ESRGAN's U-Net, trained by `RealESRGANTrainer`)
            instead of one probability per crop (after a layer "logits", as `GANTrainer` takes it).
        hr_sizes: discriminators: the only HR crop sides it takes (empty: any).
    """

    builder: Callable
    kind: str
    scales: tuple
    paper: str
    pool_size: Optional[int] = None
    eval_pool_size: Optional[int] = None
    recipes: tuple = ()
    gan: Optional[GANSpec] = None
    sources: tuple = ()
    per_pixel: bool = False
    hr_sizes: tuple = ()

    @property
    def name(self):
        return self.builder.__name__

    @property
    def has_attention(self):
        return self.pool_size is not None


_LIM = "Lim et al. 2017"
_YU = "Yu et al. 2018"
_LEDIG = "Ledig et al. 2017"
_PATHAK = "Pathak et al. 2018"
_REALESRNET = ("realesrnet_x4plus", "realesrnet_x2plus")
# One entry per model; the keys are the builders' names.
MODELS = {spec.name: spec for spec in (
    ModelSpec(edsr, "generator", SUPPORTED_SCALES, _LIM, recipes=("edsr_paper",),
              sources=("edsr_pytorch", "basicsr")),
    ModelSpec(edsr_baseline, "generator", SUPPORTED_SCALES, _LIM, recipes=("edsr_baseline_paper",),
              sources=("edsr_pytorch", "basicsr", "krasserm")),
    ModelSpec(mdsr, "multiscale_generator", SUPPORTED_SCALES, _LIM, recipes=("mdsr_paper",),
              sources=("edsr_pytorch",)),
    ModelSpec(mdsr_baseline, "multiscale_generator", SUPPORTED_SCALES, _LIM, recipes=("mdsr_baseline_paper",),
              sources=("edsr_pytorch",)),
    ModelSpec(wdsr_a, "generator", SUPPORTED_SCALES, _YU, recipes=("wdsr_a_paper",),
              sources=("wdsr", "wdsr_ychfan", "krasserm")),
    ModelSpec(wdsr_b, "generator", SUPPORTED_SCALES, _YU, recipes=("wdsr_b_paper",), sources=("wdsr", "krasserm")),
    ModelSpec(srresnet, "generator", SUPPORTED_SCALES, _LEDIG, recipes=("srresnet_paper",), sources=("krasserm",),
              gan=GANSpec("srgan", "srgan_discriminator", recipes=("srgan_paper", "srgan_mse_seed000"))),
    ModelSpec(srgan_discriminator, "discriminator", (), _LEDIG),
    ModelSpec(a_srresnet, "generator", SUPPORTED_SCALES, _PATHAK, pool_size=1, eval_pool_size=4,
              recipes=("a_srresnet_paper",),
              gan=GANSpec("a_srgan", "a_srgan_discriminator", recipes=("a_srgan_paper", "a_srgan_mse_seed000"))),
    ModelSpec(a_srgan_discriminator, "discriminator", (), _PATHAK, pool_size=1),
    ModelSpec(unet_discriminator_sn, "discriminator", (), "Wang et al. 2021", sources=("basicsr",), per_pixel=True),
    ModelSpec(rrdbnet, "generator", RRDB_SCALES, "Wang et al. 2018 (ESRGAN)",
              recipes=("rrdbnet_psnr_paper",) + _REALESRNET, sources=("realesrgan", "esrgan", "bsrgan"),
              gan=GANSpec("realesrgan", "unet_discriminator_sn", recipes=("realesrgan_x4plus", "realesrgan_x2plus"),
                          init_recipes=_REALESRNET, any_generator=True)),
    ModelSpec(srvgg_compact, "generator", SUPPORTED_SCALES, "Wang et al. 2021 (Real-ESRGAN)", recipes=_REALESRNET,
              sources=("realesrgan",)),
    ModelSpec(vgg_style_discriminator, "discriminator", (), "Wang et al. 2018 (ESRGAN)", sources=("basicsr",),
              hr_sizes=VGG_STYLE_SIZES),
)}

GENERATORS = tuple(name for name, spec in MODELS.items() if spec.kind != "discriminator")
DISCRIMINATORS = tuple(name for name, spec in MODELS.items() if spec.kind == "discriminator")


def get_spec(name):
    """Returns the registry entry for `name` or raises a ValueError listing the valid names."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(name, scale=None, **overrides):
    """Builds a registered model by name.

    Args:
        name: a key of `MODELS`.
        scale: for generators, the upscaling factor (default 4); must be None for discriminators, which take
            `hr_size` instead (the SRGAN ones) or images of any size (`unet_discriminator_sn`).
        **overrides: keyword arguments of the builder (num_filters, num_res_blocks, res_scale, pool_size,
            hr_size, ...). For MDSR, `scales` chooses the set of scales built together (default (2, 3, 4)).

    Returns:
        A Keras model. For MDSR, the model of `scale` from a multi-scale set whose other members share its
        layers; use `sr_keras.models.mdsr(...)` directly to get every scale's model.

    Raises:
        ValueError: unknown name, unsupported scale, a scale given to a discriminator, or a bad override.
    """
    spec = get_spec(name)
    if spec.kind == "discriminator":
        if scale is not None:
            hint = ("pass hr_size=<HR crop size>" if "hr_size" in inspect.signature(spec.builder).parameters
                    else "it takes images of any size")
            raise ValueError(f"{name} is a discriminator and takes no scale; {hint}")
        return _call(spec.builder, name, overrides)
    scale = 4 if scale is None else scale
    if spec.kind == "multiscale_generator":
        scales = tuple(overrides.pop("scales", DEFAULT_MDSR_SCALES))
        if scale not in scales:
            raise ValueError(f"{name}: scale {scale} is not among the scales built together {scales}; "
                             f"pass scales=(..., {scale})")
        return _call(spec.builder, name, dict(overrides, scales=scales))[scale]
    return _call(spec.builder, name, dict(overrides, scale=scale))


def _call(builder, name, kwargs):
    try:
        return builder(**kwargs)
    except TypeError as error:
        if "unexpected keyword argument" in str(error):
            raise ValueError(f"{name}: {error}") from None
        raise


def count_params(models, trainable=None):
    """Counts the distinct weights of one model or of several models sharing layers (MDSR's dict).

    Args:
        models: a Keras model, or a dict / list of models.
        trainable: True for trainable weights only, False for non-trainable only, None for all.

    Returns:
        The number of scalar parameters, each shared variable counted once.
    """
    if isinstance(models, dict):
        models = list(models.values())
    elif not isinstance(models, (list, tuple)):
        models = [models]
    seen = {}
    for model in models:
        for weight in model.weights:
            if trainable is None or weight.trainable == trainable:
                seen[id(weight)] = weight
    total = 0
    for weight in seen.values():
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


__all__ = [
    "DEFAULT_MDSR_SCALES", "DISCRIMINATORS", "GANSpec", "GENERATORS", "MODELS", "ModelSpec", "SRGenerator",
    "a_srgan_discriminator", "a_srresnet", "build_model", "count_params", "edsr", "edsr_baseline", "get_spec",
    "load_generator", "mdsr", "mdsr_baseline", "model_info", "model_scale", "srgan_discriminator", "srresnet",
    "unet_discriminator_sn", "wdsr_a", "wdsr_b",
]
