"""One A-SRResNet trained with plain attention (FSA pool 1), evaluated with FSA pool sizes 1 to 32
(seed 000 Table 5).

FSA max-pools its input with kernel = stride = p before attention and copies the result back to the input
size, so p can change after training without touching a weight. Each evaluation runs in its own process,
which reports PSNR/SSIM on the three held-out photos and its peak resident memory (`resource.getrusage`);
the attention-map bytes are also computed from shapes (`sr_keras.inference.attention_bytes`), for those
photos and for the seed's 500x350 LR (2000x1400 HR) images.

    python experiments/pool_size.py               # about 6 minutes on 2 CPU cores

Trains the model first (crop_size.py's CPU-scale A-SRResNet on 96px LR crops, as in the seed's Table 5),
unless --model_path names a saved A-SRResNet. Writes docs/experiments/pool_size.json and pool_size.png.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

import common

SCALE = 4
# Seed 000 Table 5: A-SRResNet, 3e4 steps on 8 GPUs, crop 96, 11K lodging images (PSNR, SSIM).
PAPER = {32: (23.13, 0.761), 16: (23.35, 0.764), 8: (23.64, 0.766), 4: (23.94, 0.768)}
SEED_LR_SIZE = (350, 500)  # height, width of the seed's LR images (2000x1400 HR / 4)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pools", default="1,2,4,8,16,32", help="FSA pool sizes evaluated")
    parser.add_argument("--model_path", default=None, help="a trained A-SRResNet .keras (skips training)")
    parser.add_argument("--crop_size", type=int, default=48, help="LR crop of the training run")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work_dir", default=common.default_work_dir("pool_size"))
    parser.add_argument("--replot", action="store_true", help="redraw the PNG from the JSON, no runs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    return parser.parse_args()


def peak_rss_mb():
    """This process's peak resident set size so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args):
    """One evaluation at one pool size, in a fresh process: metrics, peak memory, attention bytes."""
    import keras

    from sr_keras import metrics
    from sr_keras.inference import attention_bytes
    from sr_keras.inference.memory import attention_layers
    from sr_keras.layers import set_pool_size

    model = keras.saving.load_model(args.model_path)
    set_pool_size(model, args.pool)
    photos = common.held_out_photos(SCALE)
    before = peak_rss_mb()
    records, per_photo = [], []
    for name, lr, hr in photos:
        record = metrics.image_metrics(common.super_resolve(model, lr), hr, crop_border=SCALE)
        records.append(record)
        per_photo.append({"photo": name, "lr_size": list(lr.shape[:2]),
                          "attention_bytes": attention_bytes(model, *lr.shape[:2]), **common.rounded(record)})
    result = {"pool_size": args.pool, "mean": common.rounded(metrics.mean_metrics(records)),
              "per_photo": per_photo, "peak_rss_mb_after_load": round(before, 1),
              "peak_rss_mb": round(peak_rss_mb(), 1),
              "attention_bytes_seed_500x350": attention_bytes(model, *SEED_LR_SIZE),
              "fsa_gamma": [float(layer.gamma.numpy()) for layer in attention_layers(model)]}
    with open(args.output, "w") as handle:
        json.dump(result, handle)


def train_model(args):
    import tensorflow as tf

    from crop_size import a_srresnet_config
    from sr_keras.training import train

    model_dir = os.path.join(args.work_dir, f"a_srresnet_crop{args.crop_size}")
    shutil.rmtree(model_dir, ignore_errors=True)
    config = a_srresnet_config(model_dir, args.crop_size, argparse.Namespace(
        batch_size=args.batch_size, steps=args.steps, eval_every=args.steps, seed=args.seed))
    summary = train(config, strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))
    return summary["saved"][str(SCALE)], {"crop_size": args.crop_size, "steps": args.steps,
                                          "batch_size": args.batch_size, "seed": args.seed,
                                          "seconds": summary["seconds"]}


