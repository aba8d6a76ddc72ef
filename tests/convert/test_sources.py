"""`sr_keras.convert` for the sources beyond EDSR-PyTorch: BasicSR's EDSR, wdsr_ntire2018's WDSR-A and WDSR-B,
ychfan/wdsr's WDSR-A (its conventions folded in) and krasserm's Keras 2 `.h5` weights (EDSR, WDSR-B, SRResNet).

The PyTorch reference modules are written here with each original's module structure, so their state dicts
carry the original key names, and with each original's forward pass (value ranges, means, scalings): BasicSR
`basicsr/archs/edsr_arch.py`, JiahuiYu/wdsr_ntire2018 `wdsr_a.py` / `wdsr_b.py`, ychfan/wdsr `models/wdsr.py`.
Weight-norm magnitudes and biases are randomised after construction, so a lost g, bias or folding constant
shows. krasserm's files are written here in Keras 2's HDF5 layout, and his three models' forward passes are
re-computed from the file's arrays with TensorFlow ops (`_krasserm_reference`), after `model/edsr.py`,
`model/wdsr.py` and `model/srgan.py`. Outputs must equal to 1e-4 relative, on a real photo crop, at x2, x3, x4.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from sr_keras.convert import ConversionError, convert_file  # noqa: E402
from sr_keras.layers import DIV2K_RGB_MEAN  # noqa: E402

FEATS, BLOCKS = 8, 2
MEAN = torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def crop():
    from skimage import data

    return data.astronaut()[150:171, 200:226].astype("float32")  # 21 x 26, odd sizes


def _run(module, crop_255, unit_range=False):
    x = torch.tensor(crop_255.transpose(2, 0, 1)[None])
    with torch.no_grad():
        out = module(x / 255.0 if unit_range else x)
    out = out[0].numpy().transpose(1, 2, 0)
    return out * 255.0 if unit_range else out


def _check(model, expected, crop_255, scale):
    got = model(crop_255[None], training=False).numpy()[0]
    assert got.shape == expected.shape == (21 * scale, 26 * scale, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def _conv(cin, cout, k=3):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


def _wn(conv, seed):
    """Weight-normalised conv (PyTorch >= 2.1 parametrisation) with random g and bias."""
    conv = nn.utils.parametrizations.weight_norm(conv)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        g = conv.parametrizations.weight.original0
        g.mul_(0.5 + torch.rand(g.shape, generator=generator))
        conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=generator))
    return conv


def _save(module, path, legacy=False, wrapper=None):
    state = module.state_dict()
    torch.save({wrapper: state} if wrapper else state, path, _use_new_zipfile_serialization=not legacy)
    return path


# ------------------------------------------------------------------------------------------------------ BasicSR


class _BasicBlock(nn.Module):  # basicsr.archs.arch_util.ResidualBlockNoBN
    def __init__(self, feats):
        super().__init__()
        self.conv1, self.conv2, self.relu = _conv(feats, feats), _conv(feats, feats), nn.ReLU(True)

    def forward(self, x):
        return x + self.conv2(self.relu(self.conv1(x)))


class BasicSREDSR(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.conv_first = _conv(3, FEATS)
        self.body = nn.Sequential(*[_BasicBlock(FEATS) for _ in range(BLOCKS)])
        self.conv_after_body = _conv(FEATS, FEATS)
        steps = [3] if scale == 3 else [2] * int(np.log2(scale))
        self.upsample = nn.Sequential(*[m for r in steps for m in (_conv(FEATS, r * r * FEATS), nn.PixelShuffle(r))])
        self.conv_last = _conv(FEATS, 3)

    def forward(self, x):  # x in [0, 1], img_range 255
        x = (x - MEAN) * 255.0
        x = self.conv_first(x)
        x = self.conv_after_body(self.body(x)) + x
        return self.conv_last(self.upsample(x)) / 255.0 + MEAN


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_basicsr_edsr(scale, crop, tmp_path):
    torch.manual_seed(10 + scale)
    module = BasicSREDSR(scale).eval()
    model, report = convert_file(_save(module, tmp_path / "EDSR.pth", wrapper="params"))
    assert (report["source"], report["architecture"], report["scales"]) == ("basicsr", "edsr_baseline", [scale])
    assert report["tensors"] == len(module.state_dict())
    _check(model, _run(module, crop, unit_range=True), crop, scale)


# ------------------------------------------------------------------------------------------------ wdsr_ntire2018


class _NtireBlock(nn.Module):
    def __init__(self, feats, kind, seed, res_scale):
        super().__init__()
        self.res_scale = res_scale
        if kind == "a":
            layers = [_wn(_conv(feats, feats * 4), seed), nn.ReLU(True), _wn(_conv(feats * 4, feats), seed + 1)]
        else:
            layers = [_wn(_conv(feats, feats * 6, 1), seed), nn.ReLU(True),
                      _wn(_conv(feats * 6, int(feats * 0.8), 1), seed + 1),
                      _wn(_conv(int(feats * 0.8), feats), seed + 2)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x) * self.res_scale + x


class NtireWDSR(nn.Module):
    def __init__(self, scale, kind, res_scale=1.0):
        super().__init__()
        out = 3 * scale * scale
        self.head = nn.Sequential(_wn(_conv(3, FEATS), 1))
        self.body = nn.Sequential(*[_NtireBlock(FEATS, kind, 10 * (i + 1), res_scale) for i in range(BLOCKS)])
        self.tail = nn.Sequential(_wn(_conv(FEATS, out), 2), nn.PixelShuffle(scale))
        self.skip = nn.Sequential(_wn(_conv(3, out, 5), 3), nn.PixelShuffle(scale))

    def forward(self, x):  # x in [0, 255]
        x = (x - MEAN * 255) / 127.5
        s = self.skip(x)
        x = self.tail(self.body(self.head(x))) + s
        return x * 127.5 + MEAN * 255


@pytest.mark.parametrize("kind", ["a", "b"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_wdsr_ntire2018(kind, scale, crop, tmp_path):
    torch.manual_seed(scale)
    module = NtireWDSR(scale, kind).eval()
    model, report = convert_file(_save(module, tmp_path / "wdsr.pt", legacy=scale == 3))
    assert (report["source"], report["architecture"], report["scales"]) == ("wdsr", f"wdsr_{kind}", [scale])
    assert report["tensors"] == len(module.state_dict())
    _check(model, _run(module, crop), crop, scale)


def test_wdsr_ntire2018_res_scale_is_taken_from_the_caller(crop, tmp_path):
    module = NtireWDSR(2, "b", res_scale=0.5).eval()
    path = _save(module, tmp_path / "wdsr.pt")
    model, report = convert_file(path, res_scale=0.5)
    assert report["arguments"]["res_scale"] == 0.5
    _check(model, _run(module, crop), crop, 2)
    wrong, _ = convert_file(path)  # the file cannot say: the default (1) gives another function
    assert np.abs(wrong(crop[None]).numpy()[0] - _run(module, crop)).max() > 1e-2


# --------------------------------------------------------------------------------------------------- ychfan/wdsr


class _YchfanBlock(nn.Module):
    def __init__(self, feats, seed):
        super().__init__()
        self.body = nn.Sequential(_wn(_conv(feats, feats * 4), seed), nn.ReLU(True),
                                  _wn(_conv(feats * 4, feats), seed + 1))

    def forward(self, x):
        return self.body(x) + x


class YchfanWDSR(nn.Module):
    def __init__(self, scale):
        super().__init__()
        out = 3 * scale * scale
        self.image_mean = 0.5
        self.body = nn.Sequential(_wn(_conv(3, FEATS), 1), *[_YchfanBlock(FEATS, 10 * (i + 1)) for i in range(BLOCKS)],
                                  _wn(_conv(FEATS, out), 2))
        self.skip = nn.Sequential(_wn(_conv(3, out, 5), 3))
        self.shuf = nn.Sequential(nn.PixelShuffle(scale))

    def forward(self, x):  # x in [0, 1]
        x = x - self.image_mean
        x = self.shuf(self.body(x) + self.skip(x))
        return x + self.image_mean


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_wdsr_ychfan_folds_into_wdsr_a(scale, crop, tmp_path):
    torch.manual_seed(20 + scale)
    module = YchfanWDSR(scale).eval()
    # As ychfan's trainer saves it: the model beside optimiser and scheduler states (a Counter among them).
    import collections

    checkpoint = {"model_state_dict": module.state_dict(), "epoch": 30,
                  "lr_scheduler_state_dict": {"milestones": collections.Counter({20: 1, 25: 1})}}
    torch.save(checkpoint, tmp_path / "epoch_30.pth")
    model, report = convert_file(tmp_path / "epoch_30.pth")
    assert (report["source"], report["architecture"], report["scales"]) == ("wdsr_ychfan", "wdsr_a", [scale])
    assert tuple(report["arguments"]["rgb_mean"]) == (0.5, 0.5, 0.5)
    _check(model, _run(module, crop, unit_range=True), crop, scale)


def test_source_named_explicitly_must_match(tmp_path):
    path = _save(YchfanWDSR(2), tmp_path / "y.pth")
    with pytest.raises(ConversionError, match="not a wdsr_ntire2018 checkpoint"):
        convert_file(path, source="wdsr")
    with pytest.raises(ConversionError, match="not a BasicSR"):
        convert_file(path, source="basicsr")


# ------------------------------------------------------------------------------------------------------ krasserm


def _rand(rng, *shape, scale=0.1):
    return (scale * rng.standard_normal(shape)).astype("float32")


def _krasserm_layers(architecture, scale, rng):
    """[(layer name, {weight name: array})] as krasserm's models hold them (Keras 2 names, tfa weight norm)."""
    layers, counter = [], iter(range(1000))

    def conv(cin, cout, k=3):
        i = next(counter)
        return (f"conv2d_{i}", {f"conv2d_{i}/kernel:0": _rand(rng, k, k, cin, cout),
                                f"conv2d_{i}/bias:0": _rand(rng, cout)})

    def wn(cin, cout, k=3):
        i = next(counter)
        v = _rand(rng, k, k, cin, cout)
        return (f"weight_normalization_{i}", {
            f"weight_normalization_{i}/g:0": (0.5 + rng.random(cout)).astype("float32"),
            f"weight_normalization_{i}/conv2d_{i}/kernel:0": v,
            f"weight_normalization_{i}/conv2d_{i}/bias:0": _rand(rng, cout),
            f"weight_normalization_{i}/initialized:0": np.array(True)})

    def bn(c):
        i = next(counter)
        return (f"batch_normalization_{i}", {
            f"batch_normalization_{i}/gamma:0": (1 + _rand(rng, c)), f"batch_normalization_{i}/beta:0": _rand(rng, c),
            f"batch_normalization_{i}/moving_mean:0": _rand(rng, c),
            f"batch_normalization_{i}/moving_variance:0": (0.5 + rng.random(c)).astype("float32")})

    def prelu(c):
        i = next(counter)
        return (f"p_re_lu_{i}", {f"p_re_lu_{i}/alpha:0": (0.25 + _rand(rng, 1, 1, c)).astype("float32")})

    steps = [3] if scale == 3 else [2] * int(np.log2(scale))
    if architecture == "edsr":
        layers.append(conv(3, FEATS))
        for _ in range(BLOCKS):
            layers += [conv(FEATS, FEATS), conv(FEATS, FEATS)]
        layers.append(conv(FEATS, FEATS))
        layers += [conv(FEATS, FEATS * r * r) for r in steps]
        layers.append(conv(FEATS, 3))
    elif architecture == "wdsr_b":
        layers.append(wn(3, FEATS))
        for _ in range(BLOCKS):
            layers += [wn(FEATS, FEATS * 6, 1), wn(FEATS * 6, int(FEATS * 0.8), 1), wn(int(FEATS * 0.8), FEATS)]
        # Keras 2 orders layers by depth: the skip conv (near the output) lands before the main tail here.
        layers.append(wn(3, 3 * scale * scale, 5))
        layers.append(wn(FEATS, 3 * scale * scale))
    else:  # srresnet
        layers += [conv(3, FEATS, 9), prelu(FEATS)]
        for _ in range(BLOCKS):
            layers += [conv(FEATS, FEATS), bn(FEATS), prelu(FEATS), conv(FEATS, FEATS), bn(FEATS)]
        layers += [conv(FEATS, FEATS), bn(FEATS)]
        for r in steps:
            layers += [conv(FEATS, FEATS * r * r), prelu(FEATS)]
        layers.append(conv(FEATS, 3, 9))
    return layers


