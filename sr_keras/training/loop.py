"""The training run: data, models, strategy, checkpoints, validation and logs around a trainer's steps.

    >>> from sr_keras.training import make_config, train
    >>> summary = train(make_config("wdsr_b", "runs/wdsr_b", steps=300, num_res_blocks=8))
"""
import csv
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from sr_keras import data as sr_data
from sr_keras import models as sr_models
from sr_keras.training import distribute, losses, validation
from sr_keras.training.checkpoints import RunCheckpoint, save_keras_atomically
from sr_keras.training.progress import Progress, format_duration
from sr_keras.training.trainers import GANTrainer, PixelTrainer


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def build_sources(config, scale):
    """(training source, validation source) of the config's data settings at `scale`."""
    if config.data == "embedded":
        train = sr_data.embedded_photos("train", scale)
    elif config.data == "folder":
        train = sr_data.hr_folder(config.data_dir, scale)
    elif config.data == "paired":
        train = sr_data.paired_folders(config.lr_dir, config.data_dir, scale)
    elif config.data == "div2k":
        train = sr_data.div2k(config.data_dir, "train", config.div2k_track, scale)
    else:
        train = sr_data.div2k_tfds(f"{config.div2k_track}_x{scale}", "train", data_dir=config.data_dir)
    if config.mmsr_class is not None:
        from sr_keras.mmsr.tiles import class_tile_sets

        sets = class_tile_sets(train, config.mmsr_tile, config.mmsr_overlap, config.mmsr_boundaries,
                               config.mmsr_threshold)
        if config.mmsr_class not in sets:
            raise ValueError(f"no training tile of {train.name} falls in TVAT class {config.mmsr_class} "
                             f"(boundaries {config.mmsr_boundaries}); classes found: {sorted(sets)}")
        train = sets[config.mmsr_class]
    if config.valid_dir:
        valid = sr_data.evaluation_set(config.valid_dir, scale)
    elif config.data == "div2k":
        valid = sr_data.div2k(config.data_dir, "valid", config.div2k_track, scale)
    elif config.data == "tfds":
        valid = sr_data.div2k_tfds(f"{config.div2k_track}_x{scale}", "validation", data_dir=config.data_dir)
    else:
        valid = sr_data.embedded_photos("valid", scale)
    return train, valid


def _model_overrides(config):
    overrides = {}
    if config.num_filters is not None:
        overrides["num_filters"] = config.num_filters
    if config.num_res_blocks is not None:
        overrides["num_res_blocks"] = config.num_res_blocks
    if config.has_attention:
        overrides["pool_size"] = config.pool_size
    return overrides


def build_generators(config):
    """{scale: generator} (MDSR: every training scale, sharing layers)."""
    spec = sr_models.get_spec(config.generator_name)
    overrides = _model_overrides(config)
    if config.is_multiscale:
        return spec.builder(scales=config.train_scales, **overrides)
    return {config.scale: sr_models.build_model(config.generator_name, scale=config.scale, **overrides)}


def build_discriminator(config):
    overrides = {"hr_size": config.crop_size * config.scale}
    if config.discriminator_layers is not None:
        overrides["num_layers"] = config.discriminator_layers
    if config.discriminator_filters is not None:
        overrides["num_filters"] = config.discriminator_filters
    if config.has_attention:
        overrides["pool_size"] = config.pool_size
    return sr_models.build_model(config.discriminator_name, **overrides)


def use_mixed_precision():
    """Sets Keras' global policy for `--mixed_precision`: float16 compute on GPUs (with loss scaling in
    `make_optimizer`), bfloat16 on CPUs; variables stay float32."""
    keras.mixed_precision.set_global_policy(
        "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16")


def make_optimizer(config):
    """Adam (0.9, 0.999, eps 1e-8) with the learning rate multiplied by `decay_factor` at each decay step."""
    if config.decay_steps:
        values = [config.learning_rate * config.decay_factor ** i for i in range(len(config.decay_steps) + 1)]
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay(list(config.decay_steps), values)
    else:
        schedule = config.learning_rate
    optimizer = keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_trainer(config, strategy):
    """Models, optimizers and the trainer, all created under `strategy.scope()`."""
    global_batch = config.batch_size
    with strategy.scope():
        generators = build_generators(config)
        if config.generator_weights:
            for generator in {id(g): g for g in generators.values()}.values():
                try:
                    generator.load_weights(config.generator_weights)
                except (ValueError, OSError) as error:
                    raise ValueError(f"--generator_weights={config.generator_weights} does not fit "
                                     f"{generator.name}: {error}") from None
        if not config.is_gan:
            trainer = PixelTrainer(strategy, generators, make_optimizer(config), config.loss, global_batch)
            return trainer, {"g_optimizer": trainer.optimizer}
        discriminator = build_discriminator(config)
        vgg = None
        if config.content_loss != "mse":
            weights = None if config.vgg_weights == "random" else (config.vgg_weights or "imagenet")
            vgg = losses.vgg_feature_extractor(config.content_loss, weights=weights)
        g_optimizer, d_optimizer = make_optimizer(config), make_optimizer(config)
        trainer = GANTrainer(strategy, generators[config.scale], discriminator, g_optimizer, d_optimizer,
                             config.content_loss, config.adv_weight, config.d_steps, global_batch, vgg)
        return trainer, {"g_optimizer": g_optimizer, "d_optimizer": d_optimizer, "discriminator": discriminator}


