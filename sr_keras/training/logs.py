"""What a run writes besides checkpoints and models: `config.json`, `metrics.jsonl`, `metrics.csv`,
TensorBoard scalars and images, and `summary.json` at the end. Only the chief writes (other workers of a
multi-worker run get a disabled `RunLogs`)."""
import csv
import json
import math
import os

import tensorflow as tf

from sr_keras.files import write_json


class RunLogs:
    """The log files of one run directory.

    Args:
        directory: the run's output folder.
        enabled: False on non-chief workers (then every method does nothing).
    """

    def __init__(self, directory, enabled):
        self.enabled = enabled
        self.directory = directory
        self.writer = tf.summary.create_file_writer(os.path.join(directory, "tensorboard")) if enabled else None

    def config(self, config):
        """Writes `config.json`: every setting of the run, flat."""
        if self.enabled:
            values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.flat().items()}
            write_json(values, os.path.join(self.directory, "config.json"))

    def event(self, record):
        """Appends one JSON line to `metrics.jsonl`."""
        if not self.enabled:
            return
        with open(os.path.join(self.directory, "metrics.jsonl"), "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def validation(self, step, scale, result, strip):
        """One validation of one scale: a `metrics.csv` row, TensorBoard scalars and the comparison strip."""
        if not self.enabled:
            return
        model_mean, bicubic_mean = result["model"]["mean"], result["bicubic"]["mean"]
        self.event({"event": "validation", "step": step, "scale": scale, "protocol": result["protocol"],
                    "model": model_mean, "bicubic": bicubic_mean})
        row = {"step": step, "scale": scale, "protocol": result["protocol"]}
        row.update({f"model_{k}": v for k, v in model_mean.items() if k != "num_images"})
        row.update({f"bicubic_{k}": v for k, v in bicubic_mean.items() if k != "num_images"})
        path = os.path.join(self.directory, "metrics.csv")
        new = not os.path.exists(path)
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        with self.writer.as_default(step=step):
            for key, value in model_mean.items():
                if key != "num_images" and math.isfinite(value):
                    tf.summary.scalar(f"valid_x{scale}/{key}", value)
            tf.summary.image(f"valid_x{scale}/lr_bicubic_sr_hr", strip)

    def scalars(self, step, values):
        """Training losses to TensorBoard."""
        if self.enabled:
            with self.writer.as_default(step=step):
                for key, value in values.items():
                    tf.summary.scalar(f"train/{key}", value)

    def summary(self, summary):
        """The run's end: an `end` event in `metrics.jsonl` and `summary.json`."""
        self.event(summary)
        if self.enabled:
            write_json(summary, os.path.join(self.directory, "summary.json"))
