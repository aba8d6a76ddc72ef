"""Training on real-world degradations from the command line: Real-ESRNet's L1 stage with the EMA generator,
then Real-ESRGAN's GAN stage with the U-Net discriminator, on the embedded photos."""
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.models.saving import load_generator
from tests import launch
from tests.conftest import wall_clock_limit


def _train(args, model_dir):
    command = [sys.executable, "-m", "sr_keras.train", f"--model_dir={model_dir}", *args]
    result = launch.run(command, capture_output=True, text=True, timeout=wall_clock_limit(900),
                        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _checkpoint_values(model_dir, prefix):
    """{variable key: value} of the latest checkpoint's variables whose key starts with `prefix`."""
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key.startswith(prefix) and key.endswith("VARIABLE_VALUE")}


@pytest.fixture(scope="module")
def realesrnet_run(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("realesrnet")
    _train(["--model=wdsr_b", "--recipe=realesrnet_x4plus", "--num_res_blocks=2", "--steps=20", "--batch_size=8",
            "--crop_size=24", "--pair_pool=16", "--eval_every=20", "--save_every=20", "--max_eval_images=1"],
           model_dir)
    return model_dir


def test_realesrnet_cli_saves_the_ema_generator(realesrnet_run):
    final = realesrnet_run / "generator_final_x4.keras"
    model = keras.saving.load_model(final, safe_mode=True)  # no Lambda, no unsafe deserialisation
    saved = sorted((np.asarray(v) for v in model.trainable_variables), key=lambda a: (a.shape, float(a.sum())))
    averages = _checkpoint_values(realesrnet_run, "generator_ema/averages")
    assert len(averages) == len(saved)
    averaged = sorted(averages.values(), key=lambda a: (a.shape, float(a.sum())))
    for a, b in zip(saved, averaged):
        np.testing.assert_array_equal(a, b)
    # The raw weights after 20 steps (checkpointed once, through the optimizer that updates them) differ from
    # their average: what was saved is the average, not the weights.
    raw = _checkpoint_values(realesrnet_run, "g_optimizer/_trainable_variables")
    assert len(raw) == len(averaged)
    raw_sorted = sorted(raw.values(), key=lambda a: (a.shape, float(a.sum())))
    differences = [float(np.abs(a - b).max()) for a, b in zip(raw_sorted, averaged) if a.shape == b.shape]
    assert max(differences) > 1e-4


def test_realesrnet_config_is_the_recipe_with_the_degradation(realesrnet_run):
    import json

    with open(realesrnet_run / "config.json") as handle:
        config = json.load(handle)
    assert config["degradation"] == "realesrgan" and config["ema_decay"] == 0.999 and config["beta_2"] == 0.99
    assert config["usm_target"] is True and config["recipe"] == "realesrnet_x4plus"


def test_realesrgan_gan_recipe_runs_from_the_cli(realesrnet_run, tmp_path):
    start = realesrnet_run / "generator_final_x4.keras"
    model_dir = tmp_path / "gan"
    _train(["--recipe=realesrgan_x4plus", "--generator=wdsr_b", "--num_res_blocks=2", f"--init_from={start}",
            "--vgg_weights=random", "--steps=3", "--batch_size=2", "--crop_size=24", "--pair_pool=4",
            "--discriminator_filters=8", "--eval_every=3", "--save_every=3", "--max_eval_images=1"], model_dir)
    generator = load_generator(model_dir / "generator_final_x4.keras")
    assert generator.output_shape[-1] == 3
    discriminator = _checkpoint_values(model_dir, "d_optimizer/_trainable_variables")
    from sr_keras.models import build_model

    expected = len(build_model("unet_discriminator_sn", num_feat=8).trainable_variables)
    assert len(discriminator) == expected, "the U-Net discriminator's weights are part of the checkpoint"
    assert _checkpoint_values(model_dir, "generator_ema/averages")
