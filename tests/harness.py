"""Shared checks for custom layers and whole models, after keras-hub's `TestCase.run_layer_test` and
`run_model_saving_test` (keras_hub/src/tests/test_case.py), as plain functions.

`run_layer_test` checks the custom-layer contract every layer of `sr_keras.layers` keeps: its config revives it,
a `.keras` file of a model around it loads with the default `safe_mode` and computes the same, its output has the
shape it declares, and it works under the dtype policies training uses. `run_model_test` checks a whole model's
`.keras` file and config. The tests of each layer's numerics (against its paper or PyTorch) stay in its own file.
"""
import copy
import json

import keras
import numpy as np

import sr_keras.layers  # noqa: F401  (registers the custom layers, which loading a `.keras` file needs)
import sr_keras.models  # noqa: F401  (registers SRGenerator, the generators' model class)

# The mixed policies training sets (`sr_keras.training.build`: float16 on a GPU, bfloat16 on a CPU); float32, the
# default, is the policy of the layer every other check runs on.
POLICIES = ("mixed_float16", "mixed_bfloat16")
# How far an output computed in a policy's compute dtype may be from the float32 one, relative to the largest
# float32 value: a few steps of float16's 11 and bfloat16's 8 significant bits.
MIXED_TOLERANCE = {"float16": 1e-2, "bfloat16": 5e-2}


def run_layer_test(layer_cls, init_kwargs, input_data, tmp_path, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None, policies=POLICIES):
    """Checks `layer_cls(**init_kwargs)` on `input_data` (an array, or a list of arrays for several inputs):

    - config: every constructor argument is in `get_config()`, and `from_config` of it gives the same config,
      before and after building;
    - file: a model around the layer, called once in training mode (state such as `SpectralNorm`'s u moves),
      saved to `.keras` and loaded with `keras.saving.load_model` gives the same output, and the loaded layer
      has the same class, config and weights;
    - shape: the output and `compute_output_shape` are `expected_output_shape` (batch included), when given;
    - weights: the numbers of trainable and non-trainable weights, when given;
    - policies: under float32 and each of `policies` the layer builds and runs, its variables are float32, its
      output has the policy's compute dtype and, with the float32 layer's weights, the float32 output to the
      compute dtype's precision.

    Trainable weights are set to random values first: a weight that starts at zero or at a value derived from
    another (a bias, SAGAN's gamma, weight norm's g) and got lost on the way would not show otherwise.

    Args:
        init_kwargs: the constructor's arguments, or a function returning them (needed when an argument is a
            layer, which belongs to one owner only).

    Returns:
        The layer (float32, built, with the random weights).
    """
    assert keras.config.dtype_policy().name == "float32", "run_layer_test starts from the float32 policy"
    keras.utils.set_random_seed(0)
    layer = layer_cls(**_arguments(init_kwargs))
    assert set(_arguments(init_kwargs)) <= set(layer.get_config()), "a constructor argument is not in the config"
    _check_config(layer)
    several = isinstance(input_data, (list, tuple))
    inputs = [keras.Input(x.shape[1:]) for x in input_data] if several else keras.Input(input_data.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    _check_config(layer)
    rng = np.random.default_rng(0)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape).astype("float32"))
    model(input_data, training=True)
    output = model(input_data)
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    assert {w.dtype for w in layer.weights} <= {"float32"}
    output = keras.ops.convert_to_numpy(output)

    path = tmp_path / f"{layer_cls.__name__}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    revived = loaded.layers[-1]
    assert type(revived) is layer_cls and _as_json(revived.get_config()) == _as_json(layer.get_config())
    _assert_same_weights(layer, revived)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(input_data)), output, rtol=1e-6, atol=1e-6)

    if expected_output_shape is not None:
        assert output.shape == tuple(expected_output_shape)
        assert tuple(layer.compute_output_shape(_shapes(input_data))) == tuple(expected_output_shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    for policy in policies:
        _check_policy(layer, init_kwargs, input_data, output, policy)
    return layer


def run_model_test(model, input_data, tmp_path, rtol=1e-5, atol=1e-5):
    """Checks a whole model: saved to `tmp_path / "<model name>.keras"` and loaded back with
    `keras.saving.load_model` (safe_mode on) it is the same class with the same config, weights and output.

    Loading revives the model through its class's `from_config` (the path `keras.models.model_from_json` takes
    too), so the equal config is the config round trip.

    Returns:
        The loaded model.
    """
    expected = keras.ops.convert_to_numpy(model(input_data, training=False))
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert _as_json(loaded.get_config()) == _as_json(model.get_config())
    _assert_same_weights(model, loaded)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(input_data, training=False)), expected,
                               rtol=rtol, atol=atol)
    return loaded


def _arguments(init_kwargs):
    return init_kwargs() if callable(init_kwargs) else dict(init_kwargs)


def _as_json(config):
    """`config` as read back from a file: tuples are lists there."""
    return json.loads(json.dumps(config))


def _shapes(input_data):
    if isinstance(input_data, (list, tuple)):
        return [tuple(x.shape) for x in input_data]
    return tuple(input_data.shape)


def _check_config(layer):
    config = layer.get_config()
    revived = type(layer).from_config(copy.deepcopy(config))  # a wrapper's from_config pops from its argument
    assert _settings(revived.get_config()) == _settings(config)


def _settings(config):
    """`config` without the `build_config` of nested layers: how a layer was built is not one of its settings
    (a revived wrapper builds its layer when it is itself built, in its own name scope)."""
    if isinstance(config, dict):
        return {key: _settings(value) for key, value in config.items() if key != "build_config"}
    if isinstance(config, (list, tuple)):
        return type(config)(_settings(value) for value in config)
    return config


def _assert_same_weights(expected, actual):
    assert [w.path for w in actual.weights] == [w.path for w in expected.weights]
    for want, got in zip(expected.weights, actual.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want))


def _check_policy(layer, init_kwargs, input_data, reference, policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        other = type(layer)(**_arguments(init_kwargs))
        other.build(_shapes(input_data))
        other.set_weights(layer.get_weights())
        output = other(input_data)
    finally:
        keras.config.set_dtype_policy(previous)
    compute_dtype = keras.dtype_policies.get(policy).compute_dtype
    assert other.compute_dtype == compute_dtype
    assert {w.dtype for w in other.weights} <= {"float32"}, f"{policy}: variables are not float32"
    assert keras.backend.standardize_dtype(output.dtype) == compute_dtype, f"{policy}: output is {output.dtype}"
    output = keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))
    assert np.isfinite(output).all(), f"{policy}: output is not finite"
    np.testing.assert_allclose(output, reference, rtol=0,
                               atol=MIXED_TOLERANCE[compute_dtype] * max(np.abs(reference).max(), 1.0),
                               err_msg=f"{policy}: output differs from float32")
