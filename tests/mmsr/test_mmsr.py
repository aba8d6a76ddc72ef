"""MMSR: TVAT routing of real photo tiles, reconstruction equal to tiled inference, seam-free stitching,
and the train-then-upscale command lines."""
import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import data

from sr_keras.data import imresize, tvat
from sr_keras.inference import predict
from sr_keras.mmsr import MMSRRouter, class_tile_sets, classify
from sr_keras.models import build_model
from tests import launch
from tests.conftest import wall_clock_limit

OFFSETS = (0.0, 40.0, -40.0)  # class k's model adds OFFSETS[k]: its tiles are recognisable in the output


def offset_model(offset, scale=2):
    """A real Keras model: nearest-neighbour upsampling plus a constant (identifies the model that ran)."""
    lr = keras.Input((None, None, 3))
    return keras.Model(lr, keras.layers.Rescaling(1.0, offset=offset)(keras.layers.UpSampling2D(scale)(lr)))


@pytest.fixture(scope="module")
def known_tiles():
    """LR tiles (32x32) of real photos whose TVAT puts them in each class, checked here before use."""
    flat = data.rocket()[20:52, 300:332]            # clear sky
    mid = data.chelsea()[200:232, 200:232]          # the cat's fur
    textured = np.repeat(data.grass()[100:132, 100:132, None], 3, axis=-1)  # grass blades
    tiles = np.stack([flat, mid, textured]).astype("float32")
    values = tvat(tf.constant(tiles)).numpy()
    assert values[0] < 2.0 <= values[1] < 4.0 <= values[2], values
    return tiles


def test_tiles_are_routed_to_the_model_of_their_tvat_class(known_tiles):
    router = MMSRRouter({k: offset_model(o) for k, o in enumerate(OFFSETS)})
    batch = np.concatenate([known_tiles, known_tiles[::-1]])  # mixed order in one batch
    out = router(batch)
    upsampled = batch.repeat(2, axis=1).repeat(2, axis=2)
    offsets = (out - upsampled).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(offsets, [0, 40, -40, -40, 40, 0], atol=1e-4)
    assert list(router.classes(known_tiles)) == [0, 1, 2]
    assert router.routed == {0: 2, 1: 2, 2: 2}
    with pytest.raises(ValueError, match="missing class"):
        MMSRRouter({0: offset_model(0.0), 1: offset_model(1.0)})


def test_same_model_for_every_class_equals_single_model_tiled_inference():
    keras.utils.set_random_seed(3)
    model = build_model("edsr_baseline", scale=2, num_filters=8, num_res_blocks=1)
    router = MMSRRouter({k: model for k in range(3)})
    lr = data.astronaut()[100:161, 200:283].astype("float32")  # 61 x 83: no tile size divides it
    from sr_keras.inference import infer_scale
    from sr_keras.inference.tiling import tile_starts

    single = predict(model, lr, tile=24, overlap=8)
    assert infer_scale(router) == 2
    router.routed = {k: 0 for k in router.routed}
    routed = predict(router, lr, tile=24, overlap=8)
    assert np.max(np.abs(routed - single)) < 1e-3
    tiles = len(tile_starts(61, 24, 8)[0]) * len(tile_starts(83, 24, 8)[0])
    assert sum(router.routed.values()) == tiles and len([k for k, n in router.routed.items() if n]) >= 2


def test_overlap_averaging_leaves_no_seam():
    """Neighbouring tiles of different classes disagree by 40-80 grey levels; the stitched image must not show
    a step at their border: its error against the HR photo is no larger along tile borders than elsewhere."""
    hr = data.coffee()[100:292, 100:356].astype("float32")  # 192 x 256
    lr = imresize(hr, scale=0.5).numpy()
    router = MMSRRouter({k: offset_model(o) for k, o in enumerate(OFFSETS)})
    tile, overlap, scale = 32, 8, 2
    out = predict(router, lr, tile=tile, overlap=overlap)
    assert len(set(router.routed.values())) > 1 and min(router.routed.values()) > 0  # several classes met
    error = np.abs(out - hr).mean(axis=-1)
    from sr_keras.inference.tiling import tile_starts

    ys, tile_h = tile_starts(lr.shape[0], tile, overlap)
    xs, tile_w = tile_starts(lr.shape[1], tile, overlap)
    border = np.zeros(error.shape, bool)
    for y in ys[1:]:
        border[y * scale: (y + overlap) * scale] = True
    for x in xs[1:]:
        border[:, x * scale: (x + overlap) * scale] = True
    assert border.mean() < 0.6
    assert error[border].mean() <= error[~border].mean() * 1.05, (error[border].mean(), error[~border].mean())
    # and no step: the largest jump between neighbouring HR columns is no larger than inside the tiles
    steps = np.abs(np.diff(out, axis=1)).mean(axis=(0, 2))
    assert steps.max() <= np.abs(np.diff(hr, axis=1)).mean(axis=(0, 2)).max() + 40.0 / (overlap * scale / 2) + 1


