"""The training run, `train(config)`: five named steps around a trainer.

    >>> from sr_keras.training import make_config, train
    >>> summary = train(make_config("wdsr_b", "runs/wdsr_b", steps=300, num_res_blocks=8))

1. `_data`: the training sources, the validation images and their bicubic scores (bad data fails here);
2. `_build`: strategy, models, optimizers and trainer, the checkpoint and the logs;
3. `_restore`: the newest checkpoint of the run directory, if any;
4. `_loop`: training steps with progress, TensorBoard scalars, checkpoints and validation;
5. `_finish`: float32 generators saved, optional SavedModel export, the summary.

Nothing is lost to an interrupt: SIGINT or SIGTERM during the loop lets the current step finish, saves a
checkpoint there and raises `TrainingInterrupted`; before the first step and after the last one the checkpoint
on disk is already current, so the signal stops at once. A second signal stops at once without saving (the
previous checkpoint stays the latest). The handlers are installed for the duration of `train` when it runs in
the main thread and restored afterwards. Multi-worker runs keep the default signal behaviour: one worker saving
on its own would leave the workers at different steps; `tf.distribute.experimental.PreemptionCheckpointHandler`
is the mechanism that agrees on a step across workers, and it is not wired here, so they resume from their
last periodic checkpoint. The run directory is locked (`<model_dir>/.lock`, `checkpoints.RunLock`) by the chief
while `train` runs.
"""
import dataclasses
import math
import os
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from sr_keras import data as sr_data
from sr_keras import evaluation
from sr_keras.checks import ConfigError
from sr_keras.files import check_writable_dir, save_keras
from sr_keras.training import distribute
from sr_keras.training.build import build_trainer, use_mixed_precision
from sr_keras.training.checkpoints import RunCheckpoint, RunLock
from sr_keras.training.logs import RunLogs
from sr_keras.training.progress import Progress, format_duration
from sr_keras.training.sources import training_source, validation_source


