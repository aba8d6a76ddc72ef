"""Held-out evaluation of the default models (`docs/models/default.md`): PSNR / SSIM under the benchmark
protocol against MATLAB bicubic, per image and mean, at x2, x3 and x4, and a side-by-side crop figure.

Held-out photos: scikit-image's three validation photos (chelsea, coffee, ihc; never trained on) and the two
photographs of Debian's `plasma-workspace-wallpapers` kept out of training (EveningGlow, Path; skipped with a
note when the package is not installed).

    python tools/evaluate_default_models.py                      # the models shipped in the package
    python tools/evaluate_default_models.py --models_dir=runs/default --output=/tmp/eval.json
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from held_out import WALLPAPERS, held_out_sets  # noqa: E402,F401 - WALLPAPERS: part of this tool's interface

flags.DEFINE_string("models_dir", None, "evaluate <dir>/wdsr_b_x<s>/generator_final_x<s>.keras instead of the "
                    "shipped models")
flags.DEFINE_string("output", "docs/models/default_eval.json", "JSON written here ('' for none)")
flags.DEFINE_string("figure", "docs/models/default_crops.png", "crop figure written here ('' for none)")
flags.DEFINE_list("scales", ["2", "3", "4"], "scales to evaluate")
flags.DEFINE_string("card", None, "also write the model card (docs/models/default.md) from the evaluation and the "
                    "training runs in --runs_dir")
flags.DEFINE_string("runs_dir", "runs/default", "the runs of tools/train_default_models.py (for --card)")
flags.DEFINE_float("wall_minutes", None, "for --card: the wall time of the whole training command, as measured")
FLAGS = flags.FLAGS

SCALES = (2, 3, 4)
# (image, HR crop top-left y, x, side) shown in the figure
CROPS = (("coffee.png", 60, 330, 120), ("chelsea.png", 80, 160, 120))


def load_model(scale, models_dir=None):
    from sr_keras import pretrained
    from sr_keras.models.saving import load_generator

    if models_dir:
        return load_generator(os.path.join(models_dir, f"wdsr_b_x{scale}", f"generator_final_x{scale}.keras"))
    return pretrained.load(pretrained.default_model_name(scale))


def evaluate_scale(scale, models_dir=None):
    """{set name: evaluation result (JSON form)} of the default model at `scale`."""
    from sr_keras import evaluation

    model = load_model(scale, models_dir)
    results = {}
    for name, source in held_out_sets(scale).items():
        if source is None:
            continue
        pairs = evaluation.load_pairs(source)
        results[name] = evaluation.as_json(evaluation.evaluate(model, pairs, scale, tile=256, overlap=16))
    return results


def gains(result):
    """Mean Y-PSNR of the model minus bicubic's."""
    return result["model"]["mean"]["psnr_y"] - result["bicubic"]["mean"]["psnr_y"]


def crop_figure(scales, path, models_dir=None):
    """Rows of bicubic | default model | HR crops, one row per (scale, image)."""
    from PIL import Image, ImageDraw

    from sr_keras.data import embedded_photos
    from sr_keras.data.degrade import imresize
    from sr_keras.evaluation import load_pairs
    from sr_keras.files import atomic_path
    from sr_keras.inference import predict

    rows = []
    for scale in scales:
        model = load_model(scale, models_dir)
        pairs = {os.path.basename(name): (lr, hr) for name, lr, hr in load_pairs(embedded_photos("valid", scale))}
        for image, y, x, side in CROPS:
            lr, hr = pairs[image]
            sr = predict(model, lr)
            bicubic = imresize(lr, scale=float(scale)).numpy()
            panels = [np.clip(np.round(p[y:y + side, x:x + side]), 0, 255).astype("uint8") for p in (bicubic, sr, hr)]
            row = np.concatenate([np.pad(p, ((18, 2), (2, 2), (0, 0)), constant_values=255) for p in panels], 1)
            canvas = Image.fromarray(row)
            draw = ImageDraw.Draw(canvas)
            for i, label in enumerate(("bicubic", f"default x{scale}", "HR")):
                draw.text((i * (side + 4) + 4, 3), f"{label} ({image})", fill=(0, 0, 0))
            rows.append(np.asarray(canvas))
    figure = Image.fromarray(np.concatenate(rows, 0)).resize(
        (rows[0].shape[1] * 2, sum(r.shape[0] for r in rows) * 2), Image.NEAREST)
    with atomic_path(path) as temporary:
        figure.save(temporary, format="PNG")


