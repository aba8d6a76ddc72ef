"""Loading `.keras` generators saved by sr_keras, with errors that name the file."""
import os

import keras

from sr_keras import checks


def load_generator(path):
    """Loads a `.keras` generator saved by sr_keras (custom layers and `SRGenerator` registered on import).

    Generators saved since sr_keras recorded their metadata load as `sr_keras.models.SRGenerator` (see
    `sr_keras.models.model_info`); older files load as plain functional models.

    Raises:
        FileNotFoundError, ValueError: missing or unreadable model file (the message names it).
    """
    # Importing this module ran sr_keras/__init__.py, which registers every custom layer and SRGenerator.
    path = checks.model_file(path)
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - any failure to load is reported with the path
        raise ValueError(f"cannot load model {path}: {error}") from None


def load_matching_weights(targets, path):
    """Copies into `targets` the weights of every layer of the model file `path` whose name and weight shapes
    match (EDSR-PyTorch's rule for `--pre_train`: its `load_state_dict` copies each tensor whose name and shape
    match and ignores the rest of the tail, so an x4 EDSR started from the x2 model gets every layer but the
    upsampler stages the x2 model lacks).

    Args:
        targets: a model, or several sharing layers ({scale: model} of MDSR).
        path: a `.keras` model file (any sr_keras model; layer names are stable across scales).

    Returns:
        (loaded layer names, [(skipped layer name, reason)]), both in the targets' layer order.

    Raises:
        FileNotFoundError, ValueError: unreadable file; ValueError when no layer matched.
    """
    source = load_generator(path)
    source_layers = {layer.name: layer for layer in source.layers if layer.weights}
    models = list(targets.values()) if isinstance(targets, dict) else [targets]
    loaded, skipped, seen = [], [], set()
    for model in models:
        for layer in model.layers:
            if not layer.weights or id(layer) in seen:
                continue
            seen.add(id(layer))
            match = source_layers.get(layer.name)
            if match is None:
                skipped.append((layer.name, f"not in {os.path.basename(path)}"))
                continue
            shapes = [tuple(w.shape) for w in layer.weights]
            theirs = [tuple(w.shape) for w in match.weights]
            if shapes != theirs:
                skipped.append((layer.name, f"shapes {shapes} here, {theirs} in the file"))
                continue
            layer.set_weights(match.get_weights())
            loaded.append(layer.name)
    if not loaded:
        raise ValueError(f"no layer of {path} matches the model by name and shape (its layers: "
                         f"{', '.join(list(source_layers)[:8])}...); is it the same architecture?")
    return loaded, skipped
