"""Convert a published checkpoint (PyTorch `.pt` / `.pth`, krasserm's Keras 2 `.h5`) into an sr_keras `.keras` model.

    python -m sr_keras.convert --input=edsr_baseline_x2-1bc95232.pt --output=edsr_baseline_x2.keras
    python -m sr_keras.convert --input=mdsr_baseline-a00cab12.pt --scale=3 --output=mdsr_baseline_x3.keras
    python -m sr_keras.convert --input=weights/wdsr-b-32-x4/weights.h5 --output=wdsr_b_x4.keras

The source layout (EDSR-PyTorch, BasicSR, wdsr_ntire2018, ychfan/wdsr, krasserm) and the configuration are
detected from the tensors' names and shapes and printed; every tensor is mapped by name, and a missing, extra or
mis-shaped one stops the conversion with one line naming it. The checkpoint is read without running code
(`torch.load(weights_only=True)`); the output is written atomically, so nothing is left on an error.
"""
import os
import sys

from absl import flags

from sr_keras.cli.common import entry_point

flags.DEFINE_string("input", None, "the checkpoint (.pt / .pth)")
flags.DEFINE_string("output", None, "the .keras file to write")
flags.DEFINE_enum("source", None, ["edsr_pytorch", "basicsr", "wdsr", "wdsr_ychfan", "krasserm"],
                  "checkpoint layout (default: detected from the tensor names)")
flags.DEFINE_integer("scale", None, "expected scale (an error if the checkpoint's differs); MDSR: the scale written")
flags.DEFINE_float("res_scale", None, "--source=wdsr only: the residual scaling it was trained with (not stored "
                   "in the file; default 1)")
flags.DEFINE_bool("overwrite", False, "replace an existing --output")
flags.mark_flags_as_required(["input", "output"])
FLAGS = flags.FLAGS


def main(argv):
    from sr_keras.convert import ConversionError
    from sr_keras.convert._common import existing_file
    from sr_keras.files import check_writable_dir, save_keras

    try:
        if not FLAGS.output.endswith(".keras"):
            raise ValueError(f"--output must end in .keras, got {FLAGS.output}")
        if os.path.exists(FLAGS.output) and not FLAGS.overwrite:
            raise FileExistsError(f"--output exists: {FLAGS.output} (use --overwrite)")
        check_writable_dir(os.path.dirname(os.path.abspath(FLAGS.output)))
        if FLAGS.res_scale is None:  # else convert_file checks --res_scale against --source first
            existing_file(FLAGS.input)  # convert_file's check, before TensorFlow is imported
        from sr_keras.convert import convert_file

        model, report = convert_file(FLAGS.input, source=FLAGS.source, scale=FLAGS.scale,
                                     res_scale=FLAGS.res_scale)
        print(f"detected {report['source']}: {report['architecture']} x{'/'.join(map(str, report['scales']))} "
              f"{report['arguments']}", file=sys.stderr)
        save_keras(model, FLAGS.output)
    except (ConversionError, ValueError, FileNotFoundError, FileExistsError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from sr_keras.models import count_params, model_scale

    print(f"converted {report['tensors']} tensors into {FLAGS.output}: {report['architecture']} "
          f"x{model_scale(model)}, {count_params(model, trainable=True):,} parameters")
    return 0


run = entry_point(main)  # the console script sr-convert


if __name__ == "__main__":
    run()
