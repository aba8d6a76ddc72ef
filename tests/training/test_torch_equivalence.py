"""Training equals the originals step by step: from the same weights, on the same batches, `build_trainer(config)
.step` follows the PyTorch training loop of the code each recipe re-implements, for 20 steps.

The PyTorch side is written here after the originals' training code, with `torch.optim.Adam` (0.9, 0.999,
1e-8) and the original's loss and value range:
- EDSR baseline: EDSR-PyTorch (`src/trainer.py`, `src/loss`, `src/utility.make_optimizer`): L1 on [0, 255]
  (`rgb_range` 255) through the mean shifts, `MultiStepLR` (gamma 0.5) crossed at update 10. The module is
  `tests.test_convert.TorchEDSR` (EDSR-PyTorch's structure) and reaches Keras through `sr_keras.convert`.
- WDSR-B: JiahuiYu/wdsr_ntire2018 `wdsr_b.py` (trained with EDSR-PyTorch's trainer): every convolution under
  `weight_norm`, so the gradient reaches g and v as PyTorch's reparametrisation sends it; L1 on [0, 255],
  lr 1e-3. The module is `tests.test_convert_sources.NtireWDSR`, converted with `sr_keras.convert`.
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
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from sr_keras.convert import convert_file  # noqa: E402
from sr_keras.convert._common import shuffle_permutation  # noqa: E402
from sr_keras.models.srgan import BN_EPSILON, DISCRIMINATOR_BLOCKS  # noqa: E402
from sr_keras.training import build_trainer, make_config  # noqa: E402
from tests.test_convert import TorchEDSR  # noqa: E402
from tests.test_convert_sources import NtireWDSR  # noqa: E402

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


def _torch_pixel_run(module, batches, learning_rate, loss, decay_at=None):
    """EDSR-PyTorch's / BasicSR's loop: zero_grad, forward, loss, backward, Adam step, scheduler step."""
    module.train()
    parameters = [p for p in module.parameters() if p.requires_grad]
    optimizer = _adam(parameters, learning_rate)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [decay_at], 0.5) if decay_at else None
    losses = []
    for lr, hr in batches:
        optimizer.zero_grad()
        value = loss(module(_nchw(lr)), _nchw(hr))
        value.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        losses.append(value.item())
    return losses, optimizer


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
    torch_losses, optimizer = _torch_pixel_run(module, batches, learning_rate, loss, decay_at=DECAY_AT)
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
    return {
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
    for key in ("loss", "weights", "m", "v"):
        assert figures[key] < TOLERANCE, (key, figures)
    assert figures["output"] < OUTPUT_TOLERANCE, figures
    assert figures["moved"] > 1e-3, figures  # training moved the weights measurably


@pytest.mark.parametrize("model_name", ["edsr_baseline", "wdsr_b"])
def test_pixel_models_train_as_their_originals(model_name, batches, probe, tmp_path):
    """EDSR baseline as EDSR-PyTorch trains it (lr 1e-4), WDSR-B as wdsr_ntire2018 does (lr 1e-3)."""
    make_module, seed, learning_rate = _PIXEL_MODELS[model_name]
    torch.manual_seed(seed)
    figures = _compare_pixel(model_name, make_module(), batches, probe, tmp_path, learning_rate, _edsr_l1_255)
    _check(figures, model_name)


_PIXEL_MODELS = {"edsr_baseline": (lambda: TorchEDSR(SCALE), 0, 1e-4), "wdsr_b": (lambda: NtireWDSR(SCALE, "b"), 1, 1e-3)}


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
