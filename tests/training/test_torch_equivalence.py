"""Training equals the originals step by step: from the same weights, on the same batches, `build_trainer(config)
.step` follows the PyTorch training loop of the code each recipe re-implements, for 20 steps.

The PyTorch side is written here after the originals' training code, with `torch.optim.Adam` (0.9, 0.999,
1e-8) and the original's loss and value range:
- EDSR baseline: EDSR-PyTorch (`src/trainer.py`, `src/loss`, `src/utility.make_optimizer`): L1 on [0, 255]
  (`rgb_range` 255) through the mean shifts, `MultiStepLR` (gamma 0.5) crossed at update 10. The module is
  `tests.test_convert.TorchEDSR` (EDSR-PyTorch's structure) and reaches Keras through `sr_keras.convert`.
- WDSR-B: JiahuiYu/wdsr_ntire2018 `wdsr_b.py` (trained with EDSR-PyTorch's trainer): every convolution under
  `weight_norm`, so the gradient reaches g and v as PyTorch's reparametrisation sends it; L1 on [0, 255],
  lr 1e-3. The module is `tests.convert.test_sources.NtireWDSR`, converted with `sr_keras.convert`.
- SRResNet and SRGAN (G and D): BasicSR's `SRModel` (MSE on [0, 1]) and `SRGANModel.optimize_parameters`
  (generator update against the current discriminator, whose batch norm runs in training mode; then the
  discriminator on HR and on the SR computed before the generator's update, detached; BCE with logits). The
  networks are sr_keras's (Ledig et al.'s, whose originals are TensorFlow: BN epsilon 1e-3, TensorFlow "SAME"
  padding) written here in PyTorch with `nn.BatchNorm2d(momentum=0.1)`; weights go over layer by layer.

Compared: every step's losses (1e-4 relative), the final weights and Adam's moments (1e-4 relative to each
tensor's largest value), and the outputs (within 1e-3 of the change training made). Two kinds of tensor get a
stated bound instead (`_BN_FED`): a convolution bias feeding batch normalisation has a true gradient of 0,
so what reaches it is float rounding noise, which Adam turns into steps of up to the learning rate in either
framework; and the moving means of those batch norms, which add those biases up. They cancel in the training
outputs and are held to 20 steps x the learning rate. Keras's moving variance averages the biased batch
variance, as both TensorFlow originals do, where `nn.BatchNorm2d` averages the unbiased one: the test checks
that the two differ by exactly that factor, n / (n - 1).

The `*_shows_*` tests run the same comparison with the Keras convention (Adam's epsilon before the bias
correction, BasicSR's order reversed) and check that the trajectories then part beyond the tolerance.
"""
import copy

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from sr_keras.convert import convert_file  # noqa: E402
from sr_keras.convert._common import shuffle_permutation  # noqa: E402
from sr_keras.models.srgan import BN_EPSILON, DISCRIMINATOR_BLOCKS  # noqa: E402
from sr_keras.training import build_trainer, make_config  # noqa: E402
from tests.convert.test_edsr import TorchEDSR  # noqa: E402
from tests.convert.test_sources import NtireWDSR  # noqa: E402

STEPS, BATCH, LR_SIZE, SCALE = 20, 2, 8, 2
DECAY_AT = 10  # the learning rate halves after 10 updates: inside the 20
TOLERANCE = 1e-4  # losses, weights and moments, relative
OUTPUT_TOLERANCE = 1e-3  # outputs, relative to the change training made


@pytest.fixture(scope="module")
def batches():
    """20 batches of real photo crops: HR 16x16, LR its 2x2 box average rounded to the uint8 grid."""
    from skimage import data

    photo = data.astronaut().astype("float32")
    rng = np.random.default_rng(0)
    size = LR_SIZE * SCALE
    out = []
    for _ in range(STEPS):
        corners = rng.integers(0, photo.shape[0] - size, (BATCH, 2))
        hr = np.stack([photo[y:y + size, x:x + size] for y, x in corners])
        lr = np.round(hr.reshape(BATCH, LR_SIZE, SCALE, LR_SIZE, SCALE, 3).mean(axis=(2, 4)))
        out.append((lr.astype("float32"), hr))
    return out


