"""EDSR vs WDSR-A vs WDSR-B at 1, 3, 5 and 8 residual blocks, x2, equal small training budget (seed 002).

Seed 002 (a reproduction of Yu et al. 2018) tabulates parameters and DIV2K-validation PSNR of the three
networks with the same number of residual blocks. This script trains the twelve networks on the embedded
photos with one budget: the same steps, batch, crop, L1 loss and Adam learning rate (1e-3, WDSR's; EDSR's
paper uses 1e-4, which over a few hundred steps would only measure the learning rate; `--paper_learning_rates`
gives each network its paper's rate), and scores them on the three held-out photos:

    python experiments/wdsr_vs_edsr.py            # about 10 minutes on 2 CPU cores

Widths are the paper's: EDSR 64 filters (the baseline block), WDSR-A 32 filters with expansion 4, WDSR-B
64 filters with expansion 6 and low-rank ratio 0.8; these reproduce the paper's parameter counts (0.26M,
0.08M, 0.08M at one block). Writes docs/experiments/wdsr_vs_edsr.json and three PNGs (curves, parameters vs
PSNR, crops of a held-out photo).
"""
import argparse
import os
import shutil

import common

NETWORKS = {  # label: (model, num_filters, the paper's learning rate)
    "EDSR": ("edsr_baseline", 64, 1e-4),
    "WDSR-A": ("wdsr_a", 32, 1e-3),
    "WDSR-B": ("wdsr_b", 64, 1e-3),
}
# Seed 002, first table (Yu et al. 2018): x2, DIV2K validation, parameters in millions and PSNR (dB).
PAPER = {
    1: {"EDSR": (0.26, 33.210), "WDSR-A": (0.08, 33.323), "WDSR-B": (0.08, 33.434)},
    3: {"EDSR": (0.41, 34.043), "WDSR-A": (0.23, 34.163), "WDSR-B": (0.23, 34.205)},
    5: {"EDSR": (0.56, 34.284), "WDSR-A": (0.37, 34.388), "WDSR-B": (0.37, 34.409)},
    8: {"EDSR": (0.78, 34.457), "WDSR-A": (0.60, 34.541), "WDSR-B": (0.60, 34.536)},
}
# Seed 002, the course reproduction (krasserm/super-resolution code, x4, DIV2K validation, "likely trained
# far shorter"): exact parameters and PSNR (dB).
COURSE = {
    1: {"EDSR": (409731, 27.5), "WDSR-A": (92304, 27.8), "WDSR-B": (36809, 27.7)},
    3: {"EDSR": (557443, 27.8), "WDSR-A": (240080, 28.1), "WDSR-B": (73595, 28.0)},
    5: {"EDSR": (705155, 27.9), "WDSR-A": (387856, 28.2), "WDSR-B": (110381, 28.1)},
    8: {"EDSR": (926723, 27.9), "WDSR-A": (609520, 28.2), "WDSR-B": (165560, 28.2)},
}
SCALE = 2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps of every network")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--crop_size", type=int, default=24, help="LR crop (48px HR at x2)")
    parser.add_argument("--eval_every", type=int, default=100)
    parser.add_argument("--blocks", default="1,3,5,8", help="residual block counts")
    parser.add_argument("--learning_rate", type=float, default=1e-3, help="Adam learning rate of every network")
    parser.add_argument("--paper_learning_rates", action="store_true",
                        help="EDSR at 1e-4 and WDSR at 1e-3 instead of --learning_rate for all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default=common.default_work_dir("wdsr_vs_edsr"))
    return parser.parse_args()


def blocks_text(blocks):
    return f"{blocks} block" + ("s" if blocks > 1 else "")


def train_one(label, blocks, args, strategy):
    import keras

    from sr_keras.models import count_params
    from sr_keras.training import make_config, train
    from sr_keras.training.build import build_generators

    model, filters, paper_learning_rate = NETWORKS[label]
    learning_rate = paper_learning_rate if args.paper_learning_rates else args.learning_rate
    model_dir = os.path.join(args.work_dir, f"{model}_{blocks}")
    shutil.rmtree(model_dir, ignore_errors=True)
    config = make_config(model, model_dir, scale=SCALE, num_filters=filters, num_res_blocks=blocks, loss="l1",
                         learning_rate=learning_rate, decay_steps=(), batch_size=args.batch_size,
                         crop_size=args.crop_size, steps=args.steps, eval_every=args.eval_every,
                         save_every=args.steps, seed=args.seed)
    params = count_params(build_generators(config), trainable=True)
    keras.backend.clear_session()
    summary = train(config, strategy=strategy)
    events = common.read_events(model_dir)
    return {
        "network": label, "model": model, "num_filters": filters, "num_res_blocks": blocks,
        "learning_rate": learning_rate, "parameters": params, "seconds": summary["seconds"],
        "validation": common.rounded(summary["validation"][str(SCALE)]),
        "curve": common.validation_curve(events, SCALE),
        "paper": {"parameters_millions": PAPER[blocks][label][0], "div2k_psnr_x2": PAPER[blocks][label][1]},
        "course_reproduction_x4": {"parameters": COURSE[blocks][label][0], "div2k_psnr_x4": COURSE[blocks][label][1]},
        "saved": summary["saved"][str(SCALE)], "bicubic": common.rounded(summary["bicubic"][str(SCALE)]),
    }


def plot_parameters(results, bicubic_psnr):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.0))
    for label, marker in zip(NETWORKS, "osD"):
        rows = [r for r in results if r["network"] == label]
        ours = axes[0].plot([r["parameters"] / 1e6 for r in rows], [r["validation"]["psnr_rgb"] for r in rows],
                            marker=marker, label=label)[0]
        for r in rows:
            axes[0].annotate(str(r["num_res_blocks"]), (r["parameters"] / 1e6, r["validation"]["psnr_rgb"]),
                             textcoords="offset points", xytext=(4, 4), fontsize=7, color=ours.get_color())
        axes[1].plot([r["paper"]["parameters_millions"] for r in rows], [r["paper"]["div2k_psnr_x2"] for r in rows],
                     marker=marker, label=label, color=ours.get_color())
    axes[0].axhline(bicubic_psnr, color="black", linestyle="--", linewidth=1, label="bicubic")
    axes[0].set_title("ours: 3 held-out photos, x2, CPU budget\n(numbers at the points: residual blocks)", fontsize=9)
    axes[1].set_title("paper (seed 002): DIV2K validation, x2, full training", fontsize=9)
    for ax in axes:
        ax.set_xlabel("parameters (millions)")
        ax.set_ylabel("PSNR, RGB (dB)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return common.save_figure(fig, "wdsr_vs_edsr_params_psnr")


def plot_crops(results):
    import keras

    name, lr, hr = common.held_out_photos(SCALE)[0]
    from sr_keras import metrics

    deepest = max(r["num_res_blocks"] for r in results)
    panels = [("bicubic", common.bicubic(lr, SCALE))]
    for label in NETWORKS:
        row = next(r for r in results if r["network"] == label and r["num_res_blocks"] == deepest)
        model = keras.saving.load_model(row["saved"])
        panels.append((f"{label} ({blocks_text(deepest)})", common.super_resolve(model, lr)))
    panels = [(label, image, metrics.image_metrics(image, hr, crop_border=SCALE)) for label, image in panels]
    panels.append(("HR", hr.astype("uint8"), None))
    size = min(128, hr.shape[0] // 2)
    box = (hr.shape[0] // 2 - size // 2 - 40, hr.shape[1] // 2 - size // 2, size)
    return common.comparison_figure(hr.astype("uint8"), box, panels,
                                    f"x{SCALE}, held-out photo {name} (PSNR/SSIM of the whole photo, RGB)",
                                    "wdsr_vs_edsr_crops")


def main():
    args = parse_args()
    common.quiet_tensorflow()
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    results = []
    for blocks in (int(b) for b in args.blocks.split(",")):
        for label in NETWORKS:
            print(f"--- {label}, {blocks} blocks")
            results.append(train_one(label, blocks, args, strategy))
    bicubic = results[0]["bicubic"]
    common.write_json("wdsr_vs_edsr", {
        "experiment": "EDSR vs WDSR-A vs WDSR-B by residual blocks (seed 002)", "scale": SCALE,
        "data": "embedded photos: 6 training, 3 held-out validation (chelsea, coffee, ihc)",
        "budget": {"steps": args.steps, "batch_size": args.batch_size, "lr_crop": args.crop_size,
                   "hr_crop": args.crop_size * SCALE, "loss": "l1", "seed": args.seed,
                   "learning_rate": "paper's per network" if args.paper_learning_rates else args.learning_rate},
        "bicubic": bicubic, "runs": [{k: v for k, v in r.items() if k not in ("saved", "bicubic")} for r in results],
    })
    curves = {f"{r['network']}, {blocks_text(r['num_res_blocks'])}": r["curve"] for r in results}
    columns = {label: [f"{label}, {blocks_text(r['num_res_blocks'])}" for r in results if r["network"] == label]
               for label in NETWORKS}
    common.plot_curves(curves, bicubic["psnr_rgb"], f"x{SCALE} validation PSNR during training (3 held-out photos)",
                       "wdsr_vs_edsr_curves", columns=columns)
    plot_parameters(results, bicubic["psnr_rgb"])
    plot_crops(results)


if __name__ == "__main__":
    main()
