"""The README and its docs pages tell the truth: their Python examples run, their commands name real commands and
the commands CI runs, their links resolve, their figures agree, and the model table is what the tool prints."""
import configparser
import importlib.util
import pathlib
import re
import subprocess
import sys

import numpy as np
from PIL import Image

from tests import launch
from tests.conftest import wall_clock_limit

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
PAGES = {name: (DOCS / f"{name}.md").read_text() for name in ("pretrained", "training", "deploy", "benchmarks")}
COMMANDS = ["train", "evaluate", "upscale", "export", "convert", "pretrained", "mmsr", "download_div2k"]


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _section(text, heading):
    """The text under `## heading` up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"no section '## {heading}'"
    return match.group(1)


def _anchor(heading):
    """GitHub's anchor of a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_python_example_runs_on_a_real_photo(tmp_path, monkeypatch, astronaut):
    blocks = _python_blocks(README)
    assert len(blocks) == 1, "the README has one Python example; the others live in docs/"
    Image.fromarray(astronaut[100:148, 180:244].astype("uint8")).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    out = np.asarray(Image.open(tmp_path / "photo_x4.png"))
    assert out.shape == (192, 256, 3) and out.dtype == np.uint8
    lr = np.asarray(Image.open(tmp_path / "photo.png"), dtype="float32")[None]
    expected = namespace["untrained"].predict(lr, verbose=0)
    for loaded in ("restored", "plain"):
        np.testing.assert_allclose(namespace[loaded].predict(lr, verbose=0), expected, rtol=1e-5, atol=1e-3)


def test_training_page_python_examples_run(tmp_path, monkeypatch):
    """docs/training.md's examples (data pipeline, degradations, training and one step from Python), in order."""
    blocks = _python_blocks(PAGES["training"])
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/training.md", "exec"), namespace)  # noqa: S102 - the page's own examples
    assert namespace["lr"].shape == (16, 48, 48, 3) and namespace["hr"].shape == (16, 192, 192, 3)
    assert namespace["summary"]["steps"] == 20
    assert int(namespace["state"]["iterations"]) == 1


def test_every_dotted_name_of_the_readme_and_pages_exists():
    """`sr_keras.a.b` written in the README or a docs page names a module or an attribute that exists."""
    names = set(re.findall(r"\bsr_keras(?:\.\w+)+", "\n".join([README, *PAGES.values()])))
    assert len(names) > 20
    for name in sorted(names):
        parts = name.split(".")
        for count in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:count]))
                break
            except ImportError:
                continue
        for attribute in parts[count:]:
            assert hasattr(found, attribute), f"{name}: no {attribute}"
            found = getattr(found, attribute)


def test_model_table_matches_tools_model_table():
    printed = launch.run([sys.executable, str(ROOT / "tools" / "model_table.py")], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    assert len(printed) == 16
    for line in printed:
        assert line in PAGES["pretrained"], f"docs/pretrained.md's model table is out of date: {line}"


def test_readme_is_short_and_links_resolve():
    """The README and every page under docs/: each relative link names a file that exists, and a heading of it."""
    assert len(README.splitlines()) <= 250
    for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        name = page.relative_to(ROOT)
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"\w+://", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{name}: link to a missing file: {target}"
            if anchor and file.suffix == ".md":
                anchors = {_anchor(heading) for heading in
                           re.findall(r"^#+ (.*)$", file.read_text(), flags=re.M)}
                assert anchor in anchors, f"{name}: link to a missing heading: {target}"
    for page in PAGES:
        assert f"(docs/{page}.md" in README, f"the README does not link docs/{page}.md"


def test_readme_holds_the_commands_ci_runs():
    """.ci/run copies the README's install and test commands; each comment there names the README section."""
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = _section(README, "Install"), _section(README, "Test")
    for command, section in [('pip install ".[test]"', install), ("pip install torch==2.13.0", test),
                             ("plasma-workspace-wallpapers", test),
                             ("python -m pytest -q -n 2 --dist loadfile", test)]:
        assert command in ci, f".ci/run no longer runs {command}"
        assert command in section, f"the README's section does not say {command}"
    assert "# README: install\n" in ci and "# README: test\n" in ci


def test_readme_shows_every_command_and_its_console_script():
    examples = re.findall(r"^python -m sr_keras\.(\w+)", README, flags=re.M)
    assert set(examples) == set(COMMANDS)
    for command in set(examples):
        spec = importlib.util.find_spec(f"sr_keras.{command}")
        assert spec is not None, f"python -m sr_keras.{command}: no such module"
        if spec.submodule_search_locations:  # a package runs its __main__
            assert importlib.util.find_spec(f"sr_keras.{command}.__main__"), f"sr_keras.{command} has no __main__"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts = [line.split("=")[0].strip() for line in
               setup["options.entry_points"]["console_scripts"].strip().splitlines()]
    assert sorted(scripts) == sorted("sr-" + command.replace("_", "-") for command in COMMANDS)
    sentence = re.search(r"console script.*?\n\n", README, flags=re.S).group(0)
    assert re.findall(r"`(sr-[\w-]+)`", sentence) == ["sr-" + c.replace("_", "-") for c in COMMANDS]


def test_readme_figures_in_brief_are_the_linked_pages_figures():
    """Each line of 'Measured, in brief' quotes figures that the page it links to states."""
    bullets = re.split(r"\n- ", _section(README, "Measured, in brief"))[1:]
    assert len(bullets) >= 4
    for bullet in bullets:
        figures = re.findall(r"(?<![\w.-])\d+\.\d+(?:e-\d+)?", bullet)
        pages = [target.split("#")[0] for target in re.findall(r"\]\((docs/[^)#]+)", bullet)]
        text = "\n".join((ROOT / page).read_text() for page in pages)
        for figure in figures:
            assert figure in text, f"'{figure}' of the README is not in {pages}"


def test_readme_main_command_beats_bicubic(tmp_path):
    """The README's install-and-run command, as written, trains and beats MATLAB bicubic on held-out photos."""
    import json
    import os
    import shlex

    line = next(line for line in README.splitlines() if line.startswith("python -m sr_keras.train --model=wdsr_b"))
    command = shlex.split(line)
    assert command[:3] == ["python", "-m", "sr_keras.train"]
    result = subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True,
                            timeout=wall_clock_limit(600), env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert result.returncode == 0, result.stderr[-3000:]
    model_dir = tmp_path / dict(arg.split("=", 1) for arg in command[3:] if "=" in arg)["--model_dir"]
    end = [json.loads(line) for line in (model_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert end["event"] == "end"
    assert end["validation"]["4"]["psnr_y"] > end["bicubic"]["4"]["psnr_y"]
    assert (model_dir / "generator_final_x4.keras").exists()
    assert "| x4 | model |" in result.stderr and "| x4 | bicubic |" in result.stderr
    # the table says what it scored: the three held-out photos, not the benchmark sets its protocol comes from
    assert "protocol benchmark on 3 images (chelsea, coffee, ihc):" in result.stderr
    # TensorFlow's own log lines (a PNG's iCCP profile, tf.data's notes) stay off a command's stderr
    native = [line for line in result.stderr.splitlines() if re.match(r"[IWE]\d{4} \d\d:\d\d", line)]
    assert not native, native
