"""Project rules that must hold in every source file: no Lambda layers, no dead or private imports."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("sr_keras", "tests", "tools", "experiments") for p in sorted((ROOT / d).rglob("*.py"))
           if p.resolve() != pathlib.Path(__file__).resolve()]

FORBIDDEN = {
    "Lambda layer": re.compile(r"(^|[^A-Za-z_])Lambda\("),
    "tensorflow-addons": re.compile(r"tensorflow_addons|tfa\."),
    "private TensorFlow import": re.compile(r"tensorflow\.python"),
    "private Keras import": re.compile(r"keras\.src"),
}


def test_sources_exist():
    assert any(p.parts[-2] == "sr_keras" for p in SOURCES)


def test_no_forbidden_constructs():
    problems = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    problems.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_requirements_do_not_name_tensorflow_addons():
    assert "tensorflow-addons" not in (ROOT / "setup.cfg").read_text()
