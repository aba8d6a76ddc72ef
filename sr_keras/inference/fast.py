"""`upscale --fast`: the fastest way this machine runs a model, within a stated quality cost.

The paths (`PATHS`), each measured per model on this machine:

- ``float32``: the Keras model through TensorFlow, the reference.
- ``bfloat16``: a copy of the model under Keras's ``mixed_bfloat16`` policy (float32 weights, bfloat16
  products) through TensorFlow's oneDNN kernels; tried only on CPUs with bfloat16 arithmetic (AVX512-BF16 or
  AMX), where it is native, and on GPUs.
- ``openvino_f32``: an OpenVINO export (`sr_keras.export.export_model`) compiled at f32 precision (the same
  arithmetic, OpenVINO's own kernels: on an AMD EPYC with AVX2 only, 1.25x TensorFlow's speed with oneDNN for
  the default x4 model); needs the ``openvino`` package.
- ``openvino_bf16``: the same export compiled at bf16 precision; tried only on the CPUs with bfloat16
  arithmetic.
- ``litert_int8``: a LiteRT export with int8 weights and activations calibrated on crops of real photos, run
  by ai-edge-litert's interpreter (else TensorFlow's tf.lite one) with every core.

The choice is the fastest path whose cost is at most `MAX_COST_DB`. The cost is the float32 model's mean Y-PSNR
minus the path's, both against the HR, on `COST_CROPS` crops of the package's training photos (scikit-image's;
its held-out photos stay for the figures stated per shipped model by `tools/evaluate_fast_paths.py`) downscaled
with MATLAB bicubic and rounded to uint8, a border of `scale` pixels ignored as the field scores. The
time is the best of `TIME_REPEATS` calls on one `PROBE_SIZE` x `PROBE_SIZE` LR input after a warm-up call. The
measurements and the exports are cached in `sr_keras.download.cache_dir("fast")/<key>`, the key hashing the
model's config and weights, the CPU, the library versions and the rule: a model is measured once per machine.
"""
import hashlib
import json
import os
import platform
import re
import time

import keras
import numpy as np
import tensorflow as tf

from sr_keras.data.degrade import bicubic_degrade
from sr_keras.inference.upscale import compiled, infer_scale
from sr_keras.metrics import psnr

__all__ = ["FastModel", "MAX_COST_DB", "PATHS", "PathUnavailable", "choose_path", "fast_model", "path_runner"]

PATHS = ("float32", "bfloat16", "openvino_f32", "openvino_bf16", "litert_int8")
MAX_COST_DB = 0.1
COST_CROPS = 4
COST_CROP_LR = 48
PROBE_SIZE = 128
TIME_REPEATS = 2
_VERSION = 2  # of the measurement; part of the cache key


def choose_path(measurements, max_cost_db=MAX_COST_DB):
    """The name of the fastest measured path whose cost is at most `max_cost_db` dB; "float32", the reference
    (cost 0 by definition), whatever its time when nothing else qualifies.

    Args:
        measurements: {path: {"seconds": float, "cost_db": float}} for the paths that ran; others may carry
            {"unavailable": reason} and are skipped.
        max_cost_db: the largest Y-PSNR loss against float32 accepted.
    """
    allowed = {name: figures["seconds"] for name, figures in measurements.items()
               if "seconds" in figures and (name == "float32" or figures["cost_db"] <= max_cost_db)}
    return min(allowed, key=allowed.get) if allowed else "float32"


class FastModel:
    """A model run by one of the `PATHS`: `fast(lr)` maps float32 [B, h, w, 3] in [0, 255] to [B, sh, sw, 3]
    float32 (a callable `sr_keras.inference.upscale` and `predict` accept).

    Attributes:
        keras_model: the float32 Keras model it stands for (used to plan tiles and memory).
        path: the path it runs (one of `PATHS`).
        measurements: {path: figures} as measured (see `choose_path`).
        cached: True when the choice was read from the cache rather than measured in this call.
    """

    def __init__(self, keras_model, path, runner, measurements, cached):
        self.keras_model = keras_model
        self.path = path
        self.measurements = measurements
        self.cached = cached
        self._runner = runner
        self.scale = infer_scale(keras_model)

    def __call__(self, lr):
        return np.asarray(self._runner(np.asarray(lr, "float32")), "float32")

    def summary(self):
        """One line: the path taken, its speed against float32 and its measured cost."""
        chosen, reference = self.measurements[self.path], self.measurements["float32"]
        if self.path == "float32":
            return "float32 (no faster path within the quality bound on this machine)"
        return (f"{self.path}: {reference['seconds'] / chosen['seconds']:.2f}x float32's speed, "
                f"{chosen['cost_db']:+.3f} dB Y-PSNR cost against float32")


