"""LiteRT, ONNX, OpenVINO and SavedModel exports of every generator family, each run in its own runtime on real
photo crops and compared with Keras (tiny models with random but fixed weights)."""
import json
import os
import sys

import keras
import numpy as np
import pytest

from sr_keras.export import (CHECK_SIZES, TOLERANCE, export_model, litert_operators, parse_input_size,
                             photo_crops, verify)
from sr_keras.models import build_model
from tests import launch
from tests.conftest import wall_clock_limit

MODELS = {"edsr_baseline": 2, "wdsr_b": 4, "srresnet": 2, "a_srresnet": 4, "rrdbnet": 2, "srvgg_compact": 4}
# tiny sizes; RRDBNet at x2: its pixel-unshuffle and the reflect padding to an even size go through every runtime
SIZES = {"rrdbnet": dict(num_feat=8, num_block=1, num_grow_ch=4), "srvgg_compact": dict(num_feat=8, num_conv=2)}
RUNTIMES = {"litert": "ai-edge-litert", "onnx": "onnxruntime", "openvino": "openvino", "saved_model": "tf.saved_model"}


@pytest.fixture(scope="module")
def models():
    built = {}
    for name, scale in MODELS.items():
        keras.utils.set_random_seed(0)
        built[name] = build_model(name, scale=scale, **SIZES.get(name, dict(num_filters=8, num_res_blocks=2)))
    return built


def _pool(name, format):
    """A-SRResNet is exported at FSA pool size 2 (its padding runs on the 37x53 crop), LiteRT at 1 (dynamic
    sizes need it, see test_litert_fsa_pool_above_one_needs_a_fixed_size)."""
    if name != "a_srresnet":
        return None
    return 1 if format == "litert" else 2


def _check_report(report, export_dir, format, sizes):
    assert report["runtime"].startswith(RUNTIMES[format]), report["runtime"]
    assert [tuple(image["lr_size"]) for image in report["images"]] == [tuple(s) for s in sizes]
    written = json.loads((export_dir / "verify.json").read_text())
    assert written["max_abs_diff"] == report["max_abs_diff"] and written["runtime"] == report["runtime"]
    assert len(written["images"]) == 2


@pytest.mark.parametrize("format", ["litert", "onnx", "openvino"])
@pytest.mark.parametrize("name", list(MODELS))
def test_float32_export_equals_keras_on_two_sizes(name, format, models, tmp_path):
    export_dir = tmp_path / f"{name}_{format}"
    description = export_model(models[name], export_dir, format=format, pool_size=_pool(name, format))
    assert description["input"]["shape"][1:] == [None, None, 3]
    report = verify(export_dir, models[name])
    _check_report(report, export_dir, format, CHECK_SIZES)
    assert report["max_abs_diff"] <= TOLERANCE and report["passed"], report
    assert report["psnr_db"] > 80
    if format == "litert":
        operators = litert_operators(export_dir / "model.tflite")
        assert "DEPTH_TO_SPACE" in operators and "CONV_2D" in operators
        assert not [op for op in operators if op.startswith("CUSTOM")], operators


@pytest.mark.parametrize("quantization", ["float16", "int8"])
@pytest.mark.parametrize("name", list(MODELS))
def test_quantised_litert_reports_a_finite_psnr(name, quantization, models, tmp_path):
    export_dir = tmp_path / f"{name}_{quantization}"
    export_model(models[name], export_dir, format="litert", quantization=quantization, pool_size=_pool(name, "litert"))
    operators = litert_operators(export_dir / "model.tflite")
    assert not [op for op in operators if op.startswith("CUSTOM")], operators
    assert ("QUANTIZE" in operators) == (quantization == "int8")
    report = verify(export_dir, models[name])
    _check_report(report, export_dir, "litert", CHECK_SIZES)
    assert report["passed"] is None and report["quantization"] == quantization
    assert np.isfinite(report["psnr_db"]) and report["psnr_db"] > 0
    if quantization == "float16":
        assert report["psnr_db"] > 60


