"""tf.data pipelines: training batches of aligned LR/HR crops, and whole-image evaluation pairs.

    >>> from sr_keras.data import embedded_photos, training_dataset
    >>> train = training_dataset(embedded_photos("train", scale=4), crop_size=48, batch_size=16, seed=0)
    >>> lr, hr = next(iter(train))    # [16, 48, 48, 3] and [16, 192, 192, 3], float32 in [0, 255]

The functions the pipelines trace (here, in `folders`, `div2k`, `degrade`, `realesrgan`, ...) use TensorFlow's
control flow explicitly (`tf.cond`, `tf.while_loop`, `tf.where`); their Python `if`s and loops test Python values
only. They skip AutoGraph (`do_not_convert`), whose rewriting of their source changed nothing and cost 4.8 s of a
tiny training command's start (12.7 s with the Real-ESRGAN degradations) on the 2-core test machine.
"""
import itertools
import warnings

import tensorflow as tf

from sr_keras.checks import integer, positive_int
from sr_keras.data import realesrgan, transforms
from sr_keras.data.io import DataError

DEGRADATIONS = ("bicubic", "realesrgan", "bsrgan")
# Real-ESRGAN's first resize may shrink the HR crop to 0.15 of its side, and its blur pads by 10 pixels by
# reflection, which needs more than 10 pixels: the HR crop must be at least 74 pixels and the LR crop 11.
MIN_REALESRGAN_HR_CROP = 74
MIN_REALESRGAN_LR_CROP = 11


def drop_small_images(source, crop_size):
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


def degradation_settings(degradation):
    """None for "bicubic" (or None), `RealESRGANSettings` for "realesrgan" (or the settings given), "bsrgan"."""
    if degradation is None or degradation == "bicubic":
        return None
    if isinstance(degradation, realesrgan.RealESRGANSettings):
        return degradation
    if degradation == "realesrgan":
        return realesrgan.RealESRGANSettings()
    if degradation == "bsrgan":
        return "bsrgan"
    raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)} or a RealESRGANSettings, "
                     f"got {degradation!r}")


