"""Every `experiments/*.flags` file parses with the real training CLI, and every recipe trains one step.

Each flagfile is loaded with `python -m sr_keras.train`'s own absl flags; every recipe, and each file that adds
something to its recipe's step, is run for one step on two small real-photo crops: later flags override the
file's data, steps, batch and crop size. The paper-size models are built to count their parameters; the one-step
runs then shrink the networks (`SHRINK`: 8 filters, one block) and keep everything else (losses, optimiser,
schedule, GAN pairing, validation, saving), as the brief asks: exact-size models are built for their counts, not
trained. The 8-GPU files must parse to `gpus == 8`; their CPU twins are dry-run on the two logical CPU devices of
`tests/conftest.py`. One CPU file runs as a real process.
"""
import json
import pathlib
import shutil
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from PIL import Image

import sr_keras.cli.train as train_cli
from sr_keras.models import build_model, count_params
from sr_keras.training import RECIPES, train
from sr_keras.training.build import build_discriminator, build_generators
from tests import launch
from tests.conftest import wall_clock_limit

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
FLAGFILES = sorted(EXPERIMENTS.glob("*.flags"))
FULL_SCALE = [p for p in FLAGFILES if not p.stem.endswith("_cpu")]

# Eager mode (see `eager_steps`) does not reach tf.data functions, which TensorFlow notes once per dataset.
pytestmark = pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")

# Trainable generator parameters of the full-size files and recipes: the originals' counts (EDSR-PyTorch,
# wdsr_ntire2018, SRGAN; A-SRResNet: the model table of docs/pretrained.md).
GENERATOR_PARAMS = {
    "edsr_paper": 43_089_923, "edsr_baseline": 1_517_571, "mdsr": 7_953_987, "wdsr_a": 2_388_080,
    "wdsr_b": 615_088, "srresnet": 1_550_659, "srgan": 1_550_659, "srgan_8gpu": 1_550_659,
    "a_srresnet": 1_555_780, "a_srgan": 1_555_780, "a_srgan_8gpu": 1_555_780,
}
RECIPE_OF_FILE = {"edsr_paper": "edsr_paper", "edsr_baseline": "edsr_baseline_paper", "mdsr": "mdsr_paper",
                  "wdsr_a": "wdsr_a_paper", "wdsr_b": "wdsr_b_paper", "srresnet": "srresnet_paper",
                  "srgan": "srgan_paper", "a_srresnet": "a_srresnet_paper", "a_srgan": "a_srgan_paper",
                  "srgan_8gpu": "srgan_mse_seed000", "a_srgan_8gpu": "a_srgan_mse_seed000"}
RECIPE_PARAMS = {RECIPE_OF_FILE[stem]: count for stem, count in GENERATOR_PARAMS.items()}
RECIPE_PARAMS["mdsr_baseline_paper"] = 3_227_203
RECIPE_PARAMS["rrdbnet_psnr_paper"] = 16_697_987  # RRDBNet x4, 23 blocks (BasicSR 1.4.2)
# SRGAN discriminator at the paper's 96px HR crop (24px LR x 4): SRGAN's own count.
DISCRIMINATOR_PARAMS = {"srgan": 23_565_505, "srgan_8gpu": 23_565_505}
# The networks of a recipe's one-step run, after its full-size count: one step of the paper-size RRDBNet (16.7M
# parameters) or MDSR took 35-39 s here, 8 filters and one block about a tenth of that.
SHRINK = ["--num_filters=8", "--num_res_blocks=1"]
SHRINK_DISCRIMINATOR = ["--discriminator_filters=8"]


def _parse(argv):
    """Loads `argv` into the training CLI's flags (exactly as `absl.app.run` does) and returns its config."""
    flag_values = flags.FLAGS
    flag_values.unparse_flags()
    flag_values(["sr_keras.train", *argv])
    return train_cli.config_from_flags(flag_values)


@pytest.fixture(scope="module", autouse=True)
def eager_steps():
    """A one-step run would spend nearly all its time tracing and optimising graphs it runs once, so this
    module runs `tf.function`s eagerly (graph-mode training is covered by tests/training and by
    `test_documented_command_exits_zero`). The CLI flags are reset afterwards."""
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(before)
    flags.FLAGS.unparse_flags()


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory):
    """Two 48x48 crops of real photos (scikit-image): training and validation data of every dry run."""
    from skimage import data

    folder = tmp_path_factory.mktemp("tiny_photos")
    Image.fromarray(data.astronaut()[100:148, 200:248]).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()[150:198, 250:298]).save(folder / "coffee.png")
    return folder