def _write_keras2_h5(path, layers):
    import h5py

    with h5py.File(path, "w") as handle:
        names = ["input_1", "lambda"] + [name for name, _ in layers] + ["lambda_1"]
        handle.attrs["layer_names"] = np.array([n.encode() for n in names])
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["keras_version"] = b"2.3.0-tf"
        for name in names:
            group = handle.create_group(name)
            weights = dict(layers).get(name, {})
            group.attrs["weight_names"] = np.array([w.encode() for w in weights], dtype="S")
            for weight_name, value in weights.items():
                group.create_dataset(weight_name, data=value)
    return path


def _krasserm_reference(architecture, scale, layers, lr):
    """krasserm's forward pass, computed with TensorFlow ops from the file's arrays."""
    import tensorflow as tf

    params = [{k.split("/")[-1].split(":")[0]: v for k, v in w.items()} for _, w in layers]
    mean = 255.0 * np.asarray(DIV2K_RGB_MEAN, "float32")

    def conv(x, p, activation=None):
        kernel = p["kernel"]
        if "g" in p:  # tfa WeightNormalization: g * v / ||v|| over all but the output axis
            kernel = p["g"] * kernel / np.sqrt((kernel ** 2).sum(axis=(0, 1, 2)))
        y = tf.nn.conv2d(x, kernel, 1, "SAME") + p["bias"]
        return activation(y) if activation else y

    def bn(x, p):
        return (x - p["moving_mean"]) / np.sqrt(p["moving_variance"] + 1e-3) * p["gamma"] + p["beta"]

    def prelu(x, p):
        return tf.maximum(x, 0.0) + p["alpha"] * tf.minimum(x, 0.0)

    steps = [3] if scale == 3 else [2] * int(np.log2(scale))
    x = tf.constant(lr[None])
    it = iter(params)
    if architecture == "edsr":
        x = b = conv((x - mean) / 127.5, next(it))
        for _ in range(BLOCKS):
            b = b + conv(conv(b, next(it), tf.nn.relu), next(it))
        x = x + conv(b, next(it))
        for r in steps:
            x = tf.nn.depth_to_space(conv(x, next(it)), r)
        return (conv(x, next(it)) * 127.5 + mean).numpy()[0]
    if architecture == "wdsr_b":
        x = (x - mean) / 127.5
        m = conv(x, next(it))
        for _ in range(BLOCKS):
            m = m + conv(conv(conv(m, next(it), tf.nn.relu), next(it)), next(it))
        skip, tail = next(it), next(it)
        out = tf.nn.depth_to_space(conv(m, tail), scale) + tf.nn.depth_to_space(conv(x, skip), scale)
        return (out * 127.5 + mean).numpy()[0]
    x = x_1 = prelu(conv(x / 255.0, next(it)), next(it))
    for _ in range(BLOCKS):
        y = prelu(bn(conv(x, next(it)), next(it)), next(it))
        x = x + bn(conv(y, next(it)), next(it))
    x = x_1 + bn(conv(x, next(it)), next(it))
    for r in steps:
        x = tf.nn.depth_to_space(conv(x, next(it)), r)
        x = prelu(x, next(it))
    return ((conv(x, next(it), tf.tanh) + 1) * 127.5).numpy()[0]


