"""Benchmark: does the tf.data pipeline keep up with training?

Measures, in one run on this machine, the LR/HR crops (and batches) per second that `training_dataset`
delivers for batch 16, LR crop 48, x4 over the embedded photos, and the training steps per second of
`edsr_baseline` (L1 loss, Adam) at that batch on one fixed in-memory batch. The ratio is the headroom of the
input pipeline: above 1 the model, not the data, limits training.

    python tools/bench_data.py [--steps=3] [--batches=200] [--output=docs/benchmarks/bench_data.json]
"""
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
FLAGS = flags.FLAGS


def time_pipeline(cache):
    source = embedded_photos("train", scale=FLAGS.scale)
    dataset = training_dataset(source, FLAGS.crop_size, FLAGS.batch_size, seed=0, cache=cache)
    iterator = iter(dataset)
    for _ in range(len(source) + 5):  # warm-up: fills the cache and the prefetch buffer
        next(iterator)
    start = time.perf_counter()
    for _ in range(FLAGS.batches):
        next(iterator)
    seconds = time.perf_counter() - start
    return FLAGS.batches / seconds


def time_training():
    model = build_model("edsr_baseline", scale=FLAGS.scale)
    optimizer = keras.optimizers.Adam(1e-4)
    lr, hr = next(iter(training_dataset(embedded_photos("train", scale=FLAGS.scale), FLAGS.crop_size,
                                        FLAGS.batch_size, seed=0)))

    @tf.function
    def step(lr, hr):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(model(lr, training=True) - hr))
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
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU"
               if not tf.config.list_physical_devices("GPU") else "GPU",
               "tensorflow": tf.__version__, "date": time.strftime("%Y-%m-%d")}
    for cache in (True, False):
        batches_per_second = time_pipeline(cache)
        results[f"pipeline_batches_per_s_cache_{cache}"] = round(batches_per_second, 2)
        results[f"pipeline_crops_per_s_cache_{cache}"] = round(batches_per_second * FLAGS.batch_size, 1)
    steps = time_training()
    results["edsr_baseline_steps_per_s"] = round(steps, 4)
    results["headroom_cache_True"] = round(results["pipeline_batches_per_s_cache_True"] / steps, 1)
    results["headroom_cache_False"] = round(results["pipeline_batches_per_s_cache_False"] / steps, 1)
    print(f"| measure (batch {FLAGS.batch_size}, LR crop {FLAGS.crop_size}, x{FLAGS.scale}) | value |")
    print("| --- | ---: |")
    for cache in (True, False):
        print(f"| pipeline, cache={cache}: crops/s | {results[f'pipeline_crops_per_s_cache_{cache}']} |")
        print(f"| pipeline, cache={cache}: batches/s | {results[f'pipeline_batches_per_s_cache_{cache}']} |")
    print(f"| edsr_baseline training: steps/s | {results['edsr_baseline_steps_per_s']} |")
    print(f"| headroom (pipeline batches/s / training steps/s), cache=True | {results['headroom_cache_True']}x |")
    print(f"| headroom, cache=False | {results['headroom_cache_False']}x |")
    if FLAGS.output:
        write_json(results, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
