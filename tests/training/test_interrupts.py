"""Nothing lost: SIGINT/SIGTERM save a checkpoint at the current step and exit with one line, a damaged newest
checkpoint is skipped for the previous one, and one run at a time holds a run directory (real training
subprocesses and real signals, tiny models)."""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import tensorflow as tf

from sr_keras.training import make_config, train
from sr_keras.training.run import TrainingInterrupted, _Interrupts
from tests import launch
from tests.conftest import wall_clock_limit
from tests.training.test_resume import _checkpoint_state, _events

TINY = ["--model=edsr_baseline", "--num_filters=8", "--num_res_blocks=1", "--batch_size=2", "--crop_size=32",
        "--data=embedded", "--eval_every=100000", "--max_eval_images=1", "--log_every=1"]
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES="")


def _command(model_dir, steps, save_every=100000):
    return [sys.executable, "-m", "sr_keras.train", *TINY, f"--steps={steps}", f"--save_every={save_every}",
            f"--model_dir={model_dir}"]


class _Training:
    """A training subprocess; a thread collects its stderr lines."""

    def __init__(self, command):
        self.command = command
        self.process = launch.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    env=ENV)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, pattern, accept=lambda match: True, timeout=120):
        """The first accepted match of `pattern` in a stderr line, waiting for it while the process runs (`timeout`:
        seconds on the idle machine, scaled by `wall_clock_limit`)."""
        timeout = wall_clock_limit(timeout)
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match and accept(match):
                    return match
            assert self.process.poll() is None, f"ended before {pattern!r}:\n{self.stderr()[-3000:]}"
            time.sleep(0.02)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.stderr()[-3000:]}")

    def step(self, at_least):
        """Waits until the progress shows a step >= `at_least`; returns that step."""
        return int(self.wait_for(r"^step (\d+)/", lambda match: int(match.group(1)) >= at_least).group(1))

    def finish(self, timeout=120):
        """Waits for the process to end (`timeout`: seconds on the idle machine, scaled by `wall_clock_limit`)."""
        self.process.wait(timeout=wall_clock_limit(timeout))
        self.reader.join(timeout=10)
        return self.process.returncode

    def stderr(self):
        return "".join(self.lines)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _latest_step(model_dir):
    latest = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    return None if latest is None else int(latest.rsplit("-", 1)[1])


def _interrupted(command, model_dir, signum, code, resumed_from=None):
    """Runs `command` until it has trained a step past its start, sends `signum`, and checks the one-line exit with
    `code` and the checkpoint saved at the step it names; returns that step."""
    run = _Training(command)
    try:
        if resumed_from is not None:
            run.wait_for(rf"^resuming edsr_baseline x4 at step {resumed_from}/100000")
        seen = run.step(at_least=(resumed_from or 0) + 3)
        run.process.send_signal(signum)
        assert run.finish(timeout=60) == code, run.stderr()[-3000:]
    finally:
        run.kill()
    stderr = run.stderr()
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("interrupted")]
    assert len(lines) == 1, stderr[-3000:]
    match = re.fullmatch(r"interrupted at step (\d+): checkpoint saved; resume with: (.*)", lines[0])
    assert match, lines[0]
    step = int(match.group(1))
    assert step >= seen and f"step {step}/100000" in stderr and f"step {step + 1}/" not in stderr
    assert shlex.split(match.group(2)) == ["python", "-m", "sr_keras.train", *command[3:]]
    saved_step, _, iterations, _ = _checkpoint_state(tf.train.latest_checkpoint(str(model_dir / "checkpoints")))
    assert saved_step == step and iterations == step
    assert not (model_dir / ".lock").exists()
    return step


def test_sigint_then_sigterm_save_the_current_step_exit_with_one_line_and_resume(tmp_path):
    """Ctrl-C (SIGINT, exit 130) stops a run; its resumption is stopped by SIGTERM (a scheduler's kill, exit 143)
    and resumed again to the end: each signal saves the step it names, and each resumption starts there. One
    chain of three processes covers both signals and both resumptions."""
    model_dir = tmp_path / "run"
    command = _command(model_dir, steps=100000)  # no periodic checkpoint before the end: only the signals save
    first = _interrupted(command, model_dir, signal.SIGINT, 130)
    second = _interrupted(command, model_dir, signal.SIGTERM, 143, resumed_from=first)
    starts = [e for e in _events(model_dir) if e["event"] == "start"]
    assert starts[-1]["step"] == first and starts[-1]["g_optimizer_iterations"] == first

    resumed = launch.run(_command(model_dir, steps=second + 2), capture_output=True, text=True,
                         timeout=wall_clock_limit(300), env=ENV)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming edsr_baseline x4 at step {second}/{second + 2}" in resumed.stderr
    assert f"step {second + 1}/{second + 2}" in resumed.stderr
    starts = [e for e in _events(model_dir) if e["event"] == "start"]
    assert starts[-1]["step"] == second and starts[-1]["g_optimizer_iterations"] == second
    assert [e for e in _events(model_dir) if e["event"] == "end"][-1]["resumed_from"] == second
    assert _latest_step(model_dir) == second + 2


