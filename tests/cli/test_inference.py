"""The evaluate, upscale and export command lines, run as a user would, on real photos."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sr_keras.models import build_model
from tests import launch
from tests.conftest import wall_clock_limit


def _run(module, args, timeout=300):
    return launch.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                      timeout=wall_clock_limit(timeout), env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1)
    path = tmp_path_factory.mktemp("model") / "tiny_x2.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, photos):
    directory = tmp_path_factory.mktemp("photos")
    Image.fromarray(photos["chelsea"][:60, :90]).save(directory / "cat.png")
    Image.fromarray(photos["coffee"][100:170, 200:251]).save(directory / "cup.jpg", quality=95)
    return directory


def test_export_serves_the_same_bytes_as_upscale_in_a_fresh_process(model_file, tmp_path, photos):
    export_dir = tmp_path / "export" / "1"
    result = _run("sr_keras.export", [f"--model_path={model_file}", f"--export_dir={export_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    images = [photos["astronaut"][:37, :53], photos["rocket"][10:74, 20:61]]
    for index, image in enumerate(images):
        np.save(tmp_path / f"in{index}.npy", image)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"loaded = tf.saved_model.load({str(export_dir)!r})\n"
        "serve = loaded.signatures['serve']\n"
        "for i in range(2):\n"
        f"    image = np.load({str(tmp_path)!r} + f'/in{{i}}.npy')\n"
        "    out = list(serve(tf.constant(image[None])).values())[0].numpy()[0]\n"
        f"    np.save({str(tmp_path)!r} + f'/out{{i}}.npy', out)\n")
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=wall_clock_limit(300))
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    from sr_keras.inference import upscale

    model = keras.saving.load_model(model_file)
    for index, image in enumerate(images):
        served = np.load(tmp_path / f"out{index}.npy")
        assert served.dtype == np.uint8 and served.shape == (image.shape[0] * 2, image.shape[1] * 2, 3)
        np.testing.assert_array_equal(served, upscale(model, image))


def test_export_rejects_pool_size_without_attention(model_file, tmp_path):
    result = _run("sr_keras.export", [f"--model_path={model_file}", f"--export_dir={tmp_path / 'e'}",
                                      "--pool_size=4"])
    assert result.returncode == 2 and "pool_size only applies to models with FlexibleSelfAttention" in result.stderr
    assert not (tmp_path / "e").exists()


def test_evaluate_prints_model_and_bicubic_and_writes_json(model_file, photo_dir, tmp_path):
    output = tmp_path / "results.json"
    result = _run("sr_keras.evaluate", [f"--model_path={model_file}", f"--data_dir={photo_dir}", "--scale=2",
                                        f"--output_json={output}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| x2 | tiny_x2.keras |" in result.stdout and "| x2 | bicubic |" in result.stdout
    data = json.loads(output.read_text())
    assert data["images"] == ["cat.png", "cup.jpg"] and data["scale"] == 2
    per_image = data["model"]["per_image"]
    assert len(per_image) == 2
    assert data["model"]["mean"]["psnr_y"] == pytest.approx(np.mean([r["psnr_y"] for r in per_image]))
    assert data["bicubic"]["mean"]["psnr_y"] > 20


def test_evaluate_rejects_a_contradicting_scale(model_file, photo_dir):
    result = _run("sr_keras.evaluate", [f"--model_path={model_file}", f"--data_dir={photo_dir}", "--scale=4"])
    assert result.returncode == 2
    assert "--scale=4 contradicts the model" in result.stderr and "x2" in result.stderr


def test_upscale_files_and_folders(model_file, photo_dir, tmp_path):
    out = tmp_path / "out"
    result = _run("sr_keras.upscale", [f"--model_path={model_file}", f"--output_dir={out}", "--tile=32",
                                       str(photo_dir)])
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(os.listdir(out)) == ["cat_x2.png", "cup_x2.png"]
    assert np.asarray(Image.open(out / "cat_x2.png")).shape == (120, 180, 3)
    again = _run("sr_keras.upscale", [f"--model_path={model_file}", f"--output_dir={out}", str(photo_dir / "cat.png")])
    assert again.returncode == 2 and "output exists" in again.stderr


def test_upscale_reports_an_existing_output_before_loading_the_model(photo_dir, tmp_path):
    """Run twice by mistake, the default model's command stops at once: the outputs' names are known before
    the model loads, so no load (or download) is spent on a run that would stop anyway."""
    (tmp_path / "cat_x4.png").write_bytes(b"an earlier result")
    result = _run("sr_keras.upscale", [f"--output_dir={tmp_path}", str(photo_dir / "cat.png")])
    assert result.returncode == 2 and "output exists" in result.stderr
    assert "using the default model" not in result.stderr
    assert (tmp_path / "cat_x4.png").read_bytes() == b"an earlier result"


@pytest.mark.parametrize("case", ["not_an_image", "corrupt", "unwritable", "scale", "missing"])
def test_upscale_bad_inputs_leave_no_output(case, model_file, photo_dir, tmp_path):
    out = tmp_path / "out"
    inputs = [str(photo_dir / "cat.png")]
    args = [f"--model_path={model_file}", f"--output_dir={out}"]
    if case == "not_an_image":
        (tmp_path / "notes.png").write_text("just text")
        inputs.append(str(tmp_path / "notes.png"))
        expected = "notes.png"
    elif case == "corrupt":
        data = (photo_dir / "cup.jpg").read_bytes()
        (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
        inputs.append(str(tmp_path / "cut.jpg"))
        expected = "cut.jpg"
    elif case == "unwritable":
        (tmp_path / "a_file").write_text("x")
        out = tmp_path / "a_file" / "out"
        args = [f"--model_path={model_file}", f"--output_dir={out}"]
        expected = "cannot create output directory"
    elif case == "scale":
        args.append("--scale=3")
        expected = "--scale=3 contradicts the model"
    else:
        inputs.append(str(tmp_path / "nowhere.png"))
        expected = "input not found"
    result = _run("sr_keras.upscale", args + inputs)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0]
    assert not out.exists() or not any(out.iterdir())


def test_saved_model_serve_float_signature(model_file, tmp_path):
    from sr_keras.export import export_saved_model

    model = keras.saving.load_model(model_file)
    export_saved_model(model, tmp_path / "sm")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    x = np.random.default_rng(0).uniform(0, 255, (1, 9, 11, 3)).astype("float32")
    out = list(loaded.signatures["serve_float"](tf.constant(x)).values())[0].numpy()
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-5, atol=1e-3)


def test_upscale_keeps_grayscale_and_alpha_and_umask_permissions(model_file, tmp_path):
    """A grayscale PNG gives a single-channel PNG (as `upscale` does for a gray array); an RGBA PNG keeps its
    alpha without a warning saying it is dropped; outputs are readable by others under umask 022."""
    from skimage import data

    from sr_keras.inference import upscale as upscale_array

    gray = data.camera()[200:232, 240:280]
    rgba = np.dstack([data.astronaut()[100:132, 180:220], np.full((32, 40), 200, "uint8")])
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    old = os.umask(0o022)
    try:
        result = _run("sr_keras.upscale", [f"--model_path={model_file}", str(tmp_path / "gray.png"),
                                           str(tmp_path / "rgba.png"), f"--output_dir={tmp_path / 'out'}"])
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dropped" not in result.stderr
    out_gray = Image.open(tmp_path / "out" / "gray_x2.png")
    assert out_gray.mode == "L" and out_gray.size == (80, 64)
    expected = upscale_array(keras.saving.load_model(model_file), gray)
    np.testing.assert_array_equal(np.asarray(out_gray), expected)
    assert Image.open(tmp_path / "out" / "rgba_x2.png").mode == "RGBA"
    for path in (tmp_path / "out", tmp_path / "out" / "gray_x2.png"):
        assert path.stat().st_mode & 0o044 == 0o044, oct(path.stat().st_mode)


def test_upscale_outscale_and_alpha_through_the_model(model_file, tmp_path):
    """`--outscale=3.5 --alpha_upsampler=model` on an RGBA photo writes `<name>_x3.5.png` of int(W * 3.5) x
    int(H * 3.5) pixels equal to the library's result; a bad factor stops with one line before any file."""
    from skimage import data

    from sr_keras.inference import upscale as upscale_array

    alpha = np.linspace(0, 255, 40)[None, :].repeat(30, 0).astype("uint8")
    rgba = np.dstack([data.astronaut()[100:130, 180:220], alpha])
    Image.fromarray(rgba).save(tmp_path / "logo.png")
    result = _run("sr_keras.upscale", [f"--model_path={model_file}", "--outscale=3.5", "--alpha_upsampler=model",
                                       str(tmp_path / "logo.png"), f"--output_dir={tmp_path / 'out'}"])
    assert result.returncode == 0, result.stderr[-2000:]
    written = Image.open(tmp_path / "out" / "logo_x3.5.png")
    assert written.mode == "RGBA" and written.size == (140, 105)
    expected = upscale_array(keras.saving.load_model(model_file), rgba, alpha_upsampler="model", outscale=3.5)
    np.testing.assert_array_equal(np.asarray(written), expected)
    bad = _run("sr_keras.upscale", [f"--model_path={model_file}", "--outscale=0", str(tmp_path / "logo.png"),
                                    f"--output_dir={tmp_path / 'bad'}"])
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: --outscale must be a positive "
                                                                       "factor, got 0"]
    assert not list((tmp_path / "bad").rglob("*.png"))
