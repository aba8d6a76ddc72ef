"""Shared test fixtures. Tests run on the CPU, offline, with tiny model configurations.

The CPU is split into two logical devices before TensorFlow initialises, so distribution tests can run a
real MirroredStrategy over "/cpu:0" and "/cpu:1" (REFERENCE: the documented way to test tf.distribute on CPU).

The package's commands run in their own processes, forked from a launcher that imported TensorFlow once
(tests/launch.py).

Wall-clock limits follow the machine's speed: `wall_clock_limit(seconds)` (also the `timeout` fixture) scales a
limit written for an idle machine by the slowdown a small TensorFlow workload shows now (`machine_slowdown`).
"""
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as `import sr_keras` sets it: the tests import TensorFlow first

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests import launch  # noqa: E402

pytest.register_assert_rewrite("tests.harness")  # its asserts report their values, as a test's do
if os.environ.get("PYTEST_XDIST_WORKER"):
    launch.start()  # the commands' launcher imports TensorFlow while this worker does (not in xdist's controller)

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


# ------------------------------------------------------------------------------- limits that follow the speed

# The speed probe: 30 float32 3x3 convolutions of a [1, 128, 128, 64] tensor (64 -> 64 channels), run eagerly on
# TensorFlow's CPU thread pools as the tests' own work is; the median of 5 repetitions (about 0.5 s idle).
_PROBE_REPEATS, _PROBE_CONVS, _PROBE_SHAPE = 5, 30, (1, 128, 128, 64)
# The probe's median on the 2-core test machine when idle (load average 0.00, nothing else running), measured on
# 2026-12-03 in two fresh processes: 88.4 and 88.0 ms. With one `a @ a` numpy loop (3000x3000) beside it: 234
# and 238 ms (2.7 times); with that loop and two TensorFlow convolution loops: 464 and 511 ms (5.3 to 5.8 times).
PROBE_IDLE_SECONDS = 0.088
# On a slower CPU the probe is slower too, and the limits grow with it: they were written for that idle machine.
# Limits are the idle figure times SAFETY times the slowdown. The probe is a snapshot of a load that changes: it
# can fall in a lull of another job (or of the other xdist worker, which runs its own tests beside this one), so
# the subprocess may then meet up to twice the load it saw; SAFETY = 2 covers that.
SAFETY = 2.0
# The slowdown is not scaled beyond this. A real job seen 10 times slower than idle (times SAFETY, so 20 times the
# idle limit) is treated as hung: the upper limit only exists so that a process that never ends fails its test
# instead of blocking the suite; it is not a statement of how long the work takes.
MAX_SLOWDOWN = 10.0
# A slowdown is measured again when older than this: other jobs start and end during a long run of the suite
# (the run that motivated this took 62 minutes), and a probe costs about half a second when idle.
PROBE_MAX_AGE_SECONDS = 300.0
_probe = {"time": None, "slowdown": None}


def _probe_seconds():
    """The median time of `_PROBE_REPEATS` runs of `_PROBE_CONVS` float32 3x3 convolutions (the speed probe)."""
    x = tf.random.stateless_uniform(_PROBE_SHAPE, seed=[0, 0])
    kernel = tf.random.stateless_uniform([3, 3, _PROBE_SHAPE[-1], _PROBE_SHAPE[-1]], seed=[0, 1])
    tf.nn.conv2d(x, kernel, 1, "SAME").numpy()  # first call: kernel selection, not timed
    times = []
    for _ in range(_PROBE_REPEATS):
        began = time.perf_counter()
        for _ in range(_PROBE_CONVS):
            y = tf.nn.conv2d(x, kernel, 1, "SAME")
        y.numpy()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def machine_slowdown():
    """How many times slower than idle this machine runs the speed probe now, between 1 and `MAX_SLOWDOWN`.

    Measured in this process (each xdist worker measures its own) at the first call and again when the last
    measurement is older than `PROBE_MAX_AGE_SECONDS`.
    """
    now = time.monotonic()
    if _probe["time"] is None or now - _probe["time"] > PROBE_MAX_AGE_SECONDS:
        _probe["slowdown"] = min(max(_probe_seconds() / PROBE_IDLE_SECONDS, 1.0), MAX_SLOWDOWN)
        _probe["time"] = now
    return _probe["slowdown"]


def wall_clock_limit(idle_seconds):
    """A timeout for work that fits in `idle_seconds` on the idle test machine (the figure the test used as its
    fixed limit): `idle_seconds * SAFETY * machine_slowdown()`, so never below `SAFETY * idle_seconds` and never
    above `SAFETY * MAX_SLOWDOWN * idle_seconds`."""
    return math.ceil(idle_seconds * SAFETY * machine_slowdown())  # whole seconds: papermill takes only an int


@pytest.fixture(scope="session")
def timeout():
    """`wall_clock_limit`: `timeout(600)` is a limit for work that fits in 600 s on the idle machine."""
    return wall_clock_limit


@pytest.fixture(autouse=True)
def environment_restored():
    """Each test leaves the process environment as it found it, so the commands of the next test get the
    environment a user's shell would give them. Some libraries set variables when a test first imports them
    (tf2onnx sets TF_CPP_MIN_LOG_LEVEL=3); a command then started with that environment would also run in a
    fresh interpreter instead of being forked (tests/launch.py), as that variable is read at start-up."""
    before = dict(os.environ)
    yield
    if os.environ != before:
        current = os.environ.get("PYTEST_CURRENT_TEST")
        os.environ.clear()
        os.environ.update(before)
        if current is not None:
            os.environ["PYTEST_CURRENT_TEST"] = current