def test_a_second_signal_exits_at_once_and_the_latest_checkpoint_stays_intact(tmp_path):
    model_dir = tmp_path / "run"
    run = _Training(_command(model_dir, steps=100000, save_every=1))  # saving all the time
    try:
        run.step(at_least=3)
        run.process.send_signal(signal.SIGTERM)  # waits for the end of the step...
        run.process.send_signal(signal.SIGINT)  # ...this one does not
        code = run.finish(timeout=60)
    finally:
        run.kill()
    stderr = run.stderr()
    assert code in (130, 143) and "Traceback" not in stderr, stderr[-3000:]
    assert stderr.splitlines()[-1] == "interrupted again: exiting without saving"
    latest = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    reader = tf.train.load_checkpoint(latest)
    for key in reader.get_variable_to_shape_map():
        reader.get_tensor(key)  # every tensor reads back, checksums included
    last_shown = max(int(m) for m in re.findall(r"^step (\d+)/", stderr, re.MULTILINE))
    assert 2 <= _latest_step(model_dir) <= last_shown  # step 2's save ended before step 3 was shown
    assert not (model_dir / ".lock").exists()


class _Stream:
    """A progress stream that sends this process `signals` when a line starting with `step_text` is written."""

    def __init__(self, step_text=None, signals=()):
        self.step_text, self.signals, self.lines = step_text, signals, []

    def write(self, text):
        self.lines.append(text)
        if self.step_text and text.startswith(self.step_text):
            for signum in self.signals:
                os.kill(os.getpid(), signum)

    def flush(self):
        pass


class _Unhandled(Exception):
    pass


@pytest.fixture
def guarded():
    """Handlers that fail the test (instead of ending pytest) for a signal `train` does not handle itself."""

    def fail(signum, frame):
        raise _Unhandled(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, fail) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield fail
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _tiny_config(model_dir, **changes):
    values = dict(num_filters=8, num_res_blocks=1, batch_size=2, crop_size=32, steps=1000, save_every=2,
                  eval_every=100000, max_eval_images=1, log_every=1)
    values.update(changes)
    return make_config("edsr_baseline", str(model_dir), **values)


def test_library_call_raises_training_interrupted_after_saving_and_restores_handlers(tmp_path, guarded):
    with pytest.raises(TrainingInterrupted) as caught:
        train(_tiny_config(tmp_path), progress_stream=_Stream("step 3/", [signal.SIGTERM]))
    assert (caught.value.step, caught.value.signal_name, caught.value.exit_code) == (3, "SIGTERM", 143)
    assert caught.value.saved and str(caught.value) == "interrupted at step 3: checkpoint saved"
    assert _latest_step(tmp_path) == 3  # save_every=2: step 3 was saved by the interrupt
    assert signal.getsignal(signal.SIGTERM) is guarded and signal.getsignal(signal.SIGINT) is guarded
    assert not (tmp_path / ".lock").exists()


def test_library_second_signal_stops_without_saving(tmp_path, guarded):
    with pytest.raises(TrainingInterrupted) as caught:
        train(_tiny_config(tmp_path), progress_stream=_Stream("step 3/", [signal.SIGINT, signal.SIGINT]))
    assert str(caught.value) == "interrupted again: exiting without saving"
    assert not caught.value.saved and caught.value.exit_code == 130
    assert _latest_step(tmp_path) == 2  # the previous checkpoint stays the latest
    assert not (tmp_path / ".lock").exists()


def test_a_resumed_run_interrupted_during_start_up_names_its_step(tmp_path, guarded):
    train(_tiny_config(tmp_path, steps=4))
    with pytest.raises(TrainingInterrupted) as caught:  # the signal comes as the resumed run announces itself
        train(_tiny_config(tmp_path, steps=8), progress_stream=_Stream("resuming", [signal.SIGINT]))
    assert caught.value.step == 4 and str(caught.value) == "interrupted at step 4: checkpoint saved"
    assert _latest_step(tmp_path) == 4 and not (tmp_path / ".lock").exists()


