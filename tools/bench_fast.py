"""Benchmark: a shipped model's float32 path against the path `upscale --fast` takes, side by side in one process.

scikit-image's coffee photo cut to 500x350 and upscaled whole (`sr_keras.inference.upscale`); one warm-up call
each, then --rounds alternating rounds; prints the seconds of every round and the best of each.

    python tools/bench_fast.py [--model=wdsr_b_default_x4] [--rounds=3]
"""
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

flags.DEFINE_string("model", "wdsr_b_default_x4", "a shipped model's name (sr_keras.pretrained)")
flags.DEFINE_integer("rounds", 3, "alternating timed rounds")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from PIL import Image
    from skimage import data

    from sr_keras import pretrained
    from sr_keras.inference import upscale
    from sr_keras.inference.fast import fast_model

    photo = np.asarray(Image.fromarray(data.coffee()).crop((50, 25, 550, 375)))
    model = pretrained.load(FLAGS.model)
    fast = fast_model(model, cache_dir=tempfile.mkdtemp(prefix="bench_fast-"), log=print)
    print(f"--fast: {fast.summary()}")
    runs = {"float32": model, fast.path: fast}
    times = {name: [] for name in runs}
    for run in runs.values():
        upscale(run, photo)
    for _ in range(FLAGS.rounds):
        for name, run in runs.items():
            began = time.perf_counter()
            upscale(run, photo)
            times[name].append(round(time.perf_counter() - began, 3))
    for name, measured in times.items():
        print(f"{FLAGS.model} {name}: best {min(measured):.3f} s of {measured}")


if __name__ == "__main__":
    app.run(main)
