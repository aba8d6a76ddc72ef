"""MMSR reconstruction (seed 001 Fig. 3, 7, 8): route each LR tile to the model of its TVAT class.

`MMSRRouter` is a callable from a batch of LR tiles to their SR outputs: it measures each tile's TVAT, runs
the tiles of each class through that class's model, and puts the outputs back in order. Passed as the model
to `sr_keras.inference.predict` / `upscale` with a `tile` size, it gives the whole MMSR reconstruction: the
image is split into overlapping tiles, every tile is routed, and the outputs are stitched by a weighted
average over the overlaps (the linear ramps of `sr_keras.inference`; the seed averages overlaps uniformly,
the ramps are the same average with weights that fade towards tile edges so no seam shows).
"""
import json
import os

import numpy as np
import tensorflow as tf

from sr_keras.data.tvat import DEFAULT_BOUNDARIES, DEFAULT_THRESHOLD, tvat
from sr_keras.files import write_json
from sr_keras.inference.runner import compiled
from sr_keras.mmsr.tiles import classify

MANIFEST = "mmsr.json"


class MMSRRouter:
    """Routes LR tiles to per-class generators by TVAT.

    Args:
        models: {class index: generator}; every class in 0..len(boundaries) must have one, all the same scale.
        boundaries: TVAT class boundaries (seed: 2 and 4 in sr_keras's pixel scale).
        threshold: TVAT's VSP threshold.
    """

    def __init__(self, models, boundaries=DEFAULT_BOUNDARIES, threshold=DEFAULT_THRESHOLD):
        missing = [k for k in range(len(boundaries) + 1) if k not in models]
        if missing:
            raise ValueError(f"MMSR needs a model for every TVAT class; missing class(es) {missing}")
        self.models = dict(models)
        self.boundaries = tuple(float(b) for b in boundaries)
        self.threshold = float(threshold)
        self.routed = {k: 0 for k in self.models}

    def classes(self, batch):
        """TVAT class of each LR tile of `batch` [B, h, w, 3] in [0, 255]."""
        values = tvat(tf.convert_to_tensor(batch, tf.float32), threshold=self.threshold).numpy()
        return classify(np.atleast_1d(values), self.boundaries)

    def __call__(self, batch, training=False):
        batch = np.asarray(batch, "float32")
        classes = self.classes(batch)
        outputs = [None] * len(batch)
        for k in np.unique(classes):
            index = np.nonzero(classes == k)[0]
            result = compiled(self.models[int(k)])(tf.constant(batch[index]))
            result = result.numpy() if hasattr(result, "numpy") else np.asarray(result)
            for i, out in zip(index, result):
                outputs[i] = out
            self.routed[int(k)] += len(index)
        return np.stack(outputs)


def save_manifest(directory, model_paths, boundaries, threshold, tile, overlap, scale, extra=None):
    """Writes `<directory>/mmsr.json`: what `load_router` needs to rebuild the MMSR system."""
    manifest = {"scale": scale, "boundaries": list(boundaries), "threshold": threshold, "tile": tile,
                "overlap": overlap, "models": {str(k): os.path.relpath(p, directory) for k, p in model_paths.items()}}
    manifest.update(extra or {})
    return write_json(manifest, os.path.join(directory, MANIFEST))


def load_router(directory):
    """(router, manifest) from an MMSR directory written by `python -m sr_keras.mmsr train`.

    Raises:
        FileNotFoundError, ValueError: missing manifest or model files (named).
    """
    from sr_keras.models.saving import load_generator

    path = os.path.join(os.fspath(directory), MANIFEST)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"not an MMSR directory (no {MANIFEST}): {directory}")
    with open(path) as handle:
        manifest = json.load(handle)
    models = {int(k): load_generator(os.path.join(directory, p)) for k, p in manifest["models"].items()}
    return MMSRRouter(models, manifest["boundaries"], manifest["threshold"]), manifest
