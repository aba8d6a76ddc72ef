"""Image reading is bounded: a PNG declaring 20000 x 20000 pixels (a decompression bomb: a 60 kB file whose
decoding would take 1.2 GB at 8 bits RGB) is refused by name from its header, before decoding, by `upscale`,
`evaluate` and the training data check, with one line, exit code 2, no output and little memory."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras.data.io import DEFAULT_MAX_PIXELS, ImageReadError, inspect_images, read_image
from tests.conftest import wall_clock_limit


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bomb")
    path = folder / "bomb.png"
    Image.new("1", (20000, 20000)).save(path, optimize=True)  # 1 bit per pixel in memory: 50 MB to write
    assert path.stat().st_size < 1_000_000
    return path


def test_readers_refuse_the_bomb_by_its_header(bomb):
    for read in (read_image, lambda p: inspect_images([p]), lambda p: inspect_images([p], full=False)):
        with pytest.raises(ImageReadError, match="declares (20000x20000 = )?400 MP, above the limit of 100 MP"):
            read(bomb)
    assert DEFAULT_MAX_PIXELS == 100_000_000


def test_the_limit_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "photo.png"
    Image.fromarray(np.zeros((40, 50, 3), "uint8")).save(path)
    monkeypatch.setenv("SR_KERAS_MAX_PIXELS", "1999")
    with pytest.raises(ImageReadError, match="SR_KERAS_MAX_PIXELS"):
        read_image(path)
    monkeypatch.setenv("SR_KERAS_MAX_PIXELS", "2000")
    assert read_image(path).shape == (40, 50, 3)


def _run_measured(args, cwd):
    """(CompletedProcess, peak resident kB) of `python -m ...args` under /usr/bin/time."""
    if not os.path.exists("/usr/bin/time"):
        pytest.skip("/usr/bin/time is needed to measure peak memory")
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB=%M", sys.executable, "-m", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=wall_clock_limit(600),
                            env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    peak = [line for line in result.stderr.splitlines() if line.startswith("PEAK_KB=")]
    return result, int(peak[-1].split("=")[1])


@pytest.mark.parametrize("command", ["upscale", "evaluate", "train"])
def test_clis_stop_with_one_line(command, bomb, tmp_path):
    if command == "upscale":
        args = ["sr_keras.upscale", str(bomb), f"--output_dir={tmp_path / 'out'}"]
    elif command == "evaluate":
        args = ["sr_keras.evaluate", "--pretrained=wdsr_b_default_x2", f"--data_dir={bomb.parent}"]
    else:
        args = ["sr_keras.train", "--model=edsr_baseline", "--num_filters=8", "--num_res_blocks=1", "--steps=1",
                "--data=folder", f"--data_dir={bomb.parent}", f"--model_dir={tmp_path / 'run'}"]
    result, peak_kb = _run_measured(args, tmp_path)
    lines = [line for line in result.stderr.splitlines() if "bomb.png" in line]
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-2000:]
    assert "400 MP" in lines[0] and "SR_KERAS_MAX_PIXELS" in lines[0]
    assert peak_kb < 2 * 1024 * 1024, peak_kb
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
