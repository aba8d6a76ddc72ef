"""Evaluate a generator on a set of images by the field's conventions (BasicSR / MATLAB).

    python -m sr_keras.evaluate --model_path=runs/wdsr_b/generator_final_x4.keras --data_dir=Set5/ --scale=4
    python -m sr_keras.evaluate --model_path=M --self_ensemble --output_json=results.json   # embedded photos

LR images are made from the HR images (cropped to a multiple of the scale) with MATLAB bicubic, or read from
`<data_dir>/LR_bicubic/X<scale>/` (EDSR benchmark layout) or `--lr_dir`. SR is quantised to uint8, `scale`
pixels are cropped at every border, PSNR and SSIM are computed on RGB and on Y (BT.601) for every image and
averaged over the set; MATLAB bicubic upscaling of the same LR images is scored alongside.
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

flags.DEFINE_string("model_path", None, "the generator's .keras file")
flags.DEFINE_string("data_dir", None, "HR images (or a Set5-style folder with HR/ and LR_bicubic/X<s>/); "
                    "default: the embedded validation photos")
flags.DEFINE_string("lr_dir", None, "LR images matched to --data_dir by name (instead of MATLAB bicubic)")
flags.DEFINE_integer("scale", None, "SR factor; must match the model (default: the model's)")
flags.DEFINE_bool("self_ensemble", False, "geometric self-ensemble (EDSR+): average the 8 flips/rotations")
flags.DEFINE_integer("tile", None, "LR tile size for large images (default: whole images)")
flags.DEFINE_integer("overlap", 16, "LR overlap between tiles")
flags.DEFINE_integer("pool_size", None, "FSA pool size (A-SRResNet)")
flags.DEFINE_string("output_json", None, "write per-image and mean figures here")
flags.mark_flag_as_required("model_path")
FLAGS = flags.FLAGS

METRICS = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")


def evaluate(model, source, scale, self_ensemble=False, tile=None, overlap=16, progress=None):
    """Scores `model` and MATLAB bicubic on every image of `source`.

    Returns:
        {"model": {"per_image": [...], "mean": {...}}, "bicubic": {...}, "scale": scale, "images": [names]}.
    """
    from sr_keras import metrics
    from sr_keras.data.degrade import imresize
    from sr_keras.inference import predict

    names, model_records, bicubic_records = [], [], []
    for index, item in enumerate(source.images(shuffle=False)):
        lr, hr = item["lr"].numpy(), item["hr"].numpy()
        name = os.path.basename(item["path"].numpy().decode())
        sr = predict(model, lr, tile=tile, overlap=overlap, self_ensemble=self_ensemble)
        model_records.append(dict(metrics.image_metrics(sr, hr, crop_border=scale), image=name))
        bicubic = imresize(lr, scale=float(scale)).numpy()
        bicubic_records.append(dict(metrics.image_metrics(bicubic, hr, crop_border=scale), image=name))
        names.append(name)
        if progress:
            progress(index + 1, name, model_records[-1])

    def mean(records):
        return metrics.mean_metrics([{k: r[k] for k in METRICS} for r in records])

    return {"scale": scale, "images": names, "self_ensemble": self_ensemble,
            "model": {"per_image": model_records, "mean": mean(model_records)},
            "bicubic": {"per_image": bicubic_records, "mean": mean(bicubic_records)}}


def table(result, model_name):
    lines = [f"| x{result['scale']} ({len(result['images'])} images) | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, key in ((model_name + (" + self-ensemble" if result["self_ensemble"] else ""), "model"),
                       ("bicubic (MATLAB)", "bicubic")):
        m = result[key]["mean"]
        lines.append(f"| {label} | {m['psnr_rgb']:.2f} | {m['ssim_rgb']:.4f} | {m['psnr_y']:.2f} | {m['ssim_y']:.4f} |")
    return "\n".join(lines)


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from sr_keras.cli_common import check_scale, check_writable_dir, load_generator, write_json_atomically
    from sr_keras.data import DataError, ImageReadError, embedded_photos, evaluation_set, paired_folders
    from sr_keras.layers import set_pool_size

    try:
        if FLAGS.output_json:
            check_writable_dir(os.path.dirname(os.path.abspath(FLAGS.output_json)))
        model = load_generator(FLAGS.model_path)
        scale = check_scale(model, FLAGS.scale, FLAGS.model_path)
        if FLAGS.pool_size is not None:
            set_pool_size(model, FLAGS.pool_size)
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

        result = evaluate(model, source, scale, FLAGS.self_ensemble, FLAGS.tile, FLAGS.overlap, progress)
        result.update(model_path=FLAGS.model_path, data=FLAGS.data_dir or "embedded validation photos",
                      seconds=round(time.perf_counter() - began, 2))
        print(table(result, os.path.basename(FLAGS.model_path)))
        if FLAGS.output_json:
            write_json_atomically(result, FLAGS.output_json)
    except (ValueError, DataError, ImageReadError, FileNotFoundError, PermissionError, MemoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    app.run(main)
