"""Real-ESRGAN's U-Net discriminator (`sr_keras.models.unet_discriminator_sn`) and its converter
(`sr_keras.convert.realesrgan`) against BasicSR 1.4.2's `UNetDiscriminatorSN`.

The PyTorch reference module is written here with the original's structure (`basicsr/archs/discriminator_arch.py`):
the same module names, so its state dict has the original's keys (`conv0`, `conv1` .. `conv8` under
`torch.nn.utils.spectral_norm` with `weight_orig` / `weight_u` / `weight_v`, `conv9`), and the same forward pass
(LeakyReLU 0.2, `F.interpolate(scale_factor=2, mode="bilinear", align_corners=False)`, skip sums after the
activations, logits without a sigmoid). It receives [0, 1], the Keras model [0, 255]. Before conversion a few
training-mode calls move u and v away from their random start, as in a trained checkpoint, and the plain convs'
biases are randomised, so a lost bias, u or v shows. Outputs must equal to 1e-4 relative on a real photo crop.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from sr_keras.convert import convert_unet_discriminator_sn, read_state_dict  # noqa: E402
from sr_keras.convert._common import ConversionError  # noqa: E402
from sr_keras.models import build_model, count_params  # noqa: E402
from tests.harness import run_model_test  # noqa: E402

FEATS = 8
SIZE = 64


class _UNetDiscriminatorSN(nn.Module):
    """BasicSR's `UNetDiscriminatorSN(num_in_ch, num_feat, skip_connection)`, module by module."""

    def __init__(self, num_in_ch, num_feat=64, skip_connection=True):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.conv1 = sn(nn.Conv2d(num_feat, num_feat * 2, 4, 2, 1, bias=False))
        self.conv2 = sn(nn.Conv2d(num_feat * 2, num_feat * 4, 4, 2, 1, bias=False))
        self.conv3 = sn(nn.Conv2d(num_feat * 4, num_feat * 8, 4, 2, 1, bias=False))
        self.conv4 = sn(nn.Conv2d(num_feat * 8, num_feat * 4, 3, 1, 1, bias=False))
        self.conv5 = sn(nn.Conv2d(num_feat * 4, num_feat * 2, 3, 1, 1, bias=False))
        self.conv6 = sn(nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1, bias=False))
        self.conv7 = sn(nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False))
        self.conv8 = sn(nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(num_feat, 1, 3, 1, 1)

    def forward(self, x):
        def act(y):
            return F.leaky_relu(y, negative_slope=0.2)

        def up(y):
            return F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)

        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        x4 = act(self.conv4(up(x3)))
        if self.skip_connection:
            x4 = x4 + x2
        x5 = act(self.conv5(up(x4)))
        if self.skip_connection:
            x5 = x5 + x1
        x6 = act(self.conv6(up(x5)))
        if self.skip_connection:
            x6 = x6 + x0
        out = act(self.conv7(x6))
        out = act(self.conv8(out))
        return self.conv9(out)


@pytest.fixture(scope="module")
def crop():
    """A 64 x 64 crop of a real photo (the astronaut's face and helmet), float32 [0, 255], [1, H, W, 3]."""
    from skimage import data

    return data.astronaut()[100:100 + SIZE, 180:180 + SIZE].astype("float32")[None]


def _reference(skip_connection=True, seed=0):
    """A reference module as after some training: random biases, u and v moved by three training calls."""
    torch.manual_seed(seed)
    module = _UNetDiscriminatorSN(3, FEATS, skip_connection)
    with torch.no_grad():
        for conv in (module.conv0, module.conv9):
            conv.bias.copy_(0.1 * torch.randn(conv.bias.shape))
        module.train()
        for _ in range(3):
            module(torch.rand(2, 3, 32, 32))
    return module.eval()


def _torch_logits(module, crop_255):
    with torch.no_grad():
        out = module(torch.tensor(crop_255.transpose(0, 3, 1, 2)) / 255.0)
    return out.numpy().transpose(0, 2, 3, 1)


def _tensors(module):
    return {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}


def _assert_close(got, expected):
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def _keras_v(torch_v, layer):
    """PyTorch's v, columns (in, kh, kw), in the Keras kernel's row order (kh, kw, in)."""
    kh, kw, cin, _ = layer.layer.kernel.shape
    return torch_v.reshape(cin, kh, kw).transpose(1, 2, 0).ravel()


def test_parameter_count_equals_basicsr():
    """UNetDiscriminatorSN(3, 64): 4,376,897 parameters (conv weights, the two biases); u and v are buffers in
    PyTorch and non-trainable weights here, equally many."""
    model = build_model("unet_discriminator_sn")
    module = _UNetDiscriminatorSN(3, 64)
    torch_parameters = sum(p.numel() for p in module.parameters())
    torch_buffers = sum(b.numel() for b in module.buffers())
    assert torch_parameters == 4_376_897
    assert count_params(model, trainable=True) == torch_parameters
    assert count_params(model, trainable=False) == torch_buffers == 17_856
    assert model.output_shape == (None, None, None, 1)


@pytest.mark.parametrize("skip_connection", [True, False])
def test_converted_checkpoint_gives_the_originals_logits(skip_connection, crop, tmp_path):
    """A BasicSR-style file ({"params": state dict}) read, converted and run on [0, 255] gives PyTorch's eval-mode
    logits on the same image in [0, 1]."""
    module = _reference(skip_connection)
    path = tmp_path / "net_d.pth"
    torch.save({"params": module.state_dict()}, path)
    model, report = convert_unet_discriminator_sn(read_state_dict(path), skip_connection=skip_connection)
    assert report["arguments"] == {"num_feat": FEATS, "skip_connection": skip_connection, "num_in_ch": 3}
    assert report["tensors"] == 4 + 3 * 8
    _assert_close(model(crop, training=False).numpy(), _torch_logits(module, crop))


