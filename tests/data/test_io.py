import numpy as np
import pytest
from PIL import Image

from sr_keras.data import io


def test_read_image_converts_gray_rgba_and_16_bit(tmp_path, photos):
    rgb = photos["chelsea"][:40, :50]
    Image.fromarray(rgb).convert("L").save(tmp_path / "gray.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgba.png")
    gray16 = (np.asarray(Image.fromarray(rgb).convert("L"), dtype="uint16") * 257)
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    gray = io.read_image(tmp_path / "gray.png")
    assert gray.shape == (40, 50, 3) and gray.dtype == np.uint8
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    with pytest.warns(UserWarning, match="alpha channel dropped"):
        np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.png"), rgb)
    np.testing.assert_array_equal(io.read_image(tmp_path / "gray16.png"), gray)


def test_tf_decoder_follows_the_same_contract(tmp_path, photos):
    rgb = photos["coffee"][:31, :45]
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgb).save(tmp_path / "lossless.webp", lossless=True)
    Image.fromarray(rgb).save(tmp_path / "plain.bmp")
    for name in ("rgba.png", "lossless.webp", "plain.bmp"):
        decoded = io.load_image(str(tmp_path / name)).numpy()
        assert decoded.shape == (31, 45, 3)
        np.testing.assert_array_equal(decoded, rgb.astype("float32"))


def test_read_image_names_the_bad_file(tmp_path):
    (tmp_path / "notes.png").write_text("this is not an image")
    with pytest.raises(io.ImageReadError, match="notes.png"):
        io.read_image(tmp_path / "notes.png")
    with pytest.raises(io.ImageReadError, match="image file not found: .*missing.png"):
        io.read_image(tmp_path / "missing.png")


def test_truncated_file_is_caught_by_full_inspection(tmp_path, photos):
    Image.fromarray(photos["rocket"]).save(tmp_path / "rocket.jpg", quality=90)
    data = (tmp_path / "rocket.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(io.ImageReadError, match="cut.jpg"):
        io.inspect_images([tmp_path / "rocket.jpg", tmp_path / "cut.jpg"])
    with pytest.warns(UserWarning, match="skipped: cannot read image .*cut.jpg"):
        infos = io.inspect_images([tmp_path / "rocket.jpg", tmp_path / "cut.jpg"], skip_bad=True)
    assert [(i.height, i.width) for i in infos] == [(427, 640)]


def test_list_images_errors_name_the_directory(tmp_path):
    with pytest.raises(io.DataError, match="directory not found: .*nowhere"):
        io.list_images(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(io.DataError, match="no image files .* in .*empty"):
        io.list_images(tmp_path / "empty")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(io.DataError, match="not a directory"):
        io.list_images(tmp_path / "file.png")


def test_list_images_is_recursive_sorted_and_case_insensitive(tmp_path, photos):
    (tmp_path / "b").mkdir()
    for path in ("z.PNG", "a.jpeg", "b/c.webp", "b/d.bmp", "b/skip.txt"):
        target = tmp_path / path
        if path.endswith(".txt"):
            target.write_text("x")
        else:
            Image.fromarray(photos["astronaut"][:8, :8]).save(target, format={"PNG": "png", "jpeg": "jpeg",
                                                                              "webp": "webp", "bmp": "bmp"}[
                path.rsplit(".", 1)[1]])
    names = [p[len(str(tmp_path)) + 1:] for p in io.list_images(tmp_path)]
    assert names == ["a.jpeg", "b/c.webp", "b/d.bmp", "z.PNG"]
    assert len(io.list_images(tmp_path, recursive=False)) == 2
