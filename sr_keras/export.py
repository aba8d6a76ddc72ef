"""Export a trained generator as a TensorFlow Serving SavedModel.

    python -m sr_keras.export --model_path=runs/a_srgan/generator_final_x4.keras --export_dir=export/a_srgan/1 \\
        --pool_size=4

The SavedModel's `serve` signature takes uint8 RGB [batch, height, width, 3] of any size and returns uint8;
`serve_float` takes and returns float32 in [0, 255]. The FSA pool size of A-SRResNet models is fixed at export.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from sr_keras.serving import export_saved_model  # noqa: E402,F401  (library function, re-exported)

from sr_keras.cli_common import define_model_flags  # noqa: E402

define_model_flags(flags.FLAGS)
flags.DEFINE_string("export_dir", None, "SavedModel folder to write (TF Serving wants <name>/<version>/)")
flags.DEFINE_integer("pool_size", None, "FSA pool size fixed in the export (A-SRResNet only)")
flags.DEFINE_bool("overwrite", True, "replace an existing export_dir")
flags.mark_flags_as_required(["export_dir"])
FLAGS = flags.FLAGS


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from sr_keras.cli_common import load_model_from_flags

    try:
        model, label = load_model_from_flags(FLAGS)
        path = export_saved_model(model, FLAGS.export_dir, pool_size=FLAGS.pool_size, overwrite=FLAGS.overwrite)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"exported {label} to {path} (signatures: serve uint8, serve_float float32)")
    return 0


if __name__ == "__main__":
    from sr_keras.cli_common import run_cli

    run_cli(main)
