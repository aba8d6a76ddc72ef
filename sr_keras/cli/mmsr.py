"""MMSR from the command line.

    python -m sr_keras.mmsr classify [data flags]        # TVAT classes of the training tiles, calibrated bounds
    python -m sr_keras.mmsr train --model_dir=runs/mmsr --steps=3000 [--parallel] [any sr_keras.train flag]
    python -m sr_keras.mmsr train --model_dir=runs/mmsr --steps=3000 --mmsr_class=2     # one class per node

`train` splits the step budget between the classes in proportion to their number of tiles (every tile gets as
many visits as it would in one model trained for --steps) and trains one SRGAN per class with its X-Y depth
(`--mmsr_depths`, default 4-6,16-8,16-8) in `<model_dir>/class_<k>`: one after another in this process, side
by side as one process per class (`--parallel`; with GPUs each process gets its own: class K sees GPU K mod N),
or only the class `--mmsr_class` names. It then writes `<model_dir>/mmsr.json` for
`python -m sr_keras.upscale --mmsr_dir=<model_dir>` once every class has a final model. Each class run
checkpoints and resumes like any training run: re-running the command continues unfinished classes.
"""
import os
import sys

from absl import app, flags

from sr_keras.cli.common import dataclass_flag_values, define_dataclass_flags, entry_point, flag_error
from sr_keras.mmsr.config import MMSR_MODEL, MMSRConfig
from sr_keras.training.config import SECTIONS

define_dataclass_flags(SECTIONS, flags.FLAGS, defaults={"model": MMSR_MODEL, "from_scratch": True})
define_dataclass_flags([MMSRConfig], flags.FLAGS)
flags.DEFINE_bool("parallel", False, "train: one process per class, side by side")
FLAGS = flags.FLAGS


def configs_from_flags(flag_values):
    """(TrainConfig, MMSRConfig) of the parsed flags."""
    from sr_keras.mmsr.config import make_mmsr_config
    from sr_keras.training.config import make_config

    values = dataclass_flag_values(SECTIONS.values(), flag_values)
    model_dir = values.pop("model_dir", None) or os.path.join("runs", f"mmsr_x{values.get('scale', 4)}")
    config = make_config(values.pop("model"), model_dir, **values)
    return config, make_mmsr_config(**dataclass_flag_values([MMSRConfig], flag_values))


def classify(config, mmsr):
    import numpy as np

    from sr_keras.mmsr.run import boundaries_text
    from sr_keras.mmsr.training import equal_boundaries, tile_sets

    given = mmsr.boundaries
    sets, mmsr = tile_sets(config, mmsr)
    sizes = {k: len(v) for k, v in sets.items()}
    total = sum(sizes.values())
    print(f"{total} LR tiles of {mmsr.tile}px (overlap {mmsr.overlap}), {boundaries_text(mmsr, given)}:")
    for k in range(mmsr.num_classes):
        print(f"  class {k}: {sizes.get(k, 0)} tiles ({100 * sizes.get(k, 0) / total:.0f}%)")
    if given is not None:
        values = np.concatenate([s.tvat for s in sets.values()])
        thirds = equal_boundaries(values, 3)
        print(f"boundaries that split these tiles into equal thirds: --mmsr_boundaries={thirds[0]:g},{thirds[1]:g}")


def main(argv):
    if len(argv) < 2 or argv[1] not in ("train", "classify"):
        raise app.UsageError("usage: python -m sr_keras.mmsr {train,classify} [flags]")
    from sr_keras.cli.common import exit_interrupted
    from sr_keras.data.io import DataError
    from sr_keras.training.run import TrainingInterrupted

    try:
        config, mmsr = configs_from_flags(FLAGS)
        if argv[1] == "classify":
            classify(config, mmsr)
        else:
            from sr_keras.mmsr.run import train_classes

            train_classes(config, mmsr, FLAGS.parallel, sys.argv[2:])
    except TrainingInterrupted as interrupted:
        exit_interrupted(interrupted, "sr_keras.mmsr")
    except (ValueError, DataError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {flag_error(error)}", file=sys.stderr)
        return 2
    return 0


run = entry_point(main, positional=True)  # the console script sr-mmsr


if __name__ == "__main__":
    run()
