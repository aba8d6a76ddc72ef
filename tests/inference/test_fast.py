"""`upscale --fast`: the path is chosen by the PSNR-cost rule from real measurements on this machine, cached per
model, and the CLI names it and falls back when an optional runtime is missing."""
import importlib.util
import os
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from skimage import data

from sr_keras.inference import predict
from sr_keras.inference.fast import MAX_COST_DB, PATHS, choose_path, fast_model
from sr_keras.metrics import psnr
from sr_keras.models import build_model
from tests import launch
from tests.conftest import wall_clock_limit

OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    return build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1)


def _measured(measurements):
    return {name: figures for name, figures in measurements.items() if "seconds" in figures}


def test_the_rule_takes_the_fastest_path_within_the_bound(tiny, tmp_path):
    lines = []
    paths = ("float32", "bfloat16", "litert_int8") + (("openvino_f32", "openvino_bf16") if OPENVINO else ())
    fast = fast_model(tiny, cache_dir=tmp_path, paths=paths, log=lines.append)
    measured = _measured(fast.measurements)
    assert "float32" in measured and "litert_int8" in measured  # TensorFlow alone converts and runs LiteRT
    assert measured["float32"]["cost_db"] == 0.0
    allowed = [name for name, f in measured.items() if name == "float32" or f["cost_db"] <= MAX_COST_DB]
    assert fast.path in allowed
    assert measured[fast.path]["seconds"] == min(measured[name]["seconds"] for name in allowed)
    assert len(lines) == 1 + len(paths) and all(name in "".join(lines) for name in paths)
    # A bound below every other path's measured cost leaves only the reference.
    strict = min(f["cost_db"] for name, f in measured.items() if name != "float32") - 1e-3
    assert choose_path(fast.measurements, strict) == "float32"
    # The path's output is the model's within the cost it was measured at.
    lr = data.astronaut()[100:164, 200:248].astype("float32")
    reference = predict(tiny, lr)
    output = predict(fast, lr)
    assert output.shape == reference.shape
    hr = np.clip(reference, 0, 255)
    gap = float(psnr(np.clip(output, 0, 255), hr))
    assert gap > 30 if fast.path != "float32" else gap == np.inf


def test_a_path_over_the_bound_is_not_taken_and_the_choice_is_cached(tiny, tmp_path):
    first = fast_model(tiny, cache_dir=tmp_path, max_cost_db=-1.0, paths=("float32", "bfloat16"))
    assert first.path == "float32" and not first.cached  # an untrained model: no path gains a whole dB
    again = fast_model(tiny, cache_dir=tmp_path, max_cost_db=-1.0, paths=("float32", "bfloat16"),
                       log=pytest.fail)  # read from the cache: nothing measured, nothing logged
    assert again.cached and again.path == "float32" and again.measurements == first.measurements
    other = build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1)  # other weights: another key
    assert not fast_model(other, cache_dir=tmp_path, max_cost_db=-1.0, paths=("float32",)).cached
    with pytest.raises(ValueError, match="unknown fast paths"):
        fast_model(tiny, cache_dir=tmp_path, paths=("float32", "gpu_magic"))


# A machine without the optional runtimes: OpenVINO, ai-edge-litert and ONNX Runtime cannot be imported (LiteRT
# files then run in TensorFlow's own tf.lite interpreter).
_WITHOUT_RUNTIMES = ("import sys, runpy\nfor name in ('openvino', 'ai_edge_litert', 'onnxruntime'):\n"
                     "    sys.modules[name] = None\nsys.argv = ['sr_keras.upscale'] + sys.argv[1:]\n"
                     "runpy.run_module('sr_keras.upscale', run_name='__main__')")


def test_cli_fast_names_its_path_and_falls_back_without_a_runtime(tiny, tmp_path):
    """Run as a user would, on a machine without the optional runtimes (made unimportable where installed); the
    library test above measures them where installed."""
    tiny.save(tmp_path / "tiny_x2.keras")
    Image.fromarray(data.coffee()[:60, :80]).save(tmp_path / "photo.png")
    result = launch.run([sys.executable, "-c", _WITHOUT_RUNTIMES, "--fast", "--model_path=tiny_x2.keras", "photo.png",
                         "--output_dir=out"], capture_output=True, text=True, cwd=tmp_path,
                        timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES="", SR_KERAS_CACHE=str(tmp_path / "cache")))
    assert result.returncode == 0, result.stderr[-2000:]
    chosen = [line for line in result.stderr.splitlines() if line.startswith("--fast: ") and "measuring" not in line]
    assert len(chosen) == 1 and chosen[0].split()[1].rstrip(":") in PATHS, result.stderr
    assert "openvino_f32: not available: openvino is not installed (pip install" in result.stderr
    assert "litert_int8: " in result.stderr and "litert_int8: not available" not in result.stderr  # in tf.lite
    assert "fully_quantize" not in result.stderr and "I0000" not in result.stderr  # the converter's noise
    assert Image.open(tmp_path / "out" / "photo_x2.png").size == (160, 120)
