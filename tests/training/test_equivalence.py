"""One training step on 2 logical CPU replicas gives the same weights as on 1 replica (same global batch)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import make_config
from sr_keras.training.build import build_trainer

TOLERANCE = 2e-5  # losses and Adam's first moments: float32 all-reduce sums in another order
# Why the weights are compared after an SGD-like step. Adam's first update is lr * g / (|g| + eps): with eps = 1e-8
# it is lr * sign(g), so a gradient element that is 0 up to rounding (a conv bias feeding batch normalisation, a
# pixel whose L1 sign flips) moves by +lr on one device and -lr on the other: a rounding difference becomes a
# step of the learning rate (A-SRGAN on a busy machine: one of 9,216 kernel elements 4.3e-4 apart). The step's
# slope in g is at most lr / eps, so with eps = lr = 1e4 the update is g / (1 + |g| / 1e4), within 1e-4 of plain
# SGD, and a gradient difference moves the weights by at most itself. What the test is about, the replicas'
# gradients being reduced into the one-device gradient (a sum instead of a mean is 2x off), stays visible.
SGD_EPSILON = SGD_LEARNING_RATE = 1e4
# The weights' tolerance, relative to each tensor's own update: a gradient element sums at most N = 4 x 32 x 32
# = 4,096 per-pixel products here (batch 4, 32 x 32 HR), and reordering a float32 sum of N terms changes it by at
# most N * 2^-24 = 2.4e-4 of the magnitude summed (the standard bound for recursive summation), which is
# the gradient's own size unless the terms cancel.
SUM_TERMS = 4 * 32 * 32
UPDATE_RTOL = SUM_TERMS * 2.0 ** -24
# A conv bias that feeds batch normalisation has a true gradient of exactly 0 (BN removes the mean): what reaches
# it is rounding noise of the cancelled terms, different on each side. Those biases are not compared with each
# other; each side's update must be noise: below UPDATE_RTOL of the largest update of the layer's kernel.


def _batch(config, seed=0):
    rng = np.random.default_rng(seed)
    from skimage import data

    photo = data.astronaut().astype("float32")
    hr_size = config.data.crop_size * config.model.scale
    hr = np.stack([photo[i * 37: i * 37 + hr_size, i * 23: i * 23 + hr_size]
                   for i in range(config.data.batch_size)])
    lr = tf.image.resize(hr, [config.data.crop_size] * 2, method="area").numpy()
    return lr + rng.normal(0, 1, lr.shape).astype("float32"), hr


def _one_step(config, strategy, initial, lr, hr):
    keras.utils.set_random_seed(0)
    trainer = build_trainer(config, strategy)
    for optimizer in trainer.optimizers.values():  # read when the step is traced, at its first call
        optimizer.epsilon = SGD_EPSILON
    parts = trainer.checkpoint_parts
    models = list({id(m): m for m in trainer.generators.values()}.values())
    if "discriminator" in parts:
        models.append(parts["discriminator"])
    if initial is None:
        initial = [m.get_weights() for m in models]
    for model, weights in zip(models, initial):
        model.set_weights(weights)
    dataset = tf.data.Dataset.from_tensors((lr, hr))
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    losses = trainer.train_step(config.model.scale, batch)
    weights = [{w.path: w.numpy() for w in m.weights} for m in models]
    return initial, weights, {k: float(v) for k, v in losses.items()}


def _bn_fed_bias(path, names):
    """The conv layer of a bias whose conv feeds a BatchNormalization, else None."""
    layer = path.split("/")[-2]
    return layer if path.endswith("bias") and "conv" in layer and layer.replace("conv", "bn") in names else None


@pytest.mark.parametrize("model,extra", [
    ("edsr_baseline", dict(num_filters=8, num_res_blocks=2, loss="l1")),
    ("a_srgan", dict(num_filters=8, num_res_blocks=1, discriminator_filters=8, discriminator_layers=6,
                     content_loss="mse", from_scratch=True)),
])
def test_two_replicas_equal_one_replica(model, extra, tmp_path, mirrored):
    config = make_config(model, str(tmp_path), crop_size=8, batch_size=4, learning_rate=SGD_LEARNING_RATE, **extra)
    assert config.data.batch_size * (config.data.crop_size * config.model.scale) ** 2 == SUM_TERMS
    lr, hr = _batch(config)
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    two = mirrored
    initial, weights_one, losses_one = _one_step(config, one, None, lr, hr)
    _, weights_two, losses_two = _one_step(config, two, initial, lr, hr)
    for name in losses_one:
        assert losses_two[name] == pytest.approx(losses_one[name], rel=TOLERANCE, abs=1e-6)
    changed, noise = 0, 0
    for model_one, model_two, model_initial in zip(weights_one, weights_two, initial):
        names = {path.split("/")[-2] for path in model_one}
        starts = dict(zip(model_one, model_initial))
        for path, a in model_one.items():
            update = np.abs(a - starts[path]).max()
            layer = _bn_fed_bias(path, names)
            if layer is not None:
                kernel = next(p for p in model_one if p.split("/")[-2] == layer and p.endswith("kernel"))
                largest = np.abs(model_one[kernel] - starts[kernel]).max()
                for side in (a, model_two[path]):
                    assert np.abs(side - starts[path]).max() <= UPDATE_RTOL * largest, path
                noise += 1
                continue
            # the update's own rounding, plus that of storing the tensor itself in float32 (8 ulps of its size)
            atol = UPDATE_RTOL * update + 8 * 2.0 ** -24 * np.abs(a).max()
            np.testing.assert_allclose(model_two[path], a, rtol=0, atol=atol, err_msg=path)
            changed += update > 0
    assert changed > 10  # the step really moved the weights (and batch-norm statistics)
    assert (noise > 0) == (model == "a_srgan")  # the discriminator's batch norm; none in EDSR


def test_step_takes_numpy_batches_on_any_strategy(tmp_path, mirrored):
    """`trainer.step(lr, hr)` splits a numpy batch over the replicas: 2 replicas give 1 replica's losses and Adam
    moments; a batch of the wrong size is refused with the shapes named."""
    # MSE: L1's gradient sign(sr - hr) flips for pixels within rounding of 0 when the sum runs in another order
    config = make_config("edsr_baseline", str(tmp_path), num_filters=8, num_res_blocks=2, crop_size=8, batch_size=4,
                         loss="mse")
    lr, hr = _batch(config)
    results, initial = [], None
    for strategy in (tf.distribute.OneDeviceStrategy("/cpu:0"), mirrored):
        trainer = build_trainer(config, strategy)
        generator = trainer.generators[config.model.scale]
        initial = initial or generator.get_weights()
        generator.set_weights(initial)
        results.append((trainer.step(lr, hr), trainer.optimizer_state()["g_optimizer"]))
    (losses_one, state_one), (losses_two, state_two) = results
    assert losses_two["loss"] == pytest.approx(losses_one["loss"], rel=1e-5)
    assert state_one["iterations"] == state_two["iterations"] == 1
    for path, m in state_one["m"].items():
        np.testing.assert_allclose(state_two["m"][path], m, rtol=TOLERANCE, atol=TOLERANCE * np.abs(m).max())
    with pytest.raises(ValueError, match=r"batches of 4 .*got \[2, 8, 8, 3\]"):
        trainer.step(lr[:2], hr[:2])


def test_srgan_trains_with_esrgans_vgg_style_discriminator(tmp_path):
    """--discriminator=vgg_style_discriminator: ESRGAN's discriminator on 128 px HR crops in the SRGAN step (its
    weights move, the losses are finite); other crop sizes and non-GAN models are refused naming the setting."""
    from sr_keras.checks import ConfigError

    config = make_config("srgan", str(tmp_path), num_filters=8, num_res_blocks=1, crop_size=32, batch_size=2,
                         discriminator="vgg_style_discriminator", discriminator_filters=8, from_scratch=True,
                         content_loss="mse")
    trainer = build_trainer(config)
    assert trainer.discriminator.name == "vgg_style_discriminator"
    before = [w.numpy().copy() for w in trainer.discriminator.trainable_variables]
    rng = np.random.default_rng(0)
    losses = trainer.step(rng.uniform(0, 255, (2, 32, 32, 3)), rng.uniform(0, 255, (2, 128, 128, 3)))
    assert all(np.isfinite(v) for v in losses.values())
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(before, trainer.discriminator.trainable_variables))
    with pytest.raises(ConfigError) as error:
        make_config("srgan", str(tmp_path), crop_size=24, discriminator="vgg_style_discriminator", from_scratch=True)
    assert error.value.field == "crop_size"
    with pytest.raises(ConfigError) as error:
        make_config("edsr_baseline", str(tmp_path), discriminator="vgg_style_discriminator")
    assert error.value.field == "discriminator"
