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
import os

from sr_keras.files import write_json
from sr_keras.mmsr.router import save_manifest
from sr_keras.mmsr.tiles import class_tile_sets
from sr_keras.training import train
from sr_keras.training.sources import training_source


def check(config, mmsr):
    """Checks that `config` (a `TrainConfig`) can train MMSR class models."""
    from sr_keras.checks import ConfigError

    if config.model.name != "srgan":
        raise ConfigError("model", f"MMSR trains SRGANs (srgan), not {config.model.name}")
    if config.data.crop_size > mmsr.tile:
        raise ConfigError("crop_size", f"{config.data.crop_size} is larger than mmsr_tile={mmsr.tile}")


def tile_sets(config, mmsr):
    """{class: TileSet} of the run's training images (classes without tiles are left out)."""
    source = training_source(config.data, config.model.scale)
    return class_tile_sets(source, mmsr.tile, mmsr.overlap, mmsr.boundaries, mmsr.threshold)


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
    sets = tile_sets(config, mmsr)
    check_classes(sets, mmsr)
    strategy = strategy or distribute.make_strategy(config.runtime.strategy, config.runtime.gpus,
                                                    config.runtime.cpu_replicas)
    began = time.perf_counter()
    summaries = {k: train_class(config, mmsr, k, sets, strategy) for k in range(mmsr.num_classes)}
    return write_manifest(config, mmsr, sets, summaries, time.perf_counter() - began, parallel=False)
