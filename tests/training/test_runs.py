"""End-to-end training runs on the embedded real photos (tiny models, CPU)."""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from sr_keras.layers import FlexibleSelfAttention, iter_layers
from sr_keras.training import NonFiniteLossError, make_config, train


@pytest.fixture(scope="module")
def one_device():
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def _events(model_dir):
    with open(model_dir / "metrics.jsonl") as handle:
        return [json.loads(line) for line in handle]


def test_tiny_edsr_validates_keeps_the_best_and_logs(tmp_path, one_device):
    """The bookkeeping of a run through the python API: a validation on the held-out photos at every eval_every
    step, improving as it trains, the best generator, the CSV and TensorBoard logs. That training beats bicubic
    is the README command's test (tests/test_readme.py), which trains longer."""
    config = make_config("edsr_baseline", str(tmp_path), scale=2, num_filters=32, num_res_blocks=4, steps=60,
                         learning_rate=1e-3, batch_size=16, crop_size=24, eval_every=30, save_every=30, seed=0)
    summary = train(config, strategy=one_device)
    model, bicubic = summary["validation"]["2"], summary["bicubic"]["2"]
    assert model["num_images"] == bicubic["num_images"] == 3  # chelsea, coffee, ihc: never seen in training
    validations = [e for e in _events(tmp_path) if e["event"] == "validation"]
    assert [e["step"] for e in validations] == [30, 60]
    assert validations[-1]["model"]["psnr_y"] > validations[0]["model"]["psnr_y"]
    assert (tmp_path / "generator_best_x2.keras").exists() and (tmp_path / "metrics.csv").exists()
    assert list((tmp_path / "tensorboard").iterdir())


@pytest.mark.parametrize("pixel,gan,content", [("srresnet", "srgan", "vgg54"), ("a_srresnet", "a_srgan", "mse")])
def test_pretrain_then_gan_from_those_weights(pixel, gan, content, tmp_path, one_device):
    tiny = dict(num_filters=8, num_res_blocks=1, batch_size=4, crop_size=12, save_every=3, eval_every=3,
                max_eval_images=1)
    pretrain = train(make_config(pixel, str(tmp_path / pixel), steps=3, **tiny), strategy=one_device)
    weights = pretrain["saved"]["4"]
    if pixel == "a_srresnet":
        assert "pool_size" not in {k for k in tiny}  # trains with the default pool size 1, validates with 4
    config = make_config(gan, str(tmp_path / gan), steps=3, init_from=weights, content_loss=content,
                         vgg_weights="random", discriminator_filters=8, discriminator_layers=6, **tiny)
    if gan == "a_srgan":
        assert config.model.pool_size == 1 and config.eval_pool_size == 4
    summary = train(config, strategy=one_device)
    losses_seen = [e for e in _events(tmp_path / gan) if e["event"] == "validation"]
    assert losses_seen and all(np.isfinite(v) for v in summary["validation"]["4"].values())
    start = [e for e in _events(tmp_path / gan) if e["event"] == "start"][0]
    pretrained = keras.saving.load_model(weights)
    digest = sum(float(np.abs(v.numpy().astype("float64")).sum()) for v in pretrained.trainable_variables)
    assert start["generator_digest"] == pytest.approx(digest, rel=1e-6)  # the GAN started from those weights
    final = keras.saving.load_model(summary["saved"]["4"])
    pools = [layer.pool_size for layer, _ in iter_layers(final) if isinstance(layer, FlexibleSelfAttention)]
    assert pools == ([1] if gan == "a_srgan" else [])


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, one_device):
    config = make_config("edsr_baseline", str(tmp_path), num_filters=8, num_res_blocks=1, batch_size=2,
                         crop_size=8, steps=50, learning_rate=1e30, save_every=1, eval_every=1000, loss="mse")
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss at step (\d+) .*last good checkpoint: step"):
        train(config, strategy=one_device)
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    reader = tf.train.load_checkpoint(latest)
    for key in reader.get_variable_to_shape_map():
        if key.endswith("VARIABLE_VALUE") and "optimizer/_" in key:
            assert np.isfinite(reader.get_tensor(key)).all(), key
    assert not (tmp_path / "generator_final_x4.keras").exists()


def test_mdsr_trains_every_scale_and_exports(tmp_path, one_device):
    config = make_config("mdsr_baseline", str(tmp_path), scales=(2, 3), num_filters=8, num_res_blocks=1,
                         batch_size=2, crop_size=8, steps=4, eval_every=4, save_every=4, max_eval_images=1,
                         export_dir=str(tmp_path / "export"))
    summary = train(config, strategy=one_device)
    assert set(summary["validation"]) == {"2", "3"}
    assert (tmp_path / "generator_final_x2.keras").exists() and (tmp_path / "generator_final_x3.keras").exists()
    served = tf.saved_model.load(str(tmp_path / "export")).signatures["serve"]
    out = list(served(tf.zeros([1, 5, 7, 3], tf.uint8)).values())[0]
    assert out.dtype == tf.uint8 and out.shape == (1, 15, 21, 3)
