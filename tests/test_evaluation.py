"""`python -m sr_keras.evaluate --protocol=benchmark|div2k`: different, documented numbers on the same images,
each equal to an independent numpy computation of that protocol; the bicubic baseline is MATLAB-style uint8
LR upscaled, as in BasicSR's and EDSR-PyTorch's evaluations."""
import json
import os
import re
import sys

import numpy as np
import pytest
from PIL import Image

import sr_keras
from sr_keras.data import imresize
from tests import launch
from tests.conftest import wall_clock_limit

SCALE = 2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("protocol")
    (folder / "hr").mkdir()
    Image.fromarray(data.chelsea()[:61, :83]).save(folder / "hr" / "cat.png")
    Image.fromarray(data.coffee()[100:171, 200:259]).save(folder / "hr" / "cup.png")
    model = sr_keras.build_model("edsr_baseline", scale=SCALE, num_filters=8, num_res_blocks=1)
    model.save(folder / "tiny.keras")
    return folder, model


def _psnr(a, b):
    mse = np.mean((a.astype("float64") - b.astype("float64")) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def _y(rgb):
    rgb = rgb.astype("float64")
    return (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0 + 16.0


def _shave(image, border):
    return image[border:-border, border:-border]


def _independent(model, folder):
    """Per image: (model RGB/Y PSNR, bicubic RGB/Y PSNR) ingredients, computed here from first principles."""
    out = {}
    for name in ("cat.png", "cup.png"):
        hr = np.asarray(Image.open(folder / "hr" / name)).astype("float32")
        hr = hr[: hr.shape[0] // SCALE * SCALE, : hr.shape[1] // SCALE * SCALE]
        lr = np.floor(np.clip(imresize(hr, scale=1 / SCALE).numpy(), 0, 255) + 0.5)  # MATLAB uint8 LR
        sr = np.clip(np.round(model(lr[None], training=False).numpy()[0]), 0, 255)
        bicubic = np.clip(np.round(imresize(lr, scale=float(SCALE)).numpy()), 0, 255)
        out[name] = (hr, sr, bicubic)
    return out


def _run(folder, protocol):
    output = folder / f"{protocol}.json"
    result = launch.run([sys.executable, "-m", "sr_keras.evaluate", f"--model_path={folder / 'tiny.keras'}",
                         f"--data_dir={folder / 'hr'}", f"--protocol={protocol}", f"--output_json={output}"],
                        capture_output=True, text=True, timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(rf"^protocol {protocol} on \d+ images? \(", result.stdout, re.MULTILINE), result.stdout
    return json.loads(output.read_text())


def test_benchmark_and_div2k_protocols_each_equal_their_independent_computation(files):
    folder, model = files
    reference = _independent(model, folder)
    results = {p: _run(folder, p) for p in ("benchmark", "div2k")}
    assert results["benchmark"]["crop_border"] == SCALE and results["div2k"]["crop_border"] == SCALE + 6
    assert results["benchmark"]["headline"] == "psnr_y" and results["div2k"]["headline"] == "psnr_rgb"
    for protocol, result in results.items():
        border = result["crop_border"]
        assert result["protocol"] == protocol
        for record, bicubic_record in zip(result["model"]["per_image"], result["bicubic"]["per_image"]):
            hr, sr, bicubic = reference[record["image"]]
            assert record["psnr_rgb"] == pytest.approx(_psnr(_shave(sr, border), _shave(hr, border)), abs=1e-3)
            assert record["psnr_y"] == pytest.approx(_psnr(_shave(_y(sr), border), _shave(_y(hr), border)), abs=1e-3)
            assert bicubic_record["psnr_rgb"] == pytest.approx(
                _psnr(_shave(bicubic, border), _shave(hr, border)), abs=1e-3)
    benchmark, div2k = results["benchmark"]["model"]["mean"], results["div2k"]["model"]["mean"]
    assert abs(benchmark["psnr_rgb"] - div2k["psnr_rgb"]) > 1e-3  # the border differs, so the numbers do
