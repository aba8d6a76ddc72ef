"""Checks of a `TrainConfig` before anything is built: every error is a `ConfigError` naming the setting (the
command line turns it into the flag). `config.make_config` and `TrainConfig.replace` call `validate`."""
import dataclasses
import inspect
import os

from sr_keras import checks
from sr_keras.checks import ConfigError, positive_int
from sr_keras.data.pipeline import check_degradation_crop
from sr_keras.models import GENERATORS, MODELS, get_spec
from sr_keras.training import recipes


def validate(config):
    """Checks a config before anything is built; raises `ConfigError` naming the field."""
    model, data, optim, gan, runtime = config.model, config.data, config.optim, config.gan, config.runtime
    spec = get_spec(config.generator_name)
    for name in ("scale",) + (("scales",) if config.is_multiscale else ()):
        for scale in (getattr(model, name),) if name == "scale" else model.scales:
            checks.scale(scale, spec.scales, owner=model.name, name=name, error=ConfigError)
    for section, names in ((data, ("crop_size", "batch_size")), (optim, ("steps",)), (gan, ("d_steps",)),
                           (runtime, ("eval_every", "save_every", "log_every")), (model, ("pool_size",))):
        for name in names:
            positive_int(getattr(section, name), name, error=ConfigError)
    for section, names in ((model, ("num_filters", "num_res_blocks", "eval_pool_size")),
                           (gan, ("discriminator_layers", "discriminator_filters")), (data, ("max_eval_images",))):
        for name in names:
            if getattr(section, name) is not None:
                positive_int(getattr(section, name), name, error=ConfigError)
    if not optim.learning_rate > 0:
        raise ConfigError("learning_rate", f"must be positive, got {optim.learning_rate}")
    if list(optim.decay_steps) != sorted(set(optim.decay_steps)) or any(s < 1 for s in optim.decay_steps):
        raise ConfigError("decay_steps", f"must be increasing positive steps, got {optim.decay_steps}")
    if not 0 < optim.decay_factor <= 1:
        raise ConfigError("decay_factor", f"must be in (0, 1], got {optim.decay_factor}")
    if optim.loss_range not in (1, 255) or isinstance(optim.loss_range, bool):
        raise ConfigError("loss_range", f"must be 1 or 255, got {optim.loss_range!r}")
    for section, name in ((optim, "loss"), (optim, "optimizer"), (gan, "content_loss"),
                          (gan, "vgg_scale"), (gan, "gan_order"), (data, "kind"),
                          (data, "div2k_track"), (data, "degradation"),
                          (data, "protocol"), (runtime, "strategy")):
        field = next(f for f in dataclasses.fields(section) if f.name == name)
        choices = field.metadata["choices"]
        if getattr(section, name) not in choices:
            raise ConfigError(field.metadata.get("flag", name),
                              f"must be one of {', '.join(choices)}, got {getattr(section, name)!r}")
    if not 0 <= optim.ema_decay < 1:
        raise ConfigError("ema_decay", f"must be in [0, 1), got {optim.ema_decay}")
    if not 0 < optim.beta_2 < 1:
        raise ConfigError("beta_2", f"must be in (0, 1), got {optim.beta_2}")
    _validate_degradation(config)
    if gan.adv_weight < 0:
        raise ConfigError("adv_weight", f"must be >= 0, got {gan.adv_weight}")
    if data.kind in ("folder", "paired", "div2k") and not data.data_dir:
        raise ConfigError("data_dir", f"is needed by data kind {data.kind!r}")
    if data.kind == "paired" and not data.lr_dir:
        raise ConfigError("lr_dir", "is needed by paired data (LR images) besides data_dir (HR images)")
    for name in ("data_dir", "lr_dir", "valid_dir"):
        path = getattr(data, name)
        if path and not os.path.isdir(path):
            raise ConfigError(name, f"directory not found: {path}")
    for name in ("init_from", "vgg_weights"):
        path = getattr(gan, name)
        if path and not os.path.isfile(path) and not (name == "vgg_weights" and path == "random"):
            if name == "init_from" and _is_preset(path):
                continue
            raise ConfigError(name, f"file not found: {path}" + (" (nor a pretrained model name: python -m "
                                                                  "sr_keras.pretrained list)" if name == "init_from"
                                                                  else ""))
    if runtime.gpus < 0 or runtime.cpu_replicas < 0:
        raise ConfigError("gpus" if runtime.gpus < 0 else "cpu_replicas", "must be >= 0")
    if runtime.gpus and runtime.cpu_replicas:
        raise ConfigError("cpu_replicas", "cannot be combined with gpus")
    replicas = max(runtime.gpus, runtime.cpu_replicas, 1)
    if data.batch_size % replicas:
        raise ConfigError("batch_size", f"{data.batch_size} must be divisible by the {replicas} replicas")
    if not config.has_attention and model.pool_size != 1:
        raise ConfigError("pool_size", f"only applies to {_attention_models()}, not {model.name}")
    if not config.has_attention and model.eval_pool_size is not None:
        raise ConfigError("eval_pool_size", f"only applies to {_attention_models()}, not {model.name}")
    _validate_gan(config)
    if config.is_gan and not gan.init_from and not gan.from_scratch:
        first = config.generator_name
        recipe = next((f" --recipe={name}" for name in config.gan_spec.init_recipes
                       if recipes.get(name).values.get("scale") == model.scale), "")
        raise ConfigError("init_from", f"{model.name} starts from a trained {first} (the paper's two steps): train "
                                       f"it first (python -m sr_keras.train --model={first}{recipe}), then pass "
                                       f"--init_from=<its generator_final_x{model.scale}.keras>; or give "
                                       f"--from_scratch")
    if not config.is_gan:
        for name in ("discriminator_layers", "discriminator_filters"):
            if getattr(gan, name) is not None:
                raise ConfigError(name, f"only applies to GAN models, not {model.name}")


