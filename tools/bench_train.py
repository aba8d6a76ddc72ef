"""Benchmark: training speed per model, against this machine's matmul ceiling, and the input pipeline's cost.

For each model at batch 16, LR crop 48, x4 (the EDSR setting), in one run:
- steps/s and images/s of the real distributed train step (PixelTrainer, L1, Adam) on one fixed batch, the
  median of `--rounds` rounds of `--steps` steps;
- effective GFLOP/s = 3 x forward FLOPs per step / step time (forward + the two backward products), with the
  forward FLOPs counted from the layers' real output shapes (sr_keras.flops);
- the GFLOP/s of a 4096x4096x4096 float32 tf.matmul, measured in the same process right before each round of
  steps; the share of the matmul figure is taken per round (steps against the matmul just before them) and its
  median reported, because this shared VM's speed drifts by several percent within minutes;
- for edsr_baseline, the step time fed by the real tf.data pipeline (embedded photos, cached) next to the step
  time on the fixed batch (alternating rounds): their difference is the pipeline's cost;
- for edsr_baseline, each convolution kernel the step runs (forward, backward-data, backward-weights) timed
  alone on the model's own shapes: GFLOP/s per kind, and the step time and share of the matmul figure the
  step would reach if it were nothing but these kernels at these speeds (the kernel bound).

    python tools/bench_train.py [--models=edsr_baseline,wdsr_b] [--steps=5] [--rounds=3]
"""
import multiprocessing
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as `import sr_keras` sets it (sr_keras/__init__.py)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from sr_keras.files import write_json  # noqa: E402

from sr_keras.data import embedded_photos  # noqa: E402
from sr_keras.data.pipeline import distributed_training_dataset  # noqa: E402
from sr_keras.flops import conv_workload, forward_flops, matmul_gflops  # noqa: E402
from sr_keras.training import make_config  # noqa: E402
from sr_keras.training.build import build_trainer, use_mixed_precision  # noqa: E402

flags.DEFINE_list("models", ["edsr_baseline", "wdsr_a", "wdsr_b", "srresnet", "a_srresnet"], "models to time")
flags.DEFINE_integer("batch_size", 16, "batch size")
flags.DEFINE_integer("crop_size", 48, "LR crop size")
flags.DEFINE_integer("scale", 4, "SR factor")
flags.DEFINE_integer("steps", 5, "timed steps per measurement (after 2 warm-up steps)")
flags.DEFINE_integer("rounds", 3, "rounds per model (edsr_baseline: alternating fixed-batch / pipeline-fed)")
flags.DEFINE_integer("kernel_repeats", 5, "timed calls per convolution kernel for the kernel bound (0: skip it)")
flags.DEFINE_integer("matmul_size", 4096, "side of the float32 matmul ceiling")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op threads (0: TensorFlow's default)")
flags.DEFINE_bool("basicsr", True, "time BasicSR's EDSR step in PyTorch beside edsr_baseline's (needs torch)")
flags.DEFINE_bool("jit_compile", False, "compile the train step with XLA (Trainer.compile_step)")
flags.DEFINE_bool("mixed_precision", False, "train as --mixed_precision does (bfloat16 on CPUs, float16 on GPUs); "
                  "the matmul ceiling stays float32")
flags.DEFINE_string("output", "docs/benchmarks/bench_train.json", "JSON written here ('' for none)")
FLAGS = flags.FLAGS


def _time(fn, steps):
    for _ in range(2):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


@tf.function(reduce_retracing=True)
def _conv_forward(x, kernel, strides, padding):
    return tf.nn.conv2d(x, kernel, strides, padding)[0, 0, 0, 0]


@tf.function(reduce_retracing=True)
def _conv_backward_data(dy, kernel, input_sizes, strides, padding):
    return tf.raw_ops.Conv2DBackpropInput(input_sizes=input_sizes, filter=kernel, out_backprop=dy, strides=strides,
                                          padding=padding)[0, 0, 0, 0]


@tf.function(reduce_retracing=True)
def _conv_backward_weights(x, dy, filter_sizes, strides, padding):
    return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=filter_sizes, out_backprop=dy, strides=strides,
                                           padding=padding)[0, 0, 0, 0]


@tf.function(reduce_retracing=True)
def _empty_call(a, b, *unused):
    del unused
    return a[0, 0, 0, 0] + b[0, 0, 0, 0]


def _median_call(fn, args, repeats):
    """Median seconds of `fn(*args)`, less the median cost of calling an empty function with the same args."""
    def median(function):
        function(*args).numpy()  # trace and warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function(*args).numpy()
            times.append(time.perf_counter() - start)
        return float(np.median(times))
    return max(median(fn) - median(_empty_call), 0.0)


