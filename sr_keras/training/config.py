"""Training configuration: one frozen dataclass, per-model paper defaults, validation before any work.

The CLI (`python -m sr_keras.train`) turns flags into a `TrainConfig`; library code only ever sees the config.
"""
import dataclasses
import os
from typing import Optional

from sr_keras.models import MODELS, get_spec

# Training recipes of the papers (REFERENCE sections 2-4): learning rate, decay steps (halved at each),
# LR crop size, loss, steps.
#   EDSR/MDSR: L1, Adam, lr 1e-4 halved every 2e5 steps, batch 16, 48px LR crops, 3e5 steps.
#   WDSR: L1, Adam, lr 1e-3 halved at 2e5 steps, 96px HR crops.
#   SRResNet: MSE, lr 1e-4, 1e6 steps, 24px LR crops; SRGAN: lr 1e-4 then 1e-5 at 1e5, VGG54 + 1e-3 adv.
#   A-SRResNet / A-SRGAN (seed 000): trained from scratch with crop 72 and lr 1e-4; MSE content.
GAN_MODELS = {"srgan": ("srresnet", "srgan_discriminator"), "a_srgan": ("a_srresnet", "a_srgan_discriminator")}
TRAINABLE_MODELS = tuple(name for name, spec in MODELS.items() if spec.kind != "discriminator") + tuple(GAN_MODELS)

PAPER_DEFAULTS = {
    "edsr": dict(learning_rate=1e-4, decay_steps=(200_000,), crop_size=48, loss="l1", steps=300_000),
    "edsr_baseline": dict(learning_rate=1e-4, decay_steps=(200_000,), crop_size=48, loss="l1", steps=300_000),
    "mdsr": dict(learning_rate=1e-4, decay_steps=(200_000,), crop_size=48, loss="l1", steps=300_000),
    "mdsr_baseline": dict(learning_rate=1e-4, decay_steps=(200_000,), crop_size=48, loss="l1", steps=300_000),
    "wdsr_a": dict(learning_rate=1e-3, decay_steps=(200_000,), crop_size=None, loss="l1", steps=300_000),
    "wdsr_b": dict(learning_rate=1e-3, decay_steps=(200_000,), crop_size=None, loss="l1", steps=300_000),
    "srresnet": dict(learning_rate=1e-4, decay_steps=(), crop_size=24, loss="mse", steps=1_000_000),
    "a_srresnet": dict(learning_rate=1e-4, decay_steps=(), crop_size=72, loss="mse", steps=100_000),
    "srgan": dict(learning_rate=1e-4, decay_steps=(100_000,), decay_factor=0.1, crop_size=24, loss="mse",
                  content_loss="vgg54", steps=200_000),
    "a_srgan": dict(learning_rate=1e-4, decay_steps=(), crop_size=72, loss="mse", content_loss="mse",
                    steps=100_000),
}
WDSR_HR_CROP = 96  # WDSR trains on 96px HR crops: the LR crop is 96 // scale.

# MMSR (seed 001): per TVAT class, the "X-Y" depth of its SRGAN (X generator residual blocks, Y discriminator
# conv layers). Defaults: the depth that won most often per class in the seed's Table 1 (TVAT < 2: 4-6 in 5 of
# 8 fragments; 2-4: 16-8 in 2 of 3; > 4: 16-8 in 4 of 5).
MMSR_DEPTHS = ((4, 6), (16, 8), (16, 8))

