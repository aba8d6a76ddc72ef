"""The command wing: one module per command (`sr_keras.cli.train`, ...), each with `main(argv)` and `run()`,
the console script `sr-<command>`; `common` holds what they share. `python -m sr_keras.<command>` runs the
same `run()` through a launcher.

TensorFlow's INFO and WARNING lines (a PNG's iCCP profile, tf.data's notes) are kept off a command's stderr
(`TF_CPP_MIN_LOG_LEVEL=2`, set here, before any command imports TensorFlow, unless the variable is set or
--verbose / SR_KERAS_VERBOSE=1 asks for everything).
"""
import os

from sr_keras._quiet import verbose

if not verbose():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