def test_a_wrong_mapping_is_detected(crop):
    """The comparison has teeth: swapped layers, v left in PyTorch's order or the skip connections dropped each
    move the logits far beyond the tolerance."""
    module = _reference()
    expected = _torch_logits(module, crop)
    tolerance = 1e-4 * np.abs(expected).max()

    swapped = _tensors(module)
    for name in ("weight_orig", "weight_u", "weight_v"):
        swapped[f"conv7.{name}"], swapped[f"conv8.{name}"] = swapped[f"conv8.{name}"], swapped[f"conv7.{name}"]
    model, _ = convert_unet_discriminator_sn(swapped)
    assert np.abs(model(crop, training=False).numpy() - expected).max() > 100 * tolerance

    model, _ = convert_unet_discriminator_sn(_tensors(module))
    _assert_close(model(crop, training=False).numpy(), expected)
    for i in range(1, 9):
        layer = model.get_layer(f"conv{i}_sn")
        layer.v.assign(module.get_submodule(f"conv{i}").weight_v.numpy())  # without the reordering
    assert np.abs(model(crop, training=False).numpy() - expected).max() > 100 * tolerance

    no_skip, _ = convert_unet_discriminator_sn(_tensors(module), skip_connection=False)
    assert np.abs(no_skip(crop, training=False).numpy() - expected).max() > 100 * tolerance


def test_conversion_names_the_offending_tensor():
    tensors = _tensors(_reference())
    del tensors["conv4.weight_u"]
    with pytest.raises(ConversionError, match="missing tensor conv4.weight_u"):
        convert_unet_discriminator_sn(tensors)
    tensors = _tensors(_reference())
    tensors["conv2.bias"] = np.zeros(2 * FEATS, "float32")
    with pytest.raises(ConversionError, match="unexpected tensor conv2.bias"):
        convert_unet_discriminator_sn(tensors)
    with pytest.raises(ConversionError, match="not a BasicSR UNetDiscriminatorSN"):
        convert_unet_discriminator_sn({"conv_first.weight": np.zeros((8, 3, 3, 3), "float32")})


def test_training_call_updates_u_and_v_as_torch(crop):
    """One training-mode call: one power iteration per normalised conv from the stored u, then W / sigma; the new
    u and v and the logits equal PyTorch's in train mode."""
    module = _reference()
    model, _ = convert_unet_discriminator_sn(_tensors(module))
    before = model.get_layer("conv1_sn").u.numpy().copy()
    module.train()
    with torch.no_grad():
        expected = module(torch.tensor(crop.transpose(0, 3, 1, 2)) / 255.0).numpy().transpose(0, 2, 3, 1)
    got = model(crop, training=True).numpy()
    _assert_close(got, expected)
    for i in range(1, 9):
        layer, conv = model.get_layer(f"conv{i}_sn"), module.get_submodule(f"conv{i}")
        np.testing.assert_allclose(layer.u.numpy(), conv.weight_u.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(layer.v.numpy(), _keras_v(conv.weight_v.numpy(), layer), rtol=1e-5, atol=1e-5)
    assert not np.allclose(model.get_layer("conv1_sn").u.numpy(), before, atol=1e-6)  # the iteration ran


def test_keras_file_round_trip_in_safe_mode(crop, tmp_path):
    """The converted model's file (u and v of every spectral norm included) and config."""
    model, _ = convert_unet_discriminator_sn(_tensors(_reference()))
    loaded = run_model_test(model, crop, tmp_path, rtol=0, atol=0)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_bilinear_upsampling_is_torchs_align_corners_false():
    """`UpSampling2D(interpolation="bilinear")` samples where `F.interpolate(scale_factor=2, mode="bilinear",
    align_corners=False)` does, with the same edge clamping: on small integers (exact in float32 with the 1/4, 3/4
    weights) the two agree bit for bit, on random floats to rounding."""
    rng = np.random.default_rng(0)
    upsample = keras.layers.UpSampling2D(2, interpolation="bilinear")
    for x in (rng.integers(-64, 64, size=(2, 5, 7, 3)).astype("float32"),
              rng.normal(size=(1, 8, 6, 4)).astype("float32")):
        expected = F.interpolate(torch.tensor(x.transpose(0, 3, 1, 2)), scale_factor=2, mode="bilinear",
                                 align_corners=False).numpy().transpose(0, 2, 3, 1)
        got = upsample(x).numpy()
        if np.all(x == np.round(x)):
            np.testing.assert_array_equal(got, expected)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_any_multiple_of_8_and_only_those():
    model = build_model("unet_discriminator_sn", num_feat=FEATS)
    for height, width in ((8, 8), (24, 40)):
        out = model(np.full((2, height, width, 3), 128.0, "float32"), training=False)
        assert out.shape == (2, height, width, 1) and np.isfinite(out.numpy()).all()
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError)):
        model(np.zeros((1, 20, 20, 3), "float32"), training=False)  # the skip sums cannot match
    grey = build_model("unet_discriminator_sn", num_feat=FEATS, num_in_ch=1)
    assert grey(np.zeros((1, 16, 16, 1), "float32")).shape == (1, 16, 16, 1)
    with pytest.raises(ValueError, match="takes no scale; it takes images of any size"):
        build_model("unet_discriminator_sn", scale=4)
    with pytest.raises(ValueError, match="num_feat must be a positive integer"):
        build_model("unet_discriminator_sn", num_feat=0)
