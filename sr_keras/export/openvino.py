"""OpenVINO (`model.xml` + `model.bin`): `keras.Model.export(format="openvino")`, which runs
`openvino.convert_model` on the traced function."""
from sr_keras.export.common import input_spec, package_version


def convert(model, path, input_size, quantization):
    model.export(path, format="openvino", input_signature=[input_spec("openvino", input_size)], verbose=False)
    return ("keras.Model.export(format='openvino') -> openvino.convert_model "
            f"(openvino {package_version('openvino')})")


def operators(path):
    """The sorted operation types of the OpenVINO model `path` (.xml)."""
    import openvino as ov

    return sorted({op.get_type_name() for op in ov.Core().read_model(path).get_ops()})
