"""`python -m sr_keras.train`: every flag a user can get wrong stops with one line before any training."""
import os
import sys

import pytest
from PIL import Image

from tests import launch
from tests.conftest import wall_clock_limit

TINY = ["--num_filters=8", "--num_res_blocks=1", "--batch_size=2", "--crop_size=8", "--steps=2"]


def run_train(args, tmp_path, env=None):
    model_dir = tmp_path / "run"
    command = [sys.executable, "-m", "sr_keras.train", f"--model_dir={model_dir}", *args]
    result = launch.run(command, capture_output=True, text=True, timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES="", **(env or {})))
    return result, model_dir


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("args,message", [
    (["--model=esrgan"], "--model: unknown model 'esrgan'; trainable models: edsr, edsr_baseline"),
    (["--model=srresnet", "--scale=5"], "--scale: srresnet does not support scale 5; supported scales: 2, 3, 4, 8"),
    (["--recipe=edsr_v2"], "--recipe: unknown recipe 'edsr_v2'; recipes: edsr_paper"),
    (["--model=edsr_baseline", "--gpus=2"], "--gpus=2 but this machine has 0 GPU(s) (use --cpu_replicas=N"),
    (["--model=wdsr_b", "--data=folder", "--data_dir=/nonexistent/photos"],
     "--data_dir: directory not found: /nonexistent/photos"),
    (["--model=wdsr_b", "--batch_size=3", "--cpu_replicas=2"], "--batch_size: 3 must be divisible by the 2 replicas"),
    (["--model=edsr_baseline", "--crop_size=400"], "crop_size 400 (LR pixels) is larger than every image of "
                                                    "embedded_train"),
])
def test_bad_flags_stop_with_one_line_before_training(args, message, tmp_path):
    tiny = [a for a in TINY if not any(a.split("=")[0] == b.split("=")[0] for b in args)]
    result, model_dir = run_train(args + tiny, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = _error_lines(result.stderr)
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not (model_dir / "checkpoints").exists()


def test_folder_without_images_is_named(tmp_path):
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "photos" / "not_an_image.txt", format="png")
    result, _ = run_train(["--model=edsr_baseline", "--data=folder", f"--data_dir={tmp_path / 'photos'}"] + TINY,
                          tmp_path)
    assert result.returncode == 2
    assert "no image files" in _error_lines(result.stderr)[0] and "photos" in _error_lines(result.stderr)[0]


def test_gan_without_a_pretrained_generator_names_the_two_step_recipe(tmp_path):
    result, model_dir = run_train(["--model=srgan"] + TINY, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (error,) = _error_lines(result.stderr)
    assert "--init_from: srgan starts from a trained srresnet" in error and "--from_scratch" in error
    assert not model_dir.exists()
