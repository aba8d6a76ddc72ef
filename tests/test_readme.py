"""The README tells the truth: its Python example runs and its model table is what the tool prints."""
import pathlib
import re
import subprocess
import sys

import numpy as np
from PIL import Image

from tests.conftest import wall_clock_limit

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_examples_run_on_a_real_photo(tmp_path, monkeypatch, astronaut):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python example"
    Image.fromarray(astronaut[100:148, 180:244].astype("uint8")).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own examples
    assert namespace["lr"].shape == (16, 48, 48, 3) and namespace["hr"].shape == (16, 192, 192, 3)
    out = np.asarray(Image.open(tmp_path / "photo_x4.png"))
    assert out.shape == (192, 256, 3) and out.dtype == np.uint8
    lr = np.asarray(Image.open(tmp_path / "photo.png"), dtype="float32")[None]
    np.testing.assert_allclose(namespace["restored"].predict(lr, verbose=0),
                               namespace["untrained"].predict(lr, verbose=0), rtol=1e-5, atol=1e-3)


def test_readme_model_table_matches_tools_model_table():
    printed = subprocess.run([sys.executable, str(ROOT / "tools" / "model_table.py")], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
    assert len(printed) == 16
    for line in printed:
        assert line in README, f"README model table is out of date: {line}"


def test_readme_main_command_beats_bicubic(tmp_path):
    """The README's install-and-run command, as written, trains and beats MATLAB bicubic on held-out photos."""
    import json
    import os
    import shlex

    line = next(line for line in README.splitlines() if line.startswith("python -m sr_keras.train --model=wdsr_b"))
    command = shlex.split(line)
    assert command[:3] == ["python", "-m", "sr_keras.train"]
    result = subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True,
                            timeout=wall_clock_limit(600), env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-3000:]
    model_dir = tmp_path / dict(arg.split("=", 1) for arg in command[3:] if "=" in arg)["--model_dir"]
    end = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert end["event"] == "end"
    assert end["validation"]["4"]["psnr_y"] > end["bicubic"]["4"]["psnr_y"]
    assert (model_dir / "generator_final_x4.keras").exists()
    assert "| x4 | model |" in result.stderr and "| x4 | bicubic |" in result.stderr
    # TensorFlow's own log lines (a PNG's iCCP profile, tf.data's notes) stay off a command's stderr
    native = [line for line in result.stderr.splitlines() if re.match(r"[IWE]\d{4} \d\d:\d\d", line)]
    assert not native, native