@pytest.fixture(scope="module")
def probe():
    """A held-out LR crop the outputs are compared on."""
    from skimage import data

    return data.astronaut()[300:324, 100:124].astype("float32")[None]


def _nchw(array):
    return torch.tensor(np.ascontiguousarray(np.asarray(array).transpose(0, 3, 1, 2)))


def _nhwc(tensor):
    return tensor.detach().numpy().transpose(0, 2, 3, 1)


def _relative(got, expected):
    return float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-30))


def _adam(parameters, learning_rate):
    return torch.optim.Adam(parameters, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)


# ------------------------------------------------------------------------------- pixel-loss models (converted)


def _torch_pixel_run(module, batches, learning_rate, loss, decay_at=None, beta_2=0.999, ema_decay=0.0):
    """EDSR-PyTorch's / BasicSR's loop: zero_grad, forward, loss, backward, Adam step, scheduler step; with
    `ema_decay`, BasicSR's `model_ema` after every step (ema = decay * ema + (1 - decay) * parameter, from a
    copy of the initial parameters). Returns (losses, optimizer, {parameter name: its average})."""
    module.train()
    parameters = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=learning_rate, betas=(0.9, beta_2), eps=1e-8)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [decay_at], 0.5) if decay_at else None
    ema = {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}
    losses = []
    for lr, hr in batches:
        optimizer.zero_grad()
        value = loss(module(_nchw(lr)), _nchw(hr))
        value.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name in ema:
                    ema[name].mul_(ema_decay).add_(p.detach(), alpha=1 - ema_decay)
        losses.append(value.item())
    return losses, optimizer, ema


def _converted(tensors, path, **kwargs):
    """{keras variable path: array} of a state dict (weights, or moments under the weights' names)."""
    torch.save(tensors, path)
    model, _ = convert_file(path, **kwargs)
    return {w.path: w.numpy() for w in model.weights}


def _moments(module, optimizer, key):
    """The state dict of `module` with each trained parameter replaced by its Adam moment `key`."""
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    for name, parameter in module.named_parameters():
        if parameter.requires_grad:
            state[name] = optimizer.state[parameter][key].clone()
    return state


def _compare_pixel(model_name, module, batches, probe, tmp_path, learning_rate, loss, **changes):
    """Trains `module` in PyTorch and its conversion in sr_keras; returns the figures of the comparison."""
    initial = _converted(module.state_dict(), tmp_path / "initial.pt")
    model, _ = convert_file(tmp_path / "initial.pt")
    model.save(tmp_path / "initial.keras")
    before = model(probe, training=False).numpy()
    config = make_config(model_name, str(tmp_path / "run"), scale=SCALE, num_filters=8, num_res_blocks=2,
                         crop_size=LR_SIZE, batch_size=BATCH, learning_rate=learning_rate, decay_steps=(DECAY_AT,),
                         init_from=str(tmp_path / "initial.keras"), **changes)
    trainer = build_trainer(config)
    assert len(trainer.init_report["loaded"]) == sum(1 for layer in model.layers if layer.weights)
    keras_losses = [trainer.step(lr, hr)["loss"] for lr, hr in batches]
    torch_losses, optimizer, ema = _torch_pixel_run(module, batches, learning_rate, loss, decay_at=DECAY_AT,
                                                    beta_2=config.optim.beta_2, ema_decay=config.optim.ema_decay)
    generator = trainer.generators[SCALE]
    final = _converted(module.state_dict(), tmp_path / "final.pt")
    state = trainer.optimizer_state()["g_optimizer"]
    assert state["iterations"] == STEPS and state["learning_rate"] == pytest.approx(learning_rate / 2)
    moments = {key: _converted(_moments(module, optimizer, name), tmp_path / f"{key}.pt")
               for key, name in (("m", "exp_avg"), ("v", "exp_avg_sq"))}
    with torch.no_grad():
        expected = _nhwc(module.eval()(_nchw(probe)))
    got = generator(probe, training=False).numpy()
    variables = {v.path: v.numpy() for v in generator.trainable_variables}
    assert set(variables) <= set(final) and len(variables) > 10
    moved = max(_relative(variables[p], initial[p]) for p in variables)
    extra = {}
    if config.optim.ema_decay:
        averaged = {v.path: v.numpy() for v in trainer.generator_for_export(SCALE).trainable_variables}
        expected_ema = _converted(dict(module.state_dict(), **ema), tmp_path / "ema.pt")
        extra["ema"] = max(_relative(averaged[p], expected_ema[p]) for p in variables)
        extra["ema_moved"] = max(_relative(averaged[p], initial[p]) for p in variables)
    return {**extra,
        "loss": max(abs(a - b) / abs(b) for a, b in zip(keras_losses, torch_losses)),
        "weights": max(_relative(variables[p], final[p]) for p in variables),
        "m": max(_relative(state["m"][p], moments["m"][p]) for p in variables),
        "v": max(_relative(state["v"][p], moments["v"][p]) for p in variables),
        "output": _relative(got, expected) * np.abs(expected).max() / np.abs(expected - before).max(),
        "moved": moved,
    }