DATA_KINDS = ("embedded", "folder", "paired", "div2k", "tfds")
STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs. Build with `make_config(model=..., **changes)` to get paper defaults.

    Attributes mirror the `python -m sr_keras.train` flags; see `sr_keras/train.py` for their help texts.
    """

    model: str
    model_dir: str
    scale: int = 4
    scales: tuple = (2, 3, 4)  # MDSR only
    data: str = "embedded"
    data_dir: Optional[str] = None
    lr_dir: Optional[str] = None
    valid_dir: Optional[str] = None
    div2k_track: str = "bicubic"
    crop_size: int = 48
    batch_size: int = 16
    steps: int = 1000
    learning_rate: float = 1e-4
    decay_steps: tuple = ()
    decay_factor: float = 0.5
    loss: str = "l1"
    num_filters: Optional[int] = None
    num_res_blocks: Optional[int] = None
    discriminator_layers: Optional[int] = None
    discriminator_filters: Optional[int] = None
    pool_size: int = 1
    eval_pool_size: Optional[int] = None
    content_loss: str = "mse"
    adv_weight: float = 1e-3
    d_steps: int = 1
    generator_weights: Optional[str] = None
    vgg_weights: Optional[str] = None
    gpus: int = 0
    cpu_replicas: int = 0
    strategy: str = "auto"
    eval_every: int = 500
    save_every: int = 500
    log_every: int = 50
    seed: int = 0
    cache: bool = True
    export_dir: Optional[str] = None
    mixed_precision: bool = False
    max_eval_images: Optional[int] = None
    mmsr_class: Optional[int] = None
    mmsr_tile: int = 32
    mmsr_overlap: int = 8
    mmsr_boundaries: tuple = (2.0, 4.0)
    mmsr_threshold: float = 4.0
    mmsr_depths: tuple = MMSR_DEPTHS

    @property
    def is_gan(self):
        return self.model in GAN_MODELS

    @property
    def generator_name(self):
        return GAN_MODELS[self.model][0] if self.is_gan else self.model

    @property
    def discriminator_name(self):
        return GAN_MODELS[self.model][1] if self.is_gan else None

    @property
    def is_multiscale(self):
        return MODELS[self.generator_name].kind == "multiscale_generator"

    @property
    def train_scales(self):
        return tuple(self.scales) if self.is_multiscale else (self.scale,)

    @property
    def has_attention(self):
        return self.generator_name == "a_srresnet"


def make_config(model, model_dir, **changes):
    """A `TrainConfig` for `model` with the paper's defaults, then `changes` (None values are ignored).

    Raises:
        ValueError: unknown model or any invalid value (one line naming the setting).
    """
    if model not in TRAINABLE_MODELS:
        raise ValueError(f"unknown model {model!r}; trainable models: {', '.join(TRAINABLE_MODELS)}")
    values = dict(PAPER_DEFAULTS.get(model, {}))
    values.update({k: v for k, v in changes.items() if v is not None})
    scale = values.get("scale", 4)
    if values.get("crop_size") is None:
        values["crop_size"] = max(1, WDSR_HR_CROP // scale) if isinstance(scale, int) and scale > 0 else 24
    if model == "a_srgan" or model == "a_srresnet":
        values.setdefault("eval_pool_size", 4)
    for key in ("decay_steps", "scales", "mmsr_boundaries"):
        if key in values:
            values[key] = tuple(values[key])
    if "mmsr_depths" in values:
        values["mmsr_depths"] = tuple(tuple(int(v) for v in depth) for depth in values["mmsr_depths"])
    if values.get("mmsr_class") is not None and model in GAN_MODELS:
        depths = values.get("mmsr_depths", MMSR_DEPTHS)
        klass = values["mmsr_class"]
        if isinstance(klass, int) and 0 <= klass < len(depths):
            values.setdefault("num_res_blocks", depths[klass][0])
            values.setdefault("discriminator_layers", depths[klass][1])
    config = TrainConfig(model=model, model_dir=model_dir, **values)
    validate(config)
    return config


def _positive(config, name):
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"--{name} must be a positive integer, got {value!r}")


def validate(config):
    """Checks a config before anything is built; raises ValueError with a one-line message."""
    spec = get_spec(config.generator_name)
    scales = config.train_scales
    for scale in scales:
        if scale not in spec.scales:
            raise ValueError(f"--model={config.model} does not support scale {scale}; supported scales: "
                             f"{', '.join(map(str, spec.scales))}")
    for name in ("crop_size", "batch_size", "steps", "eval_every", "save_every", "log_every", "d_steps",
                 "pool_size"):
        _positive(config, name)
    if config.eval_pool_size is not None:
        _positive(config, "eval_pool_size")
    for name in ("num_filters", "num_res_blocks", "discriminator_layers", "discriminator_filters",
                 "max_eval_images"):
        if getattr(config, name) is not None:
            _positive(config, name)
    if not config.learning_rate > 0:
        raise ValueError(f"--learning_rate must be positive, got {config.learning_rate}")
    if list(config.decay_steps) != sorted(set(config.decay_steps)) or any(s < 1 for s in config.decay_steps):
        raise ValueError(f"--decay_steps must be increasing positive steps, got {config.decay_steps}")
    if not 0 < config.decay_factor <= 1:
        raise ValueError(f"--decay_factor must be in (0, 1], got {config.decay_factor}")
    if config.loss not in ("l1", "mse"):
        raise ValueError(f"--loss must be l1 or mse, got {config.loss!r}")
    if config.content_loss not in ("mse", "vgg22", "vgg54"):
        raise ValueError(f"--content_loss must be mse, vgg22 or vgg54, got {config.content_loss!r}")
    if config.adv_weight < 0:
        raise ValueError(f"--adv_weight must be >= 0, got {config.adv_weight}")
    if config.data not in DATA_KINDS:
        raise ValueError(f"--data must be one of {', '.join(DATA_KINDS)}, got {config.data!r}")
    if config.data in ("folder", "paired", "div2k") and not config.data_dir:
        raise ValueError(f"--data={config.data} needs --data_dir")
    if config.data == "paired" and not config.lr_dir:
        raise ValueError("--data=paired needs --lr_dir (LR images) besides --data_dir (HR images)")
    for name in ("data_dir", "lr_dir", "valid_dir"):
        path = getattr(config, name)
        if path and not os.path.isdir(path):
            raise ValueError(f"--{name}: directory not found: {path}")
    for name in ("generator_weights", "vgg_weights"):
        path = getattr(config, name)
        if path and not os.path.isfile(path) and not (name == "vgg_weights" and path == "random"):
            raise ValueError(f"--{name}: file not found: {path}")
    if config.strategy not in STRATEGIES:
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {config.strategy!r}")
    if config.gpus < 0 or config.cpu_replicas < 0:
        raise ValueError("--gpus and --cpu_replicas must be >= 0")
    if config.gpus and config.cpu_replicas:
        raise ValueError("--gpus and --cpu_replicas are exclusive")
    replicas = max(config.gpus, config.cpu_replicas, 1)
    if config.batch_size % replicas:
        raise ValueError(f"--batch_size={config.batch_size} must be divisible by the {replicas} replicas")
    if not config.has_attention and config.pool_size != 1:
        raise ValueError(f"--pool_size only applies to a_srresnet / a_srgan, not {config.model}")
    if not config.has_attention and config.eval_pool_size is not None:
        raise ValueError(f"--eval_pool_size only applies to a_srresnet / a_srgan, not {config.model}")
    if config.mmsr_class is not None:
        classes = len(config.mmsr_boundaries) + 1
        if config.model != "srgan":
            raise ValueError(f"--mmsr_class trains one SRGAN of an MMSR system (--model=srgan), not {config.model}")
        if not isinstance(config.mmsr_class, int) or not 0 <= config.mmsr_class < classes:
            raise ValueError(f"--mmsr_class must be between 0 and {classes - 1}, got {config.mmsr_class!r}")
        if len(config.mmsr_depths) != classes:
            raise ValueError(f"--mmsr_depths needs {classes} X-Y depths (one per class), got {len(config.mmsr_depths)}")
        if list(config.mmsr_boundaries) != sorted(config.mmsr_boundaries):
            raise ValueError(f"--mmsr_boundaries must be increasing, got {config.mmsr_boundaries}")
        if config.crop_size > config.mmsr_tile:
            raise ValueError(f"--crop_size={config.crop_size} is larger than --mmsr_tile={config.mmsr_tile}")
        if not 0 <= config.mmsr_overlap < config.mmsr_tile:
            raise ValueError(f"--mmsr_overlap must be in [0, --mmsr_tile), got {config.mmsr_overlap}")
    if config.discriminator_layers is not None and not config.is_gan:
        raise ValueError(f"--discriminator_layers only applies to GAN models, not {config.model}")
