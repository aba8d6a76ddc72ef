"""A command's end: once its main function has returned, the collector's last sweep is skipped (`run_cli`)."""
import subprocess
import sys

from tests.conftest import wall_clock_limit

# Runs `python -m sr_keras.upscale missing.png` in this interpreter and reports, at exit, how many objects the
# collector had been told to leave alone before the command and after it.
_PROBE = """
import atexit, gc, runpy, sys
before = gc.get_freeze_count()
atexit.register(lambda: print(before, gc.get_freeze_count(), file=sys.stderr))
sys.argv = ["-m", "missing.png"]
runpy.run_module("sr_keras.upscale", run_name="__main__", alter_sys=True)
"""


def test_a_command_freezes_its_objects_when_done(tmp_path):
    # A fresh interpreter: the tests' launcher has frozen its own imports already (tests/launch.py).
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=tmp_path,
                            timeout=wall_clock_limit(120))
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines()[0].startswith("error: ") and "missing.png" in result.stderr
    before, after = map(int, result.stderr.splitlines()[-1].split())
    assert before == 0 and after > 10_000, (before, after)
