"""Choosing a tf.distribute strategy from the run's settings.

- `--gpus=N` (N > 1): MirroredStrategy over the first N GPUs (data parallel, synchronous all-reduce);
- `--cpu_replicas=N`: N logical CPU devices, for testing data-parallel training on a machine without GPUs;
- `--strategy=multi_worker`: MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable;
- otherwise one device (the first GPU if any, else the CPU).
"""
import json
import os

import tensorflow as tf


def configure_cpu_replicas(count):
    """Splits the CPU into `count` logical devices; must run before TensorFlow initialises its devices."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing < count:
            raise ValueError(f"--cpu_replicas={count}: TensorFlow is already initialised with {existing} "
                             f"logical CPU device(s)") from None


def make_strategy(strategy="auto", gpus=0, cpu_replicas=0):
    """Returns the tf.distribute strategy for these settings.

    Raises:
        ValueError: more GPUs asked for than present (or GPUs asked for on a machine without any), a
            multi-worker run without TF_CONFIG, or a mirrored run with fewer than 2 devices.
    """
    present = tf.config.list_physical_devices("GPU")
    if gpus > len(present):
        hint = " (use --cpu_replicas=N to try data-parallel training on CPU devices)" if not present else ""
        raise ValueError(f"--gpus={gpus} but this machine has {len(present)} GPU(s){hint}")
    if strategy == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable (cluster and task)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as error:
            raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_replicas:
        configure_cpu_replicas(cpu_replicas)
        devices = [f"/cpu:{i}" for i in range(cpu_replicas)]
        if cpu_replicas == 1 or strategy == "one_device":
            return tf.distribute.OneDeviceStrategy(devices[0])
        return tf.distribute.MirroredStrategy(devices)
    if gpus > 1 or (strategy == "mirrored" and gpus != 1):
        devices = [f"/gpu:{i}" for i in range(gpus or len(present))]
        if len(devices) < 2 and strategy == "mirrored":
            raise ValueError(f"--strategy=mirrored needs 2 or more devices, found {len(devices)} GPU(s); "
                             f"use --gpus=N or --cpu_replicas=N")
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.OneDeviceStrategy("/gpu:0" if present else "/cpu:0")


def is_chief(strategy):
    """True for the worker that writes the real checkpoints and logs (always true outside multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)


def worker_dir(model_dir, strategy):
    """Where this worker writes: `model_dir` for the chief, `model_dir/workers/worker_<id>` for the others.

    MultiWorkerMirroredStrategy needs every worker to take part in saving; non-chief workers save to their own
    folder so their files never collide with the chief's.
    """
    if is_chief(strategy):
        return model_dir
    return os.path.join(model_dir, "workers", f"worker_{strategy.cluster_resolver.task_id}")