@pytest.mark.parametrize("architecture", ["edsr", "wdsr_b", "srresnet"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_krasserm_h5(architecture, scale, crop, tmp_path):
    pytest.importorskip("h5py")
    layers = _krasserm_layers(architecture, scale, np.random.default_rng(scale))
    path = _write_keras2_h5(tmp_path / "weights.h5", layers)
    model, report = convert_file(path)
    expected_name = {"edsr": "edsr_baseline"}.get(architecture, architecture)
    assert (report["source"], report["architecture"], report["scales"]) == ("krasserm", expected_name, [scale])
    assert report["arguments"]["num_filters"] == FEATS and report["arguments"]["num_res_blocks"] == BLOCKS
    assert report["tensors"] == sum(len(w) - any(k.endswith("initialized:0") for k in w) for _, w in layers)
    _check(model, _krasserm_reference(architecture, scale, layers, crop), crop, scale)


def test_krasserm_h5_with_a_missing_layer_is_refused(tmp_path):
    pytest.importorskip("h5py")
    layers = _krasserm_layers("edsr", 2, np.random.default_rng(0))
    del layers[3]
    with pytest.raises(ConversionError, match="layers with weights|shapes"):
        convert_file(_write_keras2_h5(tmp_path / "weights.h5", layers))


# ------------------------------------------------------------------------------ EDSR at the paper's full size


class _ScaledBlock(nn.Module):  # EDSR-PyTorch common.ResBlock with res_scale
    def __init__(self, feats, res_scale):
        super().__init__()
        self.res_scale = res_scale
        self.body = nn.Sequential(_conv(feats, feats), nn.ReLU(True), _conv(feats, feats))

    def forward(self, x):
        return self.body(x) * self.res_scale + x


def test_full_size_edsr_is_detected_with_its_residual_scaling(crop, tmp_path):
    """EDSR-PyTorch's `edsr_x2` layout at the published size (32 blocks, 256 filters, res_scale 0.1): the
    scaling is not in the file; sr_keras infers it from the size, as EDSR-PyTorch's own presets do."""
    from tests.convert.test_edsr import _mean_shift

    torch.manual_seed(0)

    class FullEDSR(nn.Module):
        def __init__(self):
            super().__init__()
            self.sub_mean, self.add_mean = _mean_shift(-1), _mean_shift(1)
            self.head = nn.Sequential(_conv(3, 256))
            self.body = nn.Sequential(*[_ScaledBlock(256, 0.1) for _ in range(32)], _conv(256, 256))
            self.tail = nn.Sequential(nn.Sequential(_conv(256, 1024), nn.PixelShuffle(2)), _conv(256, 3))

        def forward(self, x):
            x = self.head(self.sub_mean(x))
            return self.add_mean(self.tail(self.body(x) + x))

    module = FullEDSR().eval()
    model, report = convert_file(_save(module, tmp_path / "edsr_x2.pt"))
    assert report["architecture"] == "edsr" and report["arguments"]["res_scale"] == 0.1
    assert model.count_params() == sum(p.numel() for p in module.parameters() if p.requires_grad) == 40_729_603
    small = crop[:12, :14]
    expected = _run(module, small)
    got = model(small[None], training=False).numpy()[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
