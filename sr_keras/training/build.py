"""Building a run's models, optimizers and trainer from its `TrainConfig`."""
import inspect
import os

import keras
import tensorflow as tf

from sr_keras import models as sr_models
from sr_keras.checks import ConfigError
from sr_keras.models.saving import load_matching_weights
from sr_keras.training import losses
from sr_keras.training.optimizers import make_optimizer
from sr_keras.training.trainers import GANTrainer, PixelTrainer, RealESRGANTrainer


# --num_filters / --num_res_blocks -> the builder argument of that meaning (BasicSR's names for its networks)
_SIZE_ARGUMENTS = {"num_filters": ("num_filters", "num_feat"), "num_res_blocks": ("num_res_blocks", "num_block",
                                                                                   "num_conv")}
# The discriminator's HR crop side -> its builder argument (the U-Net one takes any size and has none)
_HR_SIZE_ARGUMENTS = ("hr_size", "input_size")


def _arguments(builder, values):
    """{the builder's argument: value} for {(its possible names): value}; values of None left out."""
    parameters = inspect.signature(builder).parameters
    return {next(name for name in names if name in parameters): value for names, value in values.items()
            if value is not None}


def _generator_overrides(config):
    overrides = _arguments(config.generator_spec.builder,
                           {names: getattr(config.model, setting) for setting, names in _SIZE_ARGUMENTS.items()})
    if config.has_attention:
        overrides["pool_size"] = config.model.pool_size
    return overrides


def build_generators(config):
    """{scale: generator} (MDSR: every training scale, sharing layers)."""
    overrides = _generator_overrides(config)
    if config.is_multiscale:
        spec = sr_models.get_spec(config.generator_name)
        return spec.builder(scales=config.train_scales, **overrides)
    return {config.model.scale: sr_models.build_model(config.generator_name, scale=config.model.scale, **overrides)}


def build_discriminator(config):
    """The GAN's discriminator for HR crops of `crop_size * scale` pixels (the U-Net one takes any size)."""
    spec = sr_models.get_spec(config.discriminator_name)
    parameters = inspect.signature(spec.builder).parameters
    values = {_SIZE_ARGUMENTS["num_filters"]: config.gan.discriminator_filters,
              ("num_layers",): config.gan.discriminator_layers}  # validated: given only to builders taking them
    if any(name in parameters for name in _HR_SIZE_ARGUMENTS):
        values[_HR_SIZE_ARGUMENTS] = config.data.crop_size * config.model.scale
    overrides = _arguments(spec.builder, values)
    if spec.has_attention:
        overrides["pool_size"] = config.model.pool_size
    return sr_models.build_model(config.discriminator_name, **overrides)


def use_mixed_precision():
    """Sets Keras' global policy for mixed precision: float16 compute on GPUs (with loss scaling in
    `optimizers.make_optimizer`), bfloat16 on CPUs; variables stay float32."""
    keras.mixed_precision.set_global_policy(
        "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16")


def init_generators(generators, path):
    """Loads every matching layer of `path` (a `.keras` file or a `sr_keras.pretrained` name) into `generators`
    (`sr_keras.models.saving.load_matching_weights`); returns {"loaded": [names], "skipped": [[name, reason]]}."""
    try:
        if not os.path.isfile(path):  # a pretrained model's name (checked by TrainConfig)
            from sr_keras.pretrained import model_path

            path = model_path(path)
        loaded, skipped = load_matching_weights(generators, path)
    except (ValueError, OSError) as error:
        raise ConfigError("init_from", str(error)) from None
    return {"loaded": loaded, "skipped": [list(item) for item in skipped]}


def build_trainer(config, strategy=None):
    """The run's trainer: models, optimizers and the trainer, all created under `strategy.scope()`.

        >>> trainer = build_trainer(make_config("edsr_baseline", "runs/x", num_res_blocks=2, crop_size=16))
        >>> losses = trainer.step(lr_batch, hr_batch)          # numpy or tensors, [B, h, w, 3] in [0, 255]
        >>> state = trainer.optimizer_state()["g_optimizer"]   # iterations, learning rate, Adam's m and v

    Args:
        config: a `TrainConfig` (`make_config`).
        strategy: a tf.distribute strategy; default the current one (one device unless inside a scope).

    Returns:
        A `trainers.Trainer`. `trainer.checkpoint_parts` holds the discriminator, every optimizer and the EMA
        for the checkpoint; with `init_from`, `trainer.init_report` says which generator layers were loaded
        and which skipped.
    """
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        generators = build_generators(config)
        report = init_generators(generators, config.gan.init_from) if config.gan.init_from else None
        trainer, parts = _trainer(config, strategy, generators)
        trainer.init_report = report
        if config.optim.jit_compile:
            trainer.compile_step(jit_compile=True)
        if config.optim.ema_decay:
            parts["generator_ema"] = trainer.keep_ema(config.optim.ema_decay)
        trainer.checkpoint_parts = parts
        return trainer


def _trainer(config, strategy, generators):
    with strategy.scope():
        batch = config.data.batch_size
        if not config.is_gan:
            trainer = PixelTrainer(strategy, generators, make_optimizer(config.optim), config.optim.loss, batch,
                                   usm_target=config.optim.usm_target, loss_range=config.optim.loss_range)
            return trainer, dict(trainer.optimizers)
        discriminator = build_discriminator(config)
        if config.per_pixel_gan:
            weights = None if config.gan.vgg_weights == "random" else (config.gan.vgg_weights or "imagenet")
            trainer = RealESRGANTrainer(strategy, generators, discriminator, make_optimizer(config.optim),
                                        make_optimizer(config.optim), losses.vgg19_preactivation_features(
                                            weights=weights), config.gan.adv_weight, batch,
                                        usm_target=config.optim.usm_target)
            return trainer, dict(trainer.optimizers, discriminator=discriminator)
        vgg = None
        if config.gan.content_loss != "mse":
            weights = None if config.gan.vgg_weights == "random" else (config.gan.vgg_weights or "imagenet")
            vgg = losses.vgg_feature_extractor(config.gan.content_loss, weights=weights)
        trainer = GANTrainer(strategy, generators, discriminator, make_optimizer(config.optim),
                             make_optimizer(config.optim), config.gan.content_loss, config.gan.adv_weight,
                             config.gan.d_steps, batch, vgg, config.gan.vgg_scale, order=config.gan.gan_order)
        return trainer, dict(trainer.optimizers, discriminator=discriminator)
