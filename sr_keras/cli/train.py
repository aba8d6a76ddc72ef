"""Train a super-resolution model.

    python -m sr_keras.train --model=wdsr_b --scale=4 --steps=300 --model_dir=runs/wdsr_b
    python -m sr_keras.train --recipe=edsr_paper --data=div2k --data_dir=data/div2k --gpus=8
    python -m sr_keras.train --model=srgan --init_from=runs/srresnet/generator_final_x4.keras

Unset flags take the recipe's value (`--recipe`, default: the model's paper recipe; see
sr_keras/training/recipes.py). Re-running the same command resumes from the latest checkpoint in --model_dir
that reads back completely (a damaged one is named and skipped). One flag per setting of
`sr_keras.training.config`; its help text lives there.

Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves a checkpoint there and prints one line, e.g.
`interrupted at step 37: checkpoint saved; resume with: python -m sr_keras.train ...`; a second signal exits at
once without saving (the previous checkpoint stays the latest). One run at a time per --model_dir: the run
holds `<model_dir>/.lock` (JSON pid, host, started); a lock left by a dead run on the same host is taken over,
one from another host must be deleted by hand once that run is gone.

Exit codes: 0 done; 2 bad flags or data, or --model_dir in use by another run; 3 non-finite loss;
130 interrupted by SIGINT; 143 interrupted by SIGTERM (128 + the signal number).
"""
import sys

from absl import flags

from sr_keras.cli.common import dataclass_flag_values, define_dataclass_flags, entry_point, flag_error
from sr_keras.training.config import SECTIONS
from sr_keras.training.recipes import RECIPES

flags.DEFINE_string("recipe", None, f"a paper's recipe, overridable flag by flag: {', '.join(RECIPES)}")
define_dataclass_flags(SECTIONS, flags.FLAGS)
FLAGS = flags.FLAGS


def config_from_flags(flag_values):
    """The `TrainConfig` of the parsed flags (only flags the user set override the recipe)."""
    from sr_keras.training.config import make_config

    values = dataclass_flag_values(SECTIONS.values(), flag_values)
    return make_config(values.pop("model", None), values.pop("model_dir", None), recipe=flag_values.recipe,
                       **values)


def main(argv):
    from sr_keras.data.io import DataError, ImageReadError
    from sr_keras.training import NonFiniteLossError, train
    from sr_keras.cli.common import exit_interrupted
    from sr_keras.training.run import TrainingInterrupted

    try:
        train(config_from_flags(FLAGS))
    except (ValueError, DataError, ImageReadError, FileNotFoundError, PermissionError) as error:
        print(f"error: {flag_error(error)}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except TrainingInterrupted as interrupted:
        exit_interrupted(interrupted, "sr_keras.train")
    return 0


run = entry_point(main)  # the console script sr-train


if __name__ == "__main__":
    run()
