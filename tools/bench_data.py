"""Benchmark: does the tf.data pipeline keep up with training?

Measures, in one run on this machine, the LR/HR crops (and batches) per second that `training_dataset`
delivers for batch 16, LR crop 48, x4 over the embedded photos, and the training steps per second of
`edsr_baseline` (L1 loss, Adam) at that batch on one fixed in-memory batch. The ratio is the headroom of the
input pipeline: above 1 the model, not the data, limits training. With `--degradation=realesrgan` (or
bsrgan) the LR crops are made by that degradation inside the pipeline; `--model` and `--num_res_blocks` time
another generator's step (the real-photo models: WDSR-B, 16 blocks, LR crop 24, bfloat16).

    python tools/bench_data.py [--steps=3] [--batches=200] [--output=docs/benchmarks/bench_data.json]
    python tools/bench_data.py --degradation=realesrgan --model=wdsr_b --num_res_blocks=16 --crop_size=24 \
        --mixed_precision --steps=50 --output=docs/benchmarks/bench_data_realesrgan.json
"""
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as `import sr_keras` sets it (sr_keras/__init__.py)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sr_keras.files import write_json  # noqa: E402

from sr_keras.data import embedded_photos, training_dataset  # noqa: E402
from sr_keras.models import build_model  # noqa: E402

flags.DEFINE_integer("batch_size", 16, "batch size")
flags.DEFINE_integer("crop_size", 48, "LR crop size")
flags.DEFINE_integer("scale", 4, "SR factor")
flags.DEFINE_integer("batches", 200, "pipeline batches timed (after a warm-up epoch)")
flags.DEFINE_integer("steps", 3, "training steps timed (after 2 warm-up steps)")
flags.DEFINE_string("output", "docs/benchmarks/bench_data.json", "JSON written here ('' for none)")
flags.DEFINE_enum("degradation", "bicubic", ["bicubic", "realesrgan", "bsrgan"], "how the pipeline makes the LR")
flags.DEFINE_integer("pair_pool", 0, "the training-pair pool of the real-world degradations")
flags.DEFINE_string("model", "edsr_baseline", "the generator whose training step is timed")
flags.DEFINE_integer("num_res_blocks", None, "its residual blocks (default: the paper's)")
flags.DEFINE_bool("mixed_precision", False, "time the step under the mixed_bfloat16 policy")
FLAGS = flags.FLAGS


def time_pipeline(cache):
    source = embedded_photos("train", scale=FLAGS.scale)
    dataset = training_dataset(source, FLAGS.crop_size, FLAGS.batch_size, seed=0, cache=cache,
                               degradation=FLAGS.degradation, pair_pool=FLAGS.pair_pool)
    iterator = iter(dataset)
    for _ in range(len(source) + 5):  # warm-up: fills the cache and the prefetch buffer
        next(iterator)
    start = time.perf_counter()
    for _ in range(FLAGS.batches):
        next(iterator)
    seconds = time.perf_counter() - start
    return FLAGS.batches / seconds


def time_training():
    if FLAGS.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    sizes = {"num_res_blocks": FLAGS.num_res_blocks} if FLAGS.num_res_blocks else {}
    model = build_model(FLAGS.model, scale=FLAGS.scale, **sizes)
    optimizer = keras.optimizers.Adam(1e-4)
    lr, hr = next(iter(training_dataset(embedded_photos("train", scale=FLAGS.scale), FLAGS.crop_size,
                                        FLAGS.batch_size, seed=0)))

    @tf.function
    def step(lr, hr):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(tf.cast(model(lr, training=True), tf.float32) - hr))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for _ in range(2):
        step(lr, hr).numpy()
    start = time.perf_counter()
    for _ in range(FLAGS.steps):
        step(lr, hr).numpy()
    return FLAGS.steps / (time.perf_counter() - start)


def main(argv):
    del argv
    results = {"batch_size": FLAGS.batch_size, "crop_size": FLAGS.crop_size, "scale": FLAGS.scale,
               "degradation": FLAGS.degradation, "pair_pool": FLAGS.pair_pool, "model": FLAGS.model,
               "num_res_blocks": FLAGS.num_res_blocks, "mixed_precision": FLAGS.mixed_precision,
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU"
               if not tf.config.list_physical_devices("GPU") else "GPU",
               "tensorflow": tf.__version__, "date": time.strftime("%Y-%m-%d")}
    for cache in (True, False):
        batches_per_second = time_pipeline(cache)
        results[f"pipeline_batches_per_s_cache_{cache}"] = round(batches_per_second, 2)
        results[f"pipeline_crops_per_s_cache_{cache}"] = round(batches_per_second * FLAGS.batch_size, 1)
    steps = time_training()
    results[f"{FLAGS.model}_steps_per_s"] = round(steps, 4)
    results["headroom_cache_True"] = round(results["pipeline_batches_per_s_cache_True"] / steps, 1)
    results["headroom_cache_False"] = round(results["pipeline_batches_per_s_cache_False"] / steps, 1)
    results["summary"] = (f"{results['pipeline_crops_per_s_cache_True']} {FLAGS.degradation} crops/s (decoded images "
                          f"cached in memory, degradation computed for every batch) against "
                          f"{round(steps * FLAGS.batch_size, 1)} crops/s consumed by {FLAGS.model} training "
                          f"steps: {results['headroom_cache_True']}x, measured {results['date']}")
    print(f"| measure (batch {FLAGS.batch_size}, LR crop {FLAGS.crop_size}, x{FLAGS.scale}, {FLAGS.degradation} "
          "LR) | value |")
    print("| --- | ---: |")
    for cache in (True, False):
        print(f"| pipeline, cache={cache}: crops/s | {results[f'pipeline_crops_per_s_cache_{cache}']} |")
        print(f"| pipeline, cache={cache}: batches/s | {results[f'pipeline_batches_per_s_cache_{cache}']} |")
    print(f"| {FLAGS.model} training: steps/s | {results[f'{FLAGS.model}_steps_per_s']} |")
    print(f"| headroom (pipeline batches/s / training steps/s), cache=True | {results['headroom_cache_True']}x |")
    print(f"| headroom, cache=False | {results['headroom_cache_False']}x |")
    if FLAGS.output:
        write_json(results, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
