"""Training configuration: nested frozen dataclasses, checked before any work.

    >>> from sr_keras.training import make_config
    >>> config = make_config("wdsr_b", "runs/wdsr_b", steps=300, num_res_blocks=8)
    >>> config.optim.steps, config.model.num_res_blocks, config.data.crop_size
    (300, 8, 24)

A `TrainConfig` holds six sections: `model`, `data`, `optim`, `gan`, `runtime` and `degradation` (Real-ESRGAN's
settings, `sr_keras.data.realesrgan.RealESRGANSettings`, used with `--degradation=realesrgan`). Field names are unique
across sections, so `make_config` takes them flat (`crop_size=48` lands in `data`). Unset fields take the
recipe's value: `recipe=` names one of `sr_keras.training.recipes.RECIPES`, and without it the model's own
paper recipe applies. The command line (`python -m sr_keras.train`) has one flag per field, named after it
(help text in the field's metadata); errors raised here and by `validation.validate` are `ConfigError`s that
name the field, which the CLI turns into the flag's name.
"""
import dataclasses
import os
from typing import Optional

from sr_keras.checks import ConfigError
from sr_keras.data import div2k_archives
from sr_keras.data.pipeline import DEGRADATIONS
from sr_keras.data.realesrgan import RealESRGANSettings
from sr_keras.models import DISCRIMINATORS, GENERATORS, MODELS
from sr_keras.training import recipes
from sr_keras.training.optimizers import OPTIMIZERS
from sr_keras.training.validation import validate

# GAN model: (its generator, its discriminator), from the generators' `GANSpec`s. A GAN with `any_generator`
# (Real-ESRGAN's) trains any single-scale generator (--generator); by default its own.
GAN_MODELS = {spec.gan.name: (name, spec.gan.discriminator) for name, spec in MODELS.items() if spec.gan}
# Discriminators with one probability per crop (the layer "probability" after "logits"), which GANTrainer takes.
PROBABILITY_DISCRIMINATORS = tuple(name for name in DISCRIMINATORS if not MODELS[name].per_pixel)
# GANs whose own discriminator is one of those, so --discriminator can swap it.
SWAPPABLE_DISCRIMINATOR_GANS = tuple(gan for gan, (_, d) in GAN_MODELS.items() if d in PROBABILITY_DISCRIMINATORS)
TRAINABLE_MODELS = GENERATORS + tuple(GAN_MODELS)
DATA_KINDS = ("embedded", "folder", "paired", "div2k", "tfds")
DIV2K_TRACKS = tuple(div2k_archives.TRACKS)
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
WDSR_HR_CROP = 96  # WDSR trains on 96px HR crops: the LR crop is 96 // scale.


