"""Runs every CPU-scale twin flagfile (`experiments/*_cpu.flags`) as documented, in order, and plots their
validation PSNR against the training step.

    python experiments/cpu_twins.py               # about 14 minutes on 2 CPU cores

Each file runs through the real CLI (`python -m sr_keras.train --flagfile=...`) in a scratch folder
(`--work_dir`), so the GAN twins find the weights their pixel-loss twin saved under `runs/` there, exactly as
a user following the flagfile headers would. Writes docs/experiments/cpu_twins.json and
cpu_twins_curves.png.
"""
import argparse
import os
import shutil

import common

# Pixel-loss twins before the GAN twins that start from their weights.
ORDER = ("edsr_paper_cpu", "edsr_baseline_cpu", "mdsr_cpu", "wdsr_a_cpu", "wdsr_b_cpu", "srresnet_cpu",
         "srgan_cpu", "a_srresnet_cpu", "a_srgan_cpu", "srgan_8gpu_cpu", "a_srgan_8gpu_cpu")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", default=",".join(ORDER), help="flagfiles to run, in order")
    parser.add_argument("--work_dir", default=common.default_work_dir("cpu_twins"))
    return parser.parse_args()


def model_dir_of(flagfile):
    """The --model_dir written in a flagfile."""
    with open(flagfile) as handle:
        for line in handle:
            if line.startswith("--model_dir="):
                return line.strip().split("=", 1)[1]
    raise ValueError(f"{flagfile} sets no --model_dir")


def main():
    args = parse_args()
    common.quiet_tensorflow()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    os.makedirs(args.work_dir)
    runs = {}
    for name in args.names.split(","):
        flagfile = common.EXPERIMENTS_DIR / f"{name}.flags"
        model_dir = os.path.join(args.work_dir, model_dir_of(flagfile))
        print(f"--- {name}")
        seconds = common.run_train_cli([f"--flagfile={flagfile}", f"--model_dir={model_dir}"],
                                       os.path.join(args.work_dir, f"{name}.log"), cwd=args.work_dir)
        events = common.read_events(model_dir)
        end = events[-1]
        runs[name] = {"process_seconds": round(seconds, 1), "train_loop_seconds": end["seconds"],
                      "steps": end["steps"], "replicas": end["replicas"],
                      "validation": {s: common.rounded(v) for s, v in end["validation"].items()},
                      "bicubic": {s: common.rounded(v) for s, v in end["bicubic"].items()},
                      "curves": {str(s): common.validation_curve(events, int(s)) for s in end["validation"]}}
        final = ", ".join(f"x{s} {v['psnr_rgb']:.2f} dB (bicubic {end['bicubic'][s]['psnr_rgb']:.2f})"
                          for s, v in end["validation"].items())
        print(f"{name}: {end['steps']} steps in {seconds:.0f} s, {final}")
    common.write_json("cpu_twins", {
        "experiment": "every CPU-scale twin flagfile, run as documented",
        "data": "embedded photos: 6 training, 3 held-out validation (chelsea, coffee, ihc)", "runs": runs,
    })
    plot(runs)


def plot(runs):
    plt = common.pyplot()
    groups = {"x4 pixel-loss models": [n for n in runs if "gan" not in n and n != "mdsr_cpu"],
              "MDSR (one model, x2 / x3 / x4)": ["mdsr_cpu"] if "mdsr_cpu" in runs else [],
              "x4 GANs": [n for n in runs if "gan" in n]}
    groups = {title: names for title, names in groups.items() if names}
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.0), squeeze=False)
    for ax, (title, names) in zip(axes[0], groups.items()):
        bicubic = {}
        for name in names:
            for scale, curve in runs[name]["curves"].items():
                label = name if len(runs[name]["curves"]) == 1 else f"{name} x{scale}"
                ax.plot([r["step"] for r in curve], [r["psnr_rgb"] for r in curve], marker="o", markersize=3,
                        label=label)
                bicubic[scale] = runs[name]["bicubic"][scale]["psnr_rgb"]
        for scale, value in sorted(bicubic.items()):
            ax.axhline(value, color="black", linestyle="--", linewidth=1)
            ax.annotate(f"bicubic x{scale}", (0.01, value), xycoords=("axes fraction", "data"), fontsize=7,
                        va="bottom")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("validation PSNR, RGB (dB)")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("CPU-scale twins of the paper flagfiles: validation PSNR on 3 held-out photos", fontsize=10)
    fig.tight_layout()
    return common.save_figure(fig, "cpu_twins_curves")


if __name__ == "__main__":
    main()
