import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sr_keras.data import (DataError, embedded_photos, hr_folder, imresize, interleave_scales, training_dataset)
from sr_keras.data.pipeline import distributed_training_dataset
from sr_keras.data.transforms import NUM_DIHEDRAL, dihedral, inverse_dihedral, random_dihedral_pair


@pytest.fixture(scope="module")
def train_x4():
    return embedded_photos("train", scale=4)


def test_batches_have_the_requested_shapes(train_x4):
    lr, hr = next(iter(training_dataset(train_x4, crop_size=24, batch_size=5, seed=1)))
    assert lr.shape == (5, 24, 24, 3) and hr.shape == (5, 96, 96, 3)
    assert lr.dtype == tf.float32 and 0 <= float(tf.reduce_min(hr)) and float(tf.reduce_max(hr)) <= 255


@pytest.mark.parametrize("quantize", [True, False])
def test_every_training_pair_is_aligned(train_x4, quantize):
    """LR made by MATLAB bicubic from the whole HR image: imresize(hr_crop) equals lr_crop off the crop border
    (to float error; by default LR is on the uint8 grid, so within half a level of the float value)."""
    source = dataclasses.replace(train_x4, quantize_lr=quantize)
    dataset = training_dataset(source, crop_size=16, batch_size=8, seed=3, augment=True)
    margin = 3  # LR pixels: the x4 antialiasing kernel reaches 2 LR pixels; beyond that the crop border is invisible
    for lr, hr in dataset.take(4):
        remade = imresize(hr, scale=0.25).numpy()
        assert remade.shape == lr.shape
        interior = (slice(None), slice(margin, -margin), slice(margin, -margin))
        expected = np.clip(remade, 0, 255) if quantize else remade
        np.testing.assert_allclose(expected[interior], lr.numpy()[interior], atol=(0.5 if quantize else 0) + 2e-2)
        if quantize:  # MATLAB's uint8 LR: integers in [0, 255]
            assert (lr.numpy() == np.round(lr.numpy())).all() and lr.numpy().min() >= 0 and lr.numpy().max() <= 255
        else:
            assert (lr.numpy() != np.round(lr.numpy())).any()


def test_the_same_seed_gives_the_same_batches(train_x4):
    def batches(seed):
        return [hr.numpy() for _, hr in training_dataset(train_x4, 16, 4, seed=seed, cache=True).take(3)]

    first, second, other = batches(7), batches(7), batches(8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_dihedral_transforms_are_uniform_and_identical_on_lr_and_hr():
    lr = tf.reshape(tf.range(2 * 3 * 1, dtype=tf.float32), [2, 3, 1])
    hr = tf.image.resize(lr, [4, 6], method="nearest")
    variants = [dihedral(lr, k).numpy() for k in range(NUM_DIHEDRAL)]
    assert len({v.tobytes() + str(v.shape).encode() for v in variants}) == 8

    @tf.function
    def draw(seed):
        out_lr, out_hr, k = random_dihedral_pair(lr, hr, tf.stack([tf.constant(5, tf.int64), seed]))
        return out_lr, out_hr, k

    counts = np.zeros(NUM_DIHEDRAL)
    for i in range(4000):
        out_lr, out_hr, k = draw(tf.constant(i, tf.int64))
        k = int(k)
        counts[k] += 1
        if i < 200:  # identify the transform from the output itself: the same k on LR and HR
            np.testing.assert_array_equal(out_lr.numpy(), variants[k])
            np.testing.assert_array_equal(out_hr.numpy(), dihedral(hr, k).numpy())
    np.testing.assert_allclose(counts / 4000, 1 / 8, atol=0.03)
    for k in range(NUM_DIHEDRAL):
        np.testing.assert_array_equal(inverse_dihedral(dihedral(hr, k), k).numpy(), hr.numpy())


def test_pipeline_applies_all_transforms(train_x4):
    """Crops of the pipeline, with augmentation on, come out rotated/flipped: not all upright."""
    plain = [hr.numpy() for _, hr in training_dataset(train_x4, 8, 64, seed=2, augment=False).take(1)][0]
    mixed = [hr.numpy() for _, hr in training_dataset(train_x4, 8, 64, seed=2, augment=True).take(1)][0]
    same = sum(np.array_equal(a, b) for a, b in zip(plain, mixed))
    assert 0 < same < 64  # the identity transform is drawn about 1 time in 8


def test_small_images_are_skipped_with_a_warning(tmp_path, photos):
    Image.fromarray(photos["coffee"][:200, :200]).save(tmp_path / "big.png")
    Image.fromarray(photos["coffee"][:40, :60]).save(tmp_path / "small.png")
    source = hr_folder(tmp_path, scale=2)
    with pytest.warns(UserWarning, match="smaller than the 32px LR crop .*small.png"):
        lr, _ = next(iter(training_dataset(source, crop_size=32, batch_size=2, seed=0)))
    assert lr.shape == (2, 32, 32, 3)
    with pytest.raises(DataError, match="crop_size 200 .* larger than every image .* largest LR image is 100x100"):
        training_dataset(source, crop_size=200, batch_size=2)


def test_bad_arguments_are_rejected(train_x4):
    with pytest.raises(ValueError, match="crop_size must be a positive integer"):
        training_dataset(train_x4, crop_size=0, batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        training_dataset(train_x4, crop_size=8, batch_size=2.5)


def test_crops_per_image_and_single_pass(train_x4):
    batches = list(training_dataset(train_x4, 8, 3, seed=0, repeat=False, crops_per_image=2))
    assert len(batches) == (len(train_x4) * 2) // 3


def test_mdsr_batches_hold_one_scale_each_cycling():
    datasets = {s: training_dataset(embedded_photos("train", scale=s), 12, 2, seed=s) for s in (2, 3, 4)}
    seen = []
    for scale, lr, hr in interleave_scales(datasets):
        assert hr.shape == (2, 12 * scale, 12 * scale, 3) and lr.shape == (2, 12, 12, 3)
        seen.append(scale)
        if len(seen) == 7:
            break
    assert seen == [2, 3, 4, 2, 3, 4, 2]


def test_distribute_datasets_from_function_gives_per_replica_batches(train_x4, mirrored):
    strategy = mirrored
    dataset = distributed_training_dataset(strategy, train_x4, 8, global_batch_size=6, seed=0)
    lr, hr = next(iter(dataset))
    local = strategy.experimental_local_results(lr)
    assert len(local) == 2 and all(t.shape == (3, 8, 8, 3) for t in local)
    assert strategy.experimental_local_results(hr)[0].shape == (3, 32, 32, 3)
    with pytest.raises(ValueError, match="not divisible by the 2 replicas"):
        next(iter(distributed_training_dataset(strategy, train_x4, 8, global_batch_size=5)))


def test_input_context_shards_images_between_pipelines(train_x4):
    contexts = [tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=i, num_replicas_in_sync=2)
                for i in range(2)]
    paths = []
    for context in contexts:
        data = training_dataset(train_x4, 8, 2, seed=0, input_context=context)
        assert next(iter(data))[0].shape == (1, 8, 8, 3)
    for i in range(2):
        paths.append(set(train_x4.shard(2, i).hr_paths))
    assert not paths[0] & paths[1] and len(paths[0] | paths[1]) == len(train_x4)
