"""The console scripts `sr-<command>` that setup.cfg declares are installed with the package and run the
commands (the script files pip writes, run as a user runs them)."""
import configparser
import pathlib
import shutil
import subprocess
import sysconfig

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _scripts():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(line.replace(" ", "").split("=") for line in lines)


def _script(name):
    path = shutil.which(name, path=sysconfig.get_path("scripts"))
    assert path, f"{name} is not installed in {sysconfig.get_path('scripts')} (pip install the package again)"
    return path


def test_every_command_has_its_script_and_every_script_is_installed():
    scripts = _scripts()
    commands = sorted(p.stem for p in (ROOT / "sr_keras" / "cli").glob("*.py") if p.stem not in ("__init__", "common"))
    assert sorted(scripts) == sorted(f"sr-{command.replace('_', '-')}" for command in commands)
    for name, target in scripts.items():
        assert target == f"sr_keras.cli.{name[3:].replace('-', '_')}:run", (name, target)
        _script(name)


def test_a_script_runs_its_command():
    """`sr-pretrained` imports no TensorFlow for --help or a usage error, so these take a fraction of a second."""
    help_text = subprocess.run([_script("sr-pretrained"), "--help"], capture_output=True, text=True, timeout=120)
    assert help_text.returncode == 0 and help_text.stdout.startswith("Named trained generators."), help_text
    assert "--full" in help_text.stdout and "--weights" in help_text.stdout
    wrong = subprocess.run([_script("sr-pretrained"), "lists"], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: unknown action 'lists'"), wrong
    assert len(wrong.stderr.strip().splitlines()) == 1 and wrong.stdout == ""
