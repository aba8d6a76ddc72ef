"""Models that compute in float32 whatever policy trained them.

Training with mixed precision (`keras.mixed_precision.set_global_policy("mixed_bfloat16")`) builds layers that
compute in bfloat16 (or float16) and store float32 weights, and their `.keras` files record that policy: a
loaded model keeps computing in bfloat16, which keeps about 8 significant bits and costs up to 0.7 dB on smooth
photos against the same weights in float32. Every model the package saves or validates goes through
`float32_copy` first.
"""
import keras

from sr_keras.layers import iter_layers


def compute_dtypes(model):
    """The set of compute dtypes of every layer of `model` (nested layers included)."""
    return {layer.dtype_policy.compute_dtype for layer, _ in iter_layers(model)
            if getattr(layer, "dtype_policy", None) is not None}


def _force_policy(node, policy):
    if isinstance(node, dict):
        if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(node.get("config"), dict):
            node["config"]["name"] = policy
        for value in node.values():
            _force_policy(value, policy)
    elif isinstance(node, list):
        for value in node:
            _force_policy(value, policy)


def policy_copy(model, policy):
    """A copy of `model` whose every layer has the dtype policy `policy` ("float32", "mixed_bfloat16", ...),
    with the same weights.

    The copy is rebuilt from the model's own serialised config with every dtype policy replaced (the weights
    are float32 under the mixed policies, so they are copied unchanged).
    """
    serialized = keras.saving.serialize_keras_object(model)
    _force_policy(serialized, policy)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        copy = keras.saving.deserialize_keras_object(serialized)
    finally:
        keras.config.set_dtype_policy(previous)
    copy.set_weights(model.get_weights())
    return copy


def float32_copy(model, always_copy=False):
    """`model` itself if every layer computes in float32 (unless `always_copy`), else a float32 copy with the same
    weights.

    The copy is `policy_copy(model, "float32")`.
    """
    if compute_dtypes(model) <= {"float32"} and not always_copy:
        return model
    copy = policy_copy(model, "float32")
    leftover = compute_dtypes(copy) - {"float32"}
    if leftover:
        raise RuntimeError(f"{model.name}: layers still compute in {sorted(leftover)} after the float32 copy")
    return copy
