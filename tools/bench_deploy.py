"""Benchmark: one model in every export runtime against Keras, on one real photo, each in its own process.

The model (default: a full-size edsr_baseline x4 with untrained weights, seed 0; speed does not depend on the
values) is exported once per configuration by `sr_keras.export.export_model` (dynamic height and width unless
--input_size) and each export is run on the same LR photo crop (coffee.png, 350x500 -> 1400x2000 at x4) in a
fresh process through `sr_keras.export.Runtime` with --threads threads: one warm-up, then --repeats timed runs;
the list of configurations runs --rounds times in turn and each row keeps its fastest run (the machine may be
shared: the 1-minute load average around the runs is printed). Keras is `sr_keras.inference.predict` (whole
image, float output). Each row: time, time relative to Keras, peak resident memory of the process (every
process imports TensorFlow through sr_keras, about 0.6 GB of it), and the output's max |diff| and PSNR against
Keras on the [0, 255] scale (clipped). A configuration that fails is reported as such.

    python tools/bench_deploy.py [--model=edsr_baseline] [--scale=4] [--lr_size=350x500] [--repeats=3] [--rounds=2]
"""
import os
import platform
import resource
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

import _workers  # noqa: E402  (tools/_workers.py, beside this script)

flags.DEFINE_string("model", "edsr_baseline", "registry name of the model (paper size, untrained weights)")
flags.DEFINE_string("pretrained", None, "a named trained model instead of --model")
flags.DEFINE_integer("scale", 4, "upscaling factor (with --model)")
flags.DEFINE_string("lr_size", "350x500", "LR HEIGHTxWIDTH of the photo crop (the README's 500x350 photo)")
flags.DEFINE_string("input_size", None, "HEIGHTxWIDTH fixed in the exports (default: dynamic)")
flags.DEFINE_integer("pool_size", 4, "FSA pool size (a_srresnet only)")
flags.DEFINE_integer("threads", None, "CPU threads of every runtime (default: every core the process may use)")
flags.DEFINE_integer("repeats", 3, "timed runs per configuration and round (the fastest counts)")
flags.DEFINE_integer("rounds", 2, "times the whole list of configurations is run in turn (the fastest counts), so a "
                     "burst of load from other processes does not decide a row")
flags.DEFINE_list("configs", ["keras", "saved_model", "litert", "litert_float16", "litert_int8", "onnx",
                              "openvino", "openvino_default"], "configurations to run")
flags.DEFINE_string("work_dir", None, "folder for the model and its exports (default: a temporary folder)")
flags.DEFINE_string("output", "", "JSON report written here ('' for none)")
flags.DEFINE_string("worker", None, "internal: run one configuration given as JSON and print its result")
FLAGS = flags.FLAGS

# configuration -> (export format, LiteRT quantization, OpenVINO precision hint; None: the device's default)
CONFIGS = {"saved_model": ("saved_model", "none", None), "litert": ("litert", "none", None),
           "litert_float16": ("litert", "float16", None), "litert_int8": ("litert", "int8", None),
           "onnx": ("onnx", "none", None), "openvino": ("openvino", "none", "f32"),
           "openvino_default": ("openvino", "none", None)}


def run_one(spec):
    """One configuration in this process: load, warm up, time, compare with the Keras output."""
    import numpy as np

    lr = np.load(spec["lr"])[None]
    if spec["config"] == "keras":
        import tensorflow as tf

        from sr_keras.export import package_version
        from sr_keras.inference import predict
        from sr_keras.layers import pool_size_set
        from sr_keras.models import load_generator

        if spec["threads"]:
            tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
        model = load_generator(spec["model_file"])
        with pool_size_set(model, spec["pool_size"]):
            return _time(lambda images: predict(model, images[0])[None], lr, spec, None,
                         f"keras {package_version('keras')} (tensorflow {tf.__version__}), sr_keras.inference.predict")
    from sr_keras.export import Runtime

    runtime = Runtime(spec["export"], num_threads=spec["threads"], precision=spec["precision"])
    return _time(runtime, lr, spec, np.load(spec["reference"]), runtime.name)


