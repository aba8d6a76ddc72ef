"""Loading `.keras` generators saved by sr_keras, with errors that name the file."""
import os

import keras


def load_generator(path):
    """Loads a `.keras` generator saved by sr_keras (custom layers and `SRGenerator` registered on import).

    Generators saved since sr_keras recorded their metadata load as `sr_keras.models.SRGenerator` (see
    `sr_keras.models.model_info`); older files load as plain functional models.

    Raises:
        FileNotFoundError, ValueError: missing or unreadable model file (the message names it).
    """
    # Importing this module ran sr_keras/__init__.py, which registers every custom layer and SRGenerator.
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"not a .keras model file: {path}")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - any failure to load is reported with the path
        raise ValueError(f"cannot load model {path}: {error}") from None