def kernel_bound(generator, lr_batch, repeats):
    """Times each convolution kernel of one training step alone, on the model's own shapes.

    Per convolution: the forward product (tf.nn.conv2d), the gradient with respect to the input
    (Conv2DBackpropInput; not for a layer fed by the data, whose input needs no gradient, as TensorFlow prunes
    it in the real step) and with respect to the kernel (Conv2DBackpropFilter). Returns a dict with the time
    and GFLOP/s of each kind and `step_s`, the sum: a step that ran nothing but these kernels.
    """
    workload = conv_workload(generator, lr_batch)
    first_input = tuple(int(d) for d in lr_batch.shape)
    cache, kinds = {}, {"forward": [0.0, 0], "backward_data": [0.0, 0], "backward_weights": [0.0, 0]}
    for conv in workload:
        key = (conv["input_shape"], conv["kernel_shape"], conv["strides"], conv["padding"])
        if key not in cache:
            x = tf.random.normal(conv["input_shape"])
            kernel = tf.random.normal(conv["kernel_shape"])
            strides, padding = [1, *conv["strides"], 1], conv["padding"]
            dy = tf.random.normal(tf.nn.conv2d(x, kernel, strides, padding).shape)
            input_sizes = tf.constant(conv["input_shape"], tf.int32)
            filter_sizes = tf.constant(conv["kernel_shape"], tf.int32)
            cache[key] = {
                "forward": _median_call(_conv_forward, (x, kernel, strides, padding), repeats),
                "backward_data": _median_call(_conv_backward_data, (dy, kernel, input_sizes, strides, padding),
                                              repeats),
                "backward_weights": _median_call(_conv_backward_weights, (x, dy, filter_sizes, strides, padding),
                                                 repeats)}
        for kind, seconds in cache[key].items():
            if kind == "backward_data" and conv["input_shape"] == first_input:
                continue
            kinds[kind][0] += seconds
            kinds[kind][1] += conv["flops"]
    result = {kind: {"seconds": round(t, 4), "gflops": round(f / t / 1e9, 1)} for kind, (t, f) in kinds.items()}
    result["step_s"] = round(sum(t for t, _ in kinds.values()), 4)
    result["effective_gflops"] = round(3 * sum(c["flops"] for c in workload) / result["step_s"] / 1e9, 1)
    return result


