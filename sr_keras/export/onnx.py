"""ONNX (`model.onnx`) through `tf2onnx.convert.from_function`; Keras's ONNX export calls the same converter but
cannot take the FloorMod fix below."""
from sr_keras.export.common import input_spec, package_version


def _floor_mod(ctx, node, name, args):
    """tf2onnx handler for TensorFlow's FloorMod: ONNX Mod with fmod=0, the floor (Python) remainder.

    tf2onnx 1.17 writes integer FloorMod as x - Div(x, y) * y with ONNX's truncating integer Div, which is
    wrong for a negative x: FSA's padding (-height) % pool_size then crops instead of padding.
    """
    node.type = "Mod"
    node.set_attr("fmod", 0)


def convert(model, path, input_size, quantization):
    import tensorflow as tf
    import tf2onnx

    function = tf.function(lambda lr: {"sr": model(lr, training=False)})
    tf2onnx.convert.from_function(function, input_signature=[input_spec("onnx", input_size)],
                                  custom_op_handlers={"FloorMod": (_floor_mod, [])}, output_path=path)
    return f"tf2onnx.convert.from_function (tf2onnx {package_version('tf2onnx')}, FloorMod as ONNX Mod)"


def operators(path):
    """The sorted operator types of the ONNX file `path`."""
    import onnx

    return sorted({node.op_type for node in onnx.load(path, load_external_data=False).graph.node})
