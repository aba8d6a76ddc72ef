"""Benchmark: large-image inference time and peak memory, whole-image vs tiled, against the matmul ceiling.

For edsr_baseline, wdsr_b and a_srresnet at x4 (paper sizes, untrained weights: speed and memory do not
depend on the values), `sr_keras.inference.upscale` (uint8 output) timed, each configuration in its own process so that its peak resident memory (ru_maxrss)
is its own:
- 500x350 -> 2000x1400 (seed 000's business case) and 2000x2000 -> 8000x8000, whole image and tiled;
- effective GFLOP/s = counted direct-convolution (and attention) FLOPs / time, next to a 4096^3 float32
  tf.matmul measured in the same run;
- for a_srresnet, peak memory of the 500x350 whole-image pass at FSA pool sizes 4, 8, 16, 32.
A configuration that fails (e.g. out of memory) is reported as such, not hidden.

    python tools/bench_infer.py [--tile=256] [--large_tile=192] [--overlap=8] [--skip_large_whole]
"""
import os
import platform
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

import _workers  # noqa: E402  (tools/_workers.py, beside this script)

from sr_keras.files import write_json  # noqa: E402

flags.DEFINE_list("models", ["edsr_baseline", "wdsr_b", "a_srresnet"], "models")
flags.DEFINE_integer("tile", 256, "LR tile size of the tiled 500x350 runs")
flags.DEFINE_integer("large_tile", 192, "LR tile size of the tiled 2000x2000 runs (bounds their memory)")
flags.DEFINE_integer("overlap", 8, "LR overlap of the tiled runs")
flags.DEFINE_integer("batch_size", 1, "tiles per model call")
flags.DEFINE_integer("pool_size", 4, "FSA pool size of a_srresnet in the size runs")
flags.DEFINE_list("pool_sizes", ["4", "8", "16", "32"], "a_srresnet pool sizes for the memory table")
flags.DEFINE_bool("skip_large_whole", False, "skip the 2000x2000 whole-image runs (they need > 20 GB)")
flags.DEFINE_integer("repeats", 3, "timed repeats of the 500x350 runs (the fastest counts)")
flags.DEFINE_string("output", "docs/benchmarks/bench_infer.json", "JSON written here ('' for none)")
flags.DEFINE_string("worker", None, "internal: run one configuration given as JSON and print its result")
FLAGS = flags.FLAGS

SIZES = {"500x350": (350, 500), "2000x2000": (2000, 2000)}


def run_one(spec):
    """One configuration in this process: build, warm up, time, and report peak RSS."""
    import numpy as np
    import tensorflow as tf

    from sr_keras.flops import forward_flops_for_size
    from sr_keras.inference import upscale
    from sr_keras.layers import set_pool_size
    from sr_keras.models import build_model

    model = build_model(spec["model"], scale=4, **({"pool_size": spec["pool_size"]}
                                                    if spec["model"] == "a_srresnet" else {}))
    height, width = spec["height"], spec["width"]
    rng = np.random.default_rng(0)
    lr = rng.uniform(0, 255, size=(height, width, 3)).astype("float32")
    if spec["model"] == "a_srresnet":
        set_pool_size(model, spec["pool_size"])
    tile = spec["tile"]
    warm = lr[: min(height, 64), : min(width, 64)]
    upscale(model, warm, tile=None)  # builds and warms the layers once
    times = []
    for _ in range(spec["repeats"]):
        began = time.perf_counter()
        out = upscale(model, lr, tile=tile, overlap=spec["overlap"], batch_size=spec["batch_size"], progress=False)
        times.append(time.perf_counter() - began)
        del out
    seconds = min(times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before counting FLOPs (own memory)
    flops = forward_flops_for_size(model, height, width)
    output_mp = 16 * height * width / 1e6
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(peak_mb), "s_per_output_mp": round(seconds / output_mp, 4),
            "gflops_counted": round(flops / 1e9, 1), "effective_gflops": round(flops / seconds / 1e9, 1),
            "tf": tf.__version__}


def spawn(spec):
    return _workers.spawn(__file__, spec)


def main(argv):
    del argv
    if _workers.run_if_worker(FLAGS.worker, run_one):
        return
    from sr_keras.flops import matmul_gflops

    ceiling = matmul_gflops()
    rows = []
    for model in FLAGS.models:
        for size, (height, width) in SIZES.items():
            for mode in ("whole", "tiled"):
                if size == "2000x2000" and mode == "whole" and FLAGS.skip_large_whole:
                    continue
                rows.append(spawn({"model": model, "size": size, "mode": mode, "height": height, "width": width,
                                   "tile": (FLAGS.tile if size == "500x350" else FLAGS.large_tile)
                                   if mode == "tiled" else None, "overlap": FLAGS.overlap,
                                   "batch_size": FLAGS.batch_size, "pool_size": FLAGS.pool_size,
                                   "repeats": FLAGS.repeats if size == "500x350" else 1}))
    pools = [spawn({"model": "a_srresnet", "size": "500x350", "mode": "whole", "height": 350, "width": 500,
                    "tile": None, "overlap": 0, "batch_size": 1, "pool_size": int(p), "repeats": 2})
             for p in FLAGS.pool_sizes]
    ceiling_after = matmul_gflops()
    print(f"4096^3 float32 matmul: {ceiling:.1f} GFLOP/s (before), {ceiling_after:.1f} GFLOP/s (after)")
    print("| model | input -> output | mode | time (s) | s per output MP | peak RSS (MB) | effective GFLOP/s "
          "| % of matmul |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        out = {"500x350": "2000x1400", "2000x2000": "8000x8000"}[row["size"]]
        mode = row["mode"] + (f" {row['tile']}/{row['overlap']}" if row["tile"] else "")
        if "failed" in row:
            print(f"| {row['model']} | {row['size']} -> {out} | {mode} | failed: {row['failed']} | | | | |")
            continue
        print(f"| {row['model']} | {row['size']} -> {out} | {mode} | {row['seconds']} | {row['s_per_output_mp']} | "
              f"{row['peak_rss_mb']} | {row['effective_gflops']} | {100 * row['effective_gflops'] / ceiling:.0f}% |")
    print("| a_srresnet pool size | peak RSS (MB), 500x350 -> 2000x1400 whole image | time (s) |")
    print("| ---: | ---: | ---: |")
    for row in pools:
        shown = row.get("peak_rss_mb", "failed: " + row.get("failed", ""))
        print(f"| {row['pool_size']} | {shown} | {row.get('seconds', '')} |")
    if FLAGS.output:
        write_json({"matmul_gflops": round(ceiling, 1), "matmul_gflops_after": round(ceiling_after, 1),
                               "rows": rows, "pool_sizes": pools, "date": time.strftime("%Y-%m-%d"),
                               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores"}, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