def _mean_row(label, result):
    m, b = result["model"]["mean"], result["bicubic"]["mean"]
    return (f"| {label} | {m['psnr_y']:.2f} / {m['ssim_y']:.4f} | {b['psnr_y']:.2f} / {b['ssim_y']:.4f} | "
            f"{m['psnr_y'] - b['psnr_y']:+.2f} |")


def write_card(report, runs_dir, path, wall_minutes=None):
    """docs/models/default.md: data, recipe, time, hardware, evaluation (all read from the runs and `report`)."""
    import json
    import platform

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import train_default_models as recipe

    from sr_keras.files import atomic_path

    runs = {}
    for scale in SCALES:
        run = os.path.join(runs_dir, f"wdsr_b_x{scale}")
        with open(os.path.join(run, "summary.json")) as handle:
            summary = json.load(handle)
        with open(os.path.join(run, "config.json")) as handle:
            config = json.load(handle)
        runs[scale] = (summary, config)
    train_files, held_files = recipe.wallpaper_files()
    lines = ["# Default models: WDSR-B x2, x3, x4 trained by sr_keras", "",
             "`sr_keras.pretrained.load(\"wdsr_b_default_x<s>\")`, and what `python -m sr_keras.upscale "
             "photo.jpg` uses when no model is given. Shipped in the package (`sr_keras/pretrained/weights/`, "
             "float32 `.keras`).",
             "Reproduce: `apt-get install plasma-workspace-wallpapers`, then "
             "`python tools/train_default_models.py --output_dir=runs/default` and "
             "`python tools/train_default_models.py --output_dir=runs/default --ship`; this card and its figures: "
             "`python tools/evaluate_default_models.py --card=docs/models/default.md --runs_dir=runs/default`.", "",
             "## Model", "",
             f"WDSR-B (Yu et al. 2018, seed 002), {recipe.NUM_RES_BLOCKS} residual blocks of 32 features, "
             "expansion 6, low-rank 0.8, weight normalisation; PyTorch's default initialisation as "
             "wdsr_ntire2018.", "",
             "| scale | parameters | steps | learning rate (halved at) | training time | final validation Y-PSNR "
             "(bicubic) |",
             "| --- | ---: | ---: | --- | ---: | --- |"]
    from sr_keras import pretrained
    from sr_keras.models import count_params

    for scale in SCALES:
        summary, config = runs[scale]
        params = count_params(pretrained.load(pretrained.default_model_name(scale)), trainable=True)
        final, bicubic = summary["validation"][str(scale)], summary["bicubic"][str(scale)]
        lines.append(f"| x{scale} | {params:,} | {summary['steps']:,} | {config['learning_rate']:g} "
                     f"({', '.join(str(s) for s in config['decay_steps'])}) | {summary['seconds'] / 60:.1f} min | "
                     f"{final['psnr_y']:.2f} ({bicubic['psnr_y']:.2f}) |")
    total = sum(runs[s][0]["seconds"] for s in SCALES) / 60
    summary, config = runs[SCALES[0]]
    wall = f" ({wall_minutes:.0f} minutes of wall time for the whole command)" if wall_minutes else ""
    lines += ["", f"All three: {total:.0f} minutes of training steps{wall}, batch "
              f"{config['batch_size']}, 96 px HR crops (LR crop 96 / scale), L1, Adam, bfloat16 mixed precision "
              f"(`--mixed_precision`; the saved generators compute in float32), seed {config['seed']}, "
              f"LR made with MATLAB bicubic and rounded to uint8. Hardware: {os.cpu_count()} CPU cores "
              f"({platform.machine()}), no GPU; TensorFlow on Linux. Depth and steps were chosen so that the three "
              "scales train in about 100 minutes on this 2-core machine (measured before choosing: x2 about 3.0, "
              "x3 5.8, x4 8.5 steps/s): 16 blocks instead of the paper's 32 halve the cost of a step.", "",
              "Command per scale (what `tools/train_default_models.py` runs):", "", "```",
              "python " + " ".join(recipe.recipe(4, "runs/default/data", "runs/default/wdsr_b_x4")[1:]), "```",
              "(x3 and x2: `--scale`, `--steps` and `--decay_steps` as in the table above.)", "",
              "## Data", "",
              f"{len(train_files)} pictures of Debian's `plasma-workspace-wallpapers` (the largest file of each; the "
              "smaller files are downscales of the same picture) and scikit-image's 6 training photos "
              "(astronaut, rocket, motorcycle left and right, hubble deep field, retina). Nothing else. "
              f"Held out: the photographs {', '.join(p.split(os.sep)[-4] for p in held_files)} of the wallpaper "
              "package and scikit-image's chelsea, coffee and ihc (the package's validation photos).", "",
              "Training files:", ""]
    lines += [f"- `{path}`" for path in train_files] + ["- scikit-image: `astronaut.png`, `rocket.jpg`, "
                                                         "`motorcycle_left.png`, `motorcycle_right.png`, "
                                                         "`hubble_deep_field.jpg`, `retina.jpg`", ""]
    lines += ["## Held-out evaluation", "",
              "Benchmark protocol (`sr_keras.evaluation`): LR = MATLAB bicubic of the HR image rounded to uint8, SR "
              "quantised to uint8, `scale` pixels cropped, Y channel (BT.601). Model vs MATLAB bicubic, PSNR (dB) / "
              "SSIM. The final models, not the best validation checkpoints (validation used chelsea, coffee and ihc).",
              "", "| scale | held-out set | default model | bicubic | gain (dB) |", "| --- | --- | --- | --- | ---: |"]
    for scale in SCALES:
        for name, result in report["scales"][str(scale)].items():
            lines.append(_mean_row(f"x{scale} | {name} ({len(result['images'])} photos)", result))
    lines += ["", "Per image:", "", "| scale | image | default model | bicubic | gain (dB) |",
              "| --- | --- | --- | --- | ---: |"]
    for scale in SCALES:
        for name, result in report["scales"][str(scale)].items():
            for m, b in zip(result["model"]["per_image"], result["bicubic"]["per_image"]):
                lines.append(f"| x{scale} | {m['image']} | {m['psnr_y']:.2f} / {m['ssim_y']:.4f} | "
                             f"{b['psnr_y']:.2f} / {b['ssim_y']:.4f} | {m['psnr_y'] - b['psnr_y']:+.2f} |")
    lines += ["", "![bicubic, default model and HR crops at x2, x3 and x4](default_crops.png)", "",
              "`tests/pretrained/test_default_models.py` recomputes the scikit-image rows from the shipped models and "
              "checks them against `default_eval.json` and the promised gains (at least 1.5 dB at x2 and 0.6 dB at x4).",
              ""]
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write("\n".join(lines))


