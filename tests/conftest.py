"""Shared test fixtures. Tests run on the CPU, offline, with tiny model configurations.

The CPU is split into two logical devices before TensorFlow initialises, so distribution tests can run a
real MirroredStrategy over "/cpu:0" and "/cpu:1" (REFERENCE: the documented way to test tf.distribute on CPU).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def astronaut():
    """A real photo (scikit-image's astronaut, 512x512 RGB) as float32 in [0, 255]."""
    from skimage import data

    return data.astronaut().astype("float32")


@pytest.fixture(scope="session")
def photos():
    """Real colour photos shipped by scikit-image, uint8 RGB."""
    from skimage import data

    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(),
            "rocket": data.rocket()}


@pytest.fixture(scope="session")
def mirrored():
    """One MirroredStrategy over the two logical CPUs, shared by every test.

    Two MirroredStrategy objects used in one process can hand out the same collective keys and abort each
    other's all-reduces ("Shape mismatch in the collective instance"), so tests never create their own.
    """
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
