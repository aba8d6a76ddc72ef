"""Checkpoints that survive a crash, and the lock that keeps one run per run directory.

`tf.train.CheckpointManager` writes a checkpoint's data and index files first and only then rewrites (atomically)
the `checkpoint` state file that names the latest one, so a process killed at any moment leaves the previous
complete checkpoint as the latest. Files can still be damaged afterwards (a full disk, a bad copy): resuming
reads a checkpoint's files back (their checksums included) before restoring it and falls back to the next older
one. (Model files are written with `sr_keras.files.save_keras`.)
"""
import glob
import json
import os
import re
import socket
import time

import tensorflow as tf

from sr_keras.checks import ConfigError


def _unreadable(path):
    """Why the checkpoint `path` does not read back completely (first line of the error), or None if it does."""
    try:
        reader = tf.train.load_checkpoint(path)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)  # reads the bytes and checks their checksum
    except (tf.errors.OpError, IndexError, ValueError, OSError) as error:  # truncation raises IndexError
        return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    return None


class RunCheckpoint:
    """The training state of a run: step, models, optimizers and the best validation metric.

    Args:
        directory: where checkpoints go (`<model_dir>/checkpoints`).
        max_to_keep: checkpoints kept.
        **objects: trackable objects (models, optimizers).
    """

    def __init__(self, directory, max_to_keep=3, **objects):
        self.directory = directory
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best_metric = tf.Variable(float("-inf"), dtype=tf.float64, trainable=False, name="best_metric")
        self.checkpoint = tf.train.Checkpoint(step=self.step, best_metric=self.best_metric, **objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)
        self.restored = None  # the path restore_latest restored

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def _candidates(self):
        """Checkpoint paths, oldest first: the state file's list (its latest last), or, without a readable
        state file, every `ckpt-N` on disk by step."""
        state = tf.train.get_checkpoint_state(self.directory)
        if state is not None and state.model_checkpoint_path:
            paths = [p for p in state.all_model_checkpoint_paths if p != state.model_checkpoint_path]
            return paths + [state.model_checkpoint_path]
        found = {}
        for index in glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*.index")):
            match = re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(index))
            if match:
                found[int(match.group(1))] = index[:-len(".index")]
        return [found[number] for number in sorted(found)]

    def restore_latest(self):
        """Restores the newest checkpoint whose files read back completely.

        A damaged checkpoint is skipped and left where it is; the next older one is tried. (Reading a checkpoint
        back costs one extra read of its files, once per start.)

        Returns:
            (step, damaged): the restored step (0 when nothing was restored) and [(name, reason)] of the
            damaged checkpoints skipped, newest first.

        Raises:
            AssertionError, ValueError: an intact checkpoint that does not fit the models (other settings).
        """
        damaged = []
        for path in reversed(self._candidates()):
            reason = _unreadable(path)
            if reason is None:
                self.checkpoint.restore(path).assert_existing_objects_matched()
                self.restored = path
                return int(self.step.numpy()), damaged
            damaged.append((os.path.basename(path), reason))
        return 0, damaged

    def save(self, step):
        self.step.assign(step)
        return self.manager.save(checkpoint_number=step)


_HELD = set()  # lock files this process holds


def _alive(pid, path):
    """Whether the process `pid` of this host that wrote the lock `path` still runs."""
    if pid == os.getpid():  # ours only if this process holds it; else left by an earlier life of this pid
        return os.path.abspath(path) in _HELD
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _read(path):
    """The lock's record, or None if it is missing or not (yet) complete JSON."""
    try:
        with open(path) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and {"pid", "host", "started"} <= set(record) else None


class RunLock:
    """`<directory>/.lock`: one training run at a time per run directory.

    The file holds JSON {"pid", "host", "started"} and is created with O_CREAT | O_EXCL, so of two runs starting
    at once exactly one gets it. A lock left by a run that died (same host, pid no longer running) is taken over;
    a lock from another host is always respected (delete the file if that run is gone).

    Args:
        directory: the run directory.
        label: how messages name the directory (default: `directory`).
    """

    def __init__(self, directory, label=None):
        self.path = os.path.join(directory, ".lock")
        self.label = label or directory
        self.record = None

    def acquire(self):
        """Takes the lock; returns the record of a stale lock it took over, else None.

        Raises:
            ConfigError("model_dir"): another live run holds the lock (or its lock file stays unreadable).
        """
        stale = None
        for _ in range(20):  # a lock being written is unreadable for a moment
            record = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started": time.strftime("%Y-%m-%d %H:%M:%S")}
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _read(self.path)
                if holder is None:  # being written right now, or damaged
                    time.sleep(0.05)
                    continue
                if holder["host"] != record["host"] or _alive(holder["pid"], self.path):
                    raise ConfigError("model_dir", f"{self.label} is in use by pid {holder['pid']} on host "
                                                   f"{holder['host']} since {holder['started']}; stop that run or "
                                                   f"use another --model_dir") from None
                self._take_over(holder)
                stale = holder
                continue
            try:
                with os.fdopen(descriptor, "w") as handle:
                    json.dump(record, handle)
            except BaseException:
                os.unlink(self.path)
                raise
            self.record = record
            _HELD.add(os.path.abspath(self.path))
            return stale
        raise ConfigError("model_dir", f"{self.label} has a lock file that stays unreadable ({self.path}); "
                                       f"delete it if no run uses this directory")

    def _take_over(self, holder):
        """Removes the stale lock `holder`; renamed away first, so a lock another run just wrote is put back."""
        claimed = f"{self.path}.{os.getpid()}"
        try:
            os.rename(self.path, claimed)
        except FileNotFoundError:
            return  # another run took it over first
        if _read(claimed) != holder:
            try:
                os.link(claimed, self.path)
            except FileExistsError:
                pass
        os.unlink(claimed)

    def release(self):
        """Removes the lock file if it is still this run's."""
        if self.record is None:
            return
        _HELD.discard(os.path.abspath(self.path))
        if _read(self.path) == self.record:
            os.unlink(self.path)
        self.record = None
