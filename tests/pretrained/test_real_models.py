"""The real-photo models shipped in the package: they load by name in float32, the card's held-out figures on
camera-chain LR are recomputed here (and compared with docs/models/real_eval.json), the issue's promised gains
are checked (not met yet: an expected failure naming the figures), and `python -m sr_keras.upscale --real
photo.jpg` uses them."""
import json
import os
import pathlib
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras import evaluation, pretrained
from sr_keras.models import model_info
from sr_keras.models.precision import compute_dtypes
from tests import launch
from tests.conftest import wall_clock_limit

ROOT = pathlib.Path(__file__).resolve().parents[2]
CARD = ROOT / "docs" / "models" / "real_eval.json"
sys.path.insert(0, str(ROOT / "tools"))
import held_out  # noqa: E402

# The promise at x4, on the held-out photos degraded by the camera chain: mean Y-PSNR at least 0.5 dB
# above bicubic and 0.4 dB above the bicubic-trained default model.
PROMISE_X4 = {"bicubic": 0.5, "default": 0.4}


@pytest.mark.parametrize("scale", [2, 4])
def test_real_model_loads_by_name_in_float32(scale):
    model = pretrained.load(pretrained.default_model_name(scale, real=True))
    assert compute_dtypes(model) == {"float32"}
    info = model_info(model)
    assert info["architecture"] == "wdsr_b" and info["scale"] == scale


def _recomputed(scale, sets):
    """{set: {"real": result, "default": result}} on camera-chain LR, as tools/evaluate_real_models.py makes it."""
    card = json.loads(CARD.read_text())
    models = {"real": pretrained.load(pretrained.default_model_name(scale, real=True)),
              "default": pretrained.load(pretrained.default_model_name(scale))}
    results, first = {}, 0
    for name, source in held_out.held_out_sets(scale).items():
        if source is None:
            continue
        clean = evaluation.load_pairs(source)
        if name in sets:
            pairs = evaluation.degrade_pairs(clean, scale, "camera", card["seed"], first_index=first)
            bicubic = evaluation.bicubic_scores(pairs, scale)  # the same LR for both models: scored once
            results[name] = {label: evaluation.evaluate(model, pairs, scale, tile=256, overlap=16, bicubic=bicubic)
                             for label, model in models.items()}
        first += len(clean)
    return card["scales"][str(scale)]["camera"], results


def _check_against_card(card, results):
    for name, by_model in results.items():
        for label, result in by_model.items():
            for key in ("psnr_y", "ssim_y"):
                assert result["model"]["mean"][key] == pytest.approx(card[name][label]["model"]["mean"][key],
                                                                     abs=0.01), (name, label, key)
                assert result["bicubic"]["mean"][key] == pytest.approx(card[name][label]["bicubic"]["mean"][key],
                                                                       abs=0.01), (name, label, key)


@pytest.fixture(scope="module")
def x4_camera():
    """(sets, card, recomputed results) of the x4 camera-chain evaluation over the held-out photos here."""
    wallpapers_installed = all(os.path.isfile(p) for p in held_out.WALLPAPERS)
    sets = ("scikit-image", "wallpapers") if wallpapers_installed else ("scikit-image",)
    card, results = _recomputed(4, sets)
    return sets, card, results


def test_x4_camera_chain_figures_match_the_card(x4_camera):
    _, card, results = x4_camera
    _check_against_card(card, results)


@pytest.mark.xfail(strict=True, reason="issue 22, acceptance 3, not met: on camera-chain LR the shipped x4 "
                   "real-photo model scores 26.35 dB mean Y-PSNR over the 5 held-out photos, bicubic 26.56, the "
                   "default model 26.60 (docs/models/real.md)")
def test_x4_real_photo_model_keeps_the_promise(x4_camera):
    sets, _, results = x4_camera
    if len(sets) < 2:
        pytest.skip("the held-out wallpapers are not installed (apt-get install plasma-workspace-wallpapers): the "
                    "promise is over all 5 photos")
    per_image = {label: [r["psnr_y"] for name in sets for r in results[name][label]["model"]["per_image"]]
                 for label in ("real", "default")}
    bicubic = [r["psnr_y"] for name in sets for r in results[name]["real"]["bicubic"]["per_image"]]
    assert len(bicubic) == 5
    real, default = float(np.mean(per_image["real"])), float(np.mean(per_image["default"]))
    assert real - float(np.mean(bicubic)) >= PROMISE_X4["bicubic"], (real, np.mean(bicubic))
    assert real - default >= PROMISE_X4["default"], (real, default)


def test_evaluate_cli_scores_camera_chain_lr_as_the_card(tmp_path):
    """`python -m sr_keras.evaluate --degradation=camera` gives the card's x2 figures on the validation photos."""
    output = tmp_path / "x2.json"
    result = launch.run([sys.executable, "-m", "sr_keras.evaluate", "--pretrained=wdsr_b_real_x2",
                         "--degradation=camera", "--seed=0", "--tile=256", f"--output_json={output}"],
                        capture_output=True, text=True, timeout=wall_clock_limit(600),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-2000:]
    scored = json.loads(output.read_text())
    assert scored["degradation"] == "camera" and scored["seed"] == 0
    card = json.loads(CARD.read_text())
    assert card["seed"] == 0
    expected = card["scales"]["2"]["camera"]["scikit-image"]
    for who in ("model", "bicubic"):
        assert scored[who]["mean"]["psnr_y"] == pytest.approx(expected["real"][who]["mean"]["psnr_y"], abs=0.01)


def test_upscale_real_uses_the_real_photo_model(tmp_path, astronaut):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(astronaut[100:140, 200:252].astype("uint8")).save(photo, quality=70)
    result = launch.run([sys.executable, "-m", "sr_keras.upscale", "--real", str(photo)], capture_output=True,
                        text=True, timeout=wall_clock_limit(300), cwd=tmp_path,
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("using the real-photo model wdsr_b_real_x4") == 1
    out = np.asarray(Image.open(tmp_path / "photo_x4.png"))
    assert out.shape == (160, 208, 3) and out.dtype == np.uint8


def test_upscale_real_refuses_a_scale_without_a_real_model(tmp_path, astronaut):
    photo = tmp_path / "photo.png"
    Image.fromarray(astronaut[:32, :32].astype("uint8")).save(photo)
    result = launch.run([sys.executable, "-m", "sr_keras.upscale", "--real", "--scale=3", str(photo)],
                        capture_output=True, text=True, timeout=wall_clock_limit(300), cwd=tmp_path,
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: there is no real-photo model at x3; real-photo models: x2, x4"], result.stderr
    assert not (tmp_path / "photo_x3.png").exists()
