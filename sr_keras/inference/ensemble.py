"""Geometric self-ensemble (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution",
CVPRW 2017, section 4.3, the "+" models): the average of the outputs for the 8 flips/rotations of the input,
each transformed back."""
import numpy as np

from sr_keras.data.transforms import NUM_DIHEDRAL, dihedral, inverse_dihedral

__all__ = ["self_ensemble"]


def self_ensemble(fn, lr):
    """Mean over k of `inverse_dihedral(fn(dihedral(lr, k)), k)` for the 8 dihedral transforms k.

    Args:
        fn: function from a float32 numpy [h, w, 3] image to a [s*h, s*w, 3] numpy array or tensor. It is
            called 8 times, on transposed images for the odd rotations (h and w swapped).
        lr: float32 numpy array or tensor [H, W, 3].

    Returns:
        float32 numpy [s*H, s*W, 3], the average of the 8 outputs (accumulated in float64).
    """
    total = None
    for k in range(NUM_DIHEDRAL):
        transformed = np.asarray(dihedral(lr, k), dtype="float32")
        restored = np.asarray(inverse_dihedral(fn(transformed), k), dtype="float64")
        total = restored if total is None else total + restored
    return (total / NUM_DIHEDRAL).astype("float32")