def _cpu_has_bfloat16():
    try:
        with open("/proc/cpuinfo") as handle:
            return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", handle.read()))
    except OSError:
        return False


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as handle:
            match = re.search(r"^model name\s*:\s*(.+)$", handle.read(), re.M)
            return match.group(1).strip() if match else platform.processor()
    except OSError:
        return platform.processor()


def _key(model, max_cost_db):
    digest = hashlib.sha256()
    config = keras.saving.serialize_keras_object(model)
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    from sr_keras.export import package_version

    machine = [_cpu_name(), _cpu_has_bfloat16(), os.cpu_count(), bool(tf.config.list_physical_devices("GPU")),
               package_version("tensorflow"), package_version("openvino"), package_version("ai-edge-litert"),
               max_cost_db, _VERSION]
    digest.update(json.dumps(machine).encode())
    return digest.hexdigest()[:20]


def _batched(run_one):
    """A runner over a batch from one that takes a single image [1, h, w, 3] (LiteRT files take one)."""
    return lambda lr: np.concatenate([run_one(lr[i:i + 1]) for i in range(len(lr))])


def path_runner(name, model, folder):
    """A function running `model` by path `name` on float32 [B, h, w, 3], its exports kept under `folder`.

    Raises:
        PathUnavailable: the path cannot run here (the message says why).
    """
    if name == "float32":
        function = compiled(model)
        return lambda lr: function(tf.constant(lr)).numpy()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if name in ("bfloat16", "openvino_bf16") and not (_cpu_has_bfloat16() or (gpu and name == "bfloat16")):
        raise PathUnavailable("this CPU has no bfloat16 arithmetic (AVX512-BF16 or AMX)")
    if name == "bfloat16":
        from sr_keras.models.precision import policy_copy

        copy = policy_copy(model, "mixed_bfloat16")  # held here: `compiled` keeps its model only weakly

        def run(lr):
            return tf.cast(compiled(copy)(tf.constant(lr)), tf.float32).numpy()
        return run
    from sr_keras import export

    format, options = ("openvino", {}) if name.startswith("openvino") else ("litert", {"quantization": "int8"})
    try:
        export.check_packages(format)
    except export.MissingPackageError as error:
        raise PathUnavailable(f"{' and '.join(error.packages)} is not installed ({error.hint})") from None
    from sr_keras._quiet import filtered_stderr

    export_dir = os.path.join(folder, "openvino" if format == "openvino" else name)  # one export, two precisions
    with filtered_stderr(native_logs=True):
        if not os.path.isfile(os.path.join(export_dir, export.EXPORT_JSON)):
            try:
                export.export_model(model, export_dir, format=format, **options)
            except ValueError as error:  # a layer the format cannot express
                raise PathUnavailable(str(error)) from None
        runtime = export.Runtime(export_dir, precision="bf16" if name == "openvino_bf16" else "f32")
        runtime(np.zeros((1, 8, 8, 3), "float32"))  # the interpreter's first call announces its delegate
    return _batched(runtime) if format == "litert" else runtime


class PathUnavailable(Exception):
    """A path cannot run on this machine or for this model; the message says why."""


def _cost_set(scale):
    from sr_keras.export import photo_crops

    hr = np.stack(photo_crops([(COST_CROP_LR * scale, COST_CROP_LR * scale)], split="train", count=COST_CROPS,
                              seed=0))
    _, lr = bicubic_degrade(hr, scale)
    return np.round(np.clip(lr.numpy(), 0, 255)).astype("float32"), hr