def test_class_tile_sets_split_real_training_photos():
    from sr_keras.data import embedded_photos

    sets = class_tile_sets(embedded_photos("train", scale=4), tile=32, overlap=8)
    assert set(sets) == {0, 1, 2}
    for k, tiles in sets.items():
        assert tiles.lr.shape[1:] == (32, 32, 3) and tiles.hr.shape[1:] == (128, 128, 3)
        assert (classify(tiles.tvat) == k).all()
        hr = tiles.hr[0].astype("float32")
        remade = np.clip(np.round(imresize(hr, scale=0.25).numpy()), 0, 255)  # the stored LR is uint8
        np.testing.assert_allclose(remade[4:-4, 4:-4],
                                   tiles.lr[0].astype("float32")[4:-4, 4:-4], atol=1.0)  # aligned pairs


def test_default_boundaries_split_real_training_tiles_into_thirds():
    """The seed's fixed boundaries (2, 4) split the embedded photos' tiles unevenly; the calibrated default
    gives the equal thirds docs/training.md promises."""
    from sr_keras.data import embedded_photos
    from sr_keras.mmsr.tiles import cut_tiles
    from sr_keras.mmsr.training import equal_boundaries

    _, _, values = cut_tiles(embedded_photos("train", scale=4), 32, 8, 4.0)
    fixed = np.bincount(classify(values, (2.0, 4.0)), minlength=3) / len(values)
    assert fixed.max() - fixed.min() > 0.2, fixed  # what the fixed boundaries do here (42 / 9 / 48 %)
    calibrated = np.bincount(classify(values, equal_boundaries(values, 3)), minlength=3)
    assert calibrated.max() - calibrated.min() <= 1, calibrated


def test_mmsr_train_then_upscale_command_lines(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    model_dir = tmp_path / "mmsr"
    train = launch.run(
        [sys.executable, "-m", "sr_keras.mmsr", "train", f"--model_dir={model_dir}", "--steps=6",
         "--num_filters=8", "--discriminator_filters=8", "--content_loss=mse", "--batch_size=2", "--crop_size=8",
         "--mmsr_tile=16", "--mmsr_overlap=4", "--mmsr_depths=1-2,1-2,2-3", "--max_eval_images=1",
         "--eval_every=100"], capture_output=True, text=True, timeout=wall_clock_limit(600), env=env)
    assert train.returncode == 0, train.stderr[-3000:]
    manifest = json.loads((model_dir / "mmsr.json").read_text())
    assert sorted(manifest["models"]) == ["0", "1", "2"] and manifest["tile"] == 16
    assert sum(manifest["steps_per_class"].values()) in (5, 6, 7)
    # no --mmsr_boundaries: calibrated on the training tiles (every class gets tiles), and said so
    assert all(n > 0 for n in manifest["tiles_per_class"].values()), manifest["tiles_per_class"]
    assert manifest["boundaries"] != [2.0, 4.0] and "calibrated on the training tiles" in train.stderr
    config = json.loads((model_dir / "class_2" / "config.json").read_text())
    assert config["num_res_blocks"] == 2 and config["discriminator_layers"] == 3
    assert json.loads((model_dir / "class_2" / "mmsr_class.json").read_text())["mmsr_class"] == 2
    photo = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()[:40, :60]).save(photo)
    out = tmp_path / "out"
    upscale = launch.run([sys.executable, "-m", "sr_keras.upscale", f"--mmsr_dir={model_dir}",
                          f"--output_dir={out}", str(photo)], capture_output=True, text=True,
                         timeout=wall_clock_limit(300), env=env)
    assert upscale.returncode == 0, upscale.stderr[-3000:]
    assert np.asarray(Image.open(out / "cat_x4.png")).shape == (160, 240, 3)