def check_degradation_crop(degradation, crop_size, scale):
    """Raises ValueError when `crop_size` LR pixels are too few for `degradation` at `scale`."""
    if degradation_settings(degradation) is None:
        return
    if degradation_settings(degradation) == "bsrgan":
        from sr_keras.data import bsrgan

        minimum = bsrgan.min_hr_crop(scale)
        if crop_size * scale < minimum:
            raise ValueError(f"the bsrgan degradation needs HR crops of at least {minimum} pixels at x{scale}: "
                             f"use a crop_size of at least {-(-minimum // scale)}")
        return
    if crop_size * scale < MIN_REALESRGAN_HR_CROP or crop_size < MIN_REALESRGAN_LR_CROP:
        needed = max(MIN_REALESRGAN_LR_CROP, -(-MIN_REALESRGAN_HR_CROP // scale))
        raise ValueError(f"the realesrgan degradation needs HR crops of at least {MIN_REALESRGAN_HR_CROP} pixels "
                         f"and LR crops of at least {MIN_REALESRGAN_LR_CROP}: use a crop_size of at least {needed} "
                         f"at x{scale}")


def training_dataset(source, crop_size, batch_size, seed=None, augment=True, cache=False, crops_per_image=1,
                     repeat=True, input_context=None, num_parallel_calls=tf.data.AUTOTUNE, degradation=None,
                     pair_pool=0, usm=False):
    """Batches of aligned random LR/HR crops for training.

    Pipeline: shuffle the files, decode (LR made with MATLAB bicubic when the source has none), optionally
    cache the decoded images in memory, repeat, take `crops_per_image` aligned random crops of `crop_size`
    LR pixels per visit (HR crop = crop_size * scale), apply one of the 8 dihedral transforms identically to
    LR and HR, batch with drop_remainder, prefetch. With a `seed`, every run yields the same batches.

    With a real-world `degradation` the LR crops are made from the HR crops instead: "realesrgan" degrades each
    batch with Real-ESRGAN's second-order model (`sr_keras.data.realesrgan`, per-image and per-batch draws as
    the original), "bsrgan" each crop with BSRGAN's shuffled model (`sr_keras.data.bsrgan`). Both run as graph
    ops inside the pipeline, seeded from `seed` and the batch (or crop) index.

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
        degradation: "bicubic" or None (the source's LR), "realesrgan", a `RealESRGANSettings`, or "bsrgan".
        pair_pool: Real-ESRGAN's training-pair pool (``queue_size``, 180 in its recipes): once this many pairs
            are held, each batch is swapped into a shuffled pool and a batch of older pairs comes out, mixing
            batch-level draws across batches. 0 = off. A multiple of the (per-replica) batch size.
        usm: "realesrgan" degrades the USM-sharpened HR (Real-ESRGAN's ``gt_usm``); the HR yielded stays plain.

    Returns:
        tf.data.Dataset of (lr [B, c, c, 3], hr [B, c*s, c*s, 3]) float32 in [0, 255].

    Raises:
        DataError: every image is smaller than the crop.
        ValueError: bad arguments, or a batch size not divisible by the number of replicas.
    """
    crop_size = positive_int(crop_size, "crop_size")
    batch_size = positive_int(batch_size, "batch_size")
    crops_per_image = positive_int(crops_per_image, "crops_per_image")
    pair_pool = integer(pair_pool, "pair_pool", minimum=0)
    scale = source.scale
    settings = degradation_settings(degradation)
    check_degradation_crop(degradation, crop_size, scale)
    source = drop_small_images(source, crop_size)
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
    if pair_pool % batch_size:
        raise ValueError(f"pair_pool {pair_pool} must be a multiple of the batch size {batch_size} (per replica), "
                         "as in Real-ESRGAN (180 with batches of 12)")
    if pair_pool and settings is None:
        raise ValueError("pair_pool applies to the real-world degradations (realesrgan, bsrgan), not bicubic")
    if cache:
        images = source.images(shuffle=False, num_parallel_calls=num_parallel_calls).cache()
        images = images.shuffle(max(1, len(source)), seed=pipeline_seed, reshuffle_each_iteration=True)
    else:
        images = source.images(shuffle=True, seed=pipeline_seed, num_parallel_calls=num_parallel_calls)
    if input_context is not None and input_context.num_input_pipelines > 1 and not (
            hasattr(source, "shard") and len(source) >= input_context.num_input_pipelines):
        images = images.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if not getattr(source, "lr_sizes", ()):  # sizes unknown up front (tensorflow-datasets): filter in the graph
        large_enough = tf.autograph.experimental.do_not_convert(lambda item: _large_enough(item, crop_size))
        images = images.filter(large_enough)
    if repeat:
        images = images.repeat()
    if crops_per_image > 1:
        images = images.flat_map(lambda item: tf.data.Dataset.from_tensors(item).repeat(crops_per_image))
    base_seed = tf.constant(0 if pipeline_seed is None else pipeline_seed, tf.int64)
    random_base = pipeline_seed is None

    @tf.autograph.experimental.do_not_convert
    def crop(index, item):
        seed_index = tf.stack([base_seed, index])
        if random_base:
            seed_index = tf.random.uniform([2], maxval=2 ** 62, dtype=tf.int64)
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed_index, 2))
        lr, hr = transforms.random_crop_pair(item["lr"], item["hr"], crop_size, scale, crop_seed)
        if augment:
            lr, hr, _ = transforms.random_dihedral_pair(lr, hr, flip_seed)
        if settings == "bsrgan":
            from sr_keras.data import bsrgan

            degrade_seed = tf.random.experimental.stateless_split(seed_index, 3)[2]
            lr = bsrgan.degrade_image(hr, scale, degrade_seed)
        return lr, hr

    crops = images.enumerate().map(crop, num_parallel_calls=num_parallel_calls, deterministic=True)
    if crops_per_image > 1:
        crops = crops.shuffle(4 * batch_size * crops_per_image, seed=pipeline_seed)
    batches = crops.batch(batch_size, drop_remainder=True)
    if isinstance(settings, realesrgan.RealESRGANSettings):
        batch_base = tf.constant(-1 if pipeline_seed is None else pipeline_seed, tf.int64)

        @tf.autograph.experimental.do_not_convert
        def degrade(index, lr, hr):
            del lr
            batch_seed = tf.stack([batch_base, index])
            if random_base:
                batch_seed = tf.random.uniform([2], maxval=2 ** 62, dtype=tf.int64)
            return realesrgan.degrade_batch(hr, scale, batch_seed, settings, usm=usm), hr

        batches = batches.enumerate().map(lambda index, pair: degrade(index, *pair),
                                          num_parallel_calls=num_parallel_calls, deterministic=True)
    if pair_pool:
        batches = add_pair_pool(batches, pair_pool, batch_size, seed=pipeline_seed)
    return batches.prefetch(tf.data.AUTOTUNE)


