"""The README tells the truth: its Python example runs and its model table is what the tool prints."""
import pathlib
import re
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_examples_run_on_a_real_photo(tmp_path, monkeypatch, astronaut):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no python example"
    Image.fromarray(astronaut[100:148, 180:244].astype("uint8")).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own examples
    assert namespace["lr"].shape == (16, 48, 48, 3) and namespace["hr"].shape == (16, 192, 192, 3)
    out = np.asarray(Image.open(tmp_path / "photo_x4.png"))
    assert out.shape == (192, 256, 3) and out.dtype == np.uint8
    lr = np.asarray(Image.open(tmp_path / "photo.png"), dtype="float32")[None]
    np.testing.assert_allclose(namespace["restored"].predict(lr, verbose=0), namespace["model"].predict(lr, verbose=0),
                               rtol=1e-5, atol=1e-3)


def test_readme_model_table_matches_tools_model_table():
    printed = subprocess.run([sys.executable, str(ROOT / "tools" / "model_table.py")], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
    assert len(printed) == 12
    for line in printed:
        assert line in README, f"README model table is out of date: {line}"
