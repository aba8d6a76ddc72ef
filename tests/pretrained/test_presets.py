"""The originals' published weights by name (`sr_keras.pretrained`), offline.

A preset's download is exercised against a loopback HTTP server serving an EDSR-PyTorch checkpoint written by a
PyTorch module with EDSR-PyTorch's keys (tests/convert/test_edsr.py): the preset `edsr_baseline_x2` keeps its name,
architecture and converter, only its URL and hash point at the local file. Covered: first load (download,
hash check, conversion, cached `.keras`), a cache hit with the server gone, resume after a cut connection, a
hash mismatch refused with nothing left, `--weights` offline in upscale (same bytes as the converted file),
evaluate and export, and train's `--init_from` by name and by converted file.
"""
import dataclasses
import hashlib
import json
import os
import re
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sr_keras import pretrained  # noqa: E402
from tests import launch
from tests.conftest import wall_clock_limit  # noqa: E402
from tests.convert.test_edsr import TorchEDSR, _torch_output  # noqa: E402
from tests.test_download import _Server  # noqa: E402

PRESET = "edsr_baseline_x2"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(module, path, bytes, sha256) of a tiny EDSR-PyTorch x2 checkpoint named as torch.hub names files."""
    torch.manual_seed(7)
    module = TorchEDSR(2).eval()
    folder = tmp_path_factory.mktemp("published")
    raw = folder / "raw.pt"
    torch.save(module.state_dict(), raw)
    payload = raw.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    path = folder / f"edsr_baseline_x2-{digest[:8]}.pt"
    raw.rename(path)
    return module, path, payload, digest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SR_KERAS_CACHE", str(folder))
    return folder


def _point_preset_at(monkeypatch, server, checkpoint, sha256=None):
    _, path, _, digest = checkpoint
    preset = dataclasses.replace(pretrained.PRESETS[PRESET], url=server.url(path.name), filename=path.name,
                                 sha256=sha256 or digest[:8])
    monkeypatch.setitem(pretrained.PRESETS, PRESET, preset)
    return preset


@pytest.fixture(scope="module")
def crop():
    from skimage import data

    return data.astronaut()[150:171, 200:226].astype("float32")


def test_every_published_preset_names_its_source(monkeypatch):
    published = [p for p in pretrained.PRESETS.values() if not p.bundled]
    assert len(published) >= 27
    for preset in published:
        assert preset.url.startswith("https://") and preset.source and preset.licence and preset.published
        hub_name = re.search(r"-([0-9a-f]{8})\.pth?$", preset.filename)
        if hub_name:  # torch.hub names: the hash is the name's last 8 digits
            assert preset.sha256 == hub_name.group(1)
        else:  # Real-ESRGAN's and KAIR's names carry none, and they publish none
            assert preset.sha256 is None and preset.source in ("realesrgan", "bsrgan", "wdsr_ychfan", "krasserm")
    assert pretrained.PRESETS["edsr_baseline_x4"].url.endswith("edsr_baseline_x4-6b446fab.pt")
    assert "34.61 dB" in pretrained.PRESETS["edsr_baseline_x2"].published
    assert pretrained.PRESETS["realesr_general_x4v3"].companion == "realesr_general_wdn_x4v3"
    with pytest.raises(ValueError, match="between 0 and 1"):  # refused before any download is tried
        pretrained.load("realesr_general_x4v3", denoise_strength=1.5)
    with pytest.raises(ValueError, match="applies to realesr_general_x4v3, not edsr_baseline_x4"):
        pretrained.load("edsr_baseline_x4", denoise_strength=0.5)
    assert {p.architecture for p in published} >= {"rrdbnet", "srvgg_compact"}
    table = pretrained.table()
    assert table.count("\n") == len(pretrained.PRESETS) + 1 and "mdsr_x3" in table


def test_first_load_downloads_converts_and_caches(checkpoint, cache, monkeypatch, crop):
    module, path, payload, _ = checkpoint
    server = _Server({f"/{path.name}": payload})
    try:
        _point_preset_at(monkeypatch, server, checkpoint)
        model = pretrained.load(PRESET, progress=False)
    finally:
        server.close()
    assert (cache / "checkpoints" / path.name).read_bytes() == payload
    assert (cache / "models" / f"{PRESET}.keras").is_file()
    expected = _torch_output(module, crop)
    np.testing.assert_allclose(model(crop[None]).numpy()[0], expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # a cache hit: the server is gone, torch is not needed, the same model comes back
    again = pretrained.load(PRESET, progress=False)
    np.testing.assert_array_equal(again(crop[None]).numpy(), model(crop[None]).numpy())
    assert len(server.requests) == 1


def test_download_resumes_after_a_cut_connection(checkpoint, cache, monkeypatch):
    _, path, payload, _ = checkpoint
    server = _Server({f"/{path.name}": payload}, mode="cut_first", cut=len(payload) // 3)
    try:
        _point_preset_at(monkeypatch, server, checkpoint)
        monkeypatch.setattr("sr_keras.download.time.sleep", lambda seconds: None)
        fetched = pretrained.fetch(PRESET, progress=False)
    finally:
        server.close()
    assert open(fetched, "rb").read() == payload
    assert [r.get("Range") for r in server.requests] == [None, f"bytes={len(payload) // 3}-"]


def test_hash_mismatch_is_refused_and_nothing_is_left(checkpoint, cache, monkeypatch):
    _, path, payload, digest = checkpoint
    server = _Server({f"/{path.name}": payload})
    wrong = "0" * 8 if not digest.startswith("0" * 8) else "f" * 8
    try:
        _point_preset_at(monkeypatch, server, checkpoint, sha256=wrong)
        with pytest.raises(ValueError) as error:
            pretrained.load(PRESET, progress=False)
    finally:
        server.close()
    message = str(error.value)
    assert "\n" not in message and wrong in message and digest[:8] in message and "--weights" in message
    assert not list((cache / "checkpoints").iterdir())
    assert not (cache / "models").exists() or not list((cache / "models").iterdir())


def test_weights_of_another_preset_are_refused(checkpoint, cache):
    _, path, _, _ = checkpoint
    with pytest.raises(ValueError, match="not x4"):
        pretrained.load("edsr_baseline_x4", weights=path)


def _cli(module, args, env, cwd):
    return launch.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                      timeout=wall_clock_limit(600), cwd=cwd, env=env)


def test_cli_weights_offline_give_the_converted_models_bytes(checkpoint, tmp_path):
    """upscale --pretrained --weights=<original .pt> equals upscale --model_path=<converted .keras>, byte for
    byte; evaluate and export take the same flags; train --init_from takes the converted file and the name."""
    from PIL import Image
    from skimage import data

    _, path, _, _ = checkpoint
    env = dict(os.environ, SR_KERAS_CACHE=str(tmp_path / "cache"), CUDA_VISIBLE_DEVICES="",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")  # no network reachable
    Image.fromarray(data.astronaut()[100:148, 180:220]).save(tmp_path / "photo.png")
    converted = tmp_path / "converted.keras"
    result = _cli("sr_keras.convert", [f"--input={path}", f"--output={converted}"], env, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    by_name = _cli("sr_keras.upscale", [f"--pretrained={PRESET}", f"--weights={path}", "photo.png",
                                        "--output_dir=by_name"], env, tmp_path)
    assert by_name.returncode == 0, by_name.stderr[-2000:]
    by_file = _cli("sr_keras.upscale", [f"--model_path={converted}", "photo.png", "--output_dir=by_file"], env,
                   tmp_path)
    assert by_file.returncode == 0, by_file.stderr[-2000:]
    assert (tmp_path / "by_name" / "photo_x2.png").read_bytes() == (tmp_path / "by_file" / "photo_x2.png").read_bytes()

    evaluated = _cli("sr_keras.evaluate", [f"--pretrained={PRESET}", f"--weights={converted}",
                                           "--output_json=scores.json"], env, tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads((tmp_path / "scores.json").read_text())["pretrained"] == PRESET
    exported = _cli("sr_keras.export", [f"--pretrained={PRESET}", f"--weights={path}", "--export_dir=export/1"],
                    env, tmp_path)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert (tmp_path / "export" / "1" / "saved_model.pb").is_file()

    cached = _cli("sr_keras.pretrained", ["download", PRESET, f"--weights={path}"], env, tmp_path)
    assert cached.returncode == 0, cached.stderr[-2000:]
    assert cached.stdout.startswith(f"{PRESET}: {tmp_path / 'cache' / 'models'}")

    lonely = _cli("sr_keras.upscale", [f"--weights={path}", "photo.png"], env, tmp_path)
    assert lonely.returncode == 2 and "--weights goes with --pretrained" in lonely.stderr

    # fine-tuning x4 from the converted x2 by name: the name resolves to the cached conversion (--init_from with
    # a file is tests/training/test_init_from.py's)
    os.makedirs(tmp_path / "cache" / "models", exist_ok=True)
    os.replace(converted, tmp_path / "cache" / "models" / f"{PRESET}.keras")
    trained = _cli("sr_keras.train", ["--model=edsr_baseline", "--scale=4", "--num_filters=8", "--num_res_blocks=2",
                                      f"--init_from={PRESET}", "--steps=1", "--batch_size=2", "--crop_size=32",
                                      "--data=embedded", f"--model_dir={tmp_path / 'run'}"], env, tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    log = trained.stdout + trained.stderr
    assert "upsample_2_conv" in log and "skipped" in log, log[-3000:]
    loaded = 1 + 2 * 2 + 1 + 1 + 1  # head, 2 blocks x 2 convs, body conv, first upsampler stage, tail
    assert f"loaded {loaded} layer(s)" in log, log[-3000:]


def test_a_page_served_instead_of_an_archive_is_not_kept(cache, monkeypatch):
    """Google Drive may answer with an HTML page: for a preset published as an archive without a hash, that
    download is refused in one line and deleted, so the next try downloads again instead of reusing it."""
    page = b"<html><body>Google Drive can't scan this file for viruses.</body></html>"
    server = _Server({"/wdsr_x2.zip": page})
    try:
        preset = dataclasses.replace(pretrained.PRESETS["wdsr_a_x2"], url=server.url("wdsr_x2.zip"))
        monkeypatch.setitem(pretrained.PRESETS, "wdsr_a_x2", preset)
        with pytest.raises(ValueError, match="not a readable .zip / .tar.gz") as error:
            pretrained.fetch("wdsr_a_x2", progress=False)
    finally:
        server.close()
    assert "\n" not in str(error.value) and "--weights" in str(error.value)
    assert not (cache / "checkpoints" / "wdsr_x2.zip").exists()


def test_list_fits_a_terminal_and_full_is_the_table(capsys):
    from absl import app, flags

    from sr_keras.cli import pretrained as command

    def run(*args):  # as `python -m sr_keras.pretrained <args>` runs it, in this process (its flags are its own)
        command.FLAGS.unparse_flags()
        return command.main(command.FLAGS(["pretrained", *args]))

    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(pretrained.PRESETS)
    assert max(len(line) for line in lines) <= 100
    assert run("list", "--full") == 0
    assert capsys.readouterr().out.strip() == pretrained.table()
    with pytest.raises(flags.Error, match="wide"):  # an unknown option: one line, exit 2 (run_cli)
        run("list", "--wide")
    with pytest.raises(app.UsageError, match="unknown action 'lists'; usage: "):
        run("lists")
