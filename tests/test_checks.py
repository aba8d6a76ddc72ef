"""The one scale check: a positive integer (NumPy's too, never 4.0 or True), among the supported ones."""
import numpy as np
import pytest

from sr_keras import checks


def test_scale():
    assert checks.scale(np.int64(3), (2, 3, 4)) == 3 and type(checks.scale(np.int64(3))) is int
    for bad in (4.0, True, 0, "4"):
        with pytest.raises(ValueError, match=f"^scale must be a positive integer, got {bad!r}$"):
            checks.scale(bad)
    with pytest.raises(ValueError, match="^edsr does not support scale 8; supported scales: 2, 3, 4$"):
        checks.scale(8, (2, 3, 4), owner="edsr")
    with pytest.raises(ValueError, match="^scale 8 is not supported; supported scales: 2, 3, 4$"):
        checks.scale(8, (2, 3, 4))
    with pytest.raises(checks.ConfigError) as error:
        checks.scale(8, (4,), owner="mild", name="model.scale", error=checks.ConfigError)
    assert error.value.field == "model.scale" and error.value.message.startswith("mild does not support scale 8")