def _edsr_l1_255(sr, hr):  # EDSR-PyTorch: nn.L1Loss on the [0, 255] images (rgb_range 255)
    return F.l1_loss(sr, hr)


def _check(figures, name):
    print(f"{name}: " + ", ".join(f"{k} {v:.2e}" for k, v in figures.items()))
    for key in ("loss", "weights", "m", "v", "ema"):
        assert figures.get(key, 0) < TOLERANCE, (key, figures)
    assert figures["output"] < OUTPUT_TOLERANCE, figures
    assert figures["moved"] > 1e-3, figures  # training moved the weights measurably


@pytest.mark.parametrize("model_name", ["edsr_baseline", "wdsr_b"])
def test_pixel_models_train_as_their_originals(model_name, batches, probe, tmp_path):
    """EDSR baseline as EDSR-PyTorch trains it (lr 1e-4), WDSR-B as wdsr_ntire2018 does (lr 1e-3)."""
    make_module, seed, learning_rate = _PIXEL_MODELS[model_name]
    torch.manual_seed(seed)
    figures = _compare_pixel(model_name, make_module(), batches, probe, tmp_path, learning_rate, _edsr_l1_255)
    _check(figures, model_name)


def _l1_unit(sr, hr):  # BasicSR's L1Loss on [0, 1] images
    return F.l1_loss(sr / 255.0, hr / 255.0)


def test_realesrnet_step_with_ema_equals_basicsr(batches, probe, tmp_path):
    """Real-ESRNet's recipe (L1 on [0, 1], Adam betas (0.9, 0.99), lr 2e-4, EMA 0.999) on an EDSR generator:
    the weights, moments and BasicSR's `model_ema` average after 20 steps. The batches come as they are here:
    the degradation and the USM-sharpened target have their own tests (tests/data/test_realworld.py)."""
    torch.manual_seed(4)
    figures = _compare_pixel("edsr_baseline", TorchEDSR(SCALE), batches, probe, tmp_path, 2e-4, _l1_unit,
                             recipe="realesrnet_x4plus", degradation="bicubic", pair_pool=0, usm_target=False)
    _check(figures, "realesrnet (edsr_baseline)")
    assert figures["ema_moved"] > 1e-6  # the average moved, by far less than the weights (decay 0.999)


# model -> (its original in PyTorch, torch seed, the recipe's learning rate)
_PIXEL_MODELS = {"edsr_baseline": (lambda: TorchEDSR(SCALE), 0, 1e-4),
                 "wdsr_b": (lambda: NtireWDSR(SCALE, "b"), 1, 1e-3)}


