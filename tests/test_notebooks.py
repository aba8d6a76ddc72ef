"""The notebooks of notebooks/ run top to bottom in a real Jupyter kernel (papermill), offline, on the CPU.

Each runs with tiny values given to its parameters cell, as a GPU user would give the full ones. Downloads go
through the package's own code paths with local files: the official EDSR checkpoint is a checkpoint written by a
PyTorch module with EDSR-PyTorch's keys (tests/convert/test_edsr.py) given as `weights=`, and DIV2K is a miniature
of real photo crops in the official archive layout, served from 127.0.0.1 with its sizes and sha256 given to
`download_div2k`. A failing cell fails the run (test_a_failing_cell_fails_the_run).
"""
import hashlib
import io
import json
import pathlib
import re
import shutil
import time
import zipfile

import nbformat
import numpy as np
import papermill
import pytest
from PIL import Image

from tests.conftest import wall_clock_limit
from tests.data.test_div2k_download import _Server

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("quickstart.ipynb", "train_on_gpu.ipynb", "a_srgan_large_images.ipynb")
LIMIT_SECONDS = 180  # the bound for one notebook with its tiny parameters, on this 2-core machine

TINY = {
    "quickstart.ipynb": dict(EVAL_IMAGES=2, CROP=64),  # + PHOTO and OFFICIAL_WEIGHTS, made per run
    "train_on_gpu.ipynb": dict(SCALE=2, STEPS=12, NUM_RES_BLOCKS=2, NUM_FILTERS=16, BATCH_SIZE=4, CROP_SIZE=12,
                               VALID_IMAGES=2, EVAL_EVERY=6, SAVE_EVERY=6, EXTRA_STEPS=4,
                               DATA_ROOT="data/div2k", RUN_DIR="runs/edsr_baseline_x2"),  # + the DIV2K mirror
    "a_srgan_large_images.ipynb": dict(PRE_STEPS=6, GAN_STEPS=4, NUM_RES_BLOCKS=1, NUM_FILTERS=8, BATCH_SIZE=2,
                                       CROP_SIZE=12, EVAL_EVERY=1000, EVAL_IMAGES=1, POOL_SIZES=[4, 8],
                                       LARGE_SIDE=2000, MAX_MEMORY="1GB"),
}
MIRROR_COUNTS = {"train": 4, "valid": 2}


