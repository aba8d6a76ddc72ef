"""Training an MMSR system: the training images cut into tiles, one SRGAN per TVAT class trained on its
class's tiles with the class's depth, and the manifest the router reads.

    >>> from sr_keras.training import make_config
    >>> from sr_keras.mmsr.config import make_mmsr_config
    >>> from sr_keras.mmsr.training import train_mmsr
    >>> manifest = train_mmsr(make_config("srgan", "runs/mmsr", steps=3000, from_scratch=True), make_mmsr_config())

Each class model is an ordinary `sr_keras.training.train` run in `<model_dir>/class_<k>` (it checkpoints and
resumes like any run); the step budget is split between the classes in proportion to their number of tiles,
so every tile gets as many visits as it would in one model trained for `steps`.
"""
import dataclasses
import os

import numpy as np

from sr_keras.files import write_json
from sr_keras.mmsr.config import MMSR_MODEL
from sr_keras.mmsr.router import save_manifest
from sr_keras.mmsr.tiles import cut_tiles, split_by_class
from sr_keras.training import train
from sr_keras.training.sources import training_source


def check(config, mmsr):
    """Checks that `config` (a `TrainConfig`) can train MMSR class models."""
    from sr_keras.checks import ConfigError

    if config.model.name != MMSR_MODEL:
        raise ConfigError("model", f"MMSR trains SRGANs ({MMSR_MODEL}), not {config.model.name}")
    if config.data.crop_size > mmsr.tile:
        raise ConfigError("crop_size", f"{config.data.crop_size} is larger than mmsr_tile={mmsr.tile}")


def tile_sets(config, mmsr):
    """({class: TileSet}, mmsr) of the run's training images (classes without tiles are left out); the returned
    `MMSRConfig` holds the boundaries used: `mmsr`'s own, or, when it has none, those that split these tiles
    into `num_classes` equal classes (`equal_boundaries`)."""
    source = training_source(config.data, config.model.scale)
    lr, hr, values = cut_tiles(source, mmsr.tile, mmsr.overlap, mmsr.threshold)
    if mmsr.boundaries is None:
        mmsr = dataclasses.replace(mmsr, boundaries=equal_boundaries(values, mmsr.num_classes))
    return split_by_class(source, lr, hr, values, mmsr.boundaries), mmsr


def equal_boundaries(values, num_classes):
    """Boundaries that put equally many of `values` into each class: boundary k halfway between the sorted
    values of rank round(k n / classes) - 1 and round(k n / classes) (the rule of
    `sr_keras.data.tvat.calibrate_tvat`), rounded to 4 decimals for the manifest. Where equal values straddle
    a cut they all stay in the lower class (the boundary moves up to the next larger value), so classes are
    as equal as the ties allow and a tie never empties a class."""
    ordered = np.sort(np.asarray(values, "float64"))
    n = len(ordered)
    if n < num_classes:
        raise ValueError(f"{n} training tiles cannot be split into {num_classes} TVAT classes")
    boundaries = []
    for c in (round(k * n / num_classes) for k in range(1, num_classes)):
        low, high = ordered[c - 1], ordered[c]
        if low == high:  # a tie across the cut (flat tiles all score 0): the tied values go to the lower class
            above = ordered[ordered > low]
            high = above[0] if len(above) else low + 1.0
        boundaries.append(round(float((low + high) / 2), 4))
    return tuple(boundaries)


def class_steps(sizes, steps):
    """Steps per class, in proportion to the class's tiles (at least 1)."""
    total = sum(sizes.values())
    return {k: max(1, round(steps * n / total)) for k, n in sizes.items()}


def class_dir(config, klass):
    return os.path.join(config.runtime.model_dir, f"class_{klass}")


def class_config(config, mmsr, klass, steps):
    """The `TrainConfig` of class `klass`: its X-Y depth, its step share and its own directory."""
    blocks, layers = mmsr.depths[klass]
    return config.replace(num_res_blocks=blocks, discriminator_layers=layers, steps=steps,
                          model_dir=class_dir(config, klass))


def train_class(config, mmsr, klass, sets, strategy=None):
    """Trains the SRGAN of TVAT class `klass` on its tiles; returns the run's summary."""
    sizes = {k: len(v) for k, v in sets.items()}
    if klass not in sets:
        raise ValueError(f"no training tile falls in TVAT class {klass} (boundaries {mmsr.boundaries}); classes "
                         f"found: {sorted(sets)}")
    steps = class_steps(sizes, config.optim.steps)[klass]
    run_config = class_config(config, mmsr, klass, steps)
    os.makedirs(run_config.runtime.model_dir, exist_ok=True)
    write_json({"mmsr_class": klass, "depth": list(mmsr.depths[klass]), "tiles": sizes[klass], "steps": steps,
                "boundaries": list(mmsr.boundaries), "threshold": mmsr.threshold, "tile": mmsr.tile,
                "overlap": mmsr.overlap}, os.path.join(run_config.runtime.model_dir, "mmsr_class.json"))
    return train(run_config, strategy=strategy, train_source=sets[klass])


def check_classes(sets, mmsr):
    empty = [k for k in range(mmsr.num_classes) if k not in sets]
    if empty:
        raise ValueError(f"no training tile falls in TVAT class(es) {empty}: use other --mmsr_boundaries "
                         f"(python -m sr_keras.mmsr classify shows the quantiles)")


def write_manifest(config, mmsr, sets, summaries, wall_seconds, parallel):
    """Writes `<model_dir>/mmsr.json` from the class runs' summaries; returns its path."""
    sizes = {k: len(v) for k, v in sets.items()}
    steps = class_steps(sizes, config.optim.steps)
    paths = {k: os.path.join(class_dir(config, k), f"generator_final_x{config.model.scale}.keras")
             for k in range(mmsr.num_classes)}
    return save_manifest(config.runtime.model_dir, paths, mmsr.boundaries, mmsr.threshold, mmsr.tile,
                         mmsr.overlap, config.model.scale,
                         extra={"depths": [list(d) for d in mmsr.depths],
                                "tiles_per_class": {str(k): sizes[k] for k in sorted(sizes)},
                                "steps_per_class": {str(k): steps[k] for k in sorted(steps)},
                                "train_seconds_per_class": {str(k): summaries[k]["seconds"] for k in sorted(summaries)},
                                "wall_seconds": round(wall_seconds, 1), "parallel": parallel})


def train_mmsr(config, mmsr, strategy=None):
    """Trains every class model one after another in this process and writes the manifest; returns its path."""
    import time

    from sr_keras.training import distribute

    check(config, mmsr)
    sets, mmsr = tile_sets(config, mmsr)
    check_classes(sets, mmsr)
    strategy = strategy or distribute.make_strategy(config.runtime.strategy, config.runtime.gpus,
                                                    config.runtime.cpu_replicas)
    began = time.perf_counter()
    summaries = {k: train_class(config, mmsr, k, sets, strategy) for k in range(mmsr.num_classes)}
    return write_manifest(config, mmsr, sets, summaries, time.perf_counter() - began, parallel=False)