def start_basicsr():
    """A child process running BasicSR's EDSR step (tools/torch_basicsr.py); None when torch is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("no BasicSR row: PyTorch is not installed (pip install torch==2.13.0)", file=sys.stderr)
        return None
    import torch_basicsr

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    threads = int(tf.config.threading.get_intra_op_parallelism_threads()) or os.cpu_count()
    process = context.Process(target=torch_basicsr.serve, args=(child, threads), daemon=True,
                              kwargs=dict(batch_size=FLAGS.batch_size, crop_size=FLAGS.crop_size,
                                          scale=FLAGS.scale))
    process.start()
    return process, parent, parent.recv(), f"PyTorch {torch.__version__}, {threads} threads"


def bench_model(name, strategy, with_pipeline):
    config = make_config(name, "/tmp/unused", scale=FLAGS.scale, crop_size=FLAGS.crop_size,
                         batch_size=FLAGS.batch_size, steps=10, mixed_precision=FLAGS.mixed_precision)
    keras.utils.set_random_seed(0)
    trainer = build_trainer(config, strategy)
    if FLAGS.jit_compile:
        trainer.compile_step(jit_compile=True)
    basicsr = start_basicsr() if FLAGS.basicsr and name == "edsr_baseline" else None
    source = embedded_photos("train", FLAGS.scale)
    dataset = distributed_training_dataset(strategy, source, FLAGS.crop_size, FLAGS.batch_size, seed=0, cache=True)
    iterator = iter(dataset)
    fixed = next(iterator)
    generator = trainer.generators[FLAGS.scale]
    lr_local = strategy.experimental_local_results(fixed[0])[0]
    flops = forward_flops(generator, lr_local)
    fixed_step = lambda: float(trainer.train_step(FLAGS.scale, fixed)["loss"])  # noqa: E731
    fed_step = lambda: float(trainer.train_step(FLAGS.scale, next(iterator))["loss"])  # noqa: E731
    fixed_rounds, fed_rounds = [], []
    if with_pipeline:
        for _ in range(len(source) + 2):  # fill the in-memory cache first
            next(iterator)
    ceilings, shares, basicsr_rounds = [], [], []
    for _ in range(FLAGS.rounds):
        # Each round pairs a matmul measurement with the steps right after it, so that the share of the
        # ceiling compares the two under the same load; fixed-batch and pipeline-fed rounds alternate so that
        # drifts of the machine hit both alike.
        ceilings.append(matmul_gflops(FLAGS.matmul_size))
        fixed_rounds.append(_time(fixed_step, FLAGS.steps))
        shares.append(100 * 3 * flops / fixed_rounds[-1] / 1e9 / ceilings[-1])
        if with_pipeline:
            fed_rounds.append(_time(fed_step, FLAGS.steps))
        if basicsr:
            basicsr[1].send(FLAGS.steps)
            basicsr_rounds.append(basicsr[1].recv())
    if basicsr:
        basicsr[1].send(None)
        basicsr[0].join()
    fixed_time = float(np.median(fixed_rounds))
    row = {"model": name, "parameters": generator.count_params(), "forward_flops": int(flops),
           "forward_gflop_per_step": round(flops / 1e9, 2), "step_s_fixed_batch": round(fixed_time, 4),
           "rounds_fixed_s": [round(t, 4) for t in fixed_rounds],
           "steps_per_s": round(1 / fixed_time, 3), "images_per_s": round(FLAGS.batch_size / fixed_time, 2),
           "effective_gflops": round(3 * flops / fixed_time / 1e9, 1),
           "rounds_matmul_gflops": [round(c, 1) for c in ceilings],
           "rounds_percent_of_matmul": [round(p, 1) for p in shares],
           "percent_of_matmul": round(float(np.median(shares)), 1)}
    if basicsr:
        basicsr_time = float(np.median(basicsr_rounds))
        row["basicsr"] = {"parameters": basicsr[2], "step_s": round(basicsr_time, 4),
                          "rounds_s": [round(t, 4) for t in basicsr_rounds], "torch": basicsr[3],
                          "speedup": round(basicsr_time / fixed_time, 2)}
    if with_pipeline:
        fed_time = float(np.median(fed_rounds))
        row["step_s_real_pipeline"] = round(fed_time, 4)
        row["rounds_pipeline_s"] = [round(t, 4) for t in fed_rounds]
        row["pipeline_cost_percent"] = round(100 * (fed_time - fixed_time) / fixed_time, 2)
        if FLAGS.kernel_repeats > 0 and not FLAGS.mixed_precision:  # the kernel bound times float32 kernels
            row["kernel_bound"] = kernel_bound(generator, lr_local, FLAGS.kernel_repeats)
    return row


def main(argv):
    del argv
    if FLAGS.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    if FLAGS.mixed_precision:
        use_mixed_precision()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    strategy = tf.distribute.OneDeviceStrategy("/gpu:0" if gpu else "/cpu:0")
    rows = [bench_model(name, strategy, with_pipeline=name == "edsr_baseline") for name in FLAGS.models]
    ceilings = [c for row in rows for c in row["rounds_matmul_gflops"]]
    ceiling = float(np.median(ceilings))
    size = FLAGS.matmul_size
    print(f"{size}^3 float32 matmul: median {ceiling:.1f} GFLOP/s of {len(ceilings)} measurements "
          f"({min(ceilings):.0f} to {max(ceilings):.0f}), one before each round of steps")
    print(f"| model (batch {FLAGS.batch_size}, LR crop {FLAGS.crop_size}, x{FLAGS.scale}) | parameters | "
          "fwd GFLOP/step | steps/s | images/s | effective GFLOP/s | % of matmul (per round) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        rounds = ", ".join(f"{p:.0f}" for p in row["rounds_percent_of_matmul"])
        print(f"| {row['model']} | {row['parameters']:,} | {row['forward_gflop_per_step']} | {row['steps_per_s']} | "
              f"{row['images_per_s']} | {row['effective_gflops']} | {row['percent_of_matmul']:.0f}% ({rounds}) |")
    for row in rows:
        if "basicsr" in row:
            torch_row = row["basicsr"]
            print(f"{row['model']}: sr_keras step {row['step_s_fixed_batch']} s, BasicSR ("
                  f"{torch_row['torch']}, EDSR of {torch_row['parameters']:,} parameters) {torch_row['step_s']} s "
                  f"per step (rounds {torch_row['rounds_s']}): sr_keras is {torch_row['speedup']}x as fast")
        if "pipeline_cost_percent" in row:
            print(f"{row['model']}: step {row['step_s_fixed_batch']} s on a fixed batch, "
                  f"{row['step_s_real_pipeline']} s fed by the real pipeline: pipeline cost "
                  f"{row['pipeline_cost_percent']}%")
        bound = row.get("kernel_bound")
        if bound:
            bound["percent_of_matmul"] = round(100 * bound["effective_gflops"] / ceiling, 1)
            kinds = ", ".join(f"{kind.replace('_', ' ')} {bound[kind]['gflops']} GFLOP/s "
                              f"({100 * bound[kind]['gflops'] / ceiling:.0f}%) in {bound[kind]['seconds']} s"
                              for kind in ("forward", "backward_data", "backward_weights"))
            print(f"{row['model']} convolution kernels alone: {kinds}; a step of only these kernels would take "
                  f"{bound['step_s']} s = {bound['effective_gflops']} GFLOP/s, {bound['percent_of_matmul']}% of "
                  "matmul")
    if FLAGS.output:
        result = {"matmul_gflops": round(ceiling, 1), "matmul_gflops_measurements": [round(c, 1) for c in ceilings],
                  "rows": rows, "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
                  "gpu": gpu, "tensorflow": tf.__version__,
                  "date": time.strftime("%Y-%m-%d"), "batch_size": FLAGS.batch_size, "crop_size": FLAGS.crop_size,
                  "scale": FLAGS.scale, "steps": FLAGS.steps, "rounds": FLAGS.rounds,
                  "compute_dtype": keras.mixed_precision.global_policy().compute_dtype}
        write_json(result, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
