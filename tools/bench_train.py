"""Benchmark: training speed per model, against this machine's matmul ceiling, and the input pipeline's cost.

For each model at batch 16, LR crop 48, x4 (the EDSR setting), in one run:
- steps/s and images/s of the real distributed train step (PixelTrainer, L1, Adam) on one fixed batch;
- effective GFLOP/s = 3 x forward FLOPs per step / step time (forward + the two backward products), with the
  forward FLOPs counted from the layers' real output shapes (sr_keras.flops);
- the GFLOP/s of a 4096x4096x4096 float32 tf.matmul measured in the same process (the practical ceiling);
- for edsr_baseline, the step time fed by the real tf.data pipeline (embedded photos, cached) next to the step
  time on the fixed batch: their difference is the pipeline's cost.

    python tools/bench_train.py [--models=edsr_baseline,wdsr_b] [--steps=5] [--rounds=3]
"""
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sr_keras.cli_common import write_json_atomically  # noqa: E402

from sr_keras.data import embedded_photos  # noqa: E402
from sr_keras.data.pipeline import distributed_training_dataset  # noqa: E402
from sr_keras.flops import forward_flops, matmul_gflops  # noqa: E402
from sr_keras.training import make_config  # noqa: E402
from sr_keras.training.loop import build_trainer  # noqa: E402

flags.DEFINE_list("models", ["edsr_baseline", "wdsr_a", "wdsr_b", "srresnet", "a_srresnet"], "models to time")
flags.DEFINE_integer("batch_size", 16, "batch size")
flags.DEFINE_integer("crop_size", 48, "LR crop size")
flags.DEFINE_integer("scale", 4, "SR factor")
flags.DEFINE_integer("steps", 5, "timed steps per measurement (after 2 warm-up steps)")
flags.DEFINE_integer("rounds", 3, "edsr_baseline: alternating fixed-batch / pipeline-fed rounds")
flags.DEFINE_string("output", "docs/benchmarks/bench_train.json", "JSON written here ('' for none)")
FLAGS = flags.FLAGS


def _time(fn, steps):
    for _ in range(2):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def bench_model(name, strategy, with_pipeline):
    config = make_config(name, "/tmp/unused", scale=FLAGS.scale, crop_size=FLAGS.crop_size,
                         batch_size=FLAGS.batch_size, steps=10)
    keras.utils.set_random_seed(0)
    trainer, _ = build_trainer(config, strategy)
    source = embedded_photos("train", FLAGS.scale)
    dataset = distributed_training_dataset(strategy, source, FLAGS.crop_size, FLAGS.batch_size, seed=0, cache=True)
    iterator = iter(dataset)
    fixed = next(iterator)
    generator = trainer.generators[FLAGS.scale]
    lr_local = strategy.experimental_local_results(fixed[0])[0]
    flops = forward_flops(generator, lr_local)
    fixed_step = lambda: float(trainer.train_step(FLAGS.scale, fixed)["loss"])  # noqa: E731
    fed_step = lambda: float(trainer.train_step(FLAGS.scale, next(iterator))["loss"])  # noqa: E731
    if with_pipeline:
        for _ in range(len(source) + 2):  # fill the in-memory cache first
            next(iterator)
        # Alternate fixed-batch and pipeline-fed rounds so that drifts of the machine hit both alike.
        fixed_rounds, fed_rounds = [], []
        for _ in range(FLAGS.rounds):
            fixed_rounds.append(_time(fixed_step, FLAGS.steps))
            fed_rounds.append(_time(fed_step, FLAGS.steps))
        fixed_time, fed_time = float(np.mean(fixed_rounds)), float(np.mean(fed_rounds))
    else:
        fixed_time = _time(fixed_step, FLAGS.steps)
    row = {"model": name, "parameters": generator.count_params(), "forward_gflop_per_step": round(flops / 1e9, 2),
           "step_s_fixed_batch": round(fixed_time, 4), "steps_per_s": round(1 / fixed_time, 3),
           "images_per_s": round(FLAGS.batch_size / fixed_time, 2),
           "effective_gflops": round(3 * flops / fixed_time / 1e9, 1)}
    if with_pipeline:
        row["step_s_real_pipeline"] = round(fed_time, 4)
        row["rounds_fixed_s"] = [round(t, 4) for t in fixed_rounds]
        row["rounds_pipeline_s"] = [round(t, 4) for t in fed_rounds]
        row["pipeline_cost_percent"] = round(100 * (fed_time - fixed_time) / fixed_time, 2)
    return row


def main(argv):
    del argv
    strategy = tf.distribute.OneDeviceStrategy("/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0")
    ceiling = matmul_gflops()
    rows = [bench_model(name, strategy, with_pipeline=name == "edsr_baseline") for name in FLAGS.models]
    ceiling_after = matmul_gflops()
    print(f"4096^3 float32 matmul: {ceiling:.1f} GFLOP/s (before), {ceiling_after:.1f} GFLOP/s (after)")
    print(f"| model (batch {FLAGS.batch_size}, LR crop {FLAGS.crop_size}, x{FLAGS.scale}) | parameters | "
          "fwd GFLOP/step | steps/s | images/s | effective GFLOP/s | % of matmul |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        share = 100 * row["effective_gflops"] / ceiling
        row["percent_of_matmul"] = round(share, 1)
        print(f"| {row['model']} | {row['parameters']:,} | {row['forward_gflop_per_step']} | {row['steps_per_s']} | "
              f"{row['images_per_s']} | {row['effective_gflops']} | {share:.0f}% |")
    for row in rows:
        if "pipeline_cost_percent" in row:
            print(f"{row['model']}: step {row['step_s_fixed_batch']} s on a fixed batch, "
                  f"{row['step_s_real_pipeline']} s fed by the real pipeline: pipeline cost "
                  f"{row['pipeline_cost_percent']}%")
    if FLAGS.output:
        result = {"matmul_gflops": round(ceiling, 1), "matmul_gflops_after": round(ceiling_after, 1), "rows": rows,
                  "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
                  "gpu": bool(tf.config.list_physical_devices("GPU")), "tensorflow": tf.__version__,
                  "date": time.strftime("%Y-%m-%d"), "batch_size": FLAGS.batch_size, "crop_size": FLAGS.crop_size,
                  "scale": FLAGS.scale}
        write_json_atomically(result, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
