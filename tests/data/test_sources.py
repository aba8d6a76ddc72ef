import dataclasses
import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sr_keras.data import (DataError, ImageReadError, div2k, div2k_tfds, embedded_photos, evaluation_set, hr_folder,
                           imresize, paired_folders, photo_paths)


def _save(array, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, dtype="uint8")).save(path)


def _lr_of(hr, scale):
    lr = imresize(tf.constant(hr, tf.float32), scale=1.0 / scale).numpy()
    return np.clip(np.round(lr), 0, 255).astype("uint8")


@pytest.fixture
def div2k_tree(tmp_path, photos):
    """A DIV2K-layout tree (train 0001-0004, valid 0801-0802) made from crops of real photos."""
    crops = [photos["astronaut"][0:120, 0:96], photos["chelsea"][10:130, 20:116], photos["coffee"][50:170, 100:196],
             photos["rocket"][100:220, 300:396], photos["astronaut"][200:320, 300:396],
             photos["coffee"][200:320, 300:396]]
    names = {"train": ["0001", "0002", "0003", "0004"], "valid": ["0801", "0802"]}
    index = 0
    for split, stems in names.items():
        for stem in stems:
            hr = crops[index]
            index += 1
            _save(hr, tmp_path / f"DIV2K_{split}_HR" / f"{stem}.png")
            for scale in (2, 4):
                _save(_lr_of(hr, scale), tmp_path / f"DIV2K_{split}_LR_bicubic" / f"X{scale}" / f"{stem}x{scale}.png")
            _save(_lr_of(hr, 4), tmp_path / f"DIV2K_{split}_LR_mild" / f"{stem}x4m.png")
    return tmp_path


def _first(dataset):
    return next(iter(dataset))


def test_div2k_archive_layout_pairs_by_name(div2k_tree, photos):
    train = div2k(div2k_tree, split="train", track="bicubic", scale=4)
    assert len(train) == 4 and train.name == "div2k_train_bicubic_x4"
    assert [os.path.basename(p) for p in train.lr_paths] == ["0001x4.png", "0002x4.png", "0003x4.png", "0004x4.png"]
    assert train.lr_sizes == ((30, 24),) * 4
    item = _first(train.images())
    assert item["lr"].shape == (30, 24, 3) and item["hr"].shape == (120, 96, 3)
    np.testing.assert_array_equal(item["hr"].numpy(), photos["astronaut"][0:120, 0:96].astype("float32"))
    valid = div2k(div2k_tree, split="valid", track="mild", scale=4)
    assert [os.path.basename(p) for p in valid.lr_paths] == ["0801x4m.png", "0802x4m.png"]
    assert len(div2k(div2k_tree, split="valid", track="bicubic", scale=2)) == 2


def test_div2k_errors_name_what_is_missing(div2k_tree):
    with pytest.raises(DataError, match=r"DIV2K folder not found: .*DIV2K_train_LR_bicubic/X3.*"
                                        r"python -m sr_keras\.download_div2k --root"):
        div2k(div2k_tree, split="train", track="bicubic", scale=3)
    with pytest.raises(ValueError, match="DIV2K track 'mild' does not support scale 2; supported scales: 4"):
        div2k(div2k_tree, track="mild", scale=2)
    with pytest.raises(ValueError, match="split must be one of"):
        div2k(div2k_tree, split="test")


def test_tfds_div2k_runs_when_prepared_and_explains_when_not(tmp_path):
    with pytest.raises(DataError, match="div2k/bicubic_x4 is not prepared"):
        div2k_tfds("bicubic_x4", data_dir=str(tmp_path))
    try:
        source = div2k_tfds("bicubic_x4", split="validation")
    except DataError as error:
        pytest.skip(f"no prepared tensorflow-datasets div2k on this machine: {error}")
    item = _first(source.images())
    assert item["hr"].shape[0] == item["lr"].shape[0] * 4


def test_hr_folder_makes_matlab_lr_after_modcrop(tmp_path, photos):
    hr = photos["chelsea"][:101, :75]
    _save(hr, tmp_path / "hr" / "sub" / "cat.png")
    source = hr_folder(tmp_path / "hr", scale=4)
    assert source.lr_sizes == ((25, 18),)
    item = _first(source.images())
    cropped = hr[:100, :72].astype("float32")
    np.testing.assert_array_equal(item["hr"].numpy(), cropped)
    reference = imresize(cropped, scale=0.25).numpy()
    # MATLAB's imresize on uint8 returns uint8: saturate, round half away from zero
    matlab_uint8 = np.floor(np.clip(reference, 0, 255) + 0.5)
    near_half = np.abs(np.clip(reference, 0, 255) % 1 - 0.5) < 1e-3  # float error may round either way there
    lr = item["lr"].numpy()
    np.testing.assert_array_equal(lr[~near_half], matlab_uint8[~near_half])
    assert np.abs(lr - matlab_uint8).max() <= 1
    floats = _first(dataclasses.replace(source, quantize_lr=False).images())["lr"].numpy()
    np.testing.assert_allclose(floats, reference, atol=1e-4)  # the documented switch keeps MATLAB's floats


