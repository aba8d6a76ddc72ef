"""Under the `mixed_float16` policy (float16 compute, float32 variables, a `LossScaleOptimizer`), the trainers
apply the same updates as in float32: the loss is scaled before differentiation and the optimizer unscales
the gradients. An unscaled loss would make every update 2**15 times too small; a doubly scaled one overflows
float16 and the step is skipped. Both would fail here."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.training import make_config
from sr_keras.training.build import build_discriminator, build_generators
from sr_keras.training.trainers import GANTrainer, PixelTrainer
from tests import launch
from tests.conftest import wall_clock_limit

# float16 compute keeps 11 significant bits: one step's updates (as a vector per model) differ from float32 by
# 0.2-3% relative here (measured: 0.002 EDSR, 0.015 SRResNet, 0.029 discriminator); an unscaled loss gives
# 0.99997 (updates 2**15 times too small, measured by removing the scaling), a skipped step exactly 1.
TOLERANCE = 0.1


def _batch(config):
    from skimage import data

    photo = data.astronaut().astype("float32")
    size = config.data.crop_size * config.model.scale
    hr = np.stack([photo[40 * i: 40 * i + size, 30 * i: 30 * i + size] for i in range(config.data.batch_size)])
    lr = tf.image.resize(hr, [config.data.crop_size] * 2, method="area").numpy()
    return lr, hr


def _trainable(model):
    return [w.numpy() for w in model.trainable_weights]


def _updates(config, policy, initial, lr, hr):
    """{model: [trainable weight after - before]} after one step under `policy`, from the weights `initial`.

    Only trainable weights: batch-norm moving statistics move in the forward pass, whatever the gradients."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        with strategy.scope():
            generators = build_generators(config)
            models = {"generator": generators[config.model.scale]}

            def optimizer():
                sgd = keras.optimizers.SGD(learning_rate=0.05)
                return keras.optimizers.LossScaleOptimizer(sgd) if policy == "mixed_float16" else sgd

            if config.is_gan:
                models["discriminator"] = build_discriminator(config)
                trainer = GANTrainer(strategy, generators, models["discriminator"], optimizer(), optimizer(),
                                     "mse", config.gan.adv_weight, 1, config.data.batch_size)
            else:
                trainer = PixelTrainer(strategy, generators, optimizer(), config.optim.loss, config.data.batch_size)
        if policy == "mixed_float16":
            assert trainer.generators[config.model.scale].layers[-2].compute_dtype == "float16"
            assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in trainer.optimizers.values())
        before = {}
        for name, model in models.items():
            model.set_weights(initial[name])
            before[name] = _trainable(model)
        batch = next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((lr, hr)))))
        losses = trainer.train_step(config.model.scale, batch)
        assert all(np.isfinite(float(v)) for v in losses.values())
        return {name: [after - start for after, start in zip(_trainable(model), before[name])]
                for name, model in models.items()}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _relative_difference(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("model,extra", [
    ("edsr_baseline", dict(num_filters=8, num_res_blocks=2, loss="l1")),
    ("srgan", dict(num_filters=8, num_res_blocks=1, discriminator_filters=8, discriminator_layers=4,
                   content_loss="mse", from_scratch=True)),
])
def test_mixed_float16_updates_equal_float32(model, extra, tmp_path):
    config = make_config(model, str(tmp_path), crop_size=8, batch_size=4, **extra)
    lr, hr = _batch(config)
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        initial = {"generator": build_generators(config)[config.model.scale].get_weights()}
        if config.is_gan:
            initial["discriminator"] = build_discriminator(config).get_weights()
    reference = _updates(config, "float32", initial, lr, hr)
    mixed = _updates(config, "mixed_float16", initial, lr, hr)
    for name in reference:
        moved = np.concatenate([u.ravel() for u in reference[name]])
        assert np.abs(moved).max() > 1e-4, name  # the step really updated this model
        difference = _relative_difference(mixed[name], reference[name])
        assert difference < TOLERANCE, (name, difference)


def test_models_trained_in_bfloat16_are_saved_computing_in_float32(tmp_path):
    """`--mixed_precision` on a CPU trains in bfloat16; the saved generators (final, best) and the SavedModel
    export compute in float32: a loaded model equals the same weights run in float32."""
    import os
    import sys

    from sr_keras.models.precision import compute_dtypes

    model_dir = tmp_path / "run"
    result = launch.run([sys.executable, "-m", "sr_keras.train", "--model=wdsr_b", "--num_filters=8",
                         "--num_res_blocks=1", "--batch_size=2", "--crop_size=8", "--steps=2",
                         "--max_eval_images=1", "--mixed_precision", f"--model_dir={model_dir}",
                         f"--export_dir={tmp_path / 'export'}"],
                        capture_output=True, text=True, timeout=wall_clock_limit(300),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-3000:]
    config = (model_dir / "config.json").read_text()
    assert '"mixed_precision": true' in config
    x = np.random.default_rng(0).uniform(0, 255, (1, 13, 17, 3)).astype("float32")
    for name in ("generator_final_x4.keras", "generator_best_x4.keras"):
        loaded = keras.saving.load_model(model_dir / name)
        assert compute_dtypes(loaded) == {"float32"}, name
        rebuilt = build_generators(make_config("wdsr_b", str(tmp_path), num_filters=8, num_res_blocks=1))[4]
        rebuilt.set_weights(loaded.get_weights())
        np.testing.assert_allclose(loaded(x).numpy(), rebuilt(x).numpy(), rtol=1e-6, atol=1e-4)
    served = tf.saved_model.load(str(tmp_path / "export")).signatures["serve_float"]
    out = list(served(tf.constant(x)).values())[0].numpy()
    np.testing.assert_allclose(out, rebuilt(x).numpy(), rtol=1e-5, atol=1e-3)