def main(argv):
    del argv
    import tensorflow as tf

    from sr_keras.files import write_json

    tf.get_logger().setLevel("ERROR")  # one trace per model and image size is expected here

    scales = [int(s) for s in FLAGS.scales]
    report = {"protocol": "benchmark", "scales": {}}
    for scale in scales:
        results = evaluate_scale(scale, FLAGS.models_dir)
        report["scales"][str(scale)] = results
        for name, result in results.items():
            print(f"x{scale} {name}: Y-PSNR {result['model']['mean']['psnr_y']:.2f} dB, bicubic "
                  f"{result['bicubic']['mean']['psnr_y']:.2f} dB, gain {gains(result):+.2f} dB")
            for record, bicubic in zip(result["model"]["per_image"], result["bicubic"]["per_image"]):
                print(f"    {record['image']}: {record['psnr_y']:.2f} / {record['ssim_y']:.4f} against "
                      f"{bicubic['psnr_y']:.2f} / {bicubic['ssim_y']:.4f}")
        if "wallpapers" not in results:
            print(f"x{scale}: held-out wallpapers not installed (apt-get install plasma-workspace-wallpapers)",
                  file=sys.stderr)
    if FLAGS.output:
        write_json(report, FLAGS.output)
    if FLAGS.figure:
        crop_figure(scales, FLAGS.figure, FLAGS.models_dir)
    if FLAGS.card:
        write_card(report, FLAGS.runs_dir, FLAGS.card, FLAGS.wall_minutes)
    return 0


if __name__ == "__main__":
    app.run(main)
