"""Two worker processes on localhost train one SRGAN with MultiWorkerMirroredStrategy and end identical."""
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np

import sr_keras.models  # noqa: F401  (registers the layers and the generator class for loading)
from tests import launch
from tests.conftest import wall_clock_limit

STEPS = 6


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_srgan_to_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    model_dir = tmp_path / "run"
    command = [sys.executable, "-m", "sr_keras.train", "--model=srgan", "--from_scratch", "--strategy=multi_worker",
               "--num_filters=8", "--num_res_blocks=1", "--discriminator_filters=8", "--discriminator_layers=4",
               "--content_loss=mse", "--crop_size=8", "--batch_size=4", f"--steps={STEPS}", "--save_every=3",
               "--eval_every=100", "--max_eval_images=1", "--log_every=1", f"--model_dir={model_dir}"]
    processes = []
    for index in range(2):
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(launch.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=wall_clock_limit(600))[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
        assert "on 2 replica(s)" in output and f"step {STEPS}/{STEPS}" in output
    chief = model_dir / "generator_final_x4.keras"
    other = model_dir / "workers" / "worker_1" / "generator_final_x4.keras"
    assert (model_dir / "checkpoints" / "checkpoint").exists()
    assert (model_dir / "workers" / "worker_1" / "checkpoints" / "checkpoint").exists()
    models = [keras.saving.load_model(path) for path in (chief, other)]
    for a, b in zip(models[0].weights, models[1].weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    with open(model_dir / "metrics.jsonl") as handle:
        start = json.loads(handle.readline())
    final = sum(float(np.abs(v.numpy().astype("float64")).sum()) for v in models[0].trainable_variables)
    assert start["event"] == "start" and start["replicas"] == 2
    assert abs(final - start["generator_digest"]) > 1e-3  # the steps really changed the generator
