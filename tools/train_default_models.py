"""Reproduces the default models shipped in `sr_keras/pretrained/weights/`: WDSR-B x2, x3 and x4.

The data is fixed and offline: every distinct picture of Debian's `plasma-workspace-wallpapers` package (the
largest file of each picture; the smaller files are downscales of the same picture), less the two photos held
out for evaluation, plus scikit-image's six training photos (`sr_keras.data.samples.TRAIN_PHOTOS`). Nothing
else is trained on, so every other real photo stays unseen.

    apt-get install plasma-workspace-wallpapers
    python tools/train_default_models.py --output_dir=runs/default            # trains x4, x3, x2 in turn
    python tools/train_default_models.py --output_dir=runs/default --ship     # writes the float32 generators
    python tools/train_default_models.py --dry_run                            # prints the data and commands

Each scale runs `python -m sr_keras.train` in its own process (so a re-run resumes where it stopped) with the
flags in `RECIPE`; `--ship` then copies each final generator, computing in float32, into the package.
"""
import glob
import os
import subprocess
import sys

from absl import app, flags

WALLPAPER_ROOT = "/usr/share/wallpapers"
# Photographs of the wallpaper package kept out of training, for the held-out evaluation
# (tools/evaluate_default_models.py). The other photos and all the artwork are trained on.
HELD_OUT_WALLPAPERS = ("EveningGlow", "Path")

# WDSR-B (seed 002) at 16 residual blocks: half the paper's 32, because the three scales must train in about
# 100 minutes on 2 CPU cores. Measured before choosing (bfloat16, batch 16, 96px HR crops, idle machine):
# x2 ~3.0, x3 ~5.8, x4 ~8.5 steps/s, so these steps take about 35, 20 and 16 minutes. The learning rate is the
# paper's 1e-3, halved at 50%, 75% and 90% of the run (the paper halves it once at 2e5 of 3e5 steps).
NUM_RES_BLOCKS = 16
STEPS = {2: 6000, 3: 7000, 4: 8000}
SEED = 0

FLAGS = flags.FLAGS


def _define_flags():
    """The command's flags (defined only when run, so other tools can import the data list and recipe)."""
    flags.DEFINE_string("output_dir", "runs/default", "training data links and the three run directories")
    flags.DEFINE_list("scales", ["4", "3", "2"], "scales to train, in this order")
    flags.DEFINE_bool("dry_run", False, "print the training files and the commands, train nothing")
    flags.DEFINE_bool("ship", False, "copy the final generators (float32) into sr_keras/pretrained/weights/")


def wallpaper_files(root=WALLPAPER_ROOT, held_out=HELD_OUT_WALLPAPERS):
    """(training files, held-out files): the largest file of every picture of the wallpaper package."""
    from PIL import Image

    train, held = [], []
    for picture in sorted(glob.glob(os.path.join(root, "*", "contents"))):
        name = picture.split(os.sep)[-2]
        for variant in ("images", "images_dark"):
            files = sorted(glob.glob(os.path.join(picture, variant, "*")))
            if not files:
                continue
            largest = max(files, key=lambda path: (_pixels(Image, path), path))
            (held if name in held_out else train).append(largest)
    if not train:
        raise SystemExit(f"error: no wallpapers under {root}: apt-get install plasma-workspace-wallpapers")
    return train, held


def _pixels(image_module, path):
    with image_module.open(path) as image:
        return image.size[0] * image.size[1]


def training_files():
    """Every file the default models are trained on, wallpapers first."""
    from sr_keras.data.samples import photo_paths

    return wallpaper_files()[0] + photo_paths("train")


def link_data(files, folder):
    """A folder of symbolic links to `files` (one flat folder the `--data=folder` source reads)."""
    os.makedirs(folder, exist_ok=True)
    for index, path in enumerate(files):
        parts = path.split(os.sep)
        label = parts[-4] + ("_dark" if parts[-2] == "images_dark" else "") if path.startswith(WALLPAPER_ROOT) \
            else os.path.splitext(parts[-1])[0]
        link = os.path.join(folder, f"{index:02d}_{label}{os.path.splitext(path)[1]}")
        if not os.path.lexists(link):
            os.symlink(path, link)
    return folder


def recipe(scale, data_dir, model_dir):
    """The `python -m sr_keras.train` command of one scale."""
    steps = STEPS[scale]
    decay = ",".join(str(int(steps * f)) for f in (0.5, 0.75, 0.9))
    return [sys.executable, "-m", "sr_keras.train", "--model=wdsr_b", f"--scale={scale}",
            f"--num_res_blocks={NUM_RES_BLOCKS}", f"--steps={steps}", "--learning_rate=1e-3",
            f"--decay_steps={decay}", "--decay_factor=0.5", "--batch_size=16", "--mixed_precision",
            # the shipped model was trained with these (before the recipes' PyTorch conventions,
            # docs/TRAINING_EQUIVALENCE.md): Keras's Adam, L1 on [0, 1]
            "--optimizer=keras_adam", "--loss_range=1",
            "--data=folder", f"--data_dir={data_dir}", f"--seed={SEED}", "--eval_every=1000",
            "--save_every=500", "--log_every=250", f"--model_dir={model_dir}"]


def main(argv):
    del argv
    files = training_files()
    data_dir = os.path.join(FLAGS.output_dir, "data")
    scales = [int(s) for s in FLAGS.scales]
    if FLAGS.dry_run:
        print("\n".join(files))
        for scale in scales:
            print(" ".join(recipe(scale, data_dir, os.path.join(FLAGS.output_dir, f"wdsr_b_x{scale}"))))
        return 0
    if FLAGS.ship:
        from sr_keras.pretrained import ship_default_models

        for scale in scales:
            ship_default_models(os.path.join(FLAGS.output_dir, f"wdsr_b_x{scale}"), scale)
        return 0
    link_data(files, data_dir)
    for scale in scales:
        command = recipe(scale, data_dir, os.path.join(FLAGS.output_dir, f"wdsr_b_x{scale}"))
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    _define_flags()
    app.run(main)
