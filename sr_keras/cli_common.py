"""Helpers shared by the command-line entry points: loading a model file with clear errors, atomic writes."""
import json
import os
import tempfile


def load_generator(path):
    """Loads a `.keras` generator saved by sr_keras (custom layers registered on import).

    Raises:
        FileNotFoundError, ValueError: missing or unreadable model file (the message names it).
    """
    import keras

    import sr_keras  # noqa: F401  (registers the custom layers)

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"not a .keras model file: {path}")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - any failure to load is reported with the path
        raise ValueError(f"cannot load model {path}: {error}") from None


def check_scale(model, scale, path):
    """The model's scale; raises ValueError if `scale` (when given) contradicts it."""
    from sr_keras.inference import infer_scale

    actual = infer_scale(model)
    if scale is not None and scale != actual:
        raise ValueError(f"--scale={scale} contradicts the model {path}, which upscales x{actual}")
    return actual


def check_writable_dir(directory):
    """Creates `directory` if needed; raises PermissionError if files cannot be written there."""
    directory = os.fspath(directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cannot create output directory {directory}: {error.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory is not writable: {directory}")
    return directory


def write_json_atomically(data, path):
    """Writes JSON through a temporary file renamed into place."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".partial-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=2)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
