"""A-SRResNet trained on 24, 48 and 96 px LR crops for the same number of steps (seed 000 Table 4).

Seed 000's crop sizes are LR pixels: the paper follows SRGAN, which crops "the LR image", "typically 24px"
(section 2.5), and its pre-trained baseline (brade31919/SRGAN-tensorflow) crops `crop_size` LR pixels and
4 x `crop_size` HR pixels. So 24 / 48 / 96 here are LR crops, HR crops of 96 / 192 / 384 px at x4, the same
convention as `--crop_size` of `python -m sr_keras.train`.

    python experiments/crop_size.py               # about 10 minutes on 2 CPU cores

Each run: A-SRResNet x4 (32 filters, 4 blocks; FSA with plain attention, pool 1, in training and pool 4 at
validation, spectral normalisation), pixel MSE, Adam lr 1e-4, the same steps and batch, embedded photos;
scored on the three held-out photos. Writes docs/experiments/crop_size.json and two PNGs (curves, crops of
a held-out photo in the style of seed 000 Fig. 6).
"""
import argparse
import os
import shutil

import common

SCALE = 4
# The CPU-scale A-SRResNet shared with pool_size.py.
A_SRRESNET = dict(num_filters=32, num_res_blocks=4, loss="mse", learning_rate=1e-4, decay_steps=(), pool_size=1,
                  eval_pool_size=4)
# Seed 000 Table 4: A-SRGAN_MSE, 3e4 steps on 8 GPUs, 11K lodging images (execution time, PSNR, SSIM).
PAPER = {24: {"hours": 3.8, "psnr": 16.92, "ssim": 0.719}, 96: {"hours": 4.4, "psnr": 23.82, "ssim": 0.765}}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crops", default="24,48,96", help="LR crop sizes")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--eval_every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default=common.default_work_dir("crop_size"))
    return parser.parse_args()


def a_srresnet_config(model_dir, crop_size, args):
    from sr_keras.training import make_config

    return make_config("a_srresnet", model_dir, scale=SCALE, crop_size=crop_size, batch_size=args.batch_size,
                       steps=args.steps, eval_every=args.eval_every, save_every=args.steps, seed=args.seed,
                       **A_SRRESNET)


def main():
    args = parse_args()
    common.quiet_tensorflow()
    import keras
    import tensorflow as tf

    from sr_keras import metrics
    from sr_keras.training import train

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    runs = []
    for crop in (int(c) for c in args.crops.split(",")):
        print(f"--- A-SRResNet, LR crop {crop}")
        model_dir = os.path.join(args.work_dir, f"crop{crop}")
        shutil.rmtree(model_dir, ignore_errors=True)
        summary = train(a_srresnet_config(model_dir, crop, args), strategy=strategy)
        keras.backend.clear_session()
        runs.append({"lr_crop": crop, "hr_crop": crop * SCALE, "seconds": summary["seconds"],
                     "validation": common.rounded(summary["validation"][str(SCALE)]),
                     "curve": common.validation_curve(common.read_events(model_dir), SCALE),
                     "paper": PAPER.get(crop), "saved": summary["saved"][str(SCALE)],
                     "bicubic": common.rounded(summary["bicubic"][str(SCALE)])})
    bicubic = runs[0]["bicubic"]
    common.write_json("crop_size", {
        "experiment": "A-SRResNet crop size at a fixed step budget (seed 000 Table 4)", "scale": SCALE,
        "crop_convention": "LR pixels (HR crop = 4 x LR crop), as SRGAN / brade31919 and --crop_size",
        "data": "embedded photos: 6 training, 3 held-out validation (chelsea, coffee, ihc)",
        "model": dict(A_SRRESNET, model="a_srresnet", decay_steps=[]),
        "budget": {"steps": args.steps, "batch_size": args.batch_size, "seed": args.seed},
        "paper_setting": "A-SRGAN_MSE (64 filters x 16 blocks), 3e4 steps on 8 GPUs, 11K private 2000px images",
        "bicubic": bicubic, "runs": [{k: v for k, v in r.items() if k not in ("saved", "bicubic")} for r in runs],
    })
    common.plot_curves({f"LR crop {r['lr_crop']} (HR {r['hr_crop']})": r["curve"] for r in runs},
                       bicubic["psnr_rgb"], f"A-SRResNet x{SCALE}: validation PSNR by crop size "
                       f"({args.steps} steps, batch {args.batch_size})", "crop_size_curves")
    name, lr, hr = common.held_out_photos(SCALE)[0]
    panels = [("bicubic", common.bicubic(lr, SCALE))]
    for r in runs:
        model = keras.saving.load_model(r["saved"])
        panels.append((f"A-SRResNet, crop {r['lr_crop']}", common.super_resolve(model, lr, pool_size=4)))
    panels = [(label, image, metrics.image_metrics(image, hr, crop_border=SCALE)) for label, image in panels]
    panels.append(("HR", hr.astype("uint8"), None))
    common.comparison_figure(hr.astype("uint8"), (60, 170, 128), panels,
                             f"x{SCALE}, held-out photo {name}: whole-photo PSNR/SSIM (RGB), FSA pool 4",
                             "crop_size_crops")


if __name__ == "__main__":
    main()