def test_every_paper_configuration_has_a_cpu_twin():
    names = {p.stem for p in FLAGFILES}
    expected = {"edsr_paper", "edsr_baseline", "mdsr", "wdsr_a", "wdsr_b", "srresnet", "srgan", "a_srresnet",
                "a_srgan", "srgan_8gpu", "a_srgan_8gpu"}
    assert expected <= names
    assert {f"{name}_cpu" for name in expected} <= names
    for path in FULL_SCALE:
        header = path.read_text().split("\n--", 1)[0]
        assert f"python -m sr_keras.train --flagfile=experiments/{path.name}" in header, path.name
        assert "Reproduces" in header, path.name


def _dry_run_args(first, config, tiny_photos, tmp_path, pretrained=None):
    """Overrides that shrink data, steps and batch for a one-step run of the flags `first` (a flagfile or a
    recipe), with a pretrained generator of `config`'s size where the run starts from one."""
    replicas = 2 if config.runtime.gpus or config.runtime.cpu_replicas else 1
    args = [first, "--steps=1", f"--batch_size={replicas}", "--crop_size=8", "--eval_every=1",
            "--save_every=1", "--max_eval_images=1", "--data=folder", f"--data_dir={tiny_photos}",
            f"--valid_dir={tiny_photos}", f"--model_dir={tmp_path / 'run'}"]
    if config.runtime.gpus:
        args += ["--gpus=0", "--cpu_replicas=2"]
    if pretrained if pretrained is not None else (config.is_gan and not config.gan.from_scratch):
        # The run starts from a saved generator of exactly the file's size (as srresnet.flags would leave it).
        overrides = {"num_filters": config.model.num_filters, "num_res_blocks": config.model.num_res_blocks}
        if config.has_attention:
            overrides["pool_size"] = config.model.pool_size
        weights = tmp_path / "pretrained.keras"
        build_model(config.generator_name, scale=config.model.scale, **overrides).save(weights)
        args.append(f"--init_from={weights}")
    if config.gan.content_loss != "mse":
        args.append("--vgg_weights=random")  # imagenet VGG19 weights cannot be downloaded offline
    return args, replicas


def _file_config(path, tiny_photos, extra=()):
    """The config of `path` (then `extra`) with only its paths (DIV2K, pretrained weights) pointed at files that
    exist."""
    text = path.read_text()
    args = [f"--flagfile={path}", *extra]
    if "--data=div2k" in text:
        args += ["--data=folder", f"--data_dir={tiny_photos}"]
    if "--init_from=" in text:
        args.append(f"--init_from={tiny_photos / 'astronaut.png'}")  # any existing file passes parsing
    return _parse(args)


@pytest.mark.parametrize("path", FLAGFILES, ids=[p.stem for p in FLAGFILES])
def test_flagfile_trains_one_step(path, tiny_photos, tmp_path, mirrored):
    config = _file_config(path, tiny_photos)
    assert config.recipe is not None  # every flagfile is a recipe plus run settings
    if path.stem.endswith("8gpu"):
        assert config.runtime.gpus == 8 and config.data.batch_size % 8 == 0
    args, replicas = _dry_run_args(f"--flagfile={path}", config, tiny_photos, tmp_path)
    config = _parse(args)
    assert (config.optim.steps, config.data.crop_size, config.data.batch_size) == (1, 8, replicas)
    if path.stem in GENERATOR_PARAMS:  # the full-size model is built, not a shrunk one
        assert count_params(build_generators(config), trainable=True) == GENERATOR_PARAMS[path.stem]
    if path.stem in DISCRIMINATOR_PARAMS:
        full_crop = _file_config(path, tiny_photos).data.crop_size
        discriminator = build_discriminator(config.replace(crop_size=full_crop))
        assert count_params(discriminator, trainable=True) == DISCRIMINATOR_PARAMS[path.stem]
    if not path.stem.endswith("8gpu_cpu"):
        # A full-size file, or a one-replica CPU file, is its recipe plus run settings. Under the dry run's
        # overrides and the shrunk networks, what is left of a CPU file's own settings (its decay steps, its
        # sizes) does not change the step: its one-step run is its recipe's, test_recipe_trains_one_step, so only
        # the parse is checked here. wdsr_b_cpu.flags also runs as a real process
        # (test_documented_command_exits_zero).
        assert config.recipe == RECIPE_OF_FILE[path.stem.removesuffix("_cpu")]
        return
    # The 8-GPU CPU files run their recipe with their own settings for one step on two replicas (which no recipe
    # run uses), the networks shrunk as the recipes' are (the size changes only the widths and depths of the
    # same layers).
    shrink = SHRINK + (SHRINK_DISCRIMINATOR if config.is_gan else [])
    small = _file_config(path, tiny_photos, shrink)
    args, replicas = _dry_run_args(f"--flagfile={path}", small, tiny_photos, tmp_path)
    config = _parse(args + shrink)
    assert (config.model.num_filters, config.model.num_res_blocks) == (8, 1)
    _train_one_step(config, replicas, tmp_path, mirrored)


