"""`convert_file`: a checkpoint read, its source detected (`detect_source`, `SOURCES`) and converted."""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import functools
import os

from sr_keras.convert import edsr, esrgan, krasserm, wdsr
from sr_keras.convert._common import ConversionError, existing_file, read_state_dict

# source name -> (detect(tensors) -> (architecture, arguments, scales), convert(tensors, scale) -> (model, report))
SOURCES = {
    edsr.EDSR_PYTORCH: (edsr.detect_edsr_pytorch, edsr.convert_edsr_pytorch),
    edsr.BASICSR: (edsr.detect_basicsr, edsr.convert_basicsr),
    wdsr.NTIRE2018: (wdsr.detect_ntire2018, wdsr.convert_ntire2018),
    wdsr.YCHFAN: (wdsr.detect_ychfan, wdsr.convert_ychfan),
    esrgan.REALESRGAN: (esrgan.detect_realesrgan, esrgan.convert_realesrgan),
    **{layout: (functools.partial(esrgan.detect_rrdbnet, layout=layout),
                functools.partial(esrgan.convert_rrdbnet, layout=layout)) for layout in (esrgan.ESRGAN, esrgan.BSRGAN)},
    krasserm.KRASSERM: (None, None),
}


def detect_source(tensors):
    """The name of the first PyTorch source in `SOURCES` whose layout `tensors` has.

    Raises:
        ConversionError: no known layout (the message lists the first keys).
    """
    for name, (detect, _) in SOURCES.items():
        if detect is None:
            continue
        try:
            detect(tensors)
            return name
        except ConversionError:
            continue
    keys = ", ".join(sorted(tensors)[:4])
    raise ConversionError(f"unknown checkpoint layout (first keys: {keys}); known: {', '.join(SOURCES)}")


def convert_file(path, source=None, scale=None, res_scale=None):
    """Reads a checkpoint and returns the sr_keras model holding its weights.

    Args:
        path: a `.pt` / `.pth` PyTorch checkpoint or a krasserm Keras 2 `.h5` weights file.
        source: a key of `SOURCES`, or None to detect it.
        scale: the expected scale (an error if the checkpoint's differs); MDSR: the member returned (default
            the largest), all members are filled.
        res_scale: wdsr_ntire2018 only: the residual scaling it was trained with (not stored in the file;
            default 1, EDSR-PyTorch's).

    Returns:
        (model, report): the Keras generator, and {"source", "architecture", "arguments", "scales", "tensors",
        "input"}.

    Raises:
        FileNotFoundError; ConversionError naming the reason or the first offending tensor.
    """
    path = os.fspath(path)
    if source is not None and source not in SOURCES:
        raise ConversionError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    if res_scale is not None and source not in (None, wdsr.NTIRE2018):
        raise ConversionError(f"res_scale applies to the wdsr source only, not {source}")
    existing_file(path)
    if source == krasserm.KRASSERM or (source is None and krasserm.is_hdf5(path)):
        model, report = krasserm.convert(krasserm.read_keras2_weights(path), scale=scale)
    else:
        tensors = read_state_dict(path)
        source = source or detect_source(tensors)
        if source == wdsr.NTIRE2018:
            model, report = wdsr.convert_ntire2018(tensors, scale=scale, res_scale=1.0 if res_scale is None
                                                   else res_scale)
        elif res_scale is not None:
            raise ConversionError(f"res_scale applies to the wdsr source only; this checkpoint is {source}")
        else:
            model, report = SOURCES[source][1](tensors, scale=scale)
    report["input"] = path
    return model, report
