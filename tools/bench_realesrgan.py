"""Benchmark: `python -m sr_keras.upscale` against Real-ESRGAN's own inference (`RealESRGANer.enhance` on
PyTorch's CPU build) on one photo at x4, for RRDBNet (RealESRGAN_x4plus: 64 features, 23 blocks, growth 32)
and SRVGGNetCompact (realesr-general-x4v3: 64 features, 32 body convolutions, PReLU), random weights (speed and
memory do not depend on the values; both sides have the same architecture and parameter count, checked).

    python tools/bench_realesrgan.py [--models=rrdbnet,srvgg_compact] [--size=500x350] [--repeats=2] \
        [--threads=N] [--tile=400] [--pre_pad=10] [--fast_rows] [--output_dir=docs/benchmarks]

The input is scikit-image's coffee photo cut (centre crop, resized first when smaller) to --size (WIDTHxHEIGHT)
and saved as PNG. Rows, each configuration in its own fresh process, one after the other:
- Real-ESRGAN tile 0 and tile --tile: `tools/torch_esrgan.py` (the networks after BasicSR, `RealESRGANer`'s
  pre-pad / tile / post-process / enhance logic, fp32, `torch.no_grad()`, tile_pad 10, pre_pad --pre_pad, outscale
  4), run as its command-line script does: import, build the network and load its weights (`.pth`), read the
  PNG, enhance, write the PNG (PIL at compression level 1, OpenCV's default, for `cv2.imread` / `cv2.imwrite`);
- sr_keras float32: `python -m sr_keras.upscale --model_path=<model>.keras photo.png --output_dir=...` with the
  default memory planning, and with --tile=<--tile> (the CLI's overlap 16, 4 tiles per batch); with
  --fast_rows, the same with `--fast` (the row says "not available" if the CLI has no such flag). The CLI runs
  in the child process through `runpy`, as `python -m` runs it, with `sr_keras.inference.upscale.upscale_to_file`
  wrapped to time the call the CLI makes.
Measured per row:
- whole process: from starting the child process to the output PNG written (interpreter start, imports, model
  load, reading, the call, writing; the interpreter's exit is not included): what a user waits for;
- call, first: the enhance / `upscale_to_file` call alone in that one-shot run (TensorFlow traces its graphs
  there);
- call, warm: then, in the same process, the best of --repeats further identical calls (the first one being the
  warm-up);
- peak RSS: the child's ru_maxrss when the one-shot run ended (the whole child's, with the warm calls, is in the
  JSON as `peak_rss_mb_process`);
- speed-up: Real-ESRGAN tile 0's time over the row's, for the warm call and for the whole process.
Threads: --threads for both sides (default: every core this process may use; PyTorch's `set_num_threads`, and the
child pinned to that many cores when fewer than all). Nothing is downloaded. The table is printed and written with
the machine, versions and load averages to <output_dir>/realesrgan.md and bench_realesrgan.json. `--worker=<JSON>`
is internal: one child process.
"""
import json
import os
import pathlib
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402  (the flags are defined only when run as the benchmark, not in a worker)

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tools.torch_esrgan` when run as a script
    sys.path.insert(0, str(ROOT))

FLAGS = flags.FLAGS
SCALE = 4
TORCH_MISSING = "error: the Real-ESRGAN side needs PyTorch's CPU build: pip install torch==2.13.0"
REFERENCE = ("realesrgan", "0")  # (side, tile) of the row every speed-up is relative to


def _define_flags():
    flags.DEFINE_list("models", ["rrdbnet", "srvgg_compact"], "rrdbnet (RealESRGAN_x4plus) and/or srvgg_compact "
                      "(realesr-general-x4v3 with --num_conv=32, realesr-animevideov3 with 16)")
    flags.DEFINE_string("size", "500x350", "WIDTHxHEIGHT of the input photo")
    flags.DEFINE_integer("repeats", 2, "warm calls timed after the one-shot run in each process (the best counts)")
    flags.DEFINE_integer("threads", None, "CPU threads of both sides (default: every core this process may use)")
    flags.DEFINE_integer("tile", 400, "Real-ESRGAN's tile size of the tiled row, and sr_keras's --tile of its "
                         "like-for-like row")
    flags.DEFINE_integer("tile_pad", 10, "Real-ESRGAN's tile_pad (its default 10)")
    flags.DEFINE_integer("pre_pad", 10, "Real-ESRGAN's pre_pad (RealESRGANer's default 10; its "
                         "inference_realesrgan.py passes 0)")
    flags.DEFINE_integer("num_block", 23, "RRDBNet blocks (23 in RealESRGAN_x4plus)")
    flags.DEFINE_integer("num_conv", 32, "SRVGGNetCompact body convolutions (32: realesr-general-x4v3)")
    flags.DEFINE_bool("fast_rows", True, "also run sr_keras.upscale --fast")
    flags.DEFINE_string("output_dir", "docs/benchmarks", "where bench_realesrgan.json and realesrgan.md go "
                        "('' for none)")
    flags.DEFINE_string("work_dir", None, "folder for the photo, the models and the outputs, kept (default: a "
                        "temporary one, removed)")


# ----------------------------------------------------------------------------------------------- child processes


def _pin(threads):
    """Pins this process to `threads` of its cores when that is fewer than it may use."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if 0 < threads < len(cores):
        os.sched_setaffinity(0, cores[:threads])


def _peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _torch_network(model, num_block, num_conv):
    from tools.torch_esrgan import BasicSRRRDBNet, SRVGGNetCompact

    if model == "rrdbnet":
        return BasicSRRRDBNet(SCALE, num_feat=64, num_block=num_block, num_grow_ch=32)
    return SRVGGNetCompact(num_conv, SCALE, num_feat=64)


def _realesrgan_worker(spec):
    """The Real-ESRGAN command's work for one image: network and weights, read, enhance, write; then the warm
    calls."""
    import numpy as np
    import torch
    from PIL import Image

    from tools.torch_esrgan import RealESRGANerLogic

    torch.set_num_threads(spec["threads"])
    network = _torch_network(spec["model"], spec["num_block"], spec["num_conv"])
    network.load_state_dict(torch.load(spec["weights"], map_location="cpu")["params_ema"], strict=True)
    upsampler = RealESRGANerLogic(network, SCALE, tile=spec["tile"], tile_pad=spec["tile_pad"],
                                  pre_pad=spec["pre_pad"])
    bgr = np.asarray(Image.open(spec["photo"]).convert("RGB"))[:, :, ::-1]  # what cv2.imread gives
    began = time.perf_counter()
    output = upsampler.enhance(bgr, outscale=SCALE)
    first = time.perf_counter() - began
    Image.fromarray(np.ascontiguousarray(output[:, :, ::-1])).save(spec["output"], compress_level=1)
    row = {"oneshot_end": time.time(), "peak_rss_mb": _peak_rss_mb(), "first_call_s": round(first, 3),
           "output_size": [int(output.shape[1]), int(output.shape[0])]}
    warm = []
    for _ in range(spec["repeats"]):
        began = time.perf_counter()
        upsampler.enhance(bgr, outscale=SCALE)
        warm.append(round(time.perf_counter() - began, 3))
    return dict(row, warm_calls_s=warm, call_s=min(warm, default=None))


def _sr_keras_worker(spec):
    """`python -m sr_keras.upscale <cli_args>` in this process, its `upscale_to_file` call timed; then the warm
    calls, the same call with the same arguments."""
    import importlib
    import runpy

    library = importlib.import_module("sr_keras.inference.upscale")  # the package's `upscale` is a function

    real, calls = library.upscale_to_file, []

    def timed(*args, **kwargs):
        began = time.perf_counter()
        done = real(*args, **kwargs)
        calls.append((time.perf_counter() - began, args, kwargs, done))
        return done

    library.upscale_to_file = timed
    sys.argv = ["sr_keras.upscale", *spec["cli_args"]]
    try:
        runpy.run_module("sr_keras.upscale", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:  # absl's app.run ends with sys.exit(main(argv))
        code = stop.code
    library.upscale_to_file = real
    if code or len(calls) != 1:
        return {"failed": f"sr_keras.upscale exited with {code}"}
    first, args, kwargs, done = calls[0]
    row = {"oneshot_end": time.time(), "peak_rss_mb": _peak_rss_mb(), "first_call_s": round(first, 3),
           "plan": {"tile": done.get("tile"), "batch_size": done.get("batch_size")},
           "max_memory": kwargs.get("max_memory"), "output_size": [done["width"], done["height"]]}
    # The warm calls repeat the first call's plan: planning again would count the memory TensorFlow kept from the
    # first call against the budget (a one-shot CLI run plans once, in a fresh process).
    kwargs = dict(kwargs, tile=done.get("tile"), batch_size=done.get("batch_size") or kwargs.get("batch_size", 4),
                  max_memory=None)
    warm = []
    for _ in range(spec["repeats"]):
        began = time.perf_counter()
        real(*args, **kwargs)
        warm.append(round(time.perf_counter() - began, 3))
    return dict(row, warm_calls_s=warm, call_s=min(warm, default=None))


def _prepare_worker(spec):
    """The photo and each model on both sides (random weights), saved in `spec["work_dir"]`; the parameter counts
    (equal on both sides, else an error) and the versions."""
    import keras
    import tensorflow as tf
    import torch

    from sr_keras.files import save_keras
    from sr_keras.models import build_model, count_params

    _photo(os.path.join(spec["work_dir"], "photo.png"), *spec["size"])
    sizes = {"rrdbnet": {"num_block": spec["num_block"]}, "srvgg_compact": {"num_conv": spec["num_conv"]}}
    report = {"parameters": {}, "arguments": {}, "versions": {"python": platform.python_version(),
                                                              "torch": torch.__version__,
                                                              "tensorflow": tf.__version__,
                                                              "keras": keras.__version__}}
    for name in spec["models"]:
        keras.utils.set_random_seed(0)
        model = build_model(name, scale=SCALE, **sizes[name])
        save_keras(model, os.path.join(spec["work_dir"], f"{name}.keras"))
        torch.manual_seed(0)
        network = _torch_network(name, spec["num_block"], spec["num_conv"])
        torch.save({"params_ema": network.state_dict()}, os.path.join(spec["work_dir"], f"{name}.pth"))
        counts = {"sr_keras": count_params(model), "pytorch": sum(p.numel() for p in network.parameters())}
        if counts["sr_keras"] != counts["pytorch"]:
            raise ValueError(f"{name}: the two sides differ in size: {counts}")
        report["parameters"][name] = counts
        report["arguments"][name] = ", ".join(f"{key} {value}" for key, value in sizes[name].items())
    return report


def run_worker(spec_json):
    """A child process: runs one configuration and prints its result as the last line of stdout."""
    spec = json.loads(spec_json)
    _pin(spec["threads"])
    workers = {"realesrgan": _realesrgan_worker, "sr_keras": _sr_keras_worker, "prepare": _prepare_worker}
    row = workers[spec["side"]](spec)
    sys.stdout.flush()
    print("\n" + json.dumps(row), flush=True)


# ---------------------------------------------------------------------------------------------------- the parent


def spawn(spec):
    """Runs one configuration in a fresh process; returns `spec` with the child's result, the whole-process
    time, its peak RSS from `wait4` and the 1-minute load average before and after, or "failed".

    This process never imports TensorFlow or PyTorch: Linux carries the parent's high-water resident memory
    into a child's ru_maxrss across fork / exec, so a large parent would raise every row's peak."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        load = os.getloadavg()[0]
        began = time.time()
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), f"--worker={json.dumps(spec)}"],
                                 stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        ended = time.time()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    row = dict(spec, load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2),
               process_s=round(ended - began, 2), peak_rss_mb_process=round(usage.ru_maxrss / 1024))
    lines = stdout.strip().splitlines()
    result = json.loads(lines[-1]) if child.returncode == 0 and lines else {"failed": f"exit {child.returncode}"}
    row.update(result)
    if "failed" in row:
        errors = [line for line in stderr.strip().splitlines() if line.strip()]
        if errors:
            row["failed"] = errors[-1][:300]
        if spec.get("fast") and "fast" in row["failed"] and re.search(r"[Uu]nknown.*flag", row["failed"]):
            row["failed"] = "not available (sr_keras.upscale has no --fast)"
    elif "oneshot_end" in row:
        row["whole_s"] = round(row.pop("oneshot_end") - began, 2)
        printed = re.findall(r", ([0-9.]+) s\)$", stderr, flags=re.MULTILINE)
        if printed:
            row["cli_printed_s"] = float(printed[-1])  # the CLI's own per-image line (0.1 s)
    print(json.dumps({k: v for k, v in row.items() if k not in ("cli_args",)}), file=sys.stderr)
    return row


def _photo(path, width, height):
    """scikit-image's coffee photo (600 x 400): resized to cover width x height if smaller, centre-cropped."""
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.coffee())
    cover = max(width / image.width, height / image.height)
    if cover > 1:
        image = image.resize((round(image.width * cover), round(image.height * cover)), Image.BICUBIC)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    image.crop((left, top, left + width, top + height)).save(path)


def _configurations(model, keras_file, torch_file, work_dir):
    tile = FLAGS.tile
    specs = [{"side": "realesrgan", "label": "Real-ESRGAN enhance, float32", "tile": t, "weights": torch_file}
             for t in (0, tile)]
    cli = [("sr_keras upscale, float32", [], False), ("sr_keras upscale, float32", [f"--tile={tile}"], False)]
    if FLAGS.fast_rows:
        cli.append(("sr_keras upscale --fast", ["--fast"], True))
    for label, extra, fast in cli:
        specs.append({"side": "sr_keras", "label": label, "tile": tile if extra and not fast else None,
                      "fast": fast, "cli_args": [f"--model_path={keras_file}", "PHOTO", "--overwrite", *extra]})
    for index, spec in enumerate(specs):
        output_dir = os.path.join(work_dir, f"{model}_{index}")
        os.makedirs(output_dir, exist_ok=True)
        spec.update(model=model, output=os.path.join(output_dir, "photo_x4.png"))
        if spec["side"] == "sr_keras":
            spec["cli_args"] = [arg.replace("PHOTO", os.path.join(work_dir, "photo.png")) for arg in spec["cli_args"]]
            spec["cli_args"].append(f"--output_dir={output_dir}")
    return specs


def _tile_text(row):
    if row["side"] == "realesrgan":
        return f"{row['tile']} (pad {row['tile_pad']})" if row["tile"] else "0 (whole image)"
    plan = row.get("plan") or {}
    if row["tile"]:
        return f"{row['tile']} (overlap 16, {plan.get('batch_size')} per batch)"
    return f"auto: {plan['tile']} px, {plan['batch_size']} per batch" if plan.get("tile") else "auto: whole image"


def _table(rows):
    references = {row["model"]: row for row in rows
                  if (row["side"], str(row["tile"])) == REFERENCE and "failed" not in row}
    lines = ["| model | configuration | tile | whole process (s) | call, first (s) | call, warm (s) | "
             "speed-up vs Real-ESRGAN tile 0 (warm call / whole process) | peak RSS (MB) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        if "failed" in row:
            lines.append(f"| {row['model']} | {row['label']} | {row['tile'] or ''} | {row['failed']} | | | | |")
            continue
        reference = references.get(row["model"])
        speed = ""
        if reference and row.get("call_s") and reference.get("call_s"):
            speed = f"{reference['call_s'] / row['call_s']:.2f}x / {reference['whole_s'] / row['whole_s']:.2f}x"
        warm = "" if row["call_s"] is None else f"{row['call_s']:.3f}"
        lines.append(f"| {row['model']} | {row['label']} | {_tile_text(row)} | {row['whole_s']:.2f} | "
                     f"{row['first_call_s']:.3f} | {warm} | {speed} | {row['peak_rss_mb']:,} |")
    return "\n".join(lines)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _summary(rows):
    """Per model: the sr_keras float32 row with the default planning against Real-ESRGAN tile 0."""
    lines = []
    for model in dict.fromkeys(row["model"] for row in rows):
        reference = next((r for r in rows if r["model"] == model and (r["side"], str(r["tile"])) == REFERENCE), {})
        ours = next((r for r in rows if r["model"] == model and r["side"] == "sr_keras" and not r["tile"]
                     and not r["fast"]), {})
        if "call_s" not in reference or "call_s" not in ours or not ours["call_s"] or not reference["call_s"]:
            continue
        lines.append(f"- {model}: sr_keras float32 (default planning) {reference['call_s'] / ours['call_s']:.2f}x "
                     f"as fast as Real-ESRGAN tile 0 (warm call), {reference['whole_s'] / ours['whole_s']:.2f}x "
                     f"(whole process); peak RSS {ours['peak_rss_mb']:,} MB against {reference['peak_rss_mb']:,} MB")
    return "\n".join(lines)


def _markdown(report, table):
    versions = ", ".join(f"{name} {version}" for name, version in report["versions"].items())
    width, height = report["size"]
    sizes = "; ".join(f"{name} {counts['sr_keras']:,} parameters on each side ({report['arguments'][name]})"
                      for name, counts in report["parameters"].items())
    return f"""# sr_keras.upscale against Real-ESRGAN's RealESRGANer.enhance (CPU)

Written by `tools/bench_realesrgan.py`; its docstring says what is measured and how.

- date: {report['date']}
- machine: {report['cpu']}, {report['cores']} cores usable, {report['threads']} threads on both sides
- versions: {versions}
- command: `{report['command']}`
- load average (1, 5, 15 min): {report['load_before']} before, {report['load_after']} after
- input: coffee photo {width}x{height} -> {width * SCALE}x{height * SCALE} (x4), random weights: {sizes}
- Real-ESRGAN: fp32, tile_pad {report['tile_pad']}, pre_pad {report['pre_pad']}, outscale 4; sr_keras: the
  CLI's defaults (--max_memory budget {report['max_memory']}, overlap 16, 4 tiles per batch)
- whole process: from the process's start to the output PNG written (its exit not included); call, first: the
  enhance / upscale_to_file call of that one-shot run; call, warm: the best of {report['repeats']} more calls in
  the same process; peak RSS: the process's maximum resident memory at the end of the one-shot run

{table}

{_summary(report['rows'])}

Notes on the Real-ESRGAN side (`tools/torch_esrgan.py`): the logic of `RealESRGANer` (realesrgan/utils.py) with
its own defaults (tile_pad 10, pre_pad 10; its inference_realesrgan.py passes --pre_pad 0, and fp16 unless
--fp32: fp32 here); the image read and written with PIL (PNG compression level 1, as
OpenCV's default) as OpenCV is not installed; the per-tile progress print left out; the process imports torch,
numpy and PIL only (the original also imports cv2, basicsr and realesrgan: its start-up is longer than here).
"""


def main(argv):
    del argv
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        print(TORCH_MISSING, file=sys.stderr)
        return 2
    width, height = (int(part) for part in FLAGS.size.lower().split("x"))
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = FLAGS.threads or usable
    if FLAGS.work_dir:
        os.makedirs(FLAGS.work_dir, exist_ok=True)
        return _benchmark(os.path.abspath(FLAGS.work_dir), width, height, usable, threads)
    with tempfile.TemporaryDirectory(prefix="bench_realesrgan-") as work_dir:
        return _benchmark(work_dir, width, height, usable, threads)


def _benchmark(work_dir, width, height, usable, threads):
    load_before = [round(value, 2) for value in os.getloadavg()]
    common = {"threads": threads, "repeats": FLAGS.repeats, "tile_pad": FLAGS.tile_pad, "pre_pad": FLAGS.pre_pad,
              "num_block": FLAGS.num_block, "num_conv": FLAGS.num_conv, "photo": os.path.join(work_dir, "photo.png")}
    prepared = spawn(dict(common, side="prepare", work_dir=work_dir, size=[width, height], models=FLAGS.models))
    if "failed" in prepared:
        print(f"error: preparing the models: {prepared['failed']}", file=sys.stderr)
        return 1
    for name, counts in prepared["parameters"].items():
        print(f"{name}: {counts['sr_keras']:,} parameters in sr_keras, {counts['pytorch']:,} in PyTorch")
    rows = []
    for model in FLAGS.models:
        specs = _configurations(model, os.path.join(work_dir, f"{model}.keras"),
                                os.path.join(work_dir, f"{model}.pth"), work_dir)
        rows.extend(spawn(dict(common, **spec)) for spec in specs)
    budgets = [row["max_memory"] for row in rows if row.get("max_memory")]
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": _cpu_name(), "cores": usable, "threads": threads,
              "versions": prepared["versions"],
              "command": " ".join(["python", "tools/bench_realesrgan.py", *sys.argv[1:]]),
              "load_before": load_before, "load_after": [round(value, 2) for value in os.getloadavg()],
              "size": [width, height], "repeats": FLAGS.repeats, "tile_pad": FLAGS.tile_pad,
              "pre_pad": FLAGS.pre_pad, "max_memory": f"{budgets[0] / 2 ** 30:.2f} GiB" if budgets else "unknown",
              "parameters": prepared["parameters"], "arguments": prepared["arguments"], "rows": rows}
    table = _table(rows)
    print(f"{report['cpu']}, {threads} threads; load average {load_before} before, {report['load_after']} after")
    print(table)
    if FLAGS.output_dir:
        os.makedirs(FLAGS.output_dir, exist_ok=True)
        with open(os.path.join(FLAGS.output_dir, "bench_realesrgan.json"), "w") as handle:
            json.dump(report, handle, indent=2)
        with open(os.path.join(FLAGS.output_dir, "realesrgan.md"), "w") as handle:
            handle.write(_markdown(report, table))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1].startswith("--worker="):
        run_worker(sys.argv[1][len("--worker="):])  # no flags of ours: the sr_keras CLI defines its own
    else:
        from absl import app

        _define_flags()
        app.run(main)
