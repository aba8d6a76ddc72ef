"""The same small GAN run on 1 and on 2 data-parallel replicas: equal results, and the time it costs here
(seed 000 Table 1: SRGAN_MSE on 1 vs 8 GPUs, 17 h vs 3.8 h, PSNR 14.60 vs 14.56, SSIM 0.679 both).

Runs the CPU twins of the 8-GPU flagfiles (`experiments/srgan_8gpu_cpu.flags`, `a_srgan_8gpu_cpu.flags`)
through the real CLI, once with `--cpu_replicas=1` and once with `--cpu_replicas=2` (MirroredStrategy over two
logical CPU devices; global batch 16 split 8 + 8, synchronised batch norm, losses averaged over the global
batch), and compares final generator weights and validation PSNR/SSIM at every validation step, after one
step (where only the order of float additions differs) and after all the flagfile's steps (where GAN training
can amplify those differences).

    python experiments/replicas.py                # about 7 minutes on 2 CPU cores

Two logical devices share the same 2 physical cores, so no speed-up is possible here: the time ratio
measures the overhead of the distributed step (all-reduce, per-replica work split), not the seed's scaling.
Writes docs/experiments/replicas.json and replicas.png.
"""
import argparse
import os
import shutil

import common

RUNS = ("srgan_8gpu_cpu", "a_srgan_8gpu_cpu")
# Stated before measuring: what "equal" means for runs that differ only in the order of float additions.
PSNR_TOLERANCE_DB = 0.01
SSIM_TOLERANCE = 1e-4
WEIGHT_RELATIVE_TOLERANCE = 1e-3  # sqrt(sum (w1 - w2)^2 / sum w1^2) over every generator variable
# Seed 000 Table 1.
PAPER = {1: {"hours": 17.0, "psnr": 14.60, "ssim": 0.679}, 8: {"hours": 3.8, "psnr": 14.56, "ssim": 0.679}}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default=",".join(RUNS), help="CPU flagfiles (names in experiments/)")
    parser.add_argument("--steps", type=int, default=None, help="override the flagfiles' steps")
    parser.add_argument("--work_dir", default=common.default_work_dir("replicas"))
    return parser.parse_args()


def run(name, replicas, steps, args):
    label = f"{name}_r{replicas}_{steps or 'all'}"
    model_dir = os.path.join(args.work_dir, label)
    shutil.rmtree(model_dir, ignore_errors=True)
    os.makedirs(model_dir)
    flags = [f"--flagfile={common.EXPERIMENTS_DIR / (name + '.flags')}", f"--cpu_replicas={replicas}",
             f"--model_dir={model_dir}"]
    if steps:
        flags.append(f"--steps={steps}")
    wall = common.run_train_cli(flags, os.path.join(args.work_dir, f"{label}.log"))
    events = common.read_events(model_dir)
    end = events[-1]
    return {"replicas": end["replicas"], "steps": end["steps"], "train_loop_seconds": end["seconds"],
            "process_seconds": round(wall, 1), "curve": common.validation_curve(events),
            "final": common.rounded(end["validation"]["4"]), "saved": end["saved"]["4"]}


def compare(name, steps, args):
    """The run on 1 and on 2 replicas, and how far apart they end."""
    runs = {}
    for replicas in (1, 2):
        print(f"--- {name}, {steps or 'all'} step(s), {replicas} replica(s)")
        runs[str(replicas)] = run(name, replicas, steps, args)
    one, two = runs["1"], runs["2"]
    psnr_diffs = [abs(a["psnr_rgb"] - b["psnr_rgb"]) for a, b in zip(one["curve"], two["curve"])]
    ssim_diffs = [abs(a["ssim_rgb"] - b["ssim_rgb"]) for a, b in zip(one["curve"], two["curve"])]
    weights = compare_weights(one.pop("saved"), two.pop("saved"))
    equal = (max(psnr_diffs) <= PSNR_TOLERANCE_DB and max(ssim_diffs) <= SSIM_TOLERANCE
             and weights["relative_l2_diff"] <= WEIGHT_RELATIVE_TOLERANCE)
    result = {"steps": one["steps"], "runs": runs, "max_psnr_diff_db": round(max(psnr_diffs), 4),
              "max_ssim_diff": round(max(ssim_diffs), 6), "weights": weights, "equal_within_tolerance": equal,
              "time_ratio_2_over_1": round(two["train_loop_seconds"] / one["train_loop_seconds"], 3)}
    print(f"{name}, {one['steps']} step(s): PSNR diff {max(psnr_diffs):.4f} dB, weights relative L2 diff "
          f"{weights['relative_l2_diff']:.2e}, time x{result['time_ratio_2_over_1']}")
    return result