def setting(default, help_text, flag=None, choices=None, item=None):
    """A dataclass field whose metadata gives the CLI its flag (name, help, allowed values, tuple item type)."""
    metadata = {"help": help_text, "item": item}
    if flag:
        metadata["flag"] = flag
    if choices:
        metadata["choices"] = tuple(choices)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """What is trained: the model and its size."""

    name: str = setting(None, f"model to train: {', '.join(TRAINABLE_MODELS)}", flag="model")
    generator: Optional[str] = setting(None, "--model=realesrgan: the generator trained in the GAN (any single-scale "
                                       "generator; default rrdbnet, Real-ESRGAN's)")
    scale: int = setting(4, "SR factor (2, 3, 4 or 8 where the model allows it)")
    scales: tuple = setting((2, 3, 4), "MDSR: the scales trained together", item=int)
    num_filters: Optional[int] = setting(None, "generator feature channels (default: the paper's; rrdbnet and "
                                         "srvgg_compact: their num_feat)")
    num_res_blocks: Optional[int] = setting(None, "generator residual blocks (default: the paper's; rrdbnet: its "
                                            "num_block, srvgg_compact: its num_conv)")
    pool_size: int = setting(1, "A-SRGAN: FSA pool size in training (1 = plain attention)")
    eval_pool_size: Optional[int] = setting(None, "A-SRGAN: FSA pool size for validation and export (default 4)")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the training and validation images come from, and how they are cut."""

    kind: str = setting("embedded", "training data: embedded photos (offline default), folder of HR images "
                       "(--data_dir), paired LR/HR folders (--lr_dir, --data_dir), div2k archive layout "
                       "(--data_dir), tfds div2k", flag="data", choices=DATA_KINDS)
    data_dir: Optional[str] = setting(None, "HR folder, DIV2K root, or tfds data_dir")
    lr_dir: Optional[str] = setting(None, "--data=paired: folder of LR images matched to --data_dir by name")
    valid_dir: Optional[str] = setting(None, "validation images (HR folder or Set5-style HR + LR_bicubic/X<s>); "
                                      "default: DIV2K valid for div2k data, else the embedded validation photos")
    div2k_track: str = setting("bicubic", "DIV2K track", choices=DIV2K_TRACKS)
    crop_size: Optional[int] = setting(None, "LR crop side in pixels (HR crop = crop_size * scale)")
    batch_size: int = setting(16, "global batch size (split over replicas)")
    cache: bool = setting(True, "keep decoded training images in memory")
    quantize_lr: bool = setting(True, "round and clip LR made with MATLAB bicubic to the uint8 grid, as MATLAB and "
                                "every published LR set (DIV2K, Set5, ...) have it; --noquantize_lr keeps floats")
    degradation: str = setting("bicubic", "how training LR is made from HR: bicubic (MATLAB, the benchmarks' and "
                               "the source's LR), realesrgan (Real-ESRGAN's second-order blur/resize/noise/JPEG "
                               "model, per batch), bsrgan (BSRGAN's shuffled model, per crop)", choices=DEGRADATIONS)
    pair_pool: int = setting(0, "realesrgan/bsrgan: Real-ESRGAN's training-pair pool size (its queue_size, 180 "
                             "with batch 12); a multiple of the per-replica batch; 0 = off")
    max_eval_images: Optional[int] = setting(None, "validate on at most this many images")
    protocol: str = setting("auto", "validation protocol (sr_keras.evaluation.PROTOCOLS): benchmark (Y, scale "
                            "pixels cropped), div2k (RGB, scale + 6 cropped, as EDSR-PyTorch); auto = div2k when "
                            "validating on DIV2K, else benchmark", choices=("auto", "benchmark", "div2k"))


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """The optimisation: steps, learning-rate schedule, pixel loss and precision."""

    steps: int = setting(1000, "total training steps")
    learning_rate: float = setting(1e-4, "initial learning rate")
    decay_steps: tuple = setting((), "steps at which the learning rate is multiplied by --decay_factor", item=int)
    decay_factor: float = setting(0.5, "learning-rate decay factor (0.5 = halve)")
    loss: str = setting("l1", "pixel loss", choices=("l1", "mse"))
    loss_range: int = setting(1, "pixel losses compare pixels in [0, loss_range]: 255 as EDSR-PyTorch and "
                              "wdsr_ntire2018 (rgb_range 255), 1 as BasicSR; Adam is scale-free but for its "
                              "epsilon, so this changes the updates (1 or 255)")
    optimizer: str = setting("torch_adam", "Adam with epsilon added after the bias correction (torch_adam: "
                             "torch.optim.Adam, the PyTorch originals') or before it (keras_adam: "
                             "keras.optimizers.Adam and tf.train.AdamOptimizer, the TensorFlow originals')",
                             choices=tuple(OPTIMIZERS))
    beta_2: float = setting(0.999, "Adam's beta_2 (0.999 in EDSR/WDSR/SRGAN, 0.99 in Real-ESRGAN)")
    ema_decay: float = setting(0.0, "keep an exponential moving average of the generator weights with this decay "
                               "(Real-ESRGAN: 0.999), validated, saved and exported instead of the raw weights; "
                               "0 = off")
    usm_target: bool = setting(False, "train the pixel (and perceptual) loss against the USM-sharpened HR, as "
                               "Real-ESRGAN's gt_usm / l1_gt_usm")
    mixed_precision: bool = setting(False, "mixed precision (float16 on GPU, bfloat16 on CPU)")
    jit_compile: bool = setting(False, "compile the train step with XLA (off by default: no faster on the CPUs "
                                "measured, docs/benchmarks.md; untested on GPUs)")


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """SRGAN / A-SRGAN only: discriminator, losses and the pretrained generator."""

    content_loss: str = setting("mse", "GAN: content loss (perceptual = Real-ESRGAN's L1 + VGG19 conv1_2..conv5_4 "
                                "pre-ReLU L1, only for realesrgan)", choices=("mse", "vgg22", "vgg54", "perceptual"))
    adv_weight: float = setting(1e-3, "GAN: adversarial loss weight (1e-3 in SRGAN)")
    vgg_scale: str = setting("per_element", "GAN: VGG loss = 0.0061 x mean over H, W, C (per_element, "
                             "krasserm/super-resolution) or over H, W of the channel sum (per_position, "
                             "brade31919/SRGAN-tensorflow)", choices=("per_element", "per_position"))
    d_steps: int = setting(1, "GAN: discriminator updates per generator update")
    gan_order: str = setting("d_first", "GAN: d_first = discriminator step(s) on this step's SR, then the generator "
                             "against the updated discriminator (seed 000); g_first = generator step, then the "
                             "discriminator on the SR computed before it (BasicSR's SRGANModel)",
                             choices=("d_first", "g_first"))
    init_from: Optional[str] = setting(None, "start the generator from this .keras model or pretrained model "
                                      "name: every layer whose name and shapes match is loaded (EDSR/MDSR x3/x4 "
                                      "from x2; SRResNet -> SRGAN)")
    from_scratch: bool = setting(False, "GAN: train SRGAN / A-SRGAN from random weights instead of a pretrained "
                                 "generator (--init_from)")
    vgg_weights: Optional[str] = setting(None, "GAN: local VGG19 notop weights file for offline machines (default: "
                                        "Keras downloads the imagenet weights; 'random' = untrained VGG, for smoke "
                                        "tests only)")
    discriminator: Optional[str] = setting(None, "GAN: the discriminator, default the model's own; "
                                          "vgg_style_discriminator = ESRGAN's, for HR crops of 128 or 256 px "
                                          "(srgan, a_srgan)", choices=PROBABILITY_DISCRIMINATORS)
    discriminator_layers: Optional[int] = setting(None, "GAN: discriminator conv layers, 1-8 (MMSR 'X-Y' depths)")
    discriminator_filters: Optional[int] = setting(None, "GAN: discriminator filters of the first conv (default 64)")


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Where and how the run executes: directory, devices, cadence of validation, checkpoints and logs."""

    model_dir: str = setting(None, "run directory (default runs/<model>_x<scale>)")
    gpus: int = setting(0, "train data-parallel on this many GPUs (MirroredStrategy)")
    cpu_replicas: int = setting(0, "train data-parallel on this many logical CPU devices (testing)")
    strategy: str = setting("auto", "distribution strategy; multi_worker reads TF_CONFIG", choices=STRATEGIES)
    eval_every: int = setting(500, "validate every N steps (and at the end)")
    save_every: int = setting(500, "checkpoint every N steps (and at the end)")
    log_every: int = setting(50, "progress line every N steps when not on a terminal")
    seed: int = setting(0, "random seed")
    export_dir: Optional[str] = setting(None, "also write a TF Serving SavedModel here at the end")


