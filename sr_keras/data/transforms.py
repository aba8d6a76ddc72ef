"""Aligned random crops and the 8 dihedral transforms (flips and 90-degree rotations), as TensorFlow ops.

Randomness is stateless: every random choice takes an explicit seed tensor of shape [2], so a pipeline built
with a seed gives the same crops in every run.
"""
import tensorflow as tf

NUM_DIHEDRAL = 8


def dihedral(images, k):
    """The k-th of the 8 dihedral transforms: rotate by 90 degrees (k mod 4) times, then mirror if k >= 4.

    Args:
        images: [H, W, C] or [B, H, W, C].
        k: int or int32 scalar tensor in [0, 8).
    """
    k = tf.convert_to_tensor(k, tf.int32)
    rotated = tf.image.rot90(images, k % 4)
    return tf.cond(k >= 4, lambda: tf.image.flip_left_right(rotated), lambda: rotated)


def inverse_dihedral(images, k):
    """Undoes `dihedral(images, k)`."""
    k = tf.convert_to_tensor(k, tf.int32)
    unflipped = tf.cond(k >= 4, lambda: tf.image.flip_left_right(images), lambda: images)
    return tf.image.rot90(unflipped, (4 - k % 4) % 4)


def random_crop_pair(lr, hr, crop_size, scale, seed):
    """An aligned crop: `crop_size` x `crop_size` LR pixels and the HR region `scale` times as large.

    Args:
        lr: [h, w, C] with h, w >= crop_size.
        hr: [h * scale, w * scale, C] (at least).
        crop_size: LR crop side.
        scale: integer SR factor.
        seed: int tensor of shape [2].
    """
    shape = tf.shape(lr)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
    top = tf.random.stateless_uniform([], seeds[0], minval=0, maxval=shape[0] - crop_size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[1], minval=0, maxval=shape[1] - crop_size + 1, dtype=tf.int32)
    lr_crop = lr[top: top + crop_size, left: left + crop_size]
    hr_size = crop_size * scale
    hr_crop = hr[top * scale: top * scale + hr_size, left * scale: left * scale + hr_size]
    lr_crop.set_shape([crop_size, crop_size, lr.shape[-1]])
    hr_crop.set_shape([hr_size, hr_size, hr.shape[-1]])
    return lr_crop, hr_crop


def random_dihedral_pair(lr, hr, seed):
    """Applies one random dihedral transform, the same to `lr` and `hr`; returns (lr, hr, k)."""
    k = tf.random.stateless_uniform([], tf.cast(seed, tf.int64), minval=0, maxval=NUM_DIHEDRAL, dtype=tf.int32)
    return dihedral(lr, k), dihedral(hr, k), k
