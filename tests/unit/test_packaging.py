"""What the wheel ships: every package of mlstack/, and the data files inside them."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_is_listed():
    templates = REPO / "mlstack" / "templates"   # build contexts: shipped whole as the package's data
    found = {".".join(path.parent.relative_to(REPO).parts) for path in (REPO / "mlstack").rglob("__init__.py")
             if templates not in path.parents or path.parent == templates}
    assert found <= set(SETUPTOOLS["packages"])


def test_every_data_file_of_a_listed_package_ships():
    """Files that are not Python in a listed package (templates are shipped whole by `**/*`)."""
    missing = []
    for package in SETUPTOOLS["packages"]:
        directory = REPO / SETUPTOOLS.get("package-dir", {}).get(package, package.replace(".", "/"))
        patterns = SETUPTOOLS["package-data"].get(package, [])
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            if path.is_file() and path.suffix not in (".py", ".pyc") and \
                    not any(fnmatch.fnmatch(path.name, pattern.removeprefix("**/")) for pattern in patterns):
                missing.append(str(path.relative_to(REPO)))
    assert missing == []


def test_jsonschema_is_a_test_dependency_only():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(requirement.startswith("jsonschema") for requirement in project["dependencies"])
    assert any(requirement.startswith("jsonschema") for requirement in project["optional-dependencies"]["test"])