def _time(run, lr, spec, reference, name):
    import numpy as np

    from sr_keras.export import compare

    out = run(lr)  # warm-up: graph building, memory planning
    times = []
    for _ in range(spec["repeats"]):
        began = time.perf_counter()
        out = run(lr)
        times.append(time.perf_counter() - began)
    row = {"runtime": name, "seconds": round(min(times), 3),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if reference is None:
        np.save(spec["reference"], np.asarray(out))
    else:
        figures = compare(out, reference)
        row.update(max_abs_diff=round(figures["max_abs_diff"], 4), psnr_db=round(figures["psnr_db"], 1),
                   uint8_differ=round(figures["uint8_differ"], 4))
    return row


def spawn(spec):
    return _workers.spawn(__file__, spec)


def main(argv):
    del argv
    if _workers.run_if_worker(FLAGS.worker, run_one):
        return
    import numpy as np

    from sr_keras import pretrained
    from sr_keras.export import export_model, parse_input_size, photo_crops, usable_cores
    from sr_keras.files import save_keras
    from sr_keras.layers import pool_sizes
    from sr_keras.models import build_model, model_scale

    work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix="bench_deploy-")
    os.makedirs(work_dir, exist_ok=True)
    if FLAGS.pretrained:
        model, label = pretrained.load(FLAGS.pretrained), FLAGS.pretrained
    else:
        import keras

        keras.utils.set_random_seed(0)
        model = build_model(FLAGS.model, scale=FLAGS.scale)
        label = f"{FLAGS.model} x{FLAGS.scale} (paper size, untrained weights, seed 0)"
    has_fsa = bool(pool_sizes(model))
    model_file = save_keras(model, os.path.join(work_dir, "model.keras"))
    height, width = parse_input_size(FLAGS.lr_size)
    lr_file = os.path.join(work_dir, "lr.npy")
    np.save(lr_file, photo_crops([(height, width)] * 2, split="valid")[1])  # the second photo: coffee.png, centred
    input_size = parse_input_size(FLAGS.input_size)
    threads = FLAGS.threads or usable_cores()
    base = {"lr": lr_file, "reference": os.path.join(work_dir, "keras_sr.npy"), "threads": threads,
            "repeats": FLAGS.repeats, "pool_size": FLAGS.pool_size if has_fsa else None, "model_file": model_file}
    specs = [dict(base, config="keras")]  # Keras first: its output is the reference of the others
    exports = {}
    for config in FLAGS.configs:
        if config == "keras":
            continue
        format, quantization, precision = CONFIGS[config]
        export_dir = os.path.join(work_dir, f"{format}_{quantization}")
        if export_dir not in exports:
            began = time.perf_counter()
            try:
                export_model(model, export_dir, format=format, quantization=quantization, input_size=input_size,
                             pool_size=base["pool_size"])
                exports[export_dir] = round(time.perf_counter() - began, 1)
            except Exception as error:  # noqa: BLE001 - reported in the table
                exports[export_dir] = f"export failed: {str(error).splitlines()[0][:200]}"
        specs.append(dict(base, config=config, export=export_dir, precision=precision,
                          export_seconds=exports[export_dir]))
    runs = [[spawn(spec) if not isinstance(spec.get("export_seconds"), str) else
             dict(spec, failed=spec["export_seconds"]) for spec in specs] for _ in range(FLAGS.rounds)]
    rows = []
    for attempts in zip(*runs):
        done = [row for row in attempts if "failed" not in row]
        row = dict(min(done, key=lambda r: r["seconds"]) if done else attempts[0])
        row["round_seconds"] = [r.get("seconds") for r in attempts]
        rows.append(row)
    keras_seconds = rows[0].get("seconds")
    scale = model_scale(model)
    print(f"{label}, LR {height}x{width} -> {height * scale}x{width * scale}; exports "
          f"{'of size ' + FLAGS.input_size if input_size else 'with dynamic height and width'}; {threads} threads")
    loads = [row[key] for row in rows for key in ("load_before", "load_after") if key in row]
    print(f"1-minute load average around the runs: {min(loads):.2f} to {max(loads):.2f} ({os.cpu_count()} cores); "
          f"each row the fastest of {FLAGS.rounds} rounds x {FLAGS.repeats} runs")
    print("| configuration | runtime | time (s) | time / Keras | peak RSS (MB) | max abs diff | PSNR vs Keras (dB) "
          "| export (s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        if "failed" in row:
            print(f"| {row['config']} | failed: {row['failed']} | | | | | | |")
            continue
        ratio = f"{row['seconds'] / keras_seconds:.2f}" if keras_seconds else ""
        diff = "(reference)" if row["config"] == "keras" else row["max_abs_diff"]
        psnr = "" if row["config"] == "keras" else row["psnr_db"]
        print(f"| {row['config']} | {row['runtime']} | {row['seconds']} | {ratio} | {row['peak_rss_mb']:,} | {diff} "
              f"| {psnr} | {row.get('export_seconds', '')} |")
    if FLAGS.output:
        from sr_keras.files import write_json

        write_json({"model": label, "lr_size": [height, width], "input_size": input_size, "threads": threads,
                    "rows": rows, "date": time.strftime("%Y-%m-%d"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores"}, FLAGS.output)


if __name__ == "__main__":
    app.run(main)
