"""Reproduces the real-world models shipped in `sr_keras/pretrained/weights/`: WDSR-B x4 and x2 for real photos.

Same data as the default models (`tools/train_default_models.py`: the wallpaper package less its two held-out
photos, and scikit-image's six training photos), same architecture (WDSR-B, 16 blocks), but the LR is made by
Real-ESRGAN's second-order degradation model (`--degradation=realesrgan`: blur, resize, Gaussian or Poisson
noise, JPEG, twice, then the final sinc filter and JPEG) with Real-ESRGAN's training-pair pool and the
Real-ESRNet optimiser (Adam beta_2 0.99, an EMA of the weights with decay 0.999, L1), with the degradation's
ranges narrowed towards camera and web photos (`LIGHT`). Each starts from the default model of its scale
(`--init_from`), which already knows clean detail, so that both fit in about 80 minutes on 2 CPU cores.

One choice differs from Real-ESRNet: the target is the plain HR, not the USM-sharpened one (``gt_usm``), because
these models are scored, and shipped, for fidelity (PSNR) to the photo; `--recipe=realesrnet_x4plus` keeps it.

    apt-get install plasma-workspace-wallpapers
    python tools/train_real_models.py --output_dir=runs/real            # trains x4, then x2
    python tools/train_real_models.py --output_dir=runs/real --ship     # writes the float32 generators
    python tools/train_real_models.py --dry_run                         # prints the commands
"""
import os
import shutil
import subprocess
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import train_default_models as default_models  # noqa: E402

NUM_RES_BLOCKS = 16
STEPS = {4: 15000, 2: 4000}
SEED = 0
BATCH = 16
PAIR_POOL = 176  # Real-ESRGAN's 180, rounded down to a multiple of the batch of 16
# Real-ESRGAN's ranges made for camera and web photos (blur, a few grey levels of sensor noise, JPEG at the
# qualities cameras and web sites use) instead of its heavy defaults: trained on those (up to 30 grey levels of
# noise, JPEG down to 30, blur sigma up to 3 and resizes down to 0.15), this small model scored 2 dB below
# bicubic after 4000 steps on camera-like LR of its own training photos, where this setting gained. Every other
# setting (kernel families and their probabilities, sinc kernels, resize modes, Poisson noise, gray noise,
# second stage, final order) stays Real-ESRGAN's.
LIGHT = {"blur_sigma": "0.2,1.5", "blur_sigma2": "0.2,1.0", "resize_range": "0.5,1.5", "resize_range2": "0.7,1.2",
         "noise_range": "1,8", "noise_range2": "1,5", "poisson_scale_range": "0.05,1.0",
         "poisson_scale_range2": "0.05,0.5", "jpeg_range": "50,95", "jpeg_range2": "50,95",
         "second_blur_prob": "0.5", "final_sinc_prob": "0.5"}

FLAGS = flags.FLAGS


def _define_flags():
    flags.DEFINE_string("output_dir", "runs/real", "training data links and the run directories")
    flags.DEFINE_list("scales", ["4", "2"], "scales to train, in this order")
    flags.DEFINE_bool("dry_run", False, "print the commands, train nothing")
    flags.DEFINE_bool("ship", False, "copy the final generators (float32) into sr_keras/pretrained/weights/")


def recipe(scale, data_dir, model_dir):
    """The `python -m sr_keras.train` command of one scale."""
    steps = STEPS[scale]
    decay = ",".join(str(int(steps * f)) for f in (0.5, 0.75, 0.9))
    return [sys.executable, "-m", "sr_keras.train", "--model=wdsr_b", f"--scale={scale}",
            f"--num_res_blocks={NUM_RES_BLOCKS}", f"--steps={steps}", "--learning_rate=5e-4", "--beta_2=0.99",
            f"--decay_steps={decay}", "--decay_factor=0.5", f"--batch_size={BATCH}", "--ema_decay=0.999",
            "--degradation=realesrgan", f"--pair_pool={PAIR_POOL}", "--nousm_target", "--mixed_precision",
            f"--init_from=wdsr_b_default_x{scale}", "--data=folder", f"--data_dir={data_dir}", f"--seed={SEED}",
            "--eval_every=5000", "--save_every=500", "--log_every=500", f"--model_dir={model_dir}"] + [
        f"--{name}={value}" for name, value in LIGHT.items()]


def ship(run_dir, scale):
    """Copies a run's final generator into the package as `wdsr_b_real_x<scale>.keras`."""
    from sr_keras.pretrained import WEIGHTS_DIR

    source = os.path.join(run_dir, f"generator_final_x{scale}.keras")
    if not os.path.isfile(source):
        raise SystemExit(f"error: {source} not found: train x{scale} first")
    target = os.path.join(WEIGHTS_DIR, f"wdsr_b_real_x{scale}.keras")
    shutil.copyfile(source, target + ".part")
    os.replace(target + ".part", target)
    print(f"shipped {source} -> {target}")


def main(argv):
    del argv
    data_dir = os.path.join(FLAGS.output_dir, "data")
    scales = [int(s) for s in FLAGS.scales]
    if FLAGS.dry_run:
        for scale in scales:
            print(" ".join(recipe(scale, data_dir, os.path.join(FLAGS.output_dir, f"wdsr_b_real_x{scale}"))))
        return 0
    if FLAGS.ship:
        for scale in scales:
            ship(os.path.join(FLAGS.output_dir, f"wdsr_b_real_x{scale}"), scale)
        return 0
    default_models.link_data(default_models.training_files(), data_dir)
    for scale in scales:
        command = recipe(scale, data_dir, os.path.join(FLAGS.output_dir, f"wdsr_b_real_x{scale}"))
        print(" ".join(command), flush=True)
        subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    _define_flags()
    app.run(main)