def _measure(runner, lr, hr, scale, probe):
    sr = np.concatenate([runner(lr[i:i + 1]) for i in range(len(lr))])
    y_psnr = float(np.mean(psnr(np.clip(sr, 0, 255), hr, crop_border=scale, y_channel=True)))
    runner(probe)
    times = []
    for _ in range(TIME_REPEATS):
        start = time.perf_counter()
        runner(probe)
        times.append(time.perf_counter() - start)
    return {"seconds": round(min(times), 4), "psnr_db": round(y_psnr, 4)}


def _log_line(name, figures, max_cost_db):
    if "unavailable" in figures:
        return f"  {name}: not available: {figures['unavailable']}"
    cost = figures.get("cost_db", 0.0)
    verdict = "" if cost <= max_cost_db or name == "float32" else f" (over the {max_cost_db} dB bound)"
    return f"  {name}: {figures['seconds']:.3f} s on {PROBE_SIZE}x{PROBE_SIZE}, cost {cost:+.3f} dB{verdict}"


def fast_model(model, cache_dir=None, max_cost_db=MAX_COST_DB, paths=PATHS, log=None):
    """The fastest path for `model` on this machine within `max_cost_db` dB of float32's Y-PSNR (`choose_path`).

    Args:
        model: a float32 Keras SR generator (RGB [0, 255] in and out, any size).
        cache_dir: where the measurements and exports are kept; default `sr_keras.download.cache_dir("fast")`.
        max_cost_db: the largest Y-PSNR cost accepted.
        paths: the paths to consider ("float32" is always measured).
        log: a function taking one line of text (progress and the measurements), or None for silence.

    Returns:
        a `FastModel`.
    """
    from sr_keras.download import cache_dir as default_cache_dir
    from sr_keras.files import write_json

    unknown = sorted(set(paths) - set(PATHS))
    if unknown:
        raise ValueError(f"unknown fast paths {unknown}; valid: {', '.join(PATHS)}")
    log = log or (lambda line: None)
    folder = os.path.join(cache_dir or default_cache_dir("fast"), _key(model, max_cost_db))
    choice_file = os.path.join(folder, "choice.json")
    if os.path.isfile(choice_file):
        with open(choice_file) as handle:
            choice = json.load(handle)
        try:
            runner = path_runner(choice["path"], model, folder)
            return FastModel(model, choice["path"], runner, choice["measurements"], cached=True)
        except (PathUnavailable, OSError, RuntimeError, KeyError) as error:
            log(f"--fast: the cached choice cannot be used ({error}); measuring again")
    os.makedirs(folder, exist_ok=True)
    scale = infer_scale(model)
    lr, hr = _cost_set(scale)
    probe = _probe(lr)
    log(f"--fast: measuring {len(set(paths) | {'float32'})} paths for this model, once per machine "
        f"(cached in {folder})")
    measurements, runners = {}, {}
    for name in ("float32",) + tuple(p for p in PATHS if p in paths and p != "float32"):
        try:
            runners[name] = path_runner(name, model, folder)
            measurements[name] = _measure(runners[name], lr, hr, scale, probe)
        except PathUnavailable as error:
            measurements[name] = {"unavailable": str(error)}
        if "psnr_db" in measurements[name]:
            measurements[name]["cost_db"] = round(measurements["float32"]["psnr_db"] - measurements[name]["psnr_db"],
                                                  4)
        log(_log_line(name, measurements[name], max_cost_db))
    chosen = choose_path(measurements, max_cost_db)
    write_json({"path": chosen, "measurements": measurements, "max_cost_db": max_cost_db, "cpu": _cpu_name(),
                "date": time.strftime("%Y-%m-%d"), "model": model.name}, choice_file)
    return FastModel(model, chosen, runners[chosen], measurements, cached=False)


def _probe(lr):
    """A `PROBE_SIZE` square LR input made of the cost crops side by side (real image content)."""
    tiles = -(-PROBE_SIZE // lr.shape[1])
    row = np.concatenate(list(lr[:tiles]) * (-(-tiles // len(lr))), axis=1)[:, :PROBE_SIZE]
    return np.concatenate([row] * tiles, axis=0)[None, :PROBE_SIZE, :PROBE_SIZE]
