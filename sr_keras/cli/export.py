"""Export a trained generator for TF Serving (SavedModel, the default), LiteRT, ONNX or OpenVINO, and check it.

    python -m sr_keras.export --model_path=runs/a_srgan/generator_final_x4.keras --export_dir=export/a_srgan/1 \\
        --pool_size=4
    python -m sr_keras.export --pretrained=wdsr_b_default_x4 --format=litert --litert_quantization=int8 \\
        --export_dir=export/wdsr_b_int8

The SavedModel's `serve` signature takes uint8 RGB [batch, height, width, 3] of any size and returns uint8;
`serve_float` takes and returns float32 in [0, 255]. LiteRT (`model.tflite`, built-in operators only), ONNX
(`model.onnx`) and OpenVINO (`model.xml` + `model.bin`) exports take float32 RGB in [0, 255] and return float32
in [0, 255], unclipped; `--input_size=HxW` fixes height and width (default: dynamic). The FSA pool size of
A-SRResNet models is fixed at export. Every export is then run in its own runtime on real photo crops and
compared with the Keras model (`sr_keras.export.verify`); the figures are printed and written to
`<export_dir>/verify.json`. The runtimes: pip install "sr_keras[deploy]".
"""
import contextlib
import os
import sys
import tempfile

from absl import flags

from sr_keras.cli.common import define_model_flags, entry_point
from sr_keras.export import FORMATS, QUANTIZATIONS, export_model, verify

define_model_flags(flags.FLAGS)
flags.DEFINE_string("export_dir", None, "folder to write: the SavedModel itself (TF Serving wants "
                    "<name>/<version>/), or the folder of model.tflite / model.onnx / model.xml")
flags.DEFINE_enum("format", "saved_model", list(FORMATS), "export format")
flags.DEFINE_string("input_size", None, "HEIGHTxWIDTH (LR pixels) fixed in the export, e.g. 350x500; default: "
                    "any size (LiteRT cannot, for FSA pool sizes above 1)")
flags.DEFINE_enum("litert_quantization", "none", list(QUANTIZATIONS), "--format=litert: float32 (none), float16 "
                  "weights, or int8 weights and activations calibrated on real photo crops")
flags.DEFINE_integer("pool_size", None, "FSA pool size fixed in the export (A-SRResNet only)")
flags.DEFINE_bool("overwrite", True, "replace an existing export_dir")
flags.DEFINE_bool("verify", True, "run the export in its own runtime and compare it with the Keras model")
flags.mark_flags_as_required(["export_dir"])
FLAGS = flags.FLAGS


def main(argv):
    from sr_keras.cli.common import load_model_from_flags
    from sr_keras.export import MissingPackageError, check_packages, describe_check, parse_input_size

    try:
        if FLAGS.litert_quantization != "none" and FLAGS.format != "litert":
            raise ValueError(f"--litert_quantization applies to --format=litert, not --format={FLAGS.format}")
        input_size = parse_input_size(FLAGS.input_size)
        check_packages(FLAGS.format, check=FLAGS.verify)
        model, label = load_model_from_flags(FLAGS)
        with _converter_logs_hidden():
            description = export_model(model, FLAGS.export_dir, format=FLAGS.format, input_size=input_size,
                                       pool_size=FLAGS.pool_size, quantization=FLAGS.litert_quantization,
                                       overwrite=FLAGS.overwrite, label=label)
    except MissingPackageError as error:
        print(f"error: --format={error.format} needs {' and '.join(error.packages)}: {error.hint}",
              file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(_exported_line(label, description))
    if not FLAGS.verify:
        return 0
    with _converter_logs_hidden():
        report = verify(FLAGS.export_dir, model)
    print(describe_check(report))
    print(f"wrote {report['json']}")
    if report["passed"] is False:
        print(f"error: the export differs from the Keras model by up to {report['max_abs_diff']:.3g} "
              f"(tolerance {report['tolerance']}); it is left in {FLAGS.export_dir} for inspection",
              file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _converter_logs_hidden():
    """Keeps the converters' and runtimes' C++ log lines (dozens per export) off the terminal; --verbose shows
    them. Errors are reported after the block, as one line."""
    if "verbose" in FLAGS and FLAGS.verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _exported_line(label, description):
    if description["format"] == "saved_model":
        return f"exported {label} to {FLAGS.export_dir} (signatures: serve uint8, serve_float float32)"
    shape = "x".join("?" if d is None else str(d) for d in description["input"]["shape"])
    quantization = "" if description["quantization"] == "none" else f", {description['quantization']}"
    return (f"exported {label} to {os.path.join(FLAGS.export_dir, description['file'])} ({description['format']}"
            f"{quantization}; input lr float32 [{shape}] in [0, 255]; operators: "
            f"{', '.join(description['operators'])})")


run = entry_point(main)  # the console script sr-export


if __name__ == "__main__":
    run()
