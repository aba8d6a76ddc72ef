"""`sr_keras.convert` for the SRGAN line's generators: RRDBNet in its three published key layouts and
SRVGGNetCompact convert into `rrdbnet` / `srvgg_compact`, whose outputs equal PyTorch's to 1e-4 relative on a
real photo crop.

The PyTorch modules are written after each original (here or in `tools/torch_esrgan.py`), so their state dicts
carry the original keys and their forward passes the original computation ([0, 1] in and out):
- BasicSR 1.4.2 `basicsr/archs/rrdbnet_arch.py` (Real-ESRGAN's files, under `params_ema`), x4, x2 and x1
  (pixel-unshuffled input), from `tools/torch_esrgan.py`;
- cszn/BSRGAN `models/network_rrdbnet.py` (BSRGAN.pth, a plain state dict);
- the 2018 ESRGAN files' `nn.Sequential` layout (`model.0`, `model.1.sub.<b>.RDB<d>.conv<i>.0`, `model.3`, ...),
  saved in PyTorch's legacy format;
- BasicSR `basicsr/archs/srvgg_arch.py` (realesr-general-x4v3, realesr-animevideov3), PReLU slopes randomised,
  from `tools/torch_esrgan.py`.
Tiny sizes; PyTorch's random initialisation (biases included).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from sr_keras.convert import convert_file  # noqa: E402
from tests import launch  # noqa: E402
from sr_keras.convert import esrgan as esrgan_convert  # noqa: E402
from tools.torch_esrgan import RRDB, BasicSRRRDBNet, SRVGGNetCompact  # noqa: E402

FEAT, GROW, BLOCKS = 8, 4, 2


def _rrdbnet(scale):
    return BasicSRRRDBNet(scale, num_feat=FEAT, num_block=BLOCKS, num_grow_ch=GROW)


def _srvgg(num_conv, scale):
    return SRVGGNetCompact(num_conv, scale, num_feat=FEAT, prelu_seed=scale)


def _rrdb(names, wrap=lambda conv: conv):
    return RRDB(names, FEAT, GROW, wrap)


@pytest.fixture(scope="module")
def crop():
    from skimage import data

    return data.astronaut()[150:170, 200:224].astype("float32")  # 20 x 24: divisible by 4 for x1's unshuffle


def _torch_sr(module, crop_255):
    with torch.no_grad():
        out = module(torch.tensor(crop_255.transpose(2, 0, 1)[None]) / 255.0)
    return out[0].numpy().transpose(1, 2, 0) * 255.0


def _difference(model, expected, crop_255):
    got = model(crop_255[None], training=False).numpy()[0]
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max() / np.abs(expected).max())


class BSRGANRRDBNet(nn.Module):
    """cszn/BSRGAN models/network_rrdbnet.py RRDBNet (x4)."""

    def __init__(self):
        super().__init__()
        self.conv_first = nn.Conv2d(3, FEAT, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*[_rrdb(("RDB1", "RDB2", "RDB3")) for _ in range(BLOCKS)])
        self.trunk_conv = nn.Conv2d(FEAT, FEAT, 3, 1, 1)
        self.upconv1, self.upconv2 = nn.Conv2d(FEAT, FEAT, 3, 1, 1), nn.Conv2d(FEAT, FEAT, 3, 1, 1)
        self.HRconv, self.conv_last = nn.Conv2d(FEAT, FEAT, 3, 1, 1), nn.Conv2d(FEAT, 3, 3, 1, 1)

    def forward(self, x):
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        fea = F.leaky_relu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
        fea = F.leaky_relu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.HRconv(fea), 0.2))


class _Shortcut(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def forward(self, x):
        return x + self.sub(x)


class OldESRGAN(nn.Module):
    """The 2018 ESRGAN files' layout: one `nn.Sequential` `model` (conv, shortcut over the RRDBs and the trunk
    conv, then upsample / conv / LeakyReLU twice, conv / LeakyReLU, conv); each dense conv in a Sequential."""

    def __init__(self):
        super().__init__()
        trunk = [_rrdb(("RDB1", "RDB2", "RDB3"), wrap=lambda conv: nn.Sequential(conv)) for _ in range(BLOCKS)]
        self.model = nn.Sequential(
            nn.Conv2d(3, FEAT, 3, 1, 1), _Shortcut(nn.Sequential(*trunk, nn.Conv2d(FEAT, FEAT, 3, 1, 1))),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(FEAT, FEAT, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(FEAT, FEAT, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(FEAT, FEAT, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(FEAT, 3, 3, 1, 1))

    def forward(self, x):
        return self.model(x)


def _save(module, path, wrapper=None, legacy=False):
    state = module.state_dict()
    torch.save({wrapper: state} if wrapper else state, path, _use_new_zipfile_serialization=not legacy)
    return path


CASES = {  # name -> (module factory, scale, source, wrapper, legacy format)
    "realesrgan_x4": (lambda: _rrdbnet(4), 4, "realesrgan", "params_ema", False),
    "realesrgan_x2": (lambda: _rrdbnet(2), 2, "realesrgan", "params_ema", False),
    "realesrgan_x1": (lambda: _rrdbnet(1), 1, "realesrgan", "params", False),
    "bsrgan_x4": (BSRGANRRDBNet, 4, "bsrgan", None, False),
    "esrgan_2018_x4": (OldESRGAN, 4, "esrgan", None, True),
    "srvgg_x4": (lambda: _srvgg(3, 4), 4, "realesrgan", "params", False),
    "srvgg_x2": (lambda: _srvgg(2, 2), 2, "realesrgan", "params", False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_converted_output_equals_the_original(case, crop, tmp_path):
    factory, scale, source, wrapper, legacy = CASES[case]
    torch.manual_seed(len(case))
    module = factory().eval()
    model, report = convert_file(_save(module, tmp_path / f"{case}.pth", wrapper, legacy))
    assert (report["source"], report["scales"]) == (source, [scale])
    assert report["tensors"] == len(module.state_dict())
    assert report["architecture"] == ("srvgg_compact" if case.startswith("srvgg") else "rrdbnet")
    assert _difference(model, _torch_sr(module, crop), crop) < 1e-4


@pytest.mark.parametrize("case,broken", [("realesrgan_x2", "unshuffle"), ("srvgg_x4", "shuffle")])
def test_a_broken_channel_mapping_is_caught(case, broken, crop, tmp_path, monkeypatch):
    """Without the permutation of the unshuffled input (x2) or of the shuffled output (SRVGG), the converted model
    computes something else: the comparison above would fail."""
    factory, _, _, wrapper, legacy = CASES[case]
    torch.manual_seed(len(case))
    module = factory().eval()
    monkeypatch.setattr(esrgan_convert, "shuffle_permutation", lambda channels, r: np.arange(channels))
    if broken == "shuffle":  # the Reader's conv(shuffle=) uses the _common one: break that too
        import sr_keras.convert._common as common

        monkeypatch.setattr(common, "shuffle_permutation", lambda channels, r: np.arange(channels))
    model, _ = convert_file(_save(module, tmp_path / f"{case}.pth", wrapper, legacy))
    assert _difference(model, _torch_sr(module, crop), crop) > 1e-2


@pytest.mark.parametrize("case", ["realesrgan_x2", "realesrgan_x1"])
def test_any_input_size_as_realesrganer_pads_and_crops(case, tmp_path):
    """x2 and x1 take any size: the model pads by reflection to a multiple of the unshuffle factor and crops the
    output, as Real-ESRGAN's `RealESRGANer.pre_process` / `post_process` do around the PyTorch network."""
    from skimage import data

    odd = data.astronaut()[150:171, 200:227].astype("float32")  # 21 x 27
    factory, scale, _, wrapper, legacy = CASES[case]
    torch.manual_seed(len(case))
    module = factory().eval()
    model, _ = convert_file(_save(module, tmp_path / f"{case}.pth", wrapper, legacy))
    factor = 4 // scale
    x = torch.tensor(odd.transpose(2, 0, 1)[None]) / 255.0
    pad_h, pad_w = (-x.shape[2]) % factor, (-x.shape[3]) % factor
    with torch.no_grad():
        out = module(F.pad(x, (0, pad_w, 0, pad_h), mode="reflect"))[:, :, :21 * scale, :27 * scale]
    expected = out[0].numpy().transpose(1, 2, 0) * 255.0
    assert _difference(model, expected, odd) < 1e-4


