"""`python -m sr_keras.convert`: EDSR-PyTorch checkpoints (EDSR at x2/x3/x4/x8, MDSR's multi-scale file) in
PyTorch's legacy and zip formats convert into sr_keras models whose output equals the PyTorch model's on a real
photo crop; code-running pickles, truncated files, foreign layouts and scale mismatches stop with one line and
leave no output.

The PyTorch reference modules below are written here to carry EDSR-PyTorch's module structure and therefore
its state-dict keys (`src/model/edsr.py`, `mdsr.py`, `common.py`): mean shifts `sub_mean` / `add_mean`, `head.0`,
`body.<i>.body.0/2`, `body.<n>`, `tail.0.<2j>` (+ pixel shuffles) and `tail.1`; MDSR's `pre_process.<k>`,
`upsample.<k>`, `tail.0`. Weights are PyTorch's random initialisation, tiny sizes.
"""
import os
import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from sr_keras.convert import ConversionError, convert_file  # noqa: E402
from sr_keras.layers import DIV2K_RGB_MEAN  # noqa: E402
from tests import launch
from tests.conftest import wall_clock_limit  # noqa: E402

FEATS, BLOCKS = 8, 2


def _mean_shift(sign):
    conv = nn.Conv2d(3, 3, 1)
    conv.weight.data = torch.eye(3).view(3, 3, 1, 1)
    conv.bias.data = sign * 255.0 * torch.tensor(DIV2K_RGB_MEAN)
    conv.requires_grad_(False)
    return conv


def _conv(cin, cout, k=3):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class _Block(nn.Module):
    def __init__(self, feats, k=3):
        super().__init__()
        self.body = nn.Sequential(_conv(feats, feats, k), nn.ReLU(True), _conv(feats, feats, k))

    def forward(self, x):
        return self.body(x) + x


def _upsampler(scale, feats):
    layers = []
    for r in ([2] * int(np.log2(scale)) if scale != 3 else [3]):
        layers += [_conv(feats, r * r * feats), nn.PixelShuffle(r)]
    return nn.Sequential(*layers)


class TorchEDSR(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.sub_mean, self.add_mean = _mean_shift(-1), _mean_shift(1)
        self.head = nn.Sequential(_conv(3, FEATS))
        self.body = nn.Sequential(*[_Block(FEATS) for _ in range(BLOCKS)], _conv(FEATS, FEATS))
        self.tail = nn.Sequential(_upsampler(scale, FEATS), _conv(FEATS, 3))

    def forward(self, x):
        x = self.head(self.sub_mean(x))
        return self.add_mean(self.tail(self.body(x) + x))


class TorchMDSR(nn.Module):
    def __init__(self, scales=(2, 3, 4)):
        super().__init__()
        self.scale_idx = 0
        self.sub_mean, self.add_mean = _mean_shift(-1), _mean_shift(1)
        self.head = nn.Sequential(_conv(3, FEATS))
        self.pre_process = nn.ModuleList([nn.Sequential(_Block(FEATS, 5), _Block(FEATS, 5)) for _ in scales])
        self.body = nn.Sequential(*[_Block(FEATS) for _ in range(BLOCKS)], _conv(FEATS, FEATS))
        self.upsample = nn.ModuleList([_upsampler(s, FEATS) for s in scales])
        self.tail = nn.Sequential(_conv(FEATS, 3))

    def forward(self, x):
        x = self.pre_process[self.scale_idx](self.head(self.sub_mean(x)))
        return self.add_mean(self.tail(self.upsample[self.scale_idx](self.body(x) + x)))


@pytest.fixture(scope="module")
def crop():
    from skimage import data

    return data.astronaut()[150:171, 200:226].astype("float32")  # 21 x 26, odd sizes


def _torch_output(module, crop):
    with torch.no_grad():
        out = module(torch.tensor(crop.transpose(2, 0, 1)[None]))
    return out[0].numpy().transpose(1, 2, 0)


def _save(module, path, legacy):
    torch.save(module.state_dict(), path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_edsr_converts_to_the_same_output(scale, legacy, crop, tmp_path):
    torch.manual_seed(scale)
    module = TorchEDSR(scale).eval()
    model, report = convert_file(_save(module, tmp_path / "edsr.pt", legacy))
    assert report["architecture"] == "edsr_baseline" and report["scales"] == [scale]
    assert report["tensors"] == len(module.state_dict())
    expected = _torch_output(module, crop)
    got = model(crop[None], training=False).numpy()[0]
    assert got.shape == expected.shape == (21 * scale, 26 * scale, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "zip"])
def test_mdsr_file_converts_every_scale(legacy, crop, tmp_path):
    torch.manual_seed(0)
    module = TorchMDSR().eval()
    path = _save(module, tmp_path / "mdsr.pt", legacy)
    for index, scale in enumerate((2, 3, 4)):
        model, report = convert_file(path, scale=scale)
        assert report["architecture"] == "mdsr_baseline" if BLOCKS == 16 else report["architecture"] == "mdsr"
        module.scale_idx = index
        expected = _torch_output(module, crop)
        got = model(crop[None], training=False).numpy()[0]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_module_prefix_and_params_wrapper_are_read(crop, tmp_path):
    module = TorchEDSR(2).eval()
    wrapped = {"params": {f"module.{k}": v for k, v in module.state_dict().items()}}
    torch.save(wrapped, tmp_path / "wrapped.pth")
    model, _ = convert_file(tmp_path / "wrapped.pth")
    np.testing.assert_allclose(model(crop[None]).numpy()[0], _torch_output(module, crop), rtol=1e-4, atol=1e-2)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _convert_cli(args, tmp_path):
    return launch.run([sys.executable, "-m", "sr_keras.convert", *args], capture_output=True, text=True,
                      timeout=wall_clock_limit(300), cwd=tmp_path, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))


def test_cli_converts_and_reports(tmp_path):
    path = _save(TorchEDSR(4).eval(), tmp_path / "edsr_x4.pt", legacy=False)
    result = _convert_cli([f"--input={path}", f"--output={tmp_path / 'edsr_x4.keras'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "detected edsr_pytorch: edsr_baseline x4" in result.stderr
    assert "converted" in result.stdout and "x4" in result.stdout
    import keras

    assert keras.saving.load_model(tmp_path / "edsr_x4.keras").name


@pytest.mark.parametrize("case", ["code", "truncated", "foreign", "scale"])
def test_bad_checkpoints_stop_with_one_line_and_no_output(case, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "bad.pt"
    args = []
    if case == "code":
        with open(path, "wb") as handle:
            pickle.dump({"head.0.weight": _Exploit(marker)}, handle)
        torch.save({"x": _Exploit(marker)}, tmp_path / "bad_zip.pt")
    elif case == "truncated":
        _save(TorchEDSR(2), path, legacy=False)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif case == "foreign":
        torch.save({"conv_first.weight": torch.zeros(8, 3, 3, 3), "conv_last.weight": torch.zeros(3, 8, 3, 3)}, path)
    else:
        _save(TorchEDSR(2), path, legacy=False)
        args.append("--scale=4")
    output = tmp_path / "out.keras"
    result = _convert_cli([f"--input={path}", f"--output={output}", *args], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert not output.exists() and not marker.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary left either
    if case == "code":
        assert "refused" in errors[0] or "cannot read" in errors[0]
        with pytest.raises(ConversionError):
            convert_file(tmp_path / "bad_zip.pt")
        assert not marker.exists()
    if case == "scale":
        assert "not x4" in errors[0]
