"""Tiled prediction, blending, self-ensemble and batching of `sr_keras.inference.predict`."""
import math

import keras
import numpy as np
import pytest

from sr_keras.inference import infer_scale, predict
from sr_keras.models import build_model, model_scale

LR_HEIGHT, LR_WIDTH = 61, 83  # no tile size used below divides either, nor does any stride


@pytest.fixture(scope="module")
def lr_crop():
    """A real photo crop (scikit-image's astronaut, the face and helmet), float32 RGB in [0, 255]."""
    from skimage import data

    return data.astronaut()[60:60 + LR_HEIGHT, 180:180 + LR_WIDTH].astype("float32")


@pytest.fixture(scope="module")
def edsr_models():
    keras.utils.set_random_seed(1)
    return {s: build_model("edsr_baseline", scale=s, num_filters=8, num_res_blocks=1) for s in (2, 3, 4)}


def receptive_radius(model):
    """Receptive-field radius in LR pixels, counted from the architecture: the sum of (k - 1) / 2 over the
    model's convolutions. Convolutions after a pixel shuffle (at 2x or HR resolution) are counted as a full
    LR pixel each, so this is an upper bound. Every other layer of EDSR is pointwise or a sum."""
    radius = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            radius += (layer.kernel_size[0] - 1) // 2
    return radius


def whole(model, lr):
    return np.asarray(model(lr[None], training=False))[0]