def test_handlers_are_installed_only_in_the_main_thread(guarded):
    errors = []

    def other_thread():
        try:
            with _Interrupts(enabled=True) as interrupts:  # signal.signal would raise ValueError here
                errors.append(interrupts.enabled)
        except ValueError as error:
            errors.append(error)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert errors == [False] and signal.getsignal(signal.SIGINT) is guarded
    with _Interrupts(enabled=True) as interrupts:
        assert interrupts.enabled and signal.getsignal(signal.SIGINT) is not guarded
    assert signal.getsignal(signal.SIGINT) is guarded


def test_damaged_newest_checkpoint_is_named_kept_and_skipped(tmp_path):
    train(_tiny_config(tmp_path, steps=4), progress_stream=_Stream())  # saves ckpt-2 and ckpt-4
    data = tmp_path / "checkpoints" / "ckpt-4.data-00000-of-00001"
    size = data.stat().st_size
    with open(data, "r+b") as handle:  # as after a full disk
        handle.truncate(size // 2)

    stream = _Stream()
    train(_tiny_config(tmp_path, steps=3), progress_stream=stream)
    lines = "".join(stream.lines).splitlines()
    assert [line for line in lines if "is damaged" in line] == [
        "checkpoint ckpt-4 is damaged (Read less bytes than requested); resuming from ckpt-2 (step 2)"]
    assert any(line.startswith("resuming edsr_baseline x4 at step 2/3") for line in lines)
    assert data.exists() and data.stat().st_size == size // 2 and data.with_name("ckpt-4.index").exists()
    assert _latest_step(tmp_path) == 3
    start = [e for e in _events(tmp_path) if e["event"] == "start"][-1]
    assert start["step"] == 2 and start["damaged_checkpoints"] == {"ckpt-4": "Read less bytes than requested"}


def test_no_intact_checkpoint_starts_from_scratch_with_a_notice(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-2"\n'
                                                        'all_model_checkpoint_paths: "ckpt-2"\n')
    (tmp_path / "checkpoints" / "ckpt-2.index").write_bytes(b"")
    stream = _Stream()
    train(_tiny_config(tmp_path, steps=1), progress_stream=stream)
    lines = "".join(stream.lines).splitlines()
    assert [line for line in lines if "is damaged" in line] == [
        ("checkpoint ckpt-2 is damaged (file is too short to be an sstable); no intact checkpoint left: "
         "starting from scratch")]
    assert any(line.startswith("starting edsr_baseline x4 at step 0/1") for line in lines)
    assert (tmp_path / "checkpoints" / "ckpt-2.index").exists() and _latest_step(tmp_path) == 1


def test_one_run_per_directory_and_a_dead_runs_lock_is_taken_over(tmp_path):
    model_dir = tmp_path / "run"
    first = _Training(_command(model_dir, steps=100000, save_every=5))
    try:
        first.step(at_least=6)  # a checkpoint at step 5
        first.process.send_signal(signal.SIGSTOP)  # alive and holding the lock, but leaves the CPUs to the second
        lock = json.loads((model_dir / ".lock").read_text())
        second = launch.run(_command(model_dir, steps=100000), capture_output=True, text=True,
                            timeout=wall_clock_limit(300), env=ENV)
    finally:
        first.kill()  # SIGKILL: no handler runs, the lock stays behind
    assert lock["pid"] == first.process.pid and lock["host"] == socket.gethostname()
    assert second.returncode == 2 and "Traceback" not in second.stderr
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert errors == [(f"error: --model_dir: {model_dir} is in use by pid {first.process.pid} on host "
                       f"{socket.gethostname()} since {lock['started']}; stop that run or use another --model_dir")]
    assert "starting" not in second.stderr and "resuming" not in second.stderr
    assert json.loads((model_dir / ".lock").read_text()) == lock

    saved, stream = _latest_step(model_dir), _Stream()
    train(_tiny_config(model_dir, steps=saved + 2), progress_stream=stream)  # the same settings, in this process
    lines = "".join(stream.lines).splitlines()
    assert lines[0] == (f"{model_dir}: taking over the lock of pid {first.process.pid} (started {lock['started']}), "
                        f"which is no longer running")
    assert any(line.startswith(f"resuming edsr_baseline x4 at step {saved}/{saved + 2}") for line in lines)
    assert not (model_dir / ".lock").exists()
