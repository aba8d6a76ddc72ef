"""Checkpoints that survive a crash.

`tf.train.CheckpointManager` writes a checkpoint's data and index files first and only then rewrites the
`checkpoint` state file that names the latest one, so a process killed at any moment leaves the previous
complete checkpoint as the latest. (Model files are written with `sr_keras.files.save_keras`.)
"""

import tensorflow as tf


class RunCheckpoint:
    """The training state of a run: step, models, optimizers and the best validation metric.

    Args:
        directory: where checkpoints go (`<model_dir>/checkpoints`).
        max_to_keep: checkpoints kept.
        **objects: trackable objects (models, optimizers).
    """

    def __init__(self, directory, max_to_keep=3, **objects):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.best_metric = tf.Variable(float("-inf"), dtype=tf.float64, trainable=False, name="best_metric")
        self.checkpoint = tf.train.Checkpoint(step=self.step, best_metric=self.best_metric, **objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=max_to_keep)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def restore_latest(self):
        """Restores the latest checkpoint if there is one; returns its step (0 for a fresh run)."""
        if self.latest is None:
            return 0
        self.checkpoint.restore(self.latest).assert_existing_objects_matched()
        return int(self.step.numpy())

    def save(self, step):
        self.step.assign(step)
        return self.manager.save(checkpoint_number=step)
