"""Evaluate a generator on a set of images by the field's conventions (BasicSR / MATLAB).

    python -m sr_keras.evaluate --model_path=runs/wdsr_b/generator_final_x4.keras --data_dir=Set5/ --scale=4
    python -m sr_keras.evaluate --model_path=M --self_ensemble --output_json=results.json   # embedded photos
    python -m sr_keras.evaluate --model_path=M --data_dir=data/div2k/DIV2K_valid_HR --protocol=div2k
    python -m sr_keras.evaluate --pretrained=wdsr_b_real_x4 --degradation=camera --seed=0   # real-world LR

LR images are made from the HR images (cropped to a multiple of the scale) with MATLAB bicubic and rounded to
the uint8 grid as MATLAB returns them, or read from `<data_dir>/LR_bicubic/X<scale>/` (EDSR benchmark layout)
or `--lr_dir`; `--degradation` makes them with a real-world chain instead (seeded: `camera`, the held-out chain
of docs/models/real.md, or a training degradation). Scoring is `sr_keras.evaluation`'s, the same as training
validation: SR quantised to uint8, a
border cropped by the protocol (`benchmark`: `scale` pixels; `div2k`: `scale + 6`, as EDSR-PyTorch scores
DIV2K), PSNR and SSIM on RGB and on Y (BT.601) for every image, averaged over the set, with MATLAB bicubic
upscaling of the same LR images scored alongside. The JSON names the protocol.
"""
import dataclasses
import os
import sys
import time

from absl import flags

from sr_keras.cli.common import define_model_flags, entry_point

define_model_flags(flags.FLAGS)
flags.DEFINE_string("data_dir", None, "HR images (or a Set5-style folder with HR/ and LR_bicubic/X<s>/); "
                    "default: the embedded validation photos")
flags.DEFINE_string("lr_dir", None, "LR images matched to --data_dir by name (instead of MATLAB bicubic)")
flags.DEFINE_integer("scale", None, "SR factor; must match the model (default: the model's)")
flags.DEFINE_bool("self_ensemble", False, "geometric self-ensemble (EDSR+): average the 8 flips/rotations")
flags.DEFINE_integer("tile", None, "LR tile size for large images (default: whole images)")
flags.DEFINE_integer("overlap", 16, "LR overlap between tiles")
flags.DEFINE_integer("pool_size", None, "FSA pool size (A-SRResNet)")
flags.DEFINE_string("output_json", None, "write per-image and mean figures here")
flags.DEFINE_enum("protocol", "benchmark", ["benchmark", "div2k"],
                  "benchmark: Y and RGB, scale pixels cropped (Set5/Set14/B100/Urban100/Manga109); div2k: scale + 6 "
                  "pixels cropped, RGB headline, as EDSR-PyTorch scores DIV2K validation")
flags.DEFINE_enum("degradation", "bicubic", ["bicubic", "camera", "realesrgan", "bsrgan"],
                  "how the LR is made from the HR: bicubic (MATLAB, the benchmarks'), camera (a fixed blur + "
                  "bicubic + noise + JPEG chain, sr_keras.data.camera), realesrgan or bsrgan (the training "
                  "degradations); seeded by --seed")
flags.DEFINE_integer("seed", 0, "seed of --degradation (photo i uses (seed, i))")
flags.DEFINE_bool("quantize_lr", True, "LR made from HR with MATLAB bicubic is rounded to the uint8 grid, as "
                  "MATLAB and the published LR sets have it")
FLAGS = flags.FLAGS


def main(argv):
    from sr_keras.cli.common import check_scale, load_model_from_flags
    from sr_keras.files import check_writable_dir, write_json

    try:
        if FLAGS.output_json:
            check_writable_dir(os.path.dirname(os.path.abspath(FLAGS.output_json)))
        model, label = load_model_from_flags(FLAGS)  # its flag and file checks before TensorFlow is imported
        from sr_keras import evaluation
        from sr_keras.data import embedded_photos, evaluation_set, paired_folders

        scale = check_scale(model, FLAGS.scale, label)
        if FLAGS.degradation != "bicubic" and FLAGS.lr_dir:
            raise ValueError(f"--degradation={FLAGS.degradation} makes the LR from the HR images: leave out "
                             "--lr_dir")
        if FLAGS.lr_dir:
            if not FLAGS.data_dir:
                raise ValueError("--lr_dir needs --data_dir (the HR images)")
            source = paired_folders(FLAGS.lr_dir, FLAGS.data_dir, scale)
        elif FLAGS.data_dir:
            source = evaluation_set(FLAGS.data_dir, scale)
        else:
            source = embedded_photos("valid", scale)
        began = time.perf_counter()

        def progress(done, name, record):
            print(f"[{done}/{len(source)}] {name}: PSNR-Y {record['psnr_y']:.2f} dB, SSIM-Y {record['ssim_y']:.4f}",
                  file=sys.stderr)

        if not FLAGS.quantize_lr:
            source = dataclasses.replace(source, quantize_lr=False)
        pairs = evaluation.degrade_pairs(evaluation.load_pairs(source), scale, FLAGS.degradation, FLAGS.seed)
        result = evaluation.evaluate(model, pairs, scale, FLAGS.self_ensemble, FLAGS.tile,
                                     FLAGS.overlap, pool_size=FLAGS.pool_size, progress=progress,
                                     protocol=FLAGS.protocol)
        result = evaluation.as_json(result)
        result.update(model_path=FLAGS.model_path, pretrained=FLAGS.pretrained,
                      data=FLAGS.data_dir or "embedded validation photos", degradation=FLAGS.degradation,
                      seed=FLAGS.seed,
                      seconds=round(time.perf_counter() - began, 2))
        print(evaluation.table({scale: result}, os.path.basename(label)))
        if FLAGS.output_json:
            write_json(result, FLAGS.output_json)
    # (sr_keras.data's ImageReadError and DataError are ValueErrors)
    except (ValueError, FileNotFoundError, PermissionError, MemoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


run = entry_point(main)  # the console script sr-evaluate


if __name__ == "__main__":
    run()