def _digest(variables):
    """A cheap fingerprint of variable values: (count, sum of |values|)."""
    total = 0.0
    for variable in variables:
        total += float(np.abs(np.asarray(variable.numpy(), dtype="float64")).sum())
    return round(total, 6)


class _Logs:
    """metrics.jsonl, metrics.csv and TensorBoard under the model directory (chief only)."""

    def __init__(self, directory, enabled):
        self.enabled = enabled
        self.directory = directory
        self.writer = tf.summary.create_file_writer(os.path.join(directory, "tensorboard")) if enabled else None

    def event(self, record):
        if not self.enabled:
            return
        with open(os.path.join(self.directory, "metrics.jsonl"), "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def validation(self, step, scale, model_mean, bicubic_mean, strip):
        if not self.enabled:
            return
        row = {"step": step, "scale": scale}
        row.update({f"model_{k}": v for k, v in model_mean.items() if k != "num_images"})
        row.update({f"bicubic_{k}": v for k, v in bicubic_mean.items() if k != "num_images"})
        path = os.path.join(self.directory, "metrics.csv")
        new = not os.path.exists(path)
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        with self.writer.as_default(step=step):
            for key, value in model_mean.items():
                if key != "num_images" and math.isfinite(value):
                    tf.summary.scalar(f"valid_x{scale}/{key}", value)
            tf.summary.image(f"valid_x{scale}/lr_bicubic_sr_hr", strip)

    def scalars(self, step, values):
        if self.enabled:
            with self.writer.as_default(step=step):
                for key, value in values.items():
                    tf.summary.scalar(f"train/{key}", value)


def validation_table(results, bicubic):
    """The printed validation table: one row per scale for the model and one for bicubic."""
    lines = ["| scale | method | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for scale in sorted(results):
        for name, mean in (("model", results[scale]), ("bicubic", bicubic[scale])):
            lines.append(f"| x{scale} | {name} | {mean['psnr_rgb']:.2f} | {mean['ssim_rgb']:.4f} | "
                         f"{mean['psnr_y']:.2f} | {mean['ssim_y']:.4f} |")
    return "\n".join(lines)


def train(config, strategy=None, progress_stream=None):
    """Runs (or resumes) the training run described by `config`.

    Re-running with the same `model_dir` resumes from the latest checkpoint (step, weights, both optimizers,
    learning-rate schedule position, best metric). Validation runs every `eval_every` steps and at the end.

    Returns:
        A summary dict (steps, time, final validation means per scale, paths of the saved models).

    Raises:
        NonFiniteLossError: a NaN/inf loss; the run stops and the last good checkpoint stays the latest.
        ValueError, DataError: bad settings or data, before any training step.
    """
    if config.mixed_precision:
        use_mixed_precision()
    strategy = strategy or distribute.make_strategy(config.strategy, config.gpus, config.cpu_replicas)
    chief = distribute.is_chief(strategy)
    out_dir = distribute.worker_dir(config.model_dir, strategy)
    os.makedirs(out_dir, exist_ok=True)
    progress = Progress(config.steps, every=config.log_every, stream=progress_stream)

    sources = {scale: build_sources(config, scale) for scale in config.train_scales}
    for scale, (train_source, _) in sources.items():  # fail early: crop larger than every image, ...
        sr_data.pipeline._drop_small_images(train_source, config.crop_size)
    valid_images = {scale: validation.load_validation_images(valid, config.max_eval_images)
                    for scale, (_, valid) in sources.items()}
    bicubic = {scale: validation.bicubic_baseline(images, scale) for scale, images in valid_images.items()}

    keras.utils.set_random_seed(config.seed)
    trainer, parts = build_trainer(config, strategy)
    objects = {f"generator_x{s}": g for s, g in trainer.generators.items() if s is not None}
    if None in trainer.generators:
        objects = {"generator": trainer.generators[None]}
    objects.update(parts)
    checkpoint = RunCheckpoint(os.path.join(out_dir, "checkpoints"), **objects)
    start = checkpoint.restore_latest()
    generators = {s: (g if s is not None else trainer.generators[None]) for s, g in trainer.generators.items()}
    if None in generators:
        generators = {config.scale: generators[None]}
    logs = _Logs(out_dir, chief)
    with open(os.path.join(out_dir, "config.json"), "w") as handle:
        json.dump({k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()}, handle, indent=2)
    resumed = {"event": "start", "step": start, "replicas": strategy.num_replicas_in_sync,
               "generator_digest": _digest(next(iter(generators.values())).trainable_variables),
               "g_optimizer_iterations": int(parts["g_optimizer"].iterations.numpy()),
               "g_optimizer_digest": _digest(parts["g_optimizer"].variables)}
    logs.event(resumed)
    progress.message(f"{'resuming' if start else 'starting'} {config.model} x{'/'.join(map(str, config.train_scales))}"
                     f" at step {start}/{config.steps} on {strategy.num_replicas_in_sync} replica(s); "
                     f"model_dir {config.model_dir}")
    progress.start = start

    iterators = {}
    for scale, (train_source, _) in sources.items():
        dataset = sr_data.distributed_training_dataset(
            strategy, train_source, config.crop_size, config.batch_size, seed=config.seed + start,
            cache=config.cache)
        iterators[scale] = iter(dataset)

    eval_pool = config.eval_pool_size if config.has_attention else None
    results = {}
    began = time.perf_counter()
    last_saved = start if start else None
    for step in range(start + 1, config.steps + 1):
        scale = config.train_scales[(step - 1) % len(config.train_scales)]
        values = {k: float(v) for k, v in trainer.train_step(scale if config.is_multiscale else config.scale,
                                                            next(iterators[scale])).items()}
        if not all(math.isfinite(v) for v in values.values()):
            kept = f"step {last_saved} in {checkpoint.latest}" if last_saved else "none saved yet"
            raise NonFiniteLossError(f"non-finite loss at step {step} ({', '.join(f'{k}={v}' for k, v in values.items())}); "
                                     f"training stopped, last good checkpoint: {kept}")
        progress.update(step, values)
        if step % config.log_every == 0:
            logs.scalars(step, values)
        if step % config.save_every == 0 or step == config.steps:
            checkpoint.save(step)
            last_saved = step
        if step % config.eval_every == 0 or step == config.steps:
            results = {}
            for s, generator in generators.items():
                evaluated = validation.evaluate_generator(generator, valid_images[s], s, eval_pool, config.pool_size)
                results[s] = evaluated["mean"]
                _, lr, hr = valid_images[s][0]
                logs.validation(step, s, evaluated["mean"], bicubic[s]["mean"],
                                validation.comparison_strip(lr, evaluated["first_sr"], hr, s))
                logs.event({"event": "validation", "step": step, "scale": s, "model": evaluated["mean"],
                            "bicubic": bicubic[s]["mean"]})
            score = float(np.mean([r["psnr_y"] for r in results.values()]))
            if score > float(checkpoint.best_metric.numpy()):
                checkpoint.best_metric.assign(score)
                for s, generator in generators.items():
                    save_keras_atomically(generator, os.path.join(out_dir, f"generator_best_x{s}.keras"))
                if step % config.save_every and step != config.steps:
                    checkpoint.save(step)
                    last_saved = step
            progress.message(f"validation at step {step}: " + ", ".join(
                f"x{s} Y-PSNR {r['psnr_y']:.2f} dB (bicubic {bicubic[s]['mean']['psnr_y']:.2f})"
                for s, r in results.items()))

    seconds = time.perf_counter() - began
    saved = {}
    for s, generator in generators.items():
        path = os.path.join(out_dir, f"generator_final_x{s}.keras")
        save_keras_atomically(generator, path)
        saved[s] = path
    if not results:  # resumed a finished run: report the final model as it stands
        results = {s: validation.evaluate_generator(g, valid_images[s], s, eval_pool, config.pool_size)["mean"]
                   for s, g in generators.items()}
    if config.export_dir and chief:
        from sr_keras.serving import export_saved_model

        export_saved_model(generators[config.train_scales[-1]], config.export_dir, pool_size=eval_pool)
    summary = {"event": "end", "model": config.model, "steps": config.steps, "resumed_from": start,
               "seconds": round(seconds, 1), "replicas": strategy.num_replicas_in_sync,
               "validation": {str(s): r for s, r in results.items()},
               "bicubic": {str(s): bicubic[s]["mean"] for s in results},
               "saved": {str(s): p for s, p in saved.items()}, "export_dir": config.export_dir}
    logs.event(summary)
    progress.message(f"finished {config.steps - start} steps in {format_duration(seconds)}\n"
                     + validation_table(results, {s: bicubic[s]["mean"] for s in results}))
    return summary
