"""The tests' launcher (tests/launch.py) runs a command as a fresh interpreter would: the same view of the process
from inside, the same exit codes, the same streams, and signals reach the command's own process."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests import launch
from tests.conftest import wall_clock_limit

# What a program sees of its process; printed as JSON by both kinds of run and compared.
_PROCESS_VIEW = """
import json, os, sys
print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd(), "name": __name__,
                  "umask": os.umask(0), "variable": os.environ.get("LAUNCH_TEST"),
                  "main_file": getattr(sys.modules["__main__"], "__file__", None)}))
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


def _both(args, tmp_path):
    """`args` run forked and in a fresh interpreter, with the same directory, environment and umask."""
    env = dict(os.environ, LAUNCH_TEST="value")
    old = os.umask(0o027)
    try:
        return [launch.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, fresh=fresh,
                           timeout=wall_clock_limit(120)) for fresh in (False, True)]
    finally:
        os.umask(old)


def test_the_launcher_forks_commands_that_the_interpreter_would_start():
    env = dict(os.environ)
    assert not launch._get_launcher().differences(env), "the tests' own commands would not be forked"
    assert launch._forkable([sys.executable, "-m", "sr_keras.train"], dict(env, TF_CONFIG="{}"), fresh=False)
    assert launch._forkable([sys.executable, "tools/bench_train.py"], env, fresh=False)
    assert not launch._forkable([sys.executable, "-m", "sr_keras.train"], dict(env, KERAS_HOME="/elsewhere"), False)
    assert not launch._forkable(["/usr/bin/time", sys.executable, "-m", "sr_keras.train"], env, fresh=False)
    assert not launch._forkable([sys.executable, "-m", "sr_keras.train"], env, fresh=True)


@pytest.mark.parametrize("form", ["-c", "script", "-m"])
def test_a_forked_command_sees_its_process_as_a_fresh_one(form, tmp_path):
    (tmp_path / "view.py").write_text(_PROCESS_VIEW)
    args = {"-c": [sys.executable, "-c", _PROCESS_VIEW, "3", "x"],
            "script": [sys.executable, str(tmp_path / "view.py"), "3", "x"],
            "-m": [sys.executable, "-m", "view", "3", "x"]}[form]
    forked, fresh = _both(args, tmp_path)
    assert forked.returncode == fresh.returncode == 3, (forked.stderr[-2000:], fresh.stderr[-2000:])
    assert json.loads(forked.stdout) == json.loads(fresh.stdout)
    view = json.loads(forked.stdout)
    assert view["variable"] == "value" and view["umask"] == 0o027 and view["cwd"] == str(tmp_path)
    assert view["name"] == "__main__" and view["argv"][1:] == ["3", "x"]
    assert forked.stderr == fresh.stderr == "to stderr\n"


def test_an_uncaught_exception_and_an_unhandled_sigint_end_the_process_as_they_would(tmp_path):
    raised = _both([sys.executable, "-c", "raise ValueError('boom')"], tmp_path)
    for result in raised:
        assert result.returncode == 1 and result.stderr.splitlines()[-1] == "ValueError: boom"
    process = launch.Popen([sys.executable, "-c", "import time\nprint('ready', flush=True)\ntime.sleep(600)"],
                           stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "ready\n"
    os.kill(process.pid, signal.SIGINT)  # the command's own process, as a test's signal is
    assert process.wait(timeout=wall_clock_limit(60)) == -signal.SIGINT  # KeyboardInterrupt: death by SIGINT
    process.communicate()


def test_a_timeout_kills_the_command(tmp_path):
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        launch.run([sys.executable, "-c", "import time; time.sleep(600)"], timeout=1, cwd=tmp_path)
    assert time.monotonic() - began < wall_clock_limit(60)
