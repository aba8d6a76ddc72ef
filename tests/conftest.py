"""Shared test fixtures. Tests run on the CPU, offline, with tiny model configurations."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def astronaut():
    """A real photo (scikit-image's astronaut, 512x512 RGB) as float32 in [0, 255]."""
    from skimage import data

    return data.astronaut().astype("float32")