def grid(length, tile, overlap):
    """The tile grid, written out independently of the library: the fewest tiles of at most `tile` pixels
    overlapping by at least `overlap`, all of one size, spread evenly from edge to edge. Returns (starts, size)."""
    if length <= tile:
        return [0], length
    count = -(-(length - overlap) // (tile - overlap))
    size = min(tile, -(-(length + (count - 1) * overlap) // count))
    return [round(i * (length - size) / (count - 1)) for i in range(count)], size


def starts(length, tile, overlap):
    return grid(length, tile, overlap)[0]


def test_receptive_radius_counts_the_convs(edsr_models):
    # head + 2 block convs + body conv + upsampler conv(s) + tail: 6, 6 and 7 (x4 has two upsampling steps).
    assert [receptive_radius(edsr_models[s]) for s in (2, 3, 4)] == [6, 6, 7]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tiled_equals_whole_image_when_overlap_covers_the_receptive_field(edsr_models, lr_crop, scale):
    model = edsr_models[scale]
    radius = receptive_radius(model)
    overlap = 4 * radius                      # = 2 * (receptive field - 1), receptive field = 2r + 1
    tile = overlap + 12
    reference = whole(model, lr_crop)
    tiled = predict(model, lr_crop, tile=tile, overlap=overlap, batch_size=4)
    assert tiled.shape == (LR_HEIGHT * scale, LR_WIDTH * scale, 3) and tiled.dtype == np.float32
    assert len(starts(LR_HEIGHT, tile, overlap)) > 1 and len(starts(LR_WIDTH, tile, overlap)) > 2
    assert np.max(np.abs(tiled - reference)) < 1e-3
    # The property is not vacuous: with a small overlap, tiles see their own zero padding.
    small = predict(model, lr_crop, tile=tile, overlap=4, batch_size=4)
    assert np.max(np.abs(small - reference)) > 0.05


def test_whole_image_pass(edsr_models, lr_crop):
    model = edsr_models[2]
    np.testing.assert_allclose(predict(model, lr_crop), whole(model, lr_crop), atol=1e-4)
    # A tile larger than the image is one whole-image tile.
    np.testing.assert_allclose(predict(model, lr_crop, tile=100, overlap=16), whole(model, lr_crop), atol=1e-4)


def step_errors(out, reference):
    """Per pair of adjacent columns (c - 1, c): mean over rows and channels of
    |(out[:, c] - out[:, c-1]) - (ref[:, c] - ref[:, c-1])|, how much the output's step between the two
    columns departs from the whole-image output's step (a seam is a spike of this)."""
    error = out.astype("float64") - reference
    return np.mean(np.abs(np.diff(error, axis=1)), axis=(0, 2))


def global_context_model(scale=2):
    """A small real Keras model whose tiles disagree: x + conv3x3(x) + 0.5 * mean(x), then nearest upsampling.

    The local part has receptive-field radius 1 (exact with overlap >= 4); the image mean is a global term, as
    in attention layers, so every tile gets its own offset. That is the case the blend is for: no overlap
    makes tiles agree, and a hard stitch shows the offset difference as a step between two columns."""
    keras.utils.set_random_seed(2)
    lr = keras.Input((None, None, 3))
    local = keras.layers.Conv2D(3, 3, padding="same")(lr)
    context = keras.layers.Rescaling(0.5)(keras.layers.GlobalAveragePooling2D(keepdims=True)(lr))
    merged = keras.layers.Add()([lr, local, context])
    return keras.Model(lr, keras.layers.UpSampling2D(scale)(merged))


def hard_stitch(model, lr, tile, overlap, scale):
    """Each HR pixel taken from the tile whose centre is nearest (no blending), from the real tile outputs."""
    (ys, tile_h), (xs, tile_w) = grid(lr.shape[0], tile, overlap), grid(lr.shape[1], tile, overlap)
    outputs = {(y, x): whole(model, lr[y:y + tile_h, x:x + tile_w]) for y in ys for x in xs}

    def nearest(starts_, length):
        size = tile_h if length == lr.shape[0] else tile_w
        centres = np.array([(s + size / 2) * scale for s in starts_])
        pixels = np.arange(length * scale) + 0.5
        return np.argmin(np.abs(pixels[:, None] - centres[None, :]), axis=1)

    row_tile, col_tile = nearest(ys, lr.shape[0]), nearest(xs, lr.shape[1])
    hard = np.zeros((lr.shape[0] * scale, lr.shape[1] * scale, 3))
    for i, ti in enumerate(row_tile):
        for j, tj in enumerate(col_tile):
            y, x = ys[ti], xs[tj]
            hard[i, j] = outputs[(y, x)][i - y * scale, j - x * scale]
    # Index c - 1 of np.diff along an axis is the step c - 1 -> c; seams are where the source tile changes.
    return hard, np.nonzero(np.diff(row_tile))[0], np.nonzero(np.diff(col_tile))[0]


def test_small_overlap_blend_leaves_no_seam(lr_crop):
    """With tiles that disagree, the hard stitch has a step (relative to the whole-image output) at each seam;
    the blend turns it into a linear ramp over the middle half of the overlap, i.e. scale * overlap / 2 HR
    columns, so no step anywhere in the blended image exceeds a fraction of the hard seam's step."""
    scale, tile, overlap = 2, 24, 4
    model = global_context_model(scale)
    reference = whole(model, lr_crop).astype("float64")
    blended = predict(model, lr_crop, tile=tile, overlap=overlap)
    hard, row_seams, col_seams = hard_stitch(model, lr_crop, tile, overlap, scale)
    ramp = scale * overlap // 2                          # HR columns the blend spreads a step over
    for axis, seams in ((1, col_seams), (0, row_seams)):
        hard_steps = step_errors(np.swapaxes(hard, 0, axis ^ 1), np.swapaxes(reference, 0, axis ^ 1))
        blended_steps = step_errors(np.swapaxes(blended, 0, axis ^ 1), np.swapaxes(reference, 0, axis ^ 1))
        print(f"axis {axis}: hard seam steps {np.round(hard_steps[seams], 2)}, blended max step "
              f"{blended_steps.max():.2f}, blended max near each seam "
              f"{[round(float(blended_steps[s - ramp:s + ramp + 1].max()), 2) for s in seams]}")
        assert hard_steps[seams].max() > 2.0             # a visible seam without blending
        assert blended_steps.max() < 0.3 * hard_steps[seams].max()
        # Tiles overlap by at least `overlap`: every seam's step is spread over at least the ramp width.
        for seam in seams:
            assert blended_steps[seam - ramp:seam + ramp + 1].max() <= hard_steps[seam] / ramp * 1.02 + 1e-3


def test_small_overlap_on_a_conv_model_stays_close(edsr_models, lr_crop):
    """EDSR tiles at overlap 4 (below 4 * radius = 24) differ from the whole image only near tile borders."""
    model = edsr_models[2]
    reference = whole(model, lr_crop)
    errors = [np.mean(np.abs(predict(model, lr_crop, tile=36, overlap=o) - reference)) for o in (4, 12, 24)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-4


def numpy_dihedral(image, k):
    image = np.rot90(image, k % 4)
    return np.fliplr(image) if k >= 4 else image


def numpy_inverse_dihedral(image, k):
    if k >= 4:
        image = np.fliplr(image)
    return np.rot90(image, -(k % 4))


@pytest.mark.parametrize("tile", [None, 40])
def test_self_ensemble_is_the_mean_of_the_eight_transformed_passes(edsr_models, lr_crop, tile):
    model = edsr_models[3]
    expected = np.mean([numpy_inverse_dihedral(whole(model, np.ascontiguousarray(numpy_dihedral(lr_crop, k))), k)
                        for k in range(8)], axis=0)
    overlap = 4 * receptive_radius(model) if tile else 16
    result = predict(model, lr_crop, tile=tile, overlap=overlap, self_ensemble=True)
    assert result.shape == expected.shape
    assert np.max(np.abs(result - expected)) < 1e-3
    assert np.max(np.abs(result - whole(model, lr_crop))) > 0.1   # the ensemble changes the output


class CountingModel:
    """A thin counter around the real model: records the batch size of every call."""

    def __init__(self, model):
        self.model = model
        self.batches = []

    def __call__(self, batch):
        self.batches.append(int(batch.shape[0]))
        return self.model(batch, training=False)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 7, 100])
def test_batch_size_changes_calls_not_results(edsr_models, lr_crop, batch_size):
    tile, overlap = 24, 8
    counted = CountingModel(edsr_models[2])
    assert infer_scale(counted) == 2
    counted.batches.clear()
    rows, cols = len(starts(LR_HEIGHT, tile, overlap)), len(starts(LR_WIDTH, tile, overlap))
    num_tiles = rows * cols
    result = predict(counted, lr_crop, tile=tile, overlap=overlap, batch_size=batch_size)
    # tiles are batched within each row of tiles (rows are finished one after another)
    assert len(counted.batches) == rows * math.ceil(cols / batch_size)
    assert sum(counted.batches) == num_tiles and max(counted.batches) == min(batch_size, cols)
    reference = predict(edsr_models[2], lr_crop, tile=tile, overlap=overlap, batch_size=1)
    assert np.max(np.abs(result - reference)) < 1e-3


def test_infer_scale_reads_the_metadata_and_probes_other_models(edsr_models, monkeypatch):
    calls = []
    original_call = keras.Model.__call__

    def recording_call(self, *args, **kwargs):
        calls.append(self.name)
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "__call__", recording_call)
    model = edsr_models[4]
    assert model_scale(model) == 4
    assert infer_scale(model) == 4 and calls == []          # the recorded scale: the model is never run
    plain = keras.Model(model.inputs, model.outputs, name="plain_edsr_x4")   # same graph, no metadata
    assert model_scale(plain) is None
    assert infer_scale(plain) == 4 and calls == ["plain_edsr_x4"]           # probed


def test_infer_scale_probe_is_cached_off_the_model(edsr_models):
    counted = CountingModel(edsr_models[4])        # a plain callable: no metadata, so it is probed
    assert infer_scale(counted) == 4 and infer_scale(counted) == 4
    assert counted.batches == [1]                  # once: the answer is remembered ...
    assert set(vars(counted)) == {"model", "batches"}   # ... but nothing is stored on the caller's object
    other = CountingModel(edsr_models[4])
    assert infer_scale(other) == 4 and other.batches == [1]   # another object is probed itself


def test_infer_scale_rejects_non_sr_models():
    gray = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(1, 3, padding="same")])
    with pytest.raises(ValueError, match="RGB"):
        infer_scale(gray)
    with pytest.raises(ValueError, match="integer factor"):
        infer_scale(lambda x: keras.ops.image.resize(x, (12, 12)))