_HEADLINES = {"psnr_y": "Y-PSNR", "psnr_rgb": "RGB-PSNR"}


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped `train`. A KeyboardInterrupt, so `except Exception` does not swallow it.

    Args:
        signal_name: "SIGINT" or "SIGTERM".
        step: the step whose checkpoint is on disk (None: stopped during start-up, before a checkpoint
            was restored or saved).
        again: a second signal stopped the run at once, without saving.

    Attributes:
        signal_name, step, again, saved (a checkpoint at `step` is on disk), exit_code (128 + the signal
        number: 130 for SIGINT, 143 for SIGTERM, the shell's convention).
    """

    def __init__(self, signal_name, step=None, again=False):
        self.signal_name, self.step, self.again = signal_name, None if again else step, again
        self.saved = self.step is not None
        self.exit_code = 128 + signal.Signals[signal_name].value
        if again:
            text = "interrupted again: exiting without saving"
        elif self.saved:
            text = f"interrupted at step {step}: checkpoint saved"
        else:
            text = "interrupted during start-up: nothing new to save"
        super().__init__(text)


class _Interrupts:
    """SIGINT/SIGTERM handlers for one `train` call (see the module docstring).

    While `deferred`, the first signal is only recorded (`signal_name`); the loop checks it after each step.
    Otherwise it raises `TrainingInterrupted` at once, naming `step`, the step of the current checkpoint.
    """

    def __init__(self, enabled):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signal_name = None
        self.deferred = False
        self.step = None
        self.previous = {}

    def __enter__(self):
        if self.enabled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self.previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.signal_name is not None:
            raise TrainingInterrupted(name, again=True)
        self.signal_name = name
        if not self.deferred:
            raise TrainingInterrupted(name, self.step)

    def defer(self):
        """Until `at_once`: a signal waits for the end of the current step."""
        self.deferred = True

    def at_once(self, step):
        """From now on a signal stops at once; `step` is the step of the current checkpoint (None: none)."""
        self.deferred, self.step = False, step
        if self.signal_name is not None:  # came while deferred, after the loop's last check
            raise TrainingInterrupted(self.signal_name, step)


@dataclasses.dataclass
class _Run:
    """The state one run carries from step to step."""

    config: object
    strategy: object
    out_dir: str
    progress: Progress
    interrupts: _Interrupts = None
    sources: dict = None      # {scale: training source}
    pairs: dict = None        # {scale: [(name, lr, hr)]} validation images
    bicubic: dict = None      # {scale: bicubic scores of the validation images}
    trainer: object = None
    checkpoint: object = None
    logs: object = None
    start: int = 0
    last_saved: int = None
    results: dict = None      # {scale: evaluation result} of the latest validation


def _digest(variables):
    """A cheap fingerprint of variable values: the sum of |values|."""
    total = 0.0
    for variable in variables:
        total += float(np.abs(np.asarray(variable.numpy(), dtype="float64")).sum())
    return round(total, 6)


def _data(run, train_source):
    config = run.config
    scales = config.train_scales
    if train_source is not None:
        if len(scales) != 1:
            raise ValueError(f"train_source gives one training set; {config.model.name} trains scales {scales}")
        run.sources = {scales[0]: train_source}
    else:
        run.sources = {scale: training_source(config.data, scale) for scale in scales}
    for source in run.sources.values():  # fail early: crop larger than every image, ...
        sr_data.pipeline.drop_small_images(source, config.data.crop_size)
    run.pairs = {scale: evaluation.load_pairs(validation_source(config.data, scale), config.data.max_eval_images)
                 for scale in scales}
    run.bicubic = {scale: evaluation.bicubic_scores(pairs, scale, config.protocol)
                   for scale, pairs in run.pairs.items()}


def _build(run):
    config = run.config
    keras.utils.set_random_seed(config.runtime.seed)
    run.trainer = build_trainer(config, run.strategy)
    parts = run.trainer.checkpoint_parts
    report = run.trainer.init_report
    if report:
        run.progress.message(f"init_from {config.gan.init_from}: loaded {len(report['loaded'])} layer(s): "
                             f"{', '.join(report['loaded'])}")
        for name, reason in report["skipped"]:
            run.progress.message(f"init_from: skipped {name} ({reason})")
    objects = {f"generator_x{s}": g for s, g in run.trainer.generators.items()}
    objects.update(parts)
    run.checkpoint = RunCheckpoint(os.path.join(run.out_dir, "checkpoints"), **objects)
    run.logs = RunLogs(run.out_dir, distribute.is_chief(run.strategy))
    if report:
        run.logs.event({"event": "init_from", "path": config.gan.init_from, **report})


def _restore(run):
    config, trainer = run.config, run.trainer
    run.start, damaged = run.checkpoint.restore_latest()
    run.last_saved = run.start or None
    run.interrupts.step = run.last_saved  # a signal from here on names the resumed step, whose checkpoint is on disk
    if damaged:
        then = (f"resuming from {os.path.basename(run.checkpoint.restored)} (step {run.start})" if run.start
                else "no intact checkpoint left: starting from scratch")
        run.progress.message("; ".join(f"checkpoint {name} is damaged ({reason})" for name, reason in damaged)
                             + f"; {then}")
    run.logs.config(config)
    g_optimizer = trainer.optimizers["g_optimizer"]
    run.logs.event({"event": "start", "step": run.start, "replicas": run.strategy.num_replicas_in_sync,
                    "generator_digest": _digest(next(iter(trainer.generators.values())).trainable_variables),
                    "g_optimizer_iterations": int(g_optimizer.iterations.numpy()),
                    "g_optimizer_digest": _digest(g_optimizer.variables),
                    **({"damaged_checkpoints": dict(damaged)} if damaged else {})})
    scales = "/".join(map(str, config.train_scales))
    run.progress.message(f"{'resuming' if run.start else 'starting'} {config.model.name} x{scales} at step "
                         f"{run.start}/{config.optim.steps} on {run.strategy.num_replicas_in_sync} replica(s); "
                         f"model_dir {config.runtime.model_dir}")
    run.progress.start = run.start


def _validate(run, step):
    """Validates every scale's generator in float32; saves the best generators; returns the Y-PSNR mean."""
    config = run.config
    run.results = {}
    for scale in run.trainer.generators:
        result = evaluation.evaluate(run.trainer.generator_for_export(scale), run.pairs[scale], scale,
                                     protocol=config.protocol, pool_size=config.eval_pool_size,
                                     bicubic=run.bicubic[scale])
        run.results[scale] = result
        _, lr, hr = run.pairs[scale][0]
        run.logs.validation(step, scale, result, evaluation.comparison_strip(lr, result["first_sr"], hr, scale))
    score = float(np.mean([r["model"]["mean"][r["headline"]] for r in run.results.values()]))
    if score > float(run.checkpoint.best_metric.numpy()):
        run.checkpoint.best_metric.assign(score)
        for scale in run.trainer.generators:
            save_keras(run.trainer.generator_for_export(scale),
                       os.path.join(run.out_dir, f"generator_best_x{scale}.keras"))
        if step % config.runtime.save_every and step != config.optim.steps:
            run.checkpoint.save(step)
            run.last_saved = step
    run.progress.message(f"validation at step {step} ({config.protocol} protocol): " + ", ".join(
        f"x{s} {_HEADLINES[r['headline']]} {r['model']['mean'][r['headline']]:.2f} dB "
        f"(bicubic {r['bicubic']['mean'][r['headline']]:.2f})" for s, r in run.results.items()))


def _loop(run):
    config, trainer = run.config, run.trainer
    runtime, steps = config.runtime, config.optim.steps
    iterators = {scale: iter(sr_data.distributed_training_dataset(
        run.strategy, source, config.data.crop_size, config.data.batch_size, seed=runtime.seed + run.start,
        cache=config.data.cache, degradation=config.degradation if config.data.degradation == "realesrgan"
        else config.data.degradation, pair_pool=config.data.pair_pool, usm=config.optim.usm_target))
        for scale, source in run.sources.items()}
    scales = config.train_scales
    for step in range(run.start + 1, steps + 1):
        scale = scales[(step - 1) % len(scales)]
        values = {k: float(v) for k, v in trainer.train_step(scale, next(iterators[scale])).items()}
        if not all(math.isfinite(v) for v in values.values()):
            kept = f"step {run.last_saved} in {run.checkpoint.latest}" if run.last_saved else "none saved yet"
            raise NonFiniteLossError(f"non-finite loss at step {step} ("
                                     f"{', '.join(f'{k}={v}' for k, v in values.items())}); training stopped, "
                                     f"last good checkpoint: {kept}")
        run.progress.update(step, values)
        if step % runtime.log_every == 0:
            run.logs.scalars(step, values)
        if step % runtime.save_every == 0 or step == steps:
            run.checkpoint.save(step)
            run.last_saved = step
        if step % runtime.eval_every == 0 or step == steps:
            _validate(run, step)
        if run.interrupts.signal_name is not None:
            if run.last_saved != step:
                run.checkpoint.save(step)
                run.last_saved = step
            raise TrainingInterrupted(run.interrupts.signal_name, step)


def _finish(run, seconds):
    config = run.config
    saved = {}
    finals = {scale: run.trainer.generator_for_export(scale) for scale in run.trainer.generators}
    for scale, generator in finals.items():
        saved[scale] = os.path.join(run.out_dir, f"generator_final_x{scale}.keras")
        save_keras(generator, saved[scale])
    if not run.results:  # resumed a finished run: report the final models as they stand
        run.results = {scale: evaluation.evaluate(generator, run.pairs[scale], scale, protocol=config.protocol,
                                                  pool_size=config.eval_pool_size, bicubic=run.bicubic[scale])
                       for scale, generator in finals.items()}
    if config.runtime.export_dir and run.logs.enabled:
        from sr_keras.export import export_saved_model

        export_saved_model(finals[config.train_scales[-1]], config.runtime.export_dir, pool_size=config.eval_pool_size)
    summary = {"event": "end", "model": config.model.name, "recipe": config.recipe, "steps": config.optim.steps,
               "resumed_from": run.start, "seconds": round(seconds, 1),
               "replicas": run.strategy.num_replicas_in_sync,
               "protocol": config.protocol,
               "validation": {str(s): r["model"]["mean"] for s, r in run.results.items()},
               "bicubic": {str(s): r["bicubic"]["mean"] for s, r in run.results.items()},
               "saved": {str(s): p for s, p in saved.items()}, "export_dir": config.runtime.export_dir}
    run.logs.summary(summary)
    run.progress.message(f"finished {config.optim.steps - run.start} steps in {format_duration(seconds)}\n"
                         + evaluation.table(run.results))
    return summary


def train(config, strategy=None, train_source=None, progress_stream=None):
    """Runs (or resumes) the training run described by `config`.

    Re-running with the same `model_dir` resumes from the latest checkpoint (step, weights, both optimizers,
    learning-rate schedule position, best metric); a damaged one is skipped with a message naming it and left
    in place. Validation runs every `eval_every` steps and at the end.

    Args:
        config: a `TrainConfig` (`sr_keras.training.make_config`).
        strategy: a tf.distribute strategy; default: the one the config's runtime settings choose.
        train_source: the training images (an `ImageSet` or anything with its `images()` contract) instead of
            the config's data settings, for single-scale models (MMSR passes a class's tiles).
        progress_stream: where progress lines go (default stderr).

    Returns:
        A summary dict (steps, time, final validation means per scale, paths of the saved models).

    Raises:
        NonFiniteLossError: a NaN/inf loss; the run stops and the last good checkpoint stays the latest.
        TrainingInterrupted: SIGINT or SIGTERM (main thread, not multi-worker), raised after the current step
            and its checkpoint (see the module docstring).
        ValueError (ConfigError), DataError: bad settings or data, before any training step;
            ConfigError("model_dir") when another live run holds the run directory's lock.
    """
    if config.optim.mixed_precision:
        use_mixed_precision()
    strategy = strategy or distribute.make_strategy(config.runtime.strategy, config.runtime.gpus,
                                                    config.runtime.cpu_replicas)
    out_dir = distribute.worker_dir(config.runtime.model_dir, strategy)
    try:
        check_writable_dir(out_dir)
    except PermissionError as error:
        raise ConfigError("model_dir", str(error)) from None
    run = _Run(config, strategy, out_dir, Progress(config.optim.steps, every=config.runtime.log_every,
                                                   stream=progress_stream))
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    lock = RunLock(out_dir, config.runtime.model_dir) if distribute.is_chief(strategy) else None
    with _Interrupts(enabled=not multi_worker) as run.interrupts:
        try:
            stale = lock.acquire() if lock else None
            if stale:
                run.progress.message(f"{config.runtime.model_dir}: taking over the lock of pid {stale['pid']} "
                                     f"(started {stale['started']}), which is no longer running")
            _data(run, train_source)
            _build(run)
            _restore(run)
            run.interrupts.defer()
            began = time.perf_counter()
            _loop(run)
            run.interrupts.at_once(config.optim.steps)
            return _finish(run, time.perf_counter() - began)
        except TrainingInterrupted:
            run.progress.end_line()
            if run.logs is not None and run.logs.writer is not None:
                run.logs.writer.flush()  # the caller may exit without the interpreter's teardown
            raise
        finally:
            if lock:
                lock.release()