SECTIONS = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig, "gan": GANConfig,
            "runtime": RuntimeConfig, "degradation": RealESRGANSettings}
# Flat setting name (the field's flag name: its own name, or "model" / "data" for model.name / data.kind) ->
# (section, field). Names are unique across sections.
FIELDS = {f.metadata.get("flag", f.name): (section, f.name)
          for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
TUPLE_FIELDS = tuple(f.name for cls in SECTIONS.values() for f in dataclasses.fields(cls) if f.type is tuple)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; build it with `make_config` (recipe values, then changes, checked)."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig
    gan: GANConfig
    runtime: RuntimeConfig
    degradation: RealESRGANSettings = RealESRGANSettings()
    recipe: Optional[str] = None

    @property
    def is_gan(self):
        return self.model.name in GAN_MODELS

    @property
    def generator_name(self):
        if self.is_gan:
            return self.model.generator or GAN_MODELS[self.model.name][0]
        return self.model.name

    @property
    def discriminator_name(self):
        if not self.is_gan:
            return None
        return self.gan.discriminator or GAN_MODELS[self.model.name][1]

    @property
    def generator_spec(self):
        return MODELS[self.generator_name]

    @property
    def gan_spec(self):
        """The `GANSpec` of a GAN model (held by its own generator's spec), else None."""
        return MODELS[GAN_MODELS[self.model.name][0]].gan if self.is_gan else None

    @property
    def per_pixel_gan(self):
        """A GAN whose discriminator gives a logit per pixel (Real-ESRGAN's U-Net), trained as Real-ESRGAN."""
        return self.is_gan and MODELS[self.discriminator_name].per_pixel

    @property
    def is_multiscale(self):
        return self.generator_spec.kind == "multiscale_generator"

    @property
    def train_scales(self):
        return tuple(self.model.scales) if self.is_multiscale else (self.model.scale,)

    @property
    def has_attention(self):
        return self.generator_spec.has_attention

    @property
    def protocol(self):
        """The validation protocol: `data.protocol`, or for "auto" div2k on DIV2K validation, else benchmark."""
        if self.data.protocol != "auto":
            return self.data.protocol
        return "div2k" if self.data.kind in ("div2k", "tfds") and not self.data.valid_dir else "benchmark"

    @property
    def eval_pool_size(self):
        """The FSA pool size used for validation and export (None for models without FSA)."""
        return (self.model.eval_pool_size or self.model.pool_size) if self.has_attention else None

    def flat(self):
        """{setting name: value} over every section, plus "recipe" (what `config.json` holds)."""
        values = {"recipe": self.recipe}
        for name, (section, field) in FIELDS.items():
            values[name] = getattr(getattr(self, section), field)
        return values

    def replace(self, **changes):
        """A copy with flat setting changes applied and checked (like `make_config`, without recipe values)."""
        sections = {name: getattr(self, name) for name in SECTIONS}
        for key, value in changes.items():
            if key not in FIELDS:
                raise ConfigError(key, "is not a training setting")
            section, field = FIELDS[key]
            sections[section] = dataclasses.replace(sections[section], **{field: _normalise(field, value)})
        config = TrainConfig(recipe=self.recipe, **sections)
        validate(config)
        return config


def _normalise(key, value):
    if key in TUPLE_FIELDS and value is not None:
        return tuple(value)
    return value


def make_config(model=None, model_dir=None, recipe=None, **changes):
    """A checked `TrainConfig`: the recipe's values, then `changes` (flat field names; None values ignored).

    Args:
        model: the model to train (a key of `TRAINABLE_MODELS`); may be omitted when `recipe` names one.
        model_dir: the run directory (default `runs/<model>_x<scale>`).
        recipe: a name of `sr_keras.training.recipes.RECIPES`; default: the model's paper recipe (the training
            settings of its paper: learning rate and schedule, crop, loss, steps).
        **changes: any setting of the five sections by its flag name (e.g. `steps=300`, `crop_size=24`,
            `data="folder"`).

    Raises:
        ConfigError: (a ValueError) an unknown model, recipe or field, or an invalid value; the message names
            the field.
    """
    values = {}
    if recipe is not None:
        entry = recipes.get(recipe)
        if entry.model is None:  # a training recipe for any generator (Real-ESRNet's)
            if model is None:
                raise ConfigError("model", f"recipe {recipe!r} trains any generator: name one with --model")
        elif model is not None and model != entry.model:
            raise ConfigError("model", f"{model!r} contradicts recipe {recipe!r}, which trains {entry.model!r}")
        model = model or entry.model
        values.update(entry.values)
    if model is None:
        raise ConfigError("model", "is required (or a recipe that names one)")
    if model not in TRAINABLE_MODELS:
        raise ConfigError("model", f"unknown model {model!r}; trainable models: {', '.join(TRAINABLE_MODELS)}")
    if recipe is None:
        values.update(recipes.get(recipes.PAPER_RECIPES[model]).values)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ConfigError(unknown[0], "is not a training setting")
    values.update({k: v for k, v in changes.items() if v is not None})
    values["model"] = model
    scale = values.get("scale", 4)
    if values.get("crop_size") is None:
        values["crop_size"] = max(1, WDSR_HR_CROP // scale) if isinstance(scale, int) and scale > 0 else 24
    values["model_dir"] = model_dir or values.get("model_dir") or os.path.join("runs", f"{model}_x{scale}")
    generator = MODELS.get(values.get("generator") or GAN_MODELS.get(model, (model,))[0])
    if generator is not None and generator.eval_pool_size is not None:  # an unknown --generator: validate says so
        values.setdefault("eval_pool_size", generator.eval_pool_size)
    sections = {}
    for section, cls in SECTIONS.items():
        own = {FIELDS[k][1]: _normalise(FIELDS[k][1], v) for k, v in values.items() if FIELDS[k][0] == section}
        sections[section] = cls(**own)
    config = TrainConfig(recipe=recipe, **sections)
    validate(config)
    return config