def _upscale_cli(args, cache):
    import os
    import sys

    env = dict(os.environ, SR_KERAS_CACHE=str(cache), CUDA_VISIBLE_DEVICES="")
    return launch.run([sys.executable, "-m", "sr_keras.upscale", *args], capture_output=True, text=True,
                      env=env, timeout=600)


def test_denoise_strength_mixes_the_two_general_models_as_realesrgan(crop, tmp_path):
    """`upscale --pretrained=realesr_general_x4v3 --weights=<file> --denoise_strength=0.3` offline: the output is
    the network whose every weight is 0.3 x realesr-general-x4v3's + 0.7 x realesr-general-wdn-x4v3's (Real-ESRGAN's
    `dni`), computed here in PyTorch; without the wdn file beside it, one line says which file to put where."""
    from PIL import Image

    torch.manual_seed(5)
    general, weak = _srvgg(2, 4).eval(), _srvgg(2, 4).eval()
    with torch.no_grad():
        for parameter in weak.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    folder = tmp_path / "weights"
    folder.mkdir()
    _save(general, folder / "realesr-general-x4v3.pth", "params")
    _save(weak, folder / "realesr-general-wdn-x4v3.pth", "params")
    Image.fromarray(crop.astype("uint8")).save(tmp_path / "photo.png")
    done = _upscale_cli(["--pretrained=realesr_general_x4v3", f"--weights={folder / 'realesr-general-x4v3.pth'}",
                         "--denoise_strength=0.3", str(tmp_path / "photo.png"), f"--output_dir={tmp_path / 'out'}"],
                        tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    got = np.asarray(Image.open(tmp_path / "out" / "photo_x4.png")).astype("float32")
    mixed = _srvgg(2, 4).eval()
    mixed.load_state_dict({k: 0.3 * v + 0.7 * weak.state_dict()[k] for k, v in general.state_dict().items()})
    expected = np.clip(np.round(_torch_sr(mixed, crop)), 0, 255)
    assert np.abs(got - expected).max() <= 1
    assert np.abs(got - np.clip(np.round(_torch_sr(general, crop)), 0, 255)).max() > 2  # the mix made a difference

    (folder / "realesr-general-wdn-x4v3.pth").unlink()
    done = _upscale_cli(["--pretrained=realesr_general_x4v3", f"--weights={folder / 'realesr-general-x4v3.pth'}",
                         str(tmp_path / "photo.png"), f"--output_dir={tmp_path / 'out2'}"], tmp_path / "cache")
    assert done.returncode == 2 and "realesr-general-wdn-x4v3.pth" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list((tmp_path / "out2").rglob("*.png"))


class VGGStyleDiscriminator(nn.Module):
    """basicsr/archs/discriminator_arch.py VGGStyleDiscriminator (128 px), [0, 1] input, logits out."""

    def __init__(self, feat):
        super().__init__()
        self.conv0_0 = nn.Conv2d(3, feat, 3, 1, 1)
        self.conv0_1, self.bn0_1 = nn.Conv2d(feat, feat, 4, 2, 1, bias=False), nn.BatchNorm2d(feat)
        channels = feat
        for stage, width in enumerate((2, 4, 8, 8), start=1):
            setattr(self, f"conv{stage}_0", nn.Conv2d(channels, feat * width, 3, 1, 1, bias=False))
            setattr(self, f"bn{stage}_0", nn.BatchNorm2d(feat * width))
            setattr(self, f"conv{stage}_1", nn.Conv2d(feat * width, feat * width, 4, 2, 1, bias=False))
            setattr(self, f"bn{stage}_1", nn.BatchNorm2d(feat * width))
            channels = feat * width
        self.linear1, self.linear2 = nn.Linear(channels * 16, 100), nn.Linear(100, 1)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=generator))
                    module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=generator))
                    module.weight.copy_(0.8 + 0.4 * torch.rand(module.num_features, generator=generator))

    def forward(self, x):
        feat = F.leaky_relu(self.conv0_0(x), 0.2)
        feat = F.leaky_relu(self.bn0_1(self.conv0_1(feat)), 0.2)
        for stage in range(1, 5):
            for part in (0, 1):
                conv, bn = getattr(self, f"conv{stage}_{part}"), getattr(self, f"bn{stage}_{part}")
                feat = F.leaky_relu(bn(conv(feat)), 0.2)
        return self.linear2(F.leaky_relu(self.linear1(feat.flatten(1)), 0.2))