@pytest.mark.parametrize("model_name,changes", [
    ("edsr_baseline", dict(optimizer="keras_adam")),  # Adam's epsilon before the bias correction
    ("wdsr_b", dict(optimizer="keras_adam")),
    ("wdsr_b", dict(loss_range=1)),  # L1 on [0, 1] instead of [0, 255]: Adam's epsilon weighs 255x more
])
def test_pixel_models_show_each_difference_from_the_original(model_name, changes, batches, probe, tmp_path):
    make_module, seed, learning_rate = _PIXEL_MODELS[model_name]
    torch.manual_seed(seed)
    figures = _compare_pixel(model_name, make_module(), batches, probe, tmp_path, learning_rate, _edsr_l1_255,
                             **changes)
    print(f"{model_name} with {changes}: " + ", ".join(f"{k} {v:.2e}" for k, v in figures.items()))
    assert figures["weights"] > TOLERANCE, figures  # the equivalence test fails with this change


# ------------------------------------------------------------------ SRResNet and SRGAN (BasicSR's training step)


def _bn(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=0.1)  # PyTorch's 0.1 = Keras's 0.9


class TorchSRResNet(nn.Module):
    """`sr_keras.models.srgan.build_srresnet` in PyTorch; attributes named after the Keras layers."""

    def __init__(self, feats, blocks, scale):
        super().__init__()
        self.head_conv, self.head_prelu = nn.Conv2d(3, feats, 9, padding=4), nn.PReLU(feats)
        self.blocks = nn.ModuleList(nn.ModuleDict({
            "conv1": nn.Conv2d(feats, feats, 3, padding=1), "bn1": _bn(feats), "prelu": nn.PReLU(feats),
            "conv2": nn.Conv2d(feats, feats, 3, padding=1), "bn2": _bn(feats)}) for _ in range(blocks))
        self.body_conv, self.body_bn = nn.Conv2d(feats, feats, 3, padding=1), _bn(feats)
        self.upsample = nn.ModuleList(nn.ModuleDict({"conv": nn.Conv2d(feats, 4 * feats, 3, padding=1),
                                                     "prelu": nn.PReLU(feats)}) for _ in range(int(np.log2(scale))))
        self.tail_conv = nn.Conv2d(feats, 3, 9, padding=4)

    def forward(self, x):  # [0, 255] -> [0, 1] -> ... tanh -> [0, 255]
        x = head = self.head_prelu(self.head_conv(x / 255.0))
        for block in self.blocks:
            y = block["prelu"](block["bn1"](block["conv1"](x)))
            x = x + block["bn2"](block["conv2"](y))
        x = head + self.body_bn(self.body_conv(x))
        for step in self.upsample:
            x = step["prelu"](F.pixel_shuffle(step["conv"](x), 2))
        return torch.tanh(self.tail_conv(x)) * 127.5 + 127.5

    def keras_layers(self):
        """{Keras layer name: (torch module, pixel-shuffle factor after it)}."""
        layers = {"head_conv": self.head_conv, "head_prelu": self.head_prelu, "body_conv": self.body_conv,
                  "body_bn": self.body_bn, "tail_conv": self.tail_conv}
        for i, block in enumerate(self.blocks):
            for part in ("conv1", "bn1", "prelu", "conv2", "bn2"):
                layers[f"body_block{i + 1}_{part}"] = block[part]
        for i, step in enumerate(self.upsample):
            layers[f"upsample_{i + 1}_conv"], layers[f"upsample_{i + 1}_prelu"] = step["conv"], step["prelu"]
        return {name: (module, 2 if name.startswith("upsample") and name.endswith("conv") else None)
                for name, module in layers.items()}


