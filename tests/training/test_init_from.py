"""`--init_from`: EDSR x4 started from a trained x2 model gets every layer but the x4 upsampler's second stage
(EDSR-PyTorch copies each tensor whose name and shape match), the report names them, and training goes on."""
import json
import os
import sys

import keras
import numpy as np
import pytest

from sr_keras.training import make_config, train
from tests import launch
from tests.conftest import wall_clock_limit

TINY = ["--num_filters=8", "--num_res_blocks=2", "--batch_size=2", "--crop_size=8", "--max_eval_images=1",
        "--eval_every=100", "--save_every=100"]


@pytest.fixture(scope="module")
def x2_model(tmp_path_factory):
    """An x2 EDSR baseline trained for a few steps (the paper's first step)."""
    directory = tmp_path_factory.mktemp("edsr_x2")
    import tensorflow as tf

    config = make_config("edsr_baseline", str(directory), scale=2, num_filters=8, num_res_blocks=2, batch_size=2,
                         crop_size=8, steps=3, max_eval_images=1, eval_every=100, save_every=100)
    summary = train(config, strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))
    return summary["saved"]["2"]


def test_x4_from_x2_loads_every_layer_but_the_new_upsampler_stage(x2_model, tmp_path):
    model_dir = tmp_path / "x4"
    result = launch.run([sys.executable, "-m", "sr_keras.train", "--model=edsr_baseline", "--scale=4",
                         f"--init_from={x2_model}", "--steps=2", f"--model_dir={model_dir}", *TINY],
                        capture_output=True, text=True, timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-3000:]
    expected = ["head_conv", "body_block1_conv1", "body_block1_conv2", "body_block2_conv1", "body_block2_conv2",
                "body_conv", "upsample_1_conv", "tail_conv"]
    assert f"loaded 8 layer(s): {', '.join(expected)}" in result.stderr
    assert "init_from: skipped upsample_2_conv (not in" in result.stderr
    events = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()]
    report = next(e for e in events if e["event"] == "init_from")
    assert report["loaded"] == expected and [name for name, _ in report["skipped"]] == ["upsample_2_conv"]
    start = next(e for e in events if e["event"] == "start")
    source = keras.saving.load_model(x2_model)
    digest = sum(float(np.abs(w.astype("float64")).sum()) for w in source.get_weights())
    assert start["generator_digest"] > digest  # the x2 weights plus the fresh second upsampler stage
    assert events[-1]["event"] == "end" and events[-1]["steps"] == 2  # and training went on


def test_nothing_matching_is_refused(tmp_path):
    other = tmp_path / "srresnet.keras"
    import sr_keras

    sr_keras.build_model("wdsr_b", scale=4, num_filters=8, num_res_blocks=1).save(other)
    result = launch.run([sys.executable, "-m", "sr_keras.train", "--model=edsr_baseline", f"--init_from={other}",
                         "--steps=2", f"--model_dir={tmp_path / 'run'}", *TINY],
                        capture_output=True, text=True, timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: --init_from: no layer of" in result.stderr