def test_litert_fsa_pool_above_one_needs_a_fixed_size(models, tmp_path):
    with pytest.raises(ValueError, match=r"'attention' \(FlexibleSelfAttention, pool_size 2\).*dynamic size"):
        export_model(models["a_srresnet"], tmp_path / "dynamic", format="litert", pool_size=2)
    assert not (tmp_path / "dynamic").exists()
    export_dir = tmp_path / "fixed"
    description = export_model(models["a_srresnet"], export_dir, format="litert", pool_size=2, input_size=(37, 53))
    assert description["input"]["shape"] == [1, 37, 53, 3] and description["pool_size"] == 2
    assert "MAX_POOL_2D" in description["operators"]
    report = verify(export_dir, models["a_srresnet"])
    _check_report(report, export_dir, "litert", [(37, 53)] * 2)
    assert report["pool_size"] == 2 and report["max_abs_diff"] <= TOLERANCE


@pytest.mark.parametrize("name,input_size", [("rrdbnet", (37, 53)), ("srvgg_compact", None)])
def test_saved_model_is_checked_in_a_fresh_process(name, input_size, models, tmp_path):
    """A fixed size (RRDBNet x2 at an odd one: padded inside) or any size (SRVGGNetCompact). Each check starts a
    Python process with TensorFlow (10-15 s here), so these two stand for the fixed and the dynamic size; the
    export command checks a WDSR-B SavedModel (the shipped x2) in a fresh process in tests/cli/test_errors.py."""
    export_dir = tmp_path / "sm" / "1"
    export_model(models[name], export_dir, format="saved_model", input_size=input_size)
    report = verify(export_dir, models[name])
    sizes = [input_size] * 2 if input_size else CHECK_SIZES
    _check_report(report, export_dir, "saved_model", sizes)
    assert "fresh process" in report["runtime"] and report["max_abs_diff"] <= TOLERANCE


def test_litert_operators_names_flex_operators(tmp_path):
    """The operator check itself: a Flex operator, allowed here on purpose, is reported as a custom one."""
    import tensorflow as tf

    kernel = tf.constant(np.ones((1, 1, 3, 2), "float32"))

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def padded_conv(images):
        pad = (-tf.shape(images)[1]) % 2
        return tf.nn.conv2d(tf.pad(images, [[0, 0], [0, pad], [0, 0], [0, 0]]), kernel, 1, "VALID")

    converter = tf.lite.TFLiteConverter.from_concrete_functions([padded_conv.get_concrete_function()])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    (tmp_path / "flex.tflite").write_bytes(converter.convert())
    operators = litert_operators(tmp_path / "flex.tflite")
    assert "CUSTOM:FlexConv2D" in operators and "PAD" in operators


def test_photo_crops_are_real_photos_of_the_asked_sizes():
    crops = photo_crops([(37, 53), (500, 700)])
    assert [c.shape for c in crops] == [(37, 53, 3), (500, 700, 3)]
    assert all(c.dtype == np.float32 and c.std() > 10 for c in crops)
    assert parse_input_size("350x500") == (350, 500)
    with pytest.raises(ValueError, match="HEIGHTxWIDTH"):
        parse_input_size("350")


def _run(args, prelude=""):
    code = (f"import runpy, sys\n{prelude}sys.argv = ['sr_keras.export'] + sys.argv[1:]\n"
            "runpy.run_module('sr_keras.export', run_name='__main__', alter_sys=True)\n")
    return launch.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                      timeout=wall_clock_limit(300), env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))


@pytest.fixture(scope="module")
def model_file(models, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "edsr_tiny_x2.keras"
    models["edsr_baseline"].save(path)
    return path


def test_cli_onnx_prints_the_check_and_writes_the_json(model_file, tmp_path):
    export_dir = tmp_path / "onnx"
    result = _run([f"--model_path={model_file}", "--format=onnx", f"--export_dir={export_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"exported {model_file} to {export_dir / 'model.onnx'} (onnx; input lr float32")
    assert lines[1].startswith("check: onnxruntime") and "-> passed" in lines[1]
    assert lines[2] == f"wrote {export_dir / 'verify.json'}"
    assert json.loads((export_dir / "verify.json").read_text())["passed"] is True
    assert json.loads((export_dir / "export.json").read_text())["format"] == "onnx"
    assert result.stderr == ""  # the converter's log lines stay off the terminal


def test_cli_missing_runtime_is_one_line_with_the_install_hint(model_file, tmp_path):
    result = _run([f"--model_path={model_file}", "--format=onnx", f"--export_dir={tmp_path / 'e'}"],
                  prelude="sys.modules['onnxruntime'] = None\n")
    assert result.returncode == 2
    assert result.stderr.strip() == 'error: --format=onnx needs onnxruntime: pip install "sr_keras[deploy]"'
    assert not (tmp_path / "e").exists()
