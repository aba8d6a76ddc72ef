"""Convert a published PyTorch checkpoint into an sr_keras `.keras` model.

    python -m sr_keras.convert --input=edsr_baseline_x2-1bc95232.pt --output=edsr_baseline_x2.keras
    python -m sr_keras.convert --input=mdsr_baseline-a00cab12.pt --scale=3 --output=mdsr_baseline_x3.keras

The source layout (so far: EDSR-PyTorch's EDSR, EDSR baseline and MDSR) and the configuration are detected
from the tensors' names and shapes and printed; every tensor is mapped by name, and a missing, extra or
mis-shaped one stops the conversion with one line naming it. The checkpoint is read without running code
(`torch.load(weights_only=True)`); the output is written atomically, so nothing is left on an error.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("input", None, "the checkpoint (.pt / .pth)")
flags.DEFINE_string("output", None, "the .keras file to write")
flags.DEFINE_enum("source", "edsr_pytorch", ["edsr_pytorch"], "checkpoint layout (EDSR-PyTorch: EDSR, MDSR)")
flags.DEFINE_integer("scale", None, "expected scale (an error if the checkpoint's differs); MDSR: the scale written")
flags.DEFINE_bool("overwrite", False, "replace an existing --output")
flags.mark_flags_as_required(["input", "output"])
FLAGS = flags.FLAGS


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from sr_keras.convert import ConversionError, convert_file
    from sr_keras.files import check_writable_dir, save_keras
    from sr_keras.models import count_params, model_scale

    try:
        if not FLAGS.output.endswith(".keras"):
            raise ValueError(f"--output must end in .keras, got {FLAGS.output}")
        if os.path.exists(FLAGS.output) and not FLAGS.overwrite:
            raise FileExistsError(f"--output exists: {FLAGS.output} (use --overwrite)")
        check_writable_dir(os.path.dirname(os.path.abspath(FLAGS.output)))
        model, report = convert_file(FLAGS.input, scale=FLAGS.scale)
        print(f"detected {report['source']}: {report['architecture']} x{'/'.join(map(str, report['scales']))} "
              f"{report['arguments']}", file=sys.stderr)
        save_keras(model, FLAGS.output)
    except (ConversionError, ValueError, FileNotFoundError, FileExistsError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"converted {report['tensors']} tensors into {FLAGS.output}: {report['architecture']} "
          f"x{model_scale(model)}, {count_params(model, trainable=True):,} parameters")
    return 0


if __name__ == "__main__":
    app.run(main)