def test_vgg_style_discriminator_converts_and_counts_as_basicsr(tmp_path):
    """ESRGAN's discriminator: 14,499,401 parameters at 128 px and 64 features (BasicSR 1.4.2); a random one in
    eval mode gives the same logits after conversion (batch norms with running statistics, linear1's inputs
    reordered from (c, h, w) to (h, w, c))."""
    import keras
    from skimage import data

    from sr_keras.convert import read_state_dict
    from sr_keras.convert.esrgan import convert_vgg_style_discriminator
    from sr_keras.models import build_model, count_params

    assert count_params(build_model("vgg_style_discriminator"), True) == 14_499_401
    torch.manual_seed(6)
    module = VGGStyleDiscriminator(8).eval()
    model, report = convert_vgg_style_discriminator(read_state_dict(_save(module, tmp_path / "net_d.pth",
                                                                          "params")))
    assert report["tensors"] == len(module.state_dict()) and report["arguments"]["input_size"] == 128
    crops = np.stack([data.astronaut()[i * 60:i * 60 + 128, 100:228] for i in range(2)]).astype("float32")
    with torch.no_grad():
        expected = module(torch.tensor(crops.transpose(0, 3, 1, 2)) / 255.0).numpy()
    logits = keras.Model(model.input, model.get_layer("logits").output)
    got = logits(crops, training=False).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