class TorchDiscriminator(nn.Module):
    """`sr_keras.models.srgan.build_discriminator` in PyTorch (logits), with TensorFlow's "SAME" padding."""

    def __init__(self, feats, num_layers, hr_size):
        super().__init__()
        width, channels, size = feats / 64.0, feats, hr_size
        self.conv1 = nn.Conv2d(3, feats, 3, padding=1)
        self.convs, self.bns, self.strides = nn.ModuleList(), nn.ModuleList(), []
        for filters, stride in DISCRIMINATOR_BLOCKS[:num_layers - 1]:
            out = max(1, int(filters * width))
            self.convs.append(nn.Conv2d(channels, out, 3, stride=stride))
            self.bns.append(_bn(out))
            self.strides.append(stride)
            channels, size = out, -(-size // stride)
        self.dense1, self.logits = nn.Linear(size * size * channels, 1024), nn.Linear(1024, 1)

    def forward(self, x):
        x = F.leaky_relu(self.conv1(x / 127.5 - 1.0), 0.2)
        for conv, bn, stride in zip(self.convs, self.bns, self.strides):
            x = F.pad(x, (0, 1, 0, 1) if stride == 2 else (1, 1, 1, 1))  # "SAME" on even sizes
            x = F.leaky_relu(bn(conv(x)), 0.2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # Keras flattens (h, w, c)
        return self.logits(F.leaky_relu(self.dense1(x), 0.2))

    def keras_layers(self):
        layers = {"conv1": self.conv1, "dense1": self.dense1, "logits": self.logits}
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            layers[f"block{i + 1}_conv"], layers[f"block{i + 1}_bn"] = conv, bn
        return {name: (module, None) for name, module in layers.items()}


_TORCH_NAMES = {"kernel": "weight", "bias": "bias", "alpha": "weight", "gamma": "weight", "beta": "bias",
                "moving_mean": "running_mean", "moving_variance": "running_var"}


def _to_torch(name, array, module, shuffle):
    """A Keras weight in the layout of the PyTorch tensor it stands for."""
    array = np.asarray(array, "float32")
    if shuffle and name in ("kernel", "bias"):
        perm, restored = shuffle_permutation(array.shape[-1], shuffle), np.empty_like(array)
        restored[..., perm] = array
        array = restored
    if name == "kernel":
        array = array.transpose(3, 2, 0, 1) if array.ndim == 4 else array.T
    return array.reshape(getattr(module, _TORCH_NAMES[name]).shape)


def _to_keras(name, tensor, variable, shuffle):
    """A PyTorch tensor (weight, buffer or Adam moment) in the layout of the Keras variable it stands for."""
    array = tensor.detach().numpy()
    if name == "kernel":
        array = array.transpose(2, 3, 1, 0) if array.ndim == 4 else array.T
    array = array.reshape(variable.shape)
    if shuffle and name in ("kernel", "bias"):
        array = array[..., shuffle_permutation(array.shape[-1], shuffle)]
    return array


def _keras_variables(model, torch_module):
    """[(keras variable, its short name, torch module, shuffle factor)] for every weight of `model`."""
    layers = torch_module.keras_layers()
    out = []
    for variable in model.weights:
        layer, name = variable.path.split("/")[-2:]
        module, shuffle = layers[layer]
        out.append((variable, name, module, shuffle))
    return out


def _randomise(model, rng):
    """Glorot kernels kept; biases, PReLU slopes and batch-norm parameters and statistics drawn at random, so a
    lost or misplaced one shows."""
    for variable in model.weights:
        name = variable.path.split("/")[-1]
        if name == "moving_variance":
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        elif name == "gamma":
            variable.assign(rng.uniform(0.8, 1.2, variable.shape).astype("float32"))
        elif name != "kernel":
            variable.assign(rng.normal(0, 0.1, variable.shape).astype("float32"))


def _carry_over(model, torch_module):
    with torch.no_grad():
        for variable, name, module, shuffle in _keras_variables(model, torch_module):
            getattr(module, _TORCH_NAMES[name]).copy_(torch.tensor(_to_torch(name, variable.numpy(), module,
                                                                              shuffle)))


def _bn_fed(path, model):
    """A conv bias that feeds batch normalisation, or a batch norm's moving mean (see the module docstring)."""
    layer, name = path.split("/")[-2:]
    names = {layer.name for layer in model.layers}
    return name == "moving_mean" or (name == "bias" and layer.replace("conv", "bn") in names)


def _batch_norm_size(layer_name, model):
    """n of a batch-norm layer: how many values one channel's batch statistics are taken over."""
    _, height, width, _ = model.get_layer(layer_name).output.shape
    return BATCH * (height or LR_SIZE) * (width or LR_SIZE)  # the generator's batch norms act on the LR grid


def _compare_weights(model, torch_module, optimizer, state, learning_rate, updates, starts, prefix):
    """{prefix_weights, prefix_m, prefix_v, prefix_bn_fed_steps} of a model trained in both frameworks.

    Moving variances are compared after PyTorch's n / (n - 1) is applied to what Keras added to them over the
    `updates` batch-norm updates (`starts`: their values before training)."""
    weights, m, v, loose = [], [], [], []
    for variable, name, module, shuffle in _keras_variables(model, torch_module):
        tensor = getattr(module, _TORCH_NAMES[name])
        expected, got = _to_keras(name, tensor, variable, shuffle), variable.numpy()
        if name == "moving_variance":
            n = _batch_norm_size(variable.path.split("/")[-2], model)
            start = 0.9 ** updates * starts[variable.path]
            got = start + (got - start) * n / (n - 1)
        if _bn_fed(variable.path, model):  # noise-driven in both frameworks: bounded, moments not compared
            loose.append(np.abs(got - expected).max() / learning_rate)
            continue
        weights.append(_relative(got, expected))
        if variable.trainable:
            moments = optimizer.state[tensor]
            m.append(_relative(state["m"][variable.path], _to_keras(name, moments["exp_avg"], variable, shuffle)))
            v.append(_relative(state["v"][variable.path], _to_keras(name, moments["exp_avg_sq"], variable,
                                                                     shuffle)))
    return {f"{prefix}_weights": max(weights), f"{prefix}_m": max(m), f"{prefix}_v": max(v),
            f"{prefix}_bn_fed_steps": max(loose)}


def _prepared(config, seed):
    """The sr_keras trainer with randomised weights, and the same networks in PyTorch holding them."""
    keras.utils.set_random_seed(seed)
    trainer = build_trainer(config)
    rng = np.random.default_rng(seed)
    generator = trainer.generators[SCALE]
    _randomise(generator, rng)
    torch_generator = TorchSRResNet(config.model.num_filters, config.model.num_res_blocks, SCALE)
    _carry_over(generator, torch_generator)
    torch_discriminator = None
    if config.is_gan:
        _randomise(trainer.discriminator, rng)
        torch_discriminator = TorchDiscriminator(config.gan.discriminator_filters, config.gan.discriminator_layers,
                                                 LR_SIZE * SCALE)
        _carry_over(trainer.discriminator, torch_discriminator)
    return trainer, torch_generator, torch_discriminator


def _moving_variances(*models):
    return {v.path: v.numpy() for model in models for v in model.weights if v.path.endswith("moving_variance")}


def _srgan_config(tmp_path, model="srgan", **changes):
    extra = dict(discriminator_filters=8, discriminator_layers=4, content_loss="mse", from_scratch=True) \
        if model == "srgan" else {}
    return make_config(model, str(tmp_path), scale=SCALE, num_filters=8, num_res_blocks=1, crop_size=LR_SIZE,
                       batch_size=BATCH, decay_steps=(DECAY_AT,), **extra, **changes)


def test_srresnet_trains_as_basicsr_srmodel(batches, probe, tmp_path):
    """MSE on [0, 1], torch.optim.Adam, lr 1e-4 decayed by 0.1 at update 10 (the schedule is exercised)."""
    config = _srgan_config(tmp_path, "srresnet", decay_factor=0.1)
    trainer, torch_generator, _ = _prepared(config, seed=2)
    generator = trainer.generators[SCALE]
    starts, initial = _moving_variances(generator), {v.path: v.numpy() for v in generator.trainable_variables}
    before = _outputs(copy.deepcopy(torch_generator), probe)
    keras_losses = [trainer.step(lr, hr)["loss"] for lr, hr in batches]
    optimizer = _adam(list(torch_generator.parameters()), config.optim.learning_rate)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [DECAY_AT], config.optim.decay_factor)
    torch_generator.train()
    torch_losses = []
    for lr, hr in batches:
        optimizer.zero_grad()
        loss = F.mse_loss(torch_generator(_nchw(lr)) / 255.0, _nchw(hr) / 255.0)
        loss.backward()
        optimizer.step()
        scheduler.step()
        torch_losses.append(loss.item())
    figures = {"loss": max(abs(a - b) / abs(b) for a, b in zip(keras_losses, torch_losses))}
    figures.update(_compare_weights(generator, torch_generator, optimizer, trainer.optimizer_state()["g_optimizer"],
                                    config.optim.learning_rate, STEPS, starts, "g"))
    figures["moved"] = max(_relative(v.numpy(), initial[v.path]) for v in generator.trainable_variables)
    figures.update(_output_figures(generator, torch_generator, probe, before))
    _check_gan(figures, "srresnet")


def _outputs(torch_generator, probe):
    """(training-mode, inference-mode) outputs of a PyTorch generator on `probe`, NHWC."""
    with torch.no_grad():
        inference = _nhwc(torch_generator.eval()(_nchw(probe)))
        training = _nhwc(torch_generator.train()(_nchw(probe)))
    return training, inference


def _output_figures(generator, torch_generator, probe, before):
    """The output differences relative to the change training made: with batch statistics ("output") and with
    the moving statistics ("output_inference", which carry the BN-fed biases' noise)."""
    expected = _outputs(torch_generator, probe)
    got = [generator(probe, training=False).numpy()]
    for variable, name, module, shuffle in _keras_variables(generator, torch_generator):
        if _bn_fed(variable.path, generator) or name == "moving_variance":  # PyTorch's noise and statistics
            variable.assign(_to_keras(name, getattr(module, _TORCH_NAMES[name]), variable, shuffle))
    got.append(generator(probe, training=False).numpy())
    got.insert(0, generator(probe, training=True).numpy())  # batch statistics: no moving ones involved
    with torch.no_grad():
        expected = expected + (_nhwc(torch_generator.eval()(_nchw(probe))),)
    before = before + (before[1],)
    return {key: float(np.abs(g - e).max() / np.abs(e - b).max()) for key, g, e, b in
            zip(("output", "output_inference", "output_inference_same_statistics"), got, expected, before)}


def _check_gan(figures, name):
    print(f"{name}: " + ", ".join(f"{k} {v:.2e}" for k, v in figures.items()))
    for key, value in figures.items():
        if key.startswith("loss") or key.endswith(("_weights", "_m", "_v")):
            assert value < TOLERANCE, (key, figures)
        elif key.endswith("bn_fed_steps"):  # each framework's Adam moves a parameter by about lr at most
            assert value < 2 * STEPS, (key, figures)
    assert figures["output"] < OUTPUT_TOLERANCE, figures
    assert figures["output_inference_same_statistics"] < OUTPUT_TOLERANCE, figures
    assert figures["moved"] > 1e-3, figures


def _torch_srgan_run(config, generator, discriminator, batches):
    """BasicSR's `SRGANModel.optimize_parameters`, with the content and adversarial losses of the config: the
    generator against the current discriminator (its parameters frozen, its batch norm in training mode), then
    the discriminator on HR and on the SR made before the generator's update, detached."""
    learning_rate, gamma = config.optim.learning_rate, config.optim.decay_factor
    g_optimizer, d_optimizer = _adam(generator.parameters(), learning_rate), _adam(discriminator.parameters(),
                                                                                   learning_rate)
    schedulers = [torch.optim.lr_scheduler.MultiStepLR(o, [DECAY_AT], gamma) for o in (g_optimizer, d_optimizer)]
    generator.train(), discriminator.train()
    bce = F.binary_cross_entropy_with_logits
    history = []
    for lr, hr in batches:
        lr, hr = _nchw(lr), _nchw(hr)
        for p in discriminator.parameters():
            p.requires_grad_(False)
        g_optimizer.zero_grad()
        sr = generator(lr)
        content = F.mse_loss(sr / 127.5, hr / 127.5)  # MSE on [-1, 1] (the recipe's content loss)
        fake = discriminator(sr)
        adversarial = bce(fake, torch.ones_like(fake))
        g_loss = content + config.gan.adv_weight * adversarial
        g_loss.backward()
        g_optimizer.step()
        for p in discriminator.parameters():
            p.requires_grad_(True)
        d_optimizer.zero_grad()
        real = discriminator(hr)
        real_loss = bce(real, torch.ones_like(real))
        real_loss.backward()
        fake = discriminator(sr.detach())
        fake_loss = bce(fake, torch.zeros_like(fake))
        fake_loss.backward()
        d_optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
        history.append({"g_loss": g_loss.item(), "d_loss": real_loss.item() + fake_loss.item(),
                        "content": content.item(), "adversarial": adversarial.item()})
    return history, g_optimizer, d_optimizer


def _compare_srgan(tmp_path, batches, probe, **changes):
    config = _srgan_config(tmp_path, **changes)
    trainer, torch_generator, torch_discriminator = _prepared(config, seed=3)
    generator, discriminator = trainer.generators[SCALE], trainer.discriminator
    starts = _moving_variances(generator, discriminator)
    initial = {v.path: v.numpy() for v in generator.trainable_variables}
    before = _outputs(copy.deepcopy(torch_generator), probe)
    keras_history = [trainer.step(lr, hr) for lr, hr in batches]
    torch_history, g_optimizer, d_optimizer = _torch_srgan_run(config, torch_generator, torch_discriminator,
                                                               batches)
    figures = {f"loss_{key}": max(abs(k[key] - t[key]) / abs(t[key]) for k, t in zip(keras_history, torch_history))
               for key in torch_history[0]}
    state = trainer.optimizer_state()
    lr = config.optim.learning_rate
    figures.update(_compare_weights(generator, torch_generator, g_optimizer, state["g_optimizer"], lr, STEPS,
                                    starts, "g"))
    figures.update(_compare_weights(discriminator, torch_discriminator, d_optimizer, state["d_optimizer"], lr,
                                    3 * STEPS, starts, "d"))  # D runs on SR (G's step), HR and SR every step
    figures["moved"] = max(_relative(v.numpy(), initial[v.path]) for v in generator.trainable_variables)
    figures.update(_output_figures(generator, torch_generator, probe, before))
    return figures


def test_srgan_trains_as_basicsr_srganmodel(batches, probe, tmp_path):
    """Generator and discriminator, torch.optim.Adam, BasicSR's order, lr decayed by 0.1 at update 10."""
    _check_gan(_compare_srgan(tmp_path, batches, probe), "srgan")


@pytest.mark.parametrize("changes", [dict(gan_order="d_first"), dict(optimizer="keras_adam")])
def test_srgan_shows_each_difference_from_the_original(changes, batches, probe, tmp_path):
    figures = _compare_srgan(tmp_path, batches, probe, **changes)
    print(f"srgan with {changes}: " + ", ".join(f"{k} {v:.2e}" for k, v in figures.items()))
    assert max(figures["g_weights"], figures["d_weights"]) > TOLERANCE, figures
