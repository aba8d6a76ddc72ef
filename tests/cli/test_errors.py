"""Every command: a flag typo, a missing flag, an unusable file or folder is one line ("error: ...") and exit 2,
--help is the usage on stdout and exit 0, and TensorFlow's start-up lines stay off stderr; real subprocesses.

The commands that report errors before importing TensorFlow, and `--help` (but for two of the three commands that
import TensorFlow first), run in fresh interpreters (the start-up lines are checked there); the other runs are
forked from the tests' launcher (tests/launch.py), which imported TensorFlow once.
"""
import os
import subprocess
import sys

import pytest

from tests import launch
from tests.conftest import wall_clock_limit

COMMANDS = {
    "sr_keras.train": ["--model=edsr_baseline"],
    "sr_keras.upscale": ["photo.png"],
    "sr_keras.evaluate": ["--pretrained=wdsr_b_default_x2"],
    "sr_keras.export": ["--pretrained=wdsr_b_default_x2", "--export_dir=e"],
    "sr_keras.convert": ["--input=x.pt", "--output=x.keras"],
    "sr_keras.mmsr": ["train"],
}
# Flags each command's --help must list (its own, and those its helpers define for it), and one it must not.
HELP_LISTS = {
    "sr_keras.train": ["--recipe", "--steps", "--model_dir", "--crop_size", "--verbose"],
    "sr_keras.upscale": ["--model_path", "--pretrained", "--tile", "--fast"],
    "sr_keras.evaluate": ["--model_path", "--pretrained"],
    "sr_keras.export": ["--model_path", "--export_dir"],
    "sr_keras.convert": ["--input", "--output"],
    "sr_keras.mmsr": ["--steps", "--model_dir"],
}
NOISE = ("I0000", "E0000", "oneDNN", "cuInit", "absl::InitializeLog", "Traceback")
# The commands whose flags are defined by modules that import TensorFlow (tests/test_architecture.py checks that
# the others answer a flag typo without it).
IMPORT_TENSORFLOW_FIRST = ("sr_keras.train", "sr_keras.export", "sr_keras.mmsr")
# --help runs in a fresh interpreter, where TensorFlow's start-up lines would show, for the commands that answer it
# without TensorFlow and for one of those that import it first: the same filter (sr_keras._quiet) serves all three,
# and a fresh start costs 10-13 s here.
FRESH_HELP = set(COMMANDS) - set(IMPORT_TENSORFLOW_FIRST) | {"sr_keras.train"}


def _run(module, args, cwd, fresh=False):
    return launch.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                      timeout=wall_clock_limit(300), cwd=cwd, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""),
                      fresh=fresh)


def _one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert not [line for line in lines if any(n in line for n in NOISE)], result.stderr[-2000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    return errors[0]


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_flag_typo_is_one_line_and_help_exits_0(module, tmp_path):
    typo = _run(module, [*COMMANDS[module], "--num_res_block=8"], tmp_path,
                fresh=module not in IMPORT_TENSORFLOW_FIRST)
    assert typo.returncode == 2, typo.stderr[-2000:]
    assert "num_res_block" in _one_error_line(typo)
    helped = _run(module, ["--help"], tmp_path, fresh=module in FRESH_HELP)
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "Traceback" not in helped.stderr
    listed = {line.split(":")[0].strip() for line in helped.stdout.splitlines() if line.startswith("  --")}
    assert set(HELP_LISTS[module]) <= listed, (module, sorted(listed))
    assert "--only_check_args" not in listed and "--helpfull" in helped.stdout  # absl's own: --helpfull's
    assert not [line for line in helped.stderr.splitlines() if any(n in line for n in NOISE)], helped.stderr


def test_pretrained_command_help_and_errors(tmp_path):
    helped = _run("sr_keras.pretrained", ["--help"], tmp_path, fresh=True)
    assert helped.returncode == 0 and "download" in helped.stdout
    unknown = _run("sr_keras.pretrained", ["download", "edsr_baseline_x5"], tmp_path, fresh=True)
    assert unknown.returncode == 2 and "unknown pretrained model" in _one_error_line(unknown)


@pytest.mark.parametrize("case", ["missing_model", "fake_model", "unwritable_output", "unwritable_export",
                                  "unwritable_model_dir"])
def test_bad_inputs_name_the_input(case, tmp_path):
    from PIL import Image

    Image.new("RGB", (12, 10), (90, 120, 30)).save(tmp_path / "photo.png")
    # Unwritable for everyone, root included (CI runs as root, who ignores permission bits): a regular file
    # where the command would need a folder.
    locked = tmp_path / "locked"
    locked.write_text("a file, not a folder\n")
    (tmp_path / "fake.keras").write_text("not a model\n")
    module, args, expected = {
        "missing_model": ("sr_keras.export", ["--export_dir=e"], "--model_path=FILE.keras or --pretrained=NAME"),
        "fake_model": ("sr_keras.upscale", ["--model_path=fake.keras", "photo.png"], "not a .keras model file"),
        "unwritable_output": ("sr_keras.upscale", ["photo.png", f"--output_dir={locked / 'out'}"], str(locked)),
        "unwritable_export": ("sr_keras.export", ["--pretrained=wdsr_b_default_x2", f"--export_dir={locked / 'e'}"],
                              str(locked)),
        "unwritable_model_dir": ("sr_keras.train", ["--model=edsr_baseline", "--num_filters=8", "--num_res_blocks=1",
                                                    "--steps=1", f"--model_dir={locked / 'run'}"], str(locked)),
    }[case]
    result = _run(module, args, tmp_path, fresh=case == "fake_model")
    assert result.returncode == 2, result.stderr[-2000:]
    assert expected in _one_error_line(result)
    assert locked.read_text() == "a file, not a folder\n"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("photo.png", "fake.keras", "locked")]


def test_offline_vgg_is_one_line_naming_the_ways_out(tmp_path):
    """SRGAN's VGG content loss without network (a proxy that refuses, an empty Keras cache): one line that
    names --vgg_weights and --content_loss=mse, exit 2, instead of the download's chained traceback."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", HOME=str(tmp_path / "home"), KERAS_HOME=str(tmp_path / "keras"),
               https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    result = subprocess.run([sys.executable, "-m", "sr_keras.train", "--model=srgan", "--from_scratch",
                             "--content_loss=vgg54", "--num_filters=8", "--num_res_blocks=1", "--steps=1",
                             "--batch_size=2", "--crop_size=32", f"--model_dir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=wall_clock_limit(300), env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    line = _one_error_line(result)
    assert "--vgg_weights" in line and "--content_loss=mse" in line and "Traceback" not in result.stderr


def test_exported_files_follow_the_umask(tmp_path):
    """A SavedModel written under umask 022 is readable (and its folders searchable) by other users, as TF
    Serving running as another user needs."""
    old = os.umask(0o022)
    try:
        result = _run("sr_keras.export", ["--pretrained=wdsr_b_default_x2", "--export_dir=export/1"], tmp_path)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr[-2000:]
    for root, dirs, files in os.walk(tmp_path / "export"):
        assert os.stat(root).st_mode & 0o055 == 0o055, root
        for name in files:
            assert os.stat(os.path.join(root, name)).st_mode & 0o044 == 0o044, name