def compare_weights(path_a, path_b):
    """Distance between two saved generators: global relative L2 (sqrt(sum |a-b|^2 / sum |a|^2)) and the worst
    single value. A per-variable ratio would be meaningless for variables that start at zero (FSA gamma)."""
    import keras
    import numpy as np

    import sr_keras.models  # noqa: F401 - registers the layers and the generator class for loading

    a, b = keras.saving.load_model(path_a), keras.saving.load_model(path_b)
    squared_diff, squared_norm, worst, worst_name = 0.0, 0.0, 0.0, None
    for va, vb in zip(a.weights, b.weights):
        xa, xb = np.asarray(va.numpy(), "float64"), np.asarray(vb.numpy(), "float64")
        squared_diff += float(np.sum((xa - xb) ** 2))
        squared_norm += float(np.sum(xa ** 2))
        diff = float(np.max(np.abs(xa - xb))) if xa.size else 0.0
        if diff > worst:
            worst, worst_name = diff, va.path
    return {"variables": len(a.weights), "relative_l2_diff": float(np.sqrt(squared_diff / squared_norm)),
            "max_abs_diff": worst, "max_abs_diff_variable": worst_name}


def plot(results):
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    names = list(results)
    results = {n: results[n]["after_all_steps"] for n in names}
    width = 0.35
    for offset, replicas in ((-width / 2, "1"), (width / 2, "2")):
        axes[0].bar([i + offset for i in range(len(names))],
                    [results[n]["runs"][replicas]["train_loop_seconds"] for n in names], width,
                    label=f"{replicas} replica(s)")
        for n_index, n in enumerate(names):
            curve = results[n]["runs"][replicas]["curve"]
            axes[1].plot([r["step"] for r in curve], [r["psnr_rgb"] for r in curve],
                         marker="o" if replicas == "1" else "x", markersize=7 if replicas == "1" else 9,
                         linestyle="-" if replicas == "1" else ":", color=f"C{n_index}",
                         label=f"{n}, {replicas} replica(s)")
    axes[0].set_xticks(range(len(names)))
    axes[0].set_xticklabels(names, fontsize=8)
    axes[0].set_ylabel("training loop time (s)")
    axes[0].set_title(f"{results[names[0]]['steps']} steps each, 2 physical CPU cores", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[1].ticklabel_format(axis="y", useOffset=False)
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("validation PSNR, RGB (dB)")
    axes[1].set_title("validation PSNR, 1 replica (o) vs 2 replicas (x)", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return common.save_figure(fig, "replicas")


def main():
    args = parse_args()
    common.quiet_tensorflow()
    os.makedirs(args.work_dir, exist_ok=True)
    results = {}
    for name in args.runs.split(","):
        # After one step the runs differ only by float rounding; over many GAN steps that difference can grow.
        results[name] = {"after_1_step": compare(name, 1, args), "after_all_steps": compare(name, args.steps, args)}
    common.write_json("replicas", {
        "experiment": "1 vs 2 data-parallel replicas, same run (seed 000 Table 1)",
        "tolerances": {"psnr_db": PSNR_TOLERANCE_DB, "ssim": SSIM_TOLERANCE,
                       "weights_relative_l2": WEIGHT_RELATIVE_TOLERANCE},
        "paper": PAPER, "results": results,
    })
    plot(results)


if __name__ == "__main__":
    main()
