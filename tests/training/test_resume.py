"""A run killed with SIGKILL resumes from its last checkpoint with the saved weights and optimizer state."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from tests import launch
from tests.conftest import wall_clock_limit

STEPS = 400


def _command(model_dir):
    return [sys.executable, "-m", "sr_keras.train", "--model=edsr_baseline", "--num_filters=8",
            "--num_res_blocks=1", "--batch_size=2", "--crop_size=8", f"--steps={STEPS}", "--save_every=5",
            "--eval_every=100000", "--max_eval_images=1", "--log_every=50", f"--model_dir={model_dir}"]


def _events(model_dir):
    with open(os.path.join(model_dir, "metrics.jsonl")) as handle:
        return [json.loads(line) for line in handle]


def _checkpoint_state(path):
    """(step, |generator weights| sum, optimizer iterations, |optimizer variables| sum) read from a checkpoint.

    The object graph stores each variable once: the generator's trainable weights under the optimizer that
    trains them (`g_optimizer/_trainable_variables/*`), the optimizer's own variables (iteration counter,
    moments) under `g_optimizer/_iterations` and `g_optimizer/_variables/*`.
    """
    reader = tf.train.load_checkpoint(path)
    step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    iterations = int(reader.get_tensor("g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
    generator, optimizer = 0.0, float(iterations)
    for key in reader.get_variable_to_shape_map():
        if not key.endswith("VARIABLE_VALUE"):
            continue
        value = float(np.abs(np.asarray(reader.get_tensor(key), dtype="float64")).sum())
        if key.startswith("g_optimizer/_trainable_variables/"):
            generator += value
        elif key.startswith("g_optimizer/_variables/"):
            optimizer += value
    return step, generator, iterations, optimizer


def test_sigkill_then_rerun_resumes_at_the_saved_state(tmp_path):
    model_dir = tmp_path / "run"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    process = launch.Popen(_command(model_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + wall_clock_limit(240)
    state_file = model_dir / "checkpoints" / "checkpoint"
    try:
        while time.time() < deadline and process.poll() is None:
            latest = tf.train.latest_checkpoint(str(model_dir / "checkpoints")) if state_file.exists() else None
            if latest and int(latest.rsplit("-", 1)[1]) >= 10:
                break
            time.sleep(0.02)
        assert process.poll() is None, "training ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=wall_clock_limit(30))
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    latest = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    saved_step, saved_generator, saved_iterations, saved_optimizer = _checkpoint_state(latest)
    assert 10 <= saved_step < STEPS and saved_iterations == saved_step

    result = launch.run(_command(model_dir), capture_output=True, text=True, timeout=wall_clock_limit(600), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming edsr_baseline x4 at step {saved_step}/{STEPS}" in result.stderr
    starts = [e for e in _events(model_dir) if e["event"] == "start"]
    resumed = starts[-1]
    assert resumed["step"] == saved_step and resumed["g_optimizer_iterations"] == saved_step
    assert saved_generator > 0 and saved_optimizer > saved_iterations
    assert abs(resumed["generator_digest"] - saved_generator) < 1e-6 * saved_generator
    assert abs(resumed["g_optimizer_digest"] - saved_optimizer) < 1e-6 * saved_optimizer
    end = [e for e in _events(model_dir) if e["event"] == "end"][-1]
    assert end["steps"] == STEPS and end["resumed_from"] == saved_step
    final_step, _, final_iterations, _ = _checkpoint_state(tf.train.latest_checkpoint(str(model_dir / "checkpoints")))
    assert final_step == STEPS and final_iterations == STEPS
    assert (model_dir / "generator_final_x4.keras").exists()