def add_pair_pool(batches, pool_size, batch_size, seed=None):
    """Real-ESRGAN's training-pair pool (``_dequeue_and_enqueue``) over a dataset of (lr, hr) batches.

    The first ``pool_size / batch_size`` batches fill the pool and pass through unchanged; from then on the pool
    is shuffled, its first `batch_size` pairs come out and the incoming batch takes their place.

    Args:
        batches: a dataset of (lr [B, h, w, C], hr [B, H, W, C]) with static shapes and B = `batch_size`.
        pool_size: a multiple of `batch_size`.
        batch_size: B.
        seed: integer seed of the shuffles (None: random).
    """
    lr_spec, hr_spec = batches.element_spec
    if lr_spec.shape[1:].num_elements() is None or hr_spec.shape[1:].num_elements() is None:
        raise ValueError("add_pair_pool needs batches of static shape")
    pool_lr = tf.zeros([pool_size] + lr_spec.shape[1:].as_list(), lr_spec.dtype)
    pool_hr = tf.zeros([pool_size] + hr_spec.shape[1:].as_list(), hr_spec.dtype)
    base = tf.constant(-2 if seed is None else seed, tf.int64)

    @tf.autograph.experimental.do_not_convert
    def step(state, pair):
        pool_lr, pool_hr, filled, count = state
        lr, hr = pair

        def fill():
            new_lr = tf.concat([pool_lr[:filled], lr, pool_lr[filled + batch_size:]], 0)
            new_hr = tf.concat([pool_hr[:filled], hr, pool_hr[filled + batch_size:]], 0)
            return new_lr, new_hr, lr, hr

        def swap():
            shuffle_seed = tf.stack([base, count])
            if seed is None:
                shuffle_seed = tf.random.uniform([2], maxval=2 ** 62, dtype=tf.int64)
            order = tf.argsort(tf.random.stateless_uniform([pool_size], shuffle_seed))
            shuffled_lr, shuffled_hr = tf.gather(pool_lr, order), tf.gather(pool_hr, order)
            new_lr = tf.concat([lr, shuffled_lr[batch_size:]], 0)
            new_hr = tf.concat([hr, shuffled_hr[batch_size:]], 0)
            return new_lr, new_hr, shuffled_lr[:batch_size], shuffled_hr[:batch_size]

        new_lr, new_hr, out_lr, out_hr = tf.cond(filled < pool_size, fill, swap)
        new_lr.set_shape(pool_lr.shape)
        new_hr.set_shape(pool_hr.shape)
        out_lr.set_shape(lr.shape)
        out_hr.set_shape(hr.shape)
        filled = tf.minimum(filled + batch_size, pool_size)
        return (new_lr, new_hr, filled, count + 1), (out_lr, out_hr)

    initial = (pool_lr, pool_hr, tf.constant(0, tf.int32), tf.constant(0, tf.int64))
    return batches.scan(initial, step)


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
