"""What the command-line entry points share: flags generated from the training config, the mapping of
library errors to flag names, and model loading with clear errors. Only CLI modules import this module."""
import dataclasses
import typing

from sr_keras.checks import ConfigError
from sr_keras.models.saving import load_generator  # noqa: F401  (re-exported for the CLIs)


def check_scale(model, scale, path):
    """The model's scale; raises ValueError if `scale` (when given) contradicts it."""
    from sr_keras.inference import infer_scale

    actual = infer_scale(model)
    if scale is not None and scale != actual:
        raise ValueError(f"--scale={scale} contradicts the model {path}, which upscales x{actual}")
    return actual


def _base_type(annotation):
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def define_dataclass_flags(sections, flag_values, defaults=None):
    """Defines one absl flag per field of the dataclasses in `sections` (name: the field's metadata "flag" or
    its own name; help and choices from its metadata). Every flag defaults to None ("not set"), unless
    `defaults` ({flag: value}) says otherwise, so library defaults and recipes apply to what the user leaves
    unset."""
    from absl import flags

    defaults = defaults or {}
    for cls in sections:
        for field in dataclasses.fields(cls):
            name = field.metadata.get("flag", field.name)
            default, help_text = defaults.get(name), field.metadata.get("help", "")
            kind = _base_type(field.type)
            if field.metadata.get("choices"):
                flags.DEFINE_enum(name, default, list(field.metadata["choices"]), help_text, flag_values=flag_values)
            elif kind is bool:
                flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
            elif kind is int:
                flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
            elif kind is float:
                flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
            elif kind is tuple:
                flags.DEFINE_list(name, default, help_text, flag_values=flag_values)
            else:
                flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def _parse_item(text, item, name):
    if item is int:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None or not number.is_integer():
            raise ConfigError(name, f"must be a list of integers, got {text!r}")
        return int(number)
    if item is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(name, f"must be a list of numbers, got {text!r}") from None
    return text


def dataclass_flag_values(sections, flag_values):
    """{flag name: value} of the flags of `sections` that are set (not None); list flags become tuples of the
    field's item type ("2e5" is read as the integer 200000)."""
    values = {}
    for cls in sections:
        for field in dataclasses.fields(cls):
            name = field.metadata.get("flag", field.name)
            value = flag_values[name].value
            if value is None:
                continue
            if _base_type(field.type) is tuple:
                value = tuple(_parse_item(v, field.metadata.get("item"), name) for v in value if v != "")
            values[name] = value
    return values


def flag_error(error):
    """The one-line message for a library error: a `ConfigError`'s field becomes its `--flag`."""
    if isinstance(error, ConfigError):
        return f"--{error.field}: {error.message}"
    return str(error)
