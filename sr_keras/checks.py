"""Argument checks shared by every module: one rule for integers, one error type for settings, one check of a
model file.

Integers are Python or NumPy integers; booleans and floats are refused, `4.0` included, so that a scale, a
tile size or a batch size means the same thing everywhere in the package.
"""
import numbers
import os
import zipfile


class ConfigError(ValueError):
    """A bad setting. `field` names it (a config field or argument name); command lines turn it into the flag.

    Args:
        field: the setting's name.
        message: what is wrong, without the name (e.g. "must be a positive integer, got 0").
    """

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_integer(value):
    """True for Python and NumPy integers, False for booleans, floats and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(value, name, minimum=None, error=ValueError):
    """Returns `value` as a Python int after checking it is an integer >= `minimum`.

    Args:
        value: the value to check.
        name: its name, for the message.
        minimum: the smallest allowed value (None: any).
        error: the exception class; `ConfigError` gets (name, message), any other class one message.

    Raises:
        `error`: not an integer, or below `minimum`.
    """
    if not is_integer(value) or (minimum is not None and value < minimum):
        kind = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
        message = f"must be {kind}, got {value!r}"
        raise error(name, message) if issubclass(error, ConfigError) else error(f"{name} {message}")
    return int(value)


def positive_int(value, name, error=ValueError):
    """`integer(value, name, minimum=1)`."""
    return integer(value, name, minimum=1, error=error)


def scale(value, supported=None, owner=None, name="scale", error=ValueError):
    """Checks an SR factor: a positive integer, and one of `supported` when given. Returns it as an int.

    Args:
        value: the factor to check.
        supported: the factors allowed, or None for any positive integer.
        owner: what supports them, for the message (e.g. a model's name).
        name: the setting's name, for the message.
        error: the exception class; `ConfigError` gets (name, message), any other class one message.

    Raises:
        `error`: "<name> must be a positive integer, got <value>", or "<owner> does not support scale <value>;
            supported scales: 2, 3, 4" ("<name> <value> is not supported; ..." without an owner).
    """
    value = positive_int(value, name, error=error)
    if supported is not None and value not in supported:
        what = f"{owner} does not support scale {value}" if owner else f"{name} {value} is not supported"
        message = f"{what}; supported scales: {', '.join(map(str, supported))}"
        raise error(name, message) if issubclass(error, ConfigError) else error(message)
    return value


def model_file(path):
    """Checks that `path` is a `.keras` model file (it exists and is a zip archive) without loading it, so that
    commands report a missing or fake model file before they import TensorFlow; `load_generator` checks the
    same way. Returns the path as a string.

    Raises:
        FileNotFoundError, ValueError: a missing file, or one that is not a `.keras` zip archive.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"not a .keras model file: {path}")
    if not zipfile.is_zipfile(path):  # Keras would report "File not found" for a file that exists
        raise ValueError(f"not a .keras model file (a .keras file is a zip archive written by model.save): {path}")
    return path


def parse_bytes(text):
    """'2GB', '1.5G', '800MB', '512M', '1000000' -> bytes (powers of 1024 for K/M/G/T): a memory budget, as
    `upscale --max_memory` takes it.

    Raises:
        ValueError: not a positive amount with an optional unit (the message shows the accepted forms).
    """
    value = str(text).strip().upper().replace(" ", "")
    units = {"T": 2 ** 40, "G": 2 ** 30, "M": 2 ** 20, "K": 2 ** 10}
    number, factor = value, 1
    for suffix in ("TB", "GB", "MB", "KB", "T", "G", "M", "K", "B"):
        if value.endswith(suffix):
            number, factor = value[: -len(suffix)], units.get(suffix[0], 1)
            break
    try:
        amount = float(number) * factor
    except ValueError:
        amount = 0
    if not amount > 0:
        raise ValueError(f"expected an amount of memory such as 2GB, 1.5G or 800MB, got {text!r}")
    return int(amount)
