"""Trained generators by name: `sr_keras.pretrained.load("wdsr_b_default_x4")`.

    >>> from sr_keras import pretrained
    >>> model = pretrained.load("wdsr_b_default_x4")      # shipped inside the package: works offline
    >>> pretrained.default_model_name(2)
    'wdsr_b_default_x2'

    python -m sr_keras.pretrained list

The default models (`DEFAULT_MODELS`, one per scale) are WDSR-B generators trained by sr_keras itself on
images available offline (`docs/models/default.md` is their model card; `tools/train_default_models.py`
reproduces them). They ship inside the package as `.keras` files computing in float32.
"""
import dataclasses
import os

from sr_keras.models.saving import load_generator

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named trained generator.

    Attributes:
        name: the name `load` and `--pretrained` take.
        architecture: the registry name of the generator (`sr_keras.models.MODELS`).
        scale: its SR factor.
        description: one line for the table.
        file: the `.keras` file inside the package (`weights/`), for models shipped with it.
        licence: the weights' licence.
        card: where its training and evaluation are documented.
    """

    name: str
    architecture: str
    scale: int
    description: str
    file: str
    licence: str = "Apache-2.0 (trained by sr_keras; the training images keep their own licences, see the card)"
    card: str = "docs/models/default.md"

    @property
    def path(self):
        return os.path.join(WEIGHTS_DIR, self.file)


PRESETS = {preset.name: preset for preset in (
    Preset(f"wdsr_b_default_x{scale}", "wdsr_b", scale,
           f"WDSR-B x{scale}, 16 blocks, trained by sr_keras on offline photos (the default model at x{scale})",
           f"wdsr_b_default_x{scale}.keras")
    for scale in (2, 3, 4))}

# The model `python -m sr_keras.upscale` uses at each scale when no model is given.
DEFAULT_MODELS = {2: "wdsr_b_default_x2", 3: "wdsr_b_default_x3", 4: "wdsr_b_default_x4"}


def get(name):
    """The preset called `name`; ValueError listing the names otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown pretrained model {name!r}; available: {', '.join(PRESETS)} "
                         f"(python -m sr_keras.pretrained list)")
    return PRESETS[name]


def default_model_name(scale):
    """The name of the default model at `scale`; ValueError for a scale without one."""
    if scale not in DEFAULT_MODELS:
        raise ValueError(f"there is no default model at x{scale}; default models: "
                         f"{', '.join(f'x{s}' for s in DEFAULT_MODELS)}")
    return DEFAULT_MODELS[scale]


def load(name):
    """The Keras generator of the preset `name` (custom layers registered; float RGB [0, 255] in and out).

    Raises:
        ValueError: unknown name, or the preset's file is missing from the installed package.
    """
    preset = get(name)
    if not os.path.isfile(preset.path):
        raise ValueError(f"pretrained model {name!r} is missing from this installation ({preset.path}); "
                         f"reinstall sr_keras")
    return load_generator(preset.path)


def table():
    """The presets as a markdown table."""
    lines = ["| name | architecture | scale | description | licence |", "| --- | --- | ---: | --- | --- |"]
    for preset in PRESETS.values():
        lines.append(f"| `{preset.name}` | {preset.architecture} | x{preset.scale} | {preset.description} | "
                     f"{preset.licence} |")
    return "\n".join(lines)


def ship_default_models(run_dir, scale):
    """Copies the final generator of a default-model training run into the package, computing in float32
    (`tools/train_default_models.py --ship`). Returns the written path."""
    from sr_keras.files import save_keras
    from sr_keras.models.precision import float32_copy

    model = float32_copy(load_generator(os.path.join(run_dir, f"generator_final_x{scale}.keras")))
    return save_keras(model, get(default_model_name(scale)).path)
