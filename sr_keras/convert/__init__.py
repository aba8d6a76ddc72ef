"""Converting the originals' published checkpoints into sr_keras models, tensor by tensor, by name.

    >>> from sr_keras.convert import convert_file
    >>> model, report = convert_file("edsr_baseline_x2-1bc95232.pt")     # detects EDSR-PyTorch EDSR baseline x2
    >>> model.save("edsr_baseline_x2.keras")

    python -m sr_keras.convert --input=edsr_baseline_x2-1bc95232.pt --output=edsr_baseline_x2.keras

Sources (`SOURCES`; the layout is detected from the tensors' names when `source` is not given):
- `edsr_pytorch`: sanghyun-son/EDSR-PyTorch's EDSR and EDSR baseline (x2, x3, x4, x8) and MDSR / MDSR baseline
  (one file holding every scale), `sr_keras/convert/edsr.py`;
- `basicsr`: XPixelGroup/BasicSR's EDSR_M and EDSR_L (`params` / `params_ema`), `edsr.py`;
- `wdsr`: JiahuiYu/wdsr_ntire2018's WDSR-A and WDSR-B (weight norm), `wdsr.py`;
- `wdsr_ychfan`: ychfan/wdsr's WDSR-A, its [0, 1] / mean-0.5 conventions folded into the first and last
  convolutions (`wdsr.py` says how);
- `realesrgan`: BasicSR / Real-ESRGAN's RRDBNet (RealESRGAN_x4plus, x2plus, anime_6B, RealESRNet, BasicSR's ESRGAN)
  and SRVGGNetCompact (realesr-general-x4v3, realesr-animevideov3); `esrgan`: the 2018 ESRGAN files' RRDBNet
  (`model.1.sub.N.RDB1...`); `bsrgan`: cszn/BSRGAN's and KAIR's RRDBNet (BSRGAN, BSRNet), `esrgan.py`;
- `krasserm`: krasserm/super-resolution's Keras 2 `.h5` weights (EDSR, WDSR-B with tensorflow-addons weight
  norm, SRResNet / SRGAN generator), read with h5py, `krasserm.py`.

Each model's `ModelSpec.sources` (`sr_keras.models.MODELS`) names the sources converting into it; a conversion
whose model does not list its source is refused, so the registry says what converts into what.

Discriminators are not generators and so not among `SOURCES` / `convert_file`: BasicSR's `UNetDiscriminatorSN`
(Real-ESRGAN's, spectral norm) converts with `convert_unet_discriminator_sn(read_state_dict(path))`,
`realesrgan.py`, and BasicSR's `VGGStyleDiscriminator` (ESRGAN's) with
`convert_vgg_style_discriminator(read_state_dict(path))`, `esrgan.py`.

PyTorch files are read with `torch.load(weights_only=True)`, which refuses any pickle that would run code, in
both PyTorch's legacy and zip formats. PyTorch and h5py are needed only here (`pip install "sr_keras[convert]"`).

Mapping (PyTorch -> Keras): every convolution weight [out, in, kh, kw] -> kernel [kh, kw, in, out]; biases as
they are; weight-norm g [out, 1, 1, 1] -> g [out]; a convolution feeding a pixel shuffle of factor r has its
output channels (v, g and bias alike) permuted from PyTorch's `nn.PixelShuffle` order (c * r^2 + dy * r + dx)
to TensorFlow's `depth_to_space` order ((dy * r + dx) * C + c); spectral norm's `weight_orig` -> kernel,
`weight_u` -> u, `weight_v` -> v reordered from (in, kh, kw) to the kernel's (kh, kw, in). A missing, extra or
mis-shaped tensor stops the conversion with one line naming it.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import functools
import os

from sr_keras.convert import edsr, esrgan, krasserm, wdsr
from sr_keras.convert._common import ConversionError, read_state_dict
from sr_keras.convert.esrgan import convert_vgg_style_discriminator
from sr_keras.convert.realesrgan import convert_unet_discriminator_sn

__all__ = ["SOURCES", "ConversionError", "convert_file", "convert_unet_discriminator_sn",
           "convert_vgg_style_discriminator", "detect_source", "read_state_dict"]

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
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
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
