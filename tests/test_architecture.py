"""docs/ARCHITECTURE.md matches the code: every unit it names exists and imports only the units its row
allows; library code never imports a command-line module, and training never imports MMSR."""
import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sr_keras"
LAUNCHERS = {"sr_keras.train", "sr_keras.evaluate", "sr_keras.upscale", "sr_keras.download_div2k",
             "sr_keras.export.__main__", "sr_keras.mmsr.__main__", "sr_keras.pretrained.__main__",
             "sr_keras.convert.__main__"}


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, package="sr_keras"):
    """Every `package` module `path` imports, at any depth (function-level imports included), also by name
    through `importlib.import_module("...")` or the converter's `optional_import("...")`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                in ("import_module", "optional_import") and node.args and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).split(".")[0] == package):
            found.add(node.args[0].value)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == package)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package:
            if node.module == "sr_keras":
                found.update(f"sr_keras.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return found


def _units():
    """{unit: set of allowed units} from the table of docs/ARCHITECTURE.md."""
    units = {}
    for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`sr_keras[\w.]*`", cells[0]):
            units[cells[0].strip("`")] = set(re.findall(r"`(sr_keras[\w.]*)`", cells[2]))
    return units


def _unit_of(module, units):
    """The most specific unit of the table that contains `module`."""
    candidates = [u for u in units if module == u or module.startswith(u + ".")]
    return max(candidates, key=len)


def _graph():
    return {_module_name(path): (path, _imports(path)) for path in PACKAGE.rglob("*.py")}


def test_every_unit_of_the_table_exists_and_every_module_has_a_unit():
    units = _units()
    assert len(units) >= 15
    for unit in units:
        relative = pathlib.Path(*unit.split("."))
        assert (ROOT / relative).is_dir() or (ROOT / relative).with_suffix(".py").is_file(), unit
    for module in _graph():
        _unit_of(module, units)  # raises if a module belongs to no unit


def test_every_import_is_allowed_by_the_table():
    units = _units()
    for module, (path, imported) in _graph().items():
        own = _unit_of(module, units)
        for target in imported:
            other = _unit_of(target, units)
            assert other == own or other in units[own], f"{path.relative_to(ROOT)} imports {target} ({other})"


def test_only_the_converter_imports_torch():
    importers = {_module_name(path) for path in PACKAGE.rglob("*.py") if _imports(path, "torch")}
    assert importers and all(name.startswith("sr_keras.convert") for name in importers), importers


def test_library_never_imports_a_command_line_module_and_training_never_imports_mmsr():
    for module, (path, imported) in _graph().items():
        if not module.startswith("sr_keras.cli") and module not in LAUNCHERS:
            assert not any(m.startswith("sr_keras.cli") for m in imported), (path, imported)
        if module.startswith("sr_keras.training"):
            assert not any(m.startswith("sr_keras.mmsr") for m in imported), path


def test_each_launcher_only_runs_its_command():
    """`python -m sr_keras.<command>` keeps working through a launcher that imports one module of the wing, only
    when run as a script (importing it does nothing), and holds no code of its own."""
    graph = _graph()
    for module in LAUNCHERS:
        path, imported = graph[module]
        command = module.replace(".__main__", "").rsplit(".", 1)[-1]
        assert imported == {f"sr_keras.cli.{command}"}, (path, imported)
        tree = ast.parse(path.read_text())
        assert [type(node).__name__ for node in tree.body] == ["Expr", "If"], path


def test_no_module_is_longer_than_400_lines():
    lengths = {path.relative_to(ROOT): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert not {path: n for path, n in lengths.items() if n > 400}


def test_the_package_and_its_foundations_import_without_tensorflow():
    """`import sr_keras` is light, and `sr_keras.download` (standard library only) pulls in neither TensorFlow
    nor numpy: a fresh interpreter is the only place where that can be seen."""
    code = ("import sys, sr_keras, sr_keras.download, sr_keras.progress, sr_keras.checks, sr_keras.files\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules)\n"
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "", result.stdout


def test_the_lazy_names_of_the_package_load_their_units():
    import sr_keras

    assert sr_keras.MODELS is sr_keras.models.MODELS
    assert sr_keras.build_model is sr_keras.models.build_model
    assert {"layers", "models", "pretrained", "build_model"} <= set(dir(sr_keras))
    with pytest.raises(AttributeError, match="no attribute 'nothere'"):
        sr_keras.nothere  # noqa: B018


LIGHT_ERRORS = {  # the commands whose flag errors and missing inputs need no TensorFlow: (module, bad inputs)
    "sr_keras.upscale": ["nothere.jpg"],
    "sr_keras.evaluate": ["--model_path=nothere.keras"],
    "sr_keras.convert": ["--input=nothere.pt", "--output=x.keras"],
    "sr_keras.download_div2k": ["--root=nothere", "--check_only"],
    "sr_keras.pretrained": ["download"],  # its usage errors
}


@pytest.mark.parametrize("module", sorted(LIGHT_ERRORS))
def test_light_commands_report_a_flag_typo_and_a_missing_input_without_tensorflow(module, tmp_path):
    """A flag typo and a missing input are one line ("error: ...") and exit 2, before TensorFlow is imported:
    the command's launcher run as `python -m` runs it, in a fresh interpreter."""
    code = ("import runpy, sys\n"
            "sys.argv = sys.argv[1:]\n"
            "try:\n"
            "    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
            "except SystemExit as exit:\n"
            "    print(exit.code, 'tensorflow' in sys.modules)\n")
    cases = [["--nosuchflag"], LIGHT_ERRORS[module]]
    if module == "sr_keras.upscale":  # a file that is not an image, a budget that is not an amount
        (tmp_path / "inputs").mkdir()
        (tmp_path / "inputs" / "notes.png").write_text("not an image\n")
        cases += [["inputs/notes.png"], ["--max_memory=lots", "inputs/notes.png"]]
    for args in cases:
        result = subprocess.run([sys.executable, "-c", code, module, *args], capture_output=True, text=True,
                                timeout=120, cwd=tmp_path)
        assert result.stdout.split() == ["2", "False"], (args, result.stdout, result.stderr[-2000:])
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, result.stderr[-2000:])
    assert [p.name for p in tmp_path.iterdir()] in ([], ["inputs"])  # nothing written
