"""`SRGenerator`: the functional Keras model every sr_keras generator builder returns, carrying its metadata.

A generator knows which builder made it (`architecture`, the registry name such as "wdsr_b"), its upscaling
factor (`scale`) and the builder's keyword arguments (`arguments`, JSON-serialisable). The metadata is part
of the model's config under the key "sr_keras", so it survives `model.save("x.keras")` /
`keras.saving.load_model("x.keras")` (after `import sr_keras`, default safe_mode) and lets callers read a
model's scale without running it:

    >>> from sr_keras.models import build_model, model_info, model_scale
    >>> model = build_model("wdsr_b", scale=3, num_res_blocks=4)
    >>> model_scale(model)
    3
    >>> model_info(model)["arguments"]["num_res_blocks"]
    4

Discriminators stay plain `keras.Model`s; `model_info` / `model_scale` return None for them and for models
saved before the metadata existed.
"""
import functools
import inspect
import json
import numbers

import keras

from sr_keras import checks

CONFIG_KEY = "sr_keras"


@keras.saving.register_keras_serializable(package="sr_keras")
class SRGenerator(keras.Model):
    """A functional Keras model (`SRGenerator(inputs, outputs, name=...)`) with sr_keras metadata.

    It behaves exactly like `keras.Model(inputs, outputs)`: same layers, weights, outputs, tracing and
    export. In addition:

    - `architecture`: registry name of the builder (str), or None if the metadata was never set;
    - `scale`: the integer upscaling factor, or None;
    - `arguments`: the builder's keyword arguments (a fresh JSON-like dict on every access), or None.

    `get_config()` is the functional config plus {"sr_keras": {"architecture", "scale", "arguments"}};
    `from_config` takes that key out, revives the graph and sets the metadata back.
    """

    def __init__(self, *args, **kwargs):
        # (*args, **kwargs) keeps the constructor "functional-like": Keras 3 then builds, serialises and
        # revives this class as a functional model.
        super().__init__(*args, **kwargs)
        self._sr_keras_metadata = None  # JSON text, so Keras/TF attribute tracking never wraps it

    def set_metadata(self, architecture, scale, arguments):
        """Records the builder's registry name, the integer scale and the builder's keyword arguments.

        Raises:
            ValueError: `scale` is not a positive integer or `architecture` not a non-empty string.
            TypeError: an argument value is not JSON-serialisable (numbers, strings, None, lists, dicts).
        """
        if not isinstance(architecture, str) or not architecture:
            raise ValueError(f"architecture must be a non-empty string, got {architecture!r}")
        scale = checks.scale(scale)
        arguments = {str(key): _jsonable(value, f"{architecture} argument {key!r}")
                     for key, value in dict(arguments or {}).items()}
        self._sr_keras_metadata = json.dumps(
            {"architecture": architecture, "scale": int(scale), "arguments": arguments}, sort_keys=True)

    @property
    def metadata(self):
        """{"architecture", "scale", "arguments"} (a fresh dict), or None if never set."""
        text = getattr(self, "_sr_keras_metadata", None)
        return None if text is None else json.loads(text)

    @property
    def architecture(self):
        metadata = self.metadata
        return None if metadata is None else metadata["architecture"]

    @property
    def scale(self):
        metadata = self.metadata
        return None if metadata is None else metadata["scale"]

    @property
    def arguments(self):
        metadata = self.metadata
        return None if metadata is None else metadata["arguments"]

    def get_config(self):
        config = super().get_config()
        metadata = self.metadata
        if metadata is not None:
            config[CONFIG_KEY] = metadata
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        metadata = config.pop(CONFIG_KEY, None)
        model = super().from_config(config, custom_objects=custom_objects)
        if metadata is not None:
            model.set_metadata(metadata["architecture"], metadata["scale"], metadata.get("arguments"))
        return model


def _jsonable(value, what):
    """`value` as plain JSON types (tuples become lists, numpy scalars and arrays Python numbers and lists)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, what) for k, v in value.items()}
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _jsonable(value.tolist(), what)
    raise TypeError(f"{what} is not JSON-serialisable: {value!r}")


def model_info(model):
    """The sr_keras metadata of `model`, read from the model object (the model is not run).

    Args:
        model: anything; a generator built by sr_keras or loaded from a `.keras` file it saved.

    Returns:
        {"architecture": str, "scale": int, "arguments": dict}, or None when `model` carries no metadata
        (discriminators, other Keras models, plain callables, `.keras` files saved before sr_keras recorded
        it).
    """
    if not isinstance(model, SRGenerator):
        return None
    return model.metadata


def model_scale(model):
    """The integer scale recorded in `model`'s metadata, or None if it has none (see `model_info`)."""
    info = model_info(model)
    return None if info is None else info["scale"]


def generator_builder(builder):
    """Decorator of a generator builder: fills in the returned models' metadata, the architecture being the
    builder's own name (the registry name: `def wdsr_b(...)` is "wdsr_b", written once).

    The builder returns an `SRGenerator` (its scale is the builder's `scale` argument) or, for multi-scale
    builders such as MDSR, a {scale: SRGenerator} dict (each member gets its own scale). The recorded
    arguments are every parameter of the builder's signature as bound for this call, defaults included.
    """
    architecture = builder.__name__
    signature = inspect.signature(builder)

    @functools.wraps(builder)
    def build(*args, **kwargs):
        result = builder(*args, **kwargs)  # validates the arguments first, with the builder's own errors
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if isinstance(result, dict):
            for scale, model in result.items():
                _describe(model, architecture, scale, arguments)
        else:
            _describe(result, architecture, arguments["scale"], arguments)
        return result

    return build


def _describe(model, architecture, scale, arguments):
    if not isinstance(model, SRGenerator):
        raise TypeError(f"{architecture}: the builder must return SRGenerator models, got {type(model).__name__}")
    model.set_metadata(architecture, int(scale), arguments)