def evaluate_all(model_path, pools):
    results = []
    for pool in pools:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            output = handle.name
        command = [sys.executable, os.path.abspath(__file__), "--worker", f"--model_path={model_path}",
                   f"--pool={pool}", f"--output={output}"]
        completed = subprocess.run(command, capture_output=True, text=True, cwd=common.ROOT)
        if completed.returncode:
            raise RuntimeError(f"evaluation at pool {pool} failed:\n{completed.stderr[-2000:]}")
        with open(output) as handle:
            results.append(json.load(handle))
        os.unlink(output)
        row = results[-1]
        print(f"pool {pool}: PSNR {row['mean']['psnr_rgb']:.3f} SSIM {row['mean']['ssim_rgb']:.4f} "
              f"peak RSS {row['peak_rss_mb']:.0f} MB")
    return results


def plot(results, training):
    plt = common.pyplot()
    pools = [r["pool_size"] for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = ((axes[0], "psnr_rgb", "PSNR, RGB (dB)", 0.5), (axes[1], "ssim_rgb", "SSIM, RGB", 0.01))
    for ax, key, label, half_span in panels:
        values = [r["mean"][key] for r in results]
        ax.plot(pools, values, marker="o", label="ours (3 held-out photos, left axis)")
        middle = (max(values) + min(values)) / 2  # a fixed span keeps differences of 0.001 dB from looking large
        ax.set_ylim(middle - max(half_span, max(values) - middle), middle + max(half_span, max(values) - middle))
        ax.set_ylabel(f"{label}, ours")
    paper_pools = sorted(PAPER)
    for ax, index in ((axes[0], 0), (axes[1], 1)):
        twin = ax.twinx()
        twin.plot(paper_pools, [PAPER[p][index] for p in paper_pools], marker="s", color="tab:red",
                  linestyle="--", label="seed 000 Table 5 (right axis)")
        twin.tick_params(axis="y", colors="tab:red")
        twin.grid(False)
        lines = ax.get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        ax.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=8, loc="lower left")
    axes[2].plot(pools, [r["peak_rss_mb"] for r in results], marker="o", label="measured peak RSS of the process")
    axes[2].plot(pools, [max(p["attention_bytes"] for p in r["per_photo"]) / 2 ** 20 for r in results],
                 marker="^", label="attention maps, largest photo (estimate)")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("memory (MB)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(pools)
        ax.set_xticklabels([str(p) for p in pools])
        ax.set_xlabel("FSA pool size p at test time")
    fig.suptitle(f"A-SRResNet x{SCALE} trained with pool 1 (LR crop {training.get('crop_size', '?')}), "
                 f"evaluated with pool p", fontsize=10)
    fig.tight_layout()
    return common.save_figure(fig, "pool_size")


def main():
    args = parse_args()
    common.quiet_tensorflow()
    if args.worker:
        return worker(args)
    if args.replot:
        with open(common.RESULTS_DIR / "pool_size.json") as handle:
            saved = json.load(handle)
        return plot(saved["results"], saved["training"])
    pools = [int(p) for p in args.pools.split(",")]
    if args.model_path:
        model_path, training = args.model_path, {"model_path": args.model_path}
    else:
        model_path, training = train_model(args)
    results = evaluate_all(model_path, pools)
    for row in results:
        row["paper"] = ({"psnr": PAPER[row["pool_size"]][0], "ssim": PAPER[row["pool_size"]][1]}
                        if row["pool_size"] in PAPER else None)
    from crop_size import A_SRRESNET

    common.write_json("pool_size", {
        "experiment": "A-SRResNet FSA pool size at test time (seed 000 Table 5)", "scale": SCALE,
        "model": dict(A_SRRESNET, model="a_srresnet", decay_steps=[]), "training": training,
        "data": "embedded photos: 6 training, 3 held-out validation (chelsea, coffee, ihc)",
        "memory_note": "peak_rss_mb: whole evaluation process (TensorFlow, model, 3 photos); attention_bytes: "
                       "the FSA maps alone (2 float32 maps of N^2 entries, N = pooled positions)",
        "results": results,
    })
    plot(results, training)


if __name__ == "__main__":
    main()