@pytest.mark.parametrize("tile, overlap, match", [
    (16, 16, r"tile \(16\).*overlap \(16\)"),
    (8, 12, r"tile \(8\).*overlap \(12\)"),
    (16, -1, "overlap"),
    (16.0, 4, "tile"),
    (0, 0, "tile"),
    (True, 0, "tile"),
    (32, 2.5, "overlap"),
])
def test_bad_tiling_arguments_raise(edsr_models, lr_crop, tile, overlap, match):
    with pytest.raises(ValueError, match=match):
        predict(edsr_models[2], lr_crop, tile=tile, overlap=overlap)


def test_bad_batch_size_and_input_raise(edsr_models, lr_crop):
    with pytest.raises(ValueError, match="batch_size"):
        predict(edsr_models[2], lr_crop, tile=32, batch_size=0)
    with pytest.raises(ValueError, match=r"\(61, 83\)"):
        predict(edsr_models[2], lr_crop[..., 0])


def test_progress_line(edsr_models, lr_crop, capsys):
    predict(edsr_models[2], lr_crop, tile=24, overlap=8, progress=True)
    err = capsys.readouterr().err
    assert "20/20 tiles" in err and "tiles/s" in err and "ETA" in err
    predict(edsr_models[2], lr_crop, tile=24, overlap=8, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_lines_are_rate_limited_and_quick_jobs_are_silent(edsr_models, lr_crop, capsys):
    import time

    began = time.monotonic()
    predict(edsr_models[2], lr_crop, tile=8, overlap=2, batch_size=1, progress=True)  # 140 tiles, one per call
    seconds = time.monotonic() - began
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith("upscale: 140/140 tiles")
    assert len(lines) <= min(10, int(seconds) + 2), (seconds, lines)
    quick = time.monotonic()
    predict(edsr_models[2], lr_crop, tile=8, overlap=2, batch_size=8)  # automatic: over 16 tiles but quick
    if time.monotonic() - quick < 3:  # silence is promised for jobs under 3 s only
        assert capsys.readouterr().err == ""
