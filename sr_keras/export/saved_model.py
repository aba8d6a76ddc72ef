"""The TF Serving SavedModel: two signatures on one traced model.

- `serve`: uint8 RGB [batch, height, width, 3] of any size -> uint8 [batch, scale*height, scale*width, 3]
  (the model's output clipped to [0, 255] and rounded);
- `serve_float`: float32 RGB in [0, 255] -> float32 in [0, 255], unclipped.
"""
import keras
import tensorflow as tf

from sr_keras.export.common import check_pool_size, export_folder, package_version
from sr_keras.layers import pool_size_set
from sr_keras.models.precision import float32_copy

SIGNATURES = ["serve (uint8)", "serve_float (float32)"]


def convert(model, path, input_size, quantization="none"):
    """Writes `model` (float32, its pool size already set) as a SavedModel in the folder `path`; returns the
    converter's description."""
    def serve_float(images):
        return model(images, training=False)

    def serve(images):
        sr = model(tf.cast(images, tf.float32), training=False)
        return tf.cast(tf.clip_by_value(tf.round(sr), 0.0, 255.0), tf.uint8)

    shape = [None, *(input_size or (None, None)), 3]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec(shape, tf.uint8)])
    archive.add_endpoint("serve_float", serve_float, input_signature=[tf.TensorSpec(shape, tf.float32)])
    archive.write_out(path, verbose=False)
    return f"keras.export.ExportArchive (keras {package_version('keras')})"


def export_saved_model(model, export_dir, pool_size=None, overwrite=True, input_size=None):
    """Writes `model` as a TF SavedModel with `serve` (uint8) and `serve_float` signatures, and returns
    `export_dir`.

    The SavedModel alone, without `export.json` (`sr_keras.export.export_model(format="saved_model")` writes
    both). A model trained with mixed precision is exported computing in float32.

    Args:
        model: a generator taking float RGB [0, 255].
        export_dir: destination folder, written under a temporary name and renamed into place.
        pool_size: FSA pool size to fix in the export (models with FSA layers only).
        overwrite: replace an existing `export_dir`.
        input_size: None (any height and width) or (height, width): the signatures take only that size.
    """
    model = float32_copy(model)
    check_pool_size(model, pool_size)
    with pool_size_set(model, pool_size), export_folder(export_dir, overwrite) as staging:
        convert(model, staging, input_size)
    return export_dir
