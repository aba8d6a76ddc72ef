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

from sr_keras._lazy import lazy_package

# (the modules import TensorFlow quietly themselves, through sr_keras.layers and sr_keras.models)
lazy_package(__name__, {
    "sr_keras.convert.api": ("SOURCES", "convert_file", "detect_source"),
    "sr_keras.convert._common": ("ConversionError", "read_state_dict"),
    "sr_keras.convert.esrgan": ("convert_vgg_style_discriminator",),
    "sr_keras.convert.realesrgan": ("convert_unet_discriminator_sn",),
}, quiet=False)

__all__ = ["SOURCES", "ConversionError", "convert_file", "convert_unet_discriminator_sn",
           "convert_vgg_style_discriminator", "detect_source", "read_state_dict"]