def _validate_gan(config):
    model, gan = config.model, config.gan
    swappable = [name for name, spec in _gans() if not MODELS[spec.discriminator].per_pixel]
    if gan.discriminator is not None and model.name not in swappable:
        raise ConfigError("discriminator", f"only applies to {' and '.join(swappable)}, not {model.name}")
    if config.is_gan:
        discriminator = MODELS[config.discriminator_name]
        hr_size = config.data.crop_size * model.scale
        if discriminator.hr_sizes and hr_size not in discriminator.hr_sizes:
            raise ConfigError("crop_size", f"{config.discriminator_name} takes HR crops of "
                                           f"{' or '.join(map(str, discriminator.hr_sizes))} px; crop_size "
                                           f"{config.data.crop_size} x{model.scale} gives {hr_size}")
        if gan.discriminator_layers is not None and "num_layers" not in inspect.signature(
                discriminator.builder).parameters:
            raise ConfigError("discriminator_layers", f"{config.discriminator_name} has a fixed depth")
    if model.generator is not None:
        if not (config.is_gan and config.gan_spec.any_generator):
            names = [name for name, spec in _gans() if spec.any_generator]
            raise ConfigError("generator", f"only applies to --model={'/'.join(names)}, not {model.name}")
        spec = MODELS.get(model.generator)
        if spec is None or spec.kind != "generator":
            names = ", ".join(n for n, s in MODELS.items() if s.kind == "generator")
            raise ConfigError("generator", f"must be a single-scale generator ({names}), got {model.generator!r}")
    if config.per_pixel_gan:  # Real-ESRGAN's training (RealESRGANTrainer)
        if gan.d_steps != 1:
            raise ConfigError("d_steps", f"{model.name} alternates one generator and one discriminator step")
        if gan.gan_order != "g_first":
            raise ConfigError("gan_order", f"{model.name} updates the generator first, as Real-ESRGAN does (g_first)")
    if config.is_gan and config.per_pixel_gan != (gan.content_loss == "perceptual"):
        names = "/".join(name for name, spec in _gans() if MODELS[spec.discriminator].per_pixel)
        raise ConfigError("content_loss", f"perceptual is Real-ESRGAN's loss: --model={names} takes it and only "
                                          f"it (got --model={model.name} --content_loss={gan.content_loss})")


def _gans():
    """[(GAN name, its GANSpec)] of the registry."""
    return [(spec.gan.name, spec.gan) for spec in MODELS.values() if spec.gan]


def _attention_models():
    """The generators with attention and their GANs, for messages ("a_srresnet / a_srgan")."""
    names = [name for name in GENERATORS if MODELS[name].has_attention]
    return " / ".join(names + [MODELS[name].gan.name for name in names if MODELS[name].gan])


def _validate_degradation(config):
    data, replicas = config.data, max(config.runtime.gpus, config.runtime.cpu_replicas, 1)
    changed = config.degradation.changed()
    if changed and data.degradation != "realesrgan":
        raise ConfigError(changed[0], f"is a setting of --degradation=realesrgan, not of {data.degradation}")
    if data.pair_pool < 0 or isinstance(data.pair_pool, bool) or not isinstance(data.pair_pool, int):
        raise ConfigError("pair_pool", f"must be an integer >= 0, got {data.pair_pool!r}")
    if data.degradation == "bicubic":
        if data.pair_pool:
            raise ConfigError("pair_pool", "applies to --degradation=realesrgan or bsrgan, not bicubic")
        return
    if data.kind == "paired":
        raise ConfigError("degradation", f"{data.degradation} makes the LR from the HR images: the LR folder of "
                                         "--data=paired would be ignored; use --data=folder")
    per_replica = data.batch_size // replicas
    if data.pair_pool % per_replica:
        raise ConfigError("pair_pool", f"{data.pair_pool} must be a multiple of the per-replica batch size "
                                       f"{per_replica} (Real-ESRGAN: 180 with batches of 12)")
    for scale in config.train_scales:
        try:
            check_degradation_crop(data.degradation, data.crop_size, scale)
        except ValueError as error:
            raise ConfigError("crop_size", str(error)) from None


def _is_preset(name):
    from sr_keras.pretrained import PRESETS

    return name in PRESETS