def _code(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _parameters_cell(notebook):
    cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, "a notebook has exactly one cell tagged 'parameters'"
    return cells[0]


def _stdout(notebook):
    return "".join(output.get("text", "") for cell in _code(notebook) for output in cell.outputs
                   if output.output_type == "stream")


def _execute(source, tmp_path, parameters):
    """Runs `source` in a python3 kernel with the working directory `tmp_path`; (executed notebook, seconds)."""
    output = tmp_path / f"executed_{source.name}"
    start = time.perf_counter()
    papermill.execute_notebook(str(source), str(output), parameters=parameters, cwd=str(tmp_path),
                               kernel_name="python3", progress_bar=False, log_output=False,
                               execution_timeout=wall_clock_limit(600))
    return nbformat.read(output, as_version=4), time.perf_counter() - start


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """The kernel inherits this environment: its own cache folder, no GPU."""
    monkeypatch.setenv("SR_KERAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_stripped_and_parametrised(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in _code(notebook):
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs are not stripped"
    install = _code(notebook)[0].source
    assert "pip" in install and '"gpu"' in install and "nvidia-smi" in install  # one cell: Colab GPU or plain
    namespace = {}
    exec(_parameters_cell(notebook).source, namespace)  # noqa: S102 - the notebook's own parameters
    unknown = set(TINY[name]) - set(namespace)
    assert not unknown, f"{name}: the tiny parameters {unknown} are not in its parameters cell"
    # `papermill --help-notebook` documents every parameter with its comment (one line each, parseable)
    inferred = papermill.inspect_notebook(str(NOTEBOOKS / name))
    assigned = {key for key in namespace if key.isupper()}
    assert set(inferred) == assigned and all(inferred[key]["help"] for key in assigned), inferred


def _edsr_checkpoint(folder):
    """A tiny x4 checkpoint with EDSR-PyTorch's keys, saved as the authors save theirs."""
    torch = pytest.importorskip("torch")
    from tests.convert.test_edsr import TorchEDSR

    torch.manual_seed(3)
    path = folder / "edsr_baseline_x4-tiny.pt"
    torch.save(TorchEDSR(4).eval().state_dict(), path)
    return path


def test_quickstart(kernel_env, astronaut):
    tmp_path = kernel_env
    photo = tmp_path / "photo.png"
    Image.fromarray(astronaut[100:196, 150:278].astype("uint8")).save(photo)
    parameters = dict(TINY["quickstart.ipynb"], PHOTO=str(photo), OFFICIAL_WEIGHTS=str(_edsr_checkpoint(tmp_path)))
    notebook, seconds = _execute(NOTEBOOKS / "quickstart.ipynb", tmp_path, parameters)
    assert seconds < LIMIT_SECONDS, seconds
    assert Image.open(tmp_path / "quickstart" / "photo_x4.png").size == (512, 384)
    assert Image.open(tmp_path / "quickstart" / "side_by_side_x4.png").size == (4 * 64, 64 + 16)
    text = _stdout(notebook)
    assert "published: 28.95 dB" in text
    rows = dict(re.findall(r"^\| (wdsr_b_default_x4|bicubic) \| ([0-9.]+) \|", text, flags=re.M))
    assert float(rows["wdsr_b_default_x4"]) > float(rows["bicubic"])  # the shipped model beats bicubic


def _mirror(scale):
    """Miniature DIV2K archives of real photo crops (HR 96x96, LR by the package's MATLAB bicubic, uint8):
    ({archive name: bytes}, {archive name: (size, sha256)})."""
    from skimage import data

    from sr_keras.data import bicubic_degrade, quantize_uint8

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    payloads, table = {}, {}
    for split, first in (("train", 1), ("valid", 801)):
        members = {f"DIV2K_{split}_HR.zip": {}, f"DIV2K_{split}_LR_bicubic_X{scale}.zip": {}}
        for i in range(MIRROR_COUNTS[split]):
            number, photo = first + i, photos[i % len(photos)]
            top, left = 40 + 30 * (split == "valid"), 60 + 10 * i
            hr = np.ascontiguousarray(photo[top: top + 96, left: left + 96])
            lr = quantize_uint8(bicubic_degrade(hr.astype("float32"), scale)[1]).numpy().astype("uint8")
            for archive, member, image in (
                    (f"DIV2K_{split}_HR.zip", f"DIV2K_{split}_HR/{number:04d}.png", hr),
                    (f"DIV2K_{split}_LR_bicubic_X{scale}.zip",
                     f"DIV2K_{split}_LR_bicubic/X{scale}/{number:04d}x{scale}.png", lr)):
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, format="PNG")
                members[archive][member] = buffer.getvalue()
        for archive, files in members.items():
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zf:
                for member, payload in files.items():
                    zf.writestr(member, payload)
            payloads[archive] = buffer.getvalue()
            table[archive] = [len(payloads[archive]), hashlib.sha256(payloads[archive]).hexdigest()]
    return payloads, table


def test_train_on_gpu(kernel_env):
    tmp_path = kernel_env
    tiny = TINY["train_on_gpu.ipynb"]
    payloads, table = _mirror(tiny["SCALE"])
    server = _Server(payloads)
    try:
        parameters = dict(tiny, DIV2K_BASE_URL=server.base_url, DIV2K_ARCHIVES=table, DIV2K_COUNTS=MIRROR_COUNTS)
        notebook, seconds = _execute(NOTEBOOKS / "train_on_gpu.ipynb", tmp_path, parameters)
    finally:
        server.close()
    assert seconds < LIMIT_SECONDS, seconds
    assert sorted(r["path"].lstrip("/") for r in server.requests) == sorted(payloads)  # each archive fetched once
    root, run = tmp_path / tiny["DATA_ROOT"], tmp_path / tiny["RUN_DIR"]
    assert len(list((root / "DIV2K_valid_LR_bicubic" / "X2").glob("*.png"))) == MIRROR_COUNTS["valid"]
    assert not (root / "archives").exists()  # deleted once extracted
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    ends = [e for e in events if e["event"] == "end"]
    assert [(e["resumed_from"], e["steps"]) for e in ends] == [(0, 12), (12, 16)]  # the run, then the resume
    assert ends[-1]["protocol"] == "div2k"
    assert (run / "tensorboard").is_dir() and (run / "export" / "1" / "saved_model.pb").is_file()
    html = [output.data["text/html"] for cell in _code(notebook) for output in cell.outputs
            if output.output_type == "display_data" and "text/html" in output.data]
    assert any("tensorboard-frame" in frame for frame in html)  # TensorBoard started and shown inline
    text = _stdout(notebook)
    assert "resumed at step 12, stopped at 16" in text
    assert "| x2 | edsr_baseline |" in text and "the published figures are for EDSR baseline" in text
    difference = int(re.search(r"largest difference from Keras: (\d+) level", text).group(1))
    assert difference <= 1


def test_a_srgan_large_images(kernel_env):
    """On a folder of photos, as a user gives theirs (here scikit-image's largest: 1000x872 and 1411x1411)."""
    from sr_keras.data import photo_paths

    tmp_path = kernel_env
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in photo_paths("train"):
        if pathlib.Path(path).name in ("hubble_deep_field.jpg", "retina.jpg", "rocket.jpg"):
            shutil.copy(path, folder)
    notebook, seconds = _execute(NOTEBOOKS / "a_srgan_large_images.ipynb", tmp_path,
                                 dict(TINY["a_srgan_large_images.ipynb"], PHOTO_DIR=str(folder)))
    assert seconds < LIMIT_SECONDS, seconds
    run = tmp_path / "runs" / "a_srgan_story"
    assert Image.open(run / "large" / "large_lr_x4.png").size == (2000, 2000)
    text = _stdout(notebook)
    assert "pool size 1 refused: the attention maps" in text
    assert re.search(r"^\| A-SRGAN \| 8 \|", text, flags=re.M)
    assert re.search(r"^\| A-SRResNet \| 4 \|", text, flags=re.M)
    peak = float(re.search(r"peak memory of the upscale process: ([0-9.]+) GiB", text).group(1))
    assert peak < 1.1, peak  # the 1GB budget holds (to the planner's few-percent accuracy)
    init = [json.loads(line) for line in (run / "a_srgan" / "metrics.jsonl").read_text().splitlines()
            if '"init_from"' in line]
    assert init and init[0]["path"].endswith("a_srresnet/generator_final_x4.keras")
    config = json.loads((run / "a_srgan" / "config.json").read_text())
    assert (config["data"], config["data_dir"]) == ("folder", str(folder))
    assert "LR: 500 x 500 from retina.jpg" in text


def test_a_bad_parameter_stops_with_one_line(kernel_env):
    with pytest.raises(papermill.PapermillExecutionError, match=r"SCALE must be one of \[2, 3, 4\]"):
        _execute(NOTEBOOKS / "quickstart.ipynb", kernel_env, dict(SCALE=5))


def test_a_failing_cell_fails_the_run(kernel_env):
    """A cell that raises stops the notebook there and fails the run, naming the cell and the error."""
    tmp_path = kernel_env
    notebook = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    cells = _code(notebook)
    broken = next(i for i, cell in enumerate(cells) if "pretrained.load(default_name)" in cell.source)
    cells[broken].source = cells[broken].source.replace("pretrained.load(default_name)",
                                                        'pretrained.load("no_such_model")')
    source = tmp_path / "quickstart.ipynb"
    nbformat.write(notebook, source)
    with pytest.raises(papermill.PapermillExecutionError, match="unknown pretrained model 'no_such_model'"):
        _execute(source, tmp_path, dict(TINY["quickstart.ipynb"], OFFICIAL_WEIGHTS="unused.pt"))
    executed = nbformat.read(tmp_path / "executed_quickstart.ipynb", as_version=4)
    ran = [cell for cell in _code(executed) if cell.execution_count is not None]
    assert ran[-1].source == cells[broken].source  # nothing after the failing cell ran
    assert not (tmp_path / "quickstart" / "photo_x4.png").exists()