def test_paired_folders_same_names_and_scale_errors(tmp_path, photos):
    hr = photos["coffee"][:64, :80]
    _save(hr, tmp_path / "hr" / "cup.png")
    _save(_lr_of(hr, 2), tmp_path / "lr2" / "cup.png")
    _save(_lr_of(hr, 4), tmp_path / "lr4" / "cupx4.png")
    assert paired_folders(tmp_path / "lr2", tmp_path / "hr", scale=2).lr_sizes == ((32, 40),)
    with pytest.raises(DataError, match="no LR file for scale 3 in .*lr4.*scale\\(s\\) 4"):
        paired_folders(tmp_path / "lr4", tmp_path / "hr", scale=3)
    with pytest.raises(DataError, match="size mismatch at scale 4"):
        paired_folders(tmp_path / "lr2", tmp_path / "hr", scale=4)
    _save(hr, tmp_path / "hr" / "extra.png")
    with pytest.raises(DataError, match="1 HR file\\(s\\) .* no LR partner .*extra.png"):
        paired_folders(tmp_path / "lr4", tmp_path / "hr", scale=4)
    with pytest.warns(UserWarning, match="left out"):
        assert len(paired_folders(tmp_path / "lr4", tmp_path / "hr", scale=4, skip_bad=True)) == 1


def test_corrupt_file_raises_or_is_skipped_on_request(tmp_path, photos):
    _save(photos["rocket"][:64, :64], tmp_path / "hr" / "good.png")
    (tmp_path / "hr" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ImageReadError, match="broken.png"):
        hr_folder(tmp_path / "hr", scale=2)
    with pytest.warns(UserWarning, match="broken.png"):
        source = hr_folder(tmp_path / "hr", scale=2, skip_bad=True)
    assert [os.path.basename(p) for p in source.hr_paths] == ["good.png"]


def test_grayscale_rgba_and_16_bit_files_enter_as_rgb(tmp_path, photos):
    rgb = photos["astronaut"][:48, :48]
    _save(rgb, tmp_path / "hr" / "a_rgb.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "hr" / "b_rgba.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "hr" / "c_gray.png")
    gray16 = np.asarray(Image.fromarray(rgb).convert("L"), dtype="uint16") * 257
    Image.fromarray(gray16).save(tmp_path / "hr" / "d_gray16.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source = hr_folder(tmp_path / "hr", scale=2)
    alpha_warnings = [w for w in caught if "alpha channel" in str(w.message)]
    assert len(alpha_warnings) == 1 and "b_rgba.png" in str(alpha_warnings[0].message)
    images = [item["hr"].numpy() for item in source.images()]
    assert all(image.shape == (48, 48, 3) for image in images)
    np.testing.assert_array_equal(images[0], images[1])  # alpha dropped
    np.testing.assert_array_equal(images[2], images[3])  # 16-bit gray == 8-bit gray


def test_evaluation_set_reads_benchmark_layout_or_plain_folder(tmp_path, photos):
    hr = photos["chelsea"][:60, :90]
    _save(hr, tmp_path / "Set1" / "HR" / "cat.png")
    _save(_lr_of(hr, 3), tmp_path / "Set1" / "LR_bicubic" / "X3" / "catx3.png")
    assert evaluation_set(tmp_path / "Set1", scale=3).lr_paths is not None
    plain = evaluation_set(tmp_path / "Set1" / "HR", scale=3)
    assert plain.lr_paths is None and plain.lr_sizes == ((20, 30),)


def test_embedded_photos_are_real_and_split():
    train, valid = photo_paths("train"), photo_paths("valid")
    assert len(train) == 6 and len(valid) == 3 and not set(train) & set(valid)
    source = embedded_photos("valid", scale=4)
    item = _first(source.images())
    assert item["hr"].shape == (300, 448, 3) and item["lr"].shape == (75, 112, 3)
    assert float(tf.math.reduce_std(item["hr"])) > 20  # a photo, not a flat image
    with pytest.raises(ValueError, match="split must be one of"):
        photo_paths("test")
