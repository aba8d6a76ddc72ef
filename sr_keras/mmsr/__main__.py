"""MMSR from the command line.

    python -m sr_keras.mmsr classify [data flags]        # TVAT classes of the training tiles, calibrated bounds
    python -m sr_keras.mmsr train --model_dir=runs/mmsr --steps=3000 [--parallel] [any sr_keras.train flag]

`train` splits the step budget between the classes in proportion to their number of tiles (every tile gets as
many visits as it would in one model trained for --steps), trains one SRGAN per class with its X-Y depth
(`--mmsr_depths`, default 4-6,16-8,16-8) as independent `python -m sr_keras.train --mmsr_class=K` jobs, one
after another or side by side (`--parallel`; with GPUs each job gets its own: job K sees GPU K mod N), and
writes `<model_dir>/mmsr.json` for `python -m sr_keras.upscale --mmsr_dir=<model_dir>`. Each job checkpoints and
resumes like any training run: re-running the command continues unfinished classes.
"""
import dataclasses
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from sr_keras import train as train_cli  # noqa: E402  (defines every training flag)

flags.DEFINE_bool("parallel", False, "train: run the class jobs side by side instead of one after another")
FLAGS = flags.FLAGS
_LAUNCHER_FLAGS = ("parallel", "model_dir", "steps", "mmsr_class", "model")


def _class_sizes(config):
    from sr_keras.mmsr.tiles import class_tile_sets
    from sr_keras.training.loop import build_sources

    train_source, _ = build_sources(dataclasses.replace(config, mmsr_class=None), config.scale)
    sets = class_tile_sets(train_source, config.mmsr_tile, config.mmsr_overlap, config.mmsr_boundaries,
                           config.mmsr_threshold)
    return {k: len(v) for k, v in sets.items()}, sets


def classify(config):
    import numpy as np

    sizes, sets = _class_sizes(config)
    total = sum(sizes.values())
    print(f"{total} LR tiles of {config.mmsr_tile}px (overlap {config.mmsr_overlap}), TVAT boundaries "
          f"{config.mmsr_boundaries}:")
    for k in range(len(config.mmsr_boundaries) + 1):
        print(f"  class {k}: {sizes.get(k, 0)} tiles ({100 * sizes.get(k, 0) / total:.0f}%)")
    values = np.concatenate([s.tvat for s in sets.values()])
    thirds = tuple(round(float(b), 3) for b in np.quantile(values, [1 / 3, 2 / 3]))
    print(f"boundaries that split these tiles into equal thirds: --mmsr_boundaries={thirds[0]},{thirds[1]}")


def _forwarded_args(argv):
    kept = []
    for arg in argv:
        name = arg.lstrip("-").split("=", 1)[0]
        if name.startswith("no"):
            name = name[2:]
        if arg.startswith("--") and name in _LAUNCHER_FLAGS:
            continue
        kept.append(arg)
    return kept


def train_all(config, argv):
    from sr_keras.mmsr.router import save_manifest

    sizes, _ = _class_sizes(config)
    classes = len(config.mmsr_boundaries) + 1
    empty = [k for k in range(classes) if not sizes.get(k)]
    if empty:
        raise ValueError(f"no training tile falls in TVAT class(es) {empty}: use other --mmsr_boundaries "
                         f"(python -m sr_keras.mmsr classify shows the quantiles)")
    total = sum(sizes.values())
    steps = {k: max(1, round(config.steps * sizes[k] / total)) for k in range(classes)}
    os.makedirs(config.model_dir, exist_ok=True)
    gpus = int(config.gpus or 0)
    jobs, began = {}, time.perf_counter()
    for k in range(classes):
        blocks, layers = config.mmsr_depths[k]
        command = [sys.executable, "-m", "sr_keras.train", "--model=srgan", f"--mmsr_class={k}",
                   f"--model_dir={os.path.join(config.model_dir, f'class_{k}')}", f"--steps={steps[k]}",
                   *_forwarded_args(argv)]
        env = dict(os.environ)
        if FLAGS.parallel and gpus:  # side by side: job k gets GPU k mod N to itself
            env["CUDA_VISIBLE_DEVICES"] = str(k % gpus)
            command = [a for a in command if not a.startswith("--gpus")] + ["--gpus=1"]
        print(f"class {k}: {sizes[k]} tiles, {steps[k]} steps, depth {blocks}-{layers}", file=sys.stderr)
        if FLAGS.parallel:
            jobs[k] = subprocess.Popen(command, env=env)
        else:
            jobs[k] = subprocess.run(command, env=env)
            if jobs[k].returncode:
                raise RuntimeError(f"class {k} training failed (exit {jobs[k].returncode})")
    if FLAGS.parallel:
        for k, job in jobs.items():
            if job.wait():
                raise RuntimeError(f"class {k} training failed (exit {job.returncode})")
    seconds = time.perf_counter() - began
    paths = {k: os.path.join(config.model_dir, f"class_{k}", f"generator_final_x{config.scale}.keras")
             for k in range(classes)}
    timings = {}
    for k in range(classes):
        with open(os.path.join(config.model_dir, f"class_{k}", "metrics.jsonl")) as handle:
            ends = [json.loads(line) for line in handle if '"event": "end"' in line]
        timings[k] = sum(e["seconds"] for e in ends)
    manifest = save_manifest(config.model_dir, paths, config.mmsr_boundaries, config.mmsr_threshold,
                             config.mmsr_tile, config.mmsr_overlap, config.scale,
                             extra={"depths": [list(d) for d in config.mmsr_depths],
                                    "tiles_per_class": {str(k): sizes[k] for k in range(classes)},
                                    "steps_per_class": {str(k): steps[k] for k in range(classes)},
                                    "train_seconds_per_class": {str(k): timings[k] for k in range(classes)},
                                    "wall_seconds": round(seconds, 1), "parallel": FLAGS.parallel})
    print(f"MMSR trained in {seconds:.0f} s wall; manifest {manifest}", file=sys.stderr)
    return manifest


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) < 2 or argv[1] not in ("train", "classify"):
        raise app.UsageError("usage: python -m sr_keras.mmsr {train,classify} [flags]")
    from sr_keras.data.io import DataError

    try:
        if FLAGS.model != "srgan":
            raise ValueError(f"MMSR trains SRGANs (--model=srgan), not {FLAGS.model}")
        FLAGS.mmsr_class = 0  # validated as class 0; each job gets its own class
        if FLAGS.model_dir is None:
            FLAGS.model_dir = os.path.join("runs", f"mmsr_x{FLAGS.scale}")
        config = train_cli.config_from_flags(FLAGS)
        if argv[1] == "classify":
            classify(config)
        else:
            train_all(config, sys.argv[2:])
    except (ValueError, DataError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    flags.FLAGS.set_default("model", "srgan")
    app.run(main)
