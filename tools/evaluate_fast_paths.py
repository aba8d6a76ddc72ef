"""The quality cost of each `upscale --fast` path for every model shipped in the package, on the held-out photos.

For each shipped model (the defaults x2, x3, x4 and the real-photo models x2, x4) and each path of
`sr_keras.inference.fast.PATHS` that runs here: mean Y-PSNR (border of `scale` pixels cropped) over the
held-out photos (tools/held_out.py: scikit-image's chelsea, coffee and ihc, and the EveningGlow and Path
wallpapers when plasma-workspace-wallpapers is installed) with MATLAB-bicubic LR, whole images in tiles of 256;
the cost is float32's mean minus the path's. Also the path `upscale --fast` takes for the model on this machine
(its own rule, measured on the training photos) and the seconds per image of each path. The rule's bound is
`MAX_COST_DB`; a path the rule takes must cost at most that here too, which the table's last column checks.

    python tools/evaluate_fast_paths.py [--models=wdsr_b_default_x4,...] [--output=docs/benchmarks/fast_paths]
"""
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from held_out import held_out_sets  # noqa: E402

flags.DEFINE_list("models", ["wdsr_b_default_x2", "wdsr_b_default_x3", "wdsr_b_default_x4", "wdsr_b_real_x2",
                             "wdsr_b_real_x4"], "shipped models to evaluate")
flags.DEFINE_string("output", "docs/benchmarks/fast_paths", "writes <output>.json and <output>.md ('' for none)")
flags.DEFINE_integer("tile", 256, "LR tile size")
FLAGS = flags.FLAGS


def evaluate(name, folder):
    from sr_keras import evaluation, pretrained
    from sr_keras.inference import predict
    from sr_keras.inference.fast import MAX_COST_DB, PATHS, PathUnavailable, fast_model, path_runner
    from sr_keras.metrics import psnr

    model = pretrained.load(name)
    scale = pretrained.get(name).scale
    pairs = [pair for source in held_out_sets(scale).values() if source is not None
             for pair in evaluation.load_pairs(source)]
    rows = {}
    for path in PATHS:
        try:
            runner = path_runner(path, model, os.path.join(folder, name))
        except PathUnavailable as error:
            rows[path] = {"unavailable": str(error)}
            continue
        scores, seconds = [], []
        for _, lr, hr in pairs:
            start = time.perf_counter()
            sr = predict(runner, lr, tile=FLAGS.tile, overlap=16)
            seconds.append(time.perf_counter() - start)
            scores.append(float(psnr(np.clip(sr, 0, 255), hr, crop_border=scale, y_channel=True)))
        rows[path] = {"psnr_y": round(float(np.mean(scores)), 4), "per_image": [round(s, 3) for s in scores],
                      "seconds_per_image": round(float(np.mean(seconds)), 3)}
        print(f"{name} {path}: {rows[path]['psnr_y']:.3f} dB, {rows[path]['seconds_per_image']} s per image",
              file=sys.stderr)
    for figures in rows.values():
        if "psnr_y" in figures:
            figures["cost_db"] = round(rows["float32"]["psnr_y"] - figures["psnr_y"], 4)
    chosen = fast_model(model, cache_dir=os.path.join(folder, "cache")).path
    return {"model": name, "scale": scale, "images": [n for n, _, _ in pairs], "paths": rows, "fast": chosen,
            "fast_within_bound": rows[chosen]["cost_db"] <= MAX_COST_DB}


def markdown(results, bound):
    from sr_keras.inference.fast import PATHS

    lines = [f"| model | {' | '.join(PATHS)} | `--fast` takes | its held-out cost <= {bound} dB |",
             "| --- |" + " ---: |" * len(PATHS) + " --- | --- |"]
    for result in results:
        cells = []
        for path in PATHS:
            figures = result["paths"][path]
            cells.append("n/a" if "unavailable" in figures else
                         f"{figures['psnr_y']:.2f} dB ({figures['cost_db']:+.3f}), {figures['seconds_per_image']} s")
        lines.append(f"| {result['model']} | {' | '.join(cells)} | {result['fast']} | "
                     f"{'yes' if result['fast_within_bound'] else 'NO'} |")
    return "\n".join(lines)


def main(argv):
    del argv
    from sr_keras.files import write_json
    from sr_keras.inference.fast import MAX_COST_DB

    with tempfile.TemporaryDirectory() as folder:
        results = [evaluate(name, folder) for name in FLAGS.models]
    table = markdown(results, MAX_COST_DB)
    print(table)
    if FLAGS.output:
        images = sorted({os.path.basename(image) for result in results for image in result["images"]})
        header = (f"Held-out mean Y-PSNR of each `--fast` path (cost against float32 in brackets) and seconds per "
                  f"image, {time.strftime('%Y-%m-%d')}, images: {', '.join(images)}. "
                  f"`python tools/evaluate_fast_paths.py`.\n\n")
        with open(FLAGS.output + ".md", "w") as handle:
            handle.write(header + table + "\n")
        write_json({"date": time.strftime("%Y-%m-%d"), "max_cost_db": MAX_COST_DB, "results": results},
                   FLAGS.output + ".json")
    if not all(result["fast_within_bound"] for result in results):
        print("a path --fast takes costs more than the bound on the held-out photos", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    app.run(main)
