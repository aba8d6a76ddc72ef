"""SavedModel export for TensorFlow Serving (the command line is `python -m sr_keras.export`).

The exported model has two signatures:
- `serve`: uint8 RGB [batch, height, width, 3] of any size -> uint8 [batch, scale*height, scale*width, 3]
  (the model's output clipped to [0, 255] and rounded);
- `serve_float`: float32 RGB in [0, 255] -> float32 in [0, 255], unclipped.
The FSA pool size of an A-SRResNet is fixed at export time; so are height and width, with `input_size`.
LiteRT, ONNX and OpenVINO exports, and the check of every export, are in `sr_keras.deploy`.
"""
import os

import keras
import tensorflow as tf

from sr_keras.files import atomic_path
from sr_keras.layers import FlexibleSelfAttention, iter_layers, pool_size_set
from sr_keras.models.precision import float32_copy


def export_saved_model(model, export_dir, pool_size=None, overwrite=True, input_size=None):
    """Writes `model` as a TF SavedModel with `serve` (uint8) and `serve_float` signatures.

    The SavedModel is written to a temporary folder beside `export_dir` and moved into place, so a crash never
    leaves a half-written export under `export_dir`.

    Args:
        model: a generator taking float RGB [0, 255].
        export_dir: destination folder.
        pool_size: FSA pool size to fix in the export (models with FSA layers only); the model's own pool size
            is restored afterwards.
        overwrite: replace an existing `export_dir`.
        input_size: None (any height and width) or (height, width): the signatures take only that size.

    Returns:
        `export_dir`.
    """
    export_dir = os.fspath(export_dir)
    model = float32_copy(model)  # a model trained with mixed precision is exported computing in float32
    has_fsa = any(isinstance(layer, FlexibleSelfAttention) for layer, _ in iter_layers(model))
    if pool_size is not None:
        if not has_fsa:
            raise ValueError(f"pool_size only applies to models with FlexibleSelfAttention; {model.name} has none")
    if os.path.exists(export_dir) and not overwrite:
        raise FileExistsError(f"export directory exists: {export_dir}")
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot write to {parent}")

    def serve_float(images):
        return model(images, training=False)

    def serve(images):
        sr = model(tf.cast(images, tf.float32), training=False)
        return tf.cast(tf.clip_by_value(tf.round(sr), 0.0, 255.0), tf.uint8)

    shape = [None, *(input_size or (None, None)), 3]
    with pool_size_set(model, pool_size):  # endpoints are traced here, with the export's pool size
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec(shape, tf.uint8)])
        archive.add_endpoint("serve_float", serve_float, input_signature=[tf.TensorSpec(shape, tf.float32)])
        with atomic_path(export_dir, directory=True) as staging:
            archive.write_out(staging, verbose=False)
    return export_dir
