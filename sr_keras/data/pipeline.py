"""tf.data pipelines: training batches of aligned LR/HR crops, and whole-image evaluation pairs.

    >>> from sr_keras.data import embedded_photos, training_dataset
    >>> train = training_dataset(embedded_photos("train", scale=4), crop_size=48, batch_size=16, seed=0)
    >>> lr, hr = next(iter(train))    # [16, 48, 48, 3] and [16, 192, 192, 3], float32 in [0, 255]
"""
import itertools
import warnings

import tensorflow as tf

from sr_keras.checks import positive_int
from sr_keras.data import transforms
from sr_keras.data.io import DataError


def _drop_small_images(source, crop_size):
    """Leaves out (with a warning naming them) the images whose LR side is below `crop_size`."""
    sizes = getattr(source, "lr_sizes", ())
    if not sizes:
        return source
    keep = [i for i, (h, w) in enumerate(sizes) if h >= crop_size and w >= crop_size]
    if not keep:
        largest = max(sizes, key=lambda hw: min(hw))
        raise DataError(f"crop_size {crop_size} (LR pixels) is larger than every image of {source.name}: the "
                        f"largest LR image is {largest[1]}x{largest[0]}; use a smaller --crop_size")
    if len(keep) < len(sizes):
        skipped = [source.hr_paths[i] for i in range(len(sizes)) if i not in set(keep)]
        warnings.warn(f"{len(skipped)} image(s) of {source.name} are smaller than the {crop_size}px LR crop and "
                      f"are skipped: {', '.join(skipped)}", stacklevel=3)
        source = source.select(keep)
    return source


def training_dataset(source, crop_size, batch_size, seed=None, augment=True, cache=False, crops_per_image=1,
                     repeat=True, input_context=None, num_parallel_calls=tf.data.AUTOTUNE):
    """Batches of aligned random LR/HR crops for training.

    Pipeline: shuffle the files, decode (LR made with MATLAB bicubic when the source has none), optionally
    cache the decoded images in memory, repeat, take `crops_per_image` aligned random crops of `crop_size`
    LR pixels per visit (HR crop = crop_size * scale), apply one of the 8 dihedral transforms identically to
    LR and HR, batch with drop_remainder, prefetch. With a `seed`, every run yields the same batches.

    Args:
        source: an `ImageSet` (or anything with `scale`, `name` and `images(shuffle, seed)`).
        crop_size: LR crop side in pixels (the seeds use 24, 48, 72, 96).
        batch_size: the global batch size; with `input_context` each input pipeline yields the per-replica
            share.
        seed: integer seed for shuffling, crops and transforms; None for a random stream.
        augment: apply the random dihedral transforms.
        cache: keep the decoded images (and generated LR) in memory after the first epoch. Nothing is written
            to disk.
        crops_per_image: crops taken from each decoded image per visit (amortises decoding of large images).
        repeat: repeat forever (training) or stop after one pass.
        input_context: a `tf.distribute.InputContext` (from `strategy.distribute_datasets_from_function`):
            shards the images across input pipelines and sets the per-replica batch.
        num_parallel_calls: parallelism of decoding and cropping.

    Returns:
        tf.data.Dataset of (lr [B, c, c, 3], hr [B, c*s, c*s, 3]) float32 in [0, 255].

    Raises:
        DataError: every image is smaller than the crop.
        ValueError: bad arguments, or a batch size not divisible by the number of replicas.
    """
    crop_size = positive_int(crop_size, "crop_size")
    batch_size = positive_int(batch_size, "batch_size")
    crops_per_image = positive_int(crops_per_image, "crops_per_image")
    scale = source.scale
    source = _drop_small_images(source, crop_size)
    pipeline_seed = seed
    if input_context is not None:
        if batch_size % input_context.num_replicas_in_sync:
            raise ValueError(f"global batch size {batch_size} is not divisible by the "
                             f"{input_context.num_replicas_in_sync} replicas")
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        pipelines, index = input_context.num_input_pipelines, input_context.input_pipeline_id
        if pipelines > 1:
            if seed is not None:
                pipeline_seed = seed + 1000003 * index
            if hasattr(source, "shard") and len(source) >= pipelines:
                source = source.shard(pipelines, index)
    if cache:
        images = source.images(shuffle=False, num_parallel_calls=num_parallel_calls).cache()
        images = images.shuffle(max(1, len(source)), seed=pipeline_seed, reshuffle_each_iteration=True)
    else:
        images = source.images(shuffle=True, seed=pipeline_seed, num_parallel_calls=num_parallel_calls)
    if input_context is not None and input_context.num_input_pipelines > 1 and not (
            hasattr(source, "shard") and len(source) >= input_context.num_input_pipelines):
        images = images.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if not getattr(source, "lr_sizes", ()):  # sizes unknown up front (tensorflow-datasets): filter in the graph
        images = images.filter(lambda item: _large_enough(item, crop_size))
    if repeat:
        images = images.repeat()
    if crops_per_image > 1:
        images = images.flat_map(lambda item: tf.data.Dataset.from_tensors(item).repeat(crops_per_image))
    base_seed = tf.constant(0 if pipeline_seed is None else pipeline_seed, tf.int64)
    random_base = pipeline_seed is None

    def crop(index, item):
        seed_index = tf.stack([base_seed, index])
        if random_base:
            seed_index = tf.random.uniform([2], maxval=2 ** 62, dtype=tf.int64)
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed_index, 2))
        lr, hr = transforms.random_crop_pair(item["lr"], item["hr"], crop_size, scale, crop_seed)
        if augment:
            lr, hr, _ = transforms.random_dihedral_pair(lr, hr, flip_seed)
        return lr, hr

    crops = images.enumerate().map(crop, num_parallel_calls=num_parallel_calls, deterministic=True)
    if crops_per_image > 1:
        crops = crops.shuffle(4 * batch_size * crops_per_image, seed=pipeline_seed)
    return crops.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _large_enough(item, crop_size):
    shape = tf.shape(item["lr"])
    ok = tf.logical_and(shape[0] >= crop_size, shape[1] >= crop_size)
    if not ok:
        tf.print("warning: an image smaller than the", crop_size, "px LR crop is skipped:", item["path"],
                 output_stream="file://stderr")
    return ok


def distributed_training_dataset(strategy, source, crop_size, global_batch_size, **kwargs):
    """`training_dataset` distributed with `strategy.distribute_datasets_from_function` (sharded input,
    per-replica batches of global_batch_size / replicas)."""
    return strategy.distribute_datasets_from_function(
        lambda context: training_dataset(source, crop_size, global_batch_size, input_context=context, **kwargs))


def evaluation_dataset(source):
    """Whole images for validation: a tf.data.Dataset of {"lr", "hr", "path"}, one image each, in file order."""
    return source.images(shuffle=False)


def interleave_scales(datasets):
    """MDSR training: cycles through the scales, one whole batch of one scale at a time.

    Args:
        datasets: {scale: training dataset of that scale} (e.g. from `training_dataset`).

    Yields:
        (scale, lr, hr) with scales in ascending order, round robin.
    """
    if not datasets:
        raise ValueError("interleave_scales needs at least one scale")
    iterators = {scale: iter(datasets[scale]) for scale in sorted(datasets)}
    for scale in itertools.cycle(sorted(iterators)):
        try:
            lr, hr = next(iterators[scale])
        except StopIteration:
            return
        yield scale, lr, hr