# The real-world recipes need HR crops of at least 74 px, more than these tiny photos; they run from the command
# line on the embedded photos in tests/training/test_realworld.py.
@pytest.mark.parametrize("name", sorted(n for n, r in RECIPES.items() if "degradation" not in r.values))
def test_recipe_trains_one_step(name, tiny_photos, tmp_path, mirrored):
    """`python -m sr_keras.train --recipe=<name> --steps=1 ...` (the flags of the CLI) for every recipe: the
    paper-size generator's count, then one step of the recipe with the networks shrunk (`SHRINK`)."""
    config = _parse([f"--recipe={name}", "--from_scratch"])  # sizes only: the dry run adds --init_from
    assert count_params(build_generators(config), trainable=True) == RECIPE_PARAMS[name]
    keras.backend.clear_session()
    shrink = SHRINK + (SHRINK_DISCRIMINATOR if config.is_gan else [])
    pretrained = config.is_gan and not RECIPES[name].values.get("from_scratch", False)
    small = _parse([f"--recipe={name}", "--from_scratch", *shrink])
    args, replicas = _dry_run_args(f"--recipe={name}", small, tiny_photos, tmp_path, pretrained)
    config = _parse(args + shrink)
    assert config.recipe == name and (config.optim.steps, config.data.crop_size) == (1, 8)
    assert (config.model.num_filters, config.model.num_res_blocks) == (8, 1)
    _train_one_step(config, replicas, tmp_path, mirrored)


def _train_one_step(config, replicas, tmp_path, mirrored):
    summary = train(config, strategy=mirrored if replicas == 2 else None)
    with open(tmp_path / "run" / "metrics.jsonl") as handle:
        events = [json.loads(line) for line in handle]
    end = events[-1]
    assert end["event"] == "end" and end["steps"] == 1 and end["replicas"] == replicas
    validations = [e for e in events if e["event"] == "validation"]
    assert {e["scale"] for e in validations} == set(config.train_scales)
    assert all(np.isfinite(e["model"]["psnr_y"]) for e in validations)
    assert sorted(summary["saved"]) == sorted(str(s) for s in config.train_scales)
    assert summary["recipe"] == config.recipe
    shutil.rmtree(tmp_path / "run")  # its checkpoints are not needed once checked
    keras.backend.clear_session()


@pytest.mark.parametrize("name", ["wdsr_b_cpu"])
def test_documented_command_exits_zero(name, tiny_photos, tmp_path):
    """The header's command, `python -m sr_keras.train --flagfile=...`, as a real process (exit code 0)."""
    path = EXPERIMENTS / f"{name}.flags"
    config = _file_config(path, tiny_photos)
    args, replicas = _dry_run_args(f"--flagfile={path}", config, tiny_photos, tmp_path)
    result = launch.run([sys.executable, "-m", "sr_keras.train", *args], capture_output=True, text=True,
                        timeout=wall_clock_limit(300), cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "run" / "metrics.jsonl") as handle:
        end = [json.loads(line) for line in handle][-1]
    assert end["event"] == "end" and end["steps"] == 1 and end["replicas"] == replicas
