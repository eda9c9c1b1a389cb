"""A catalog shipped as an installed Python package (docs/catalogs.md): a distribution declares an
`mlstack.catalogs` entry point naming a directory inside its package; mlstack.lock records the
distribution's version and the fragments' hashes.

The distribution is a package directory plus its `.dist-info` on PYTHONPATH: what pip leaves behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, write

API = "x-mlstack: {description: packaged api}\nservices:\n  web: {image: 'registry.team/web:2.0'}\n"


def install(site: Path, version: str, fragments: dict[str, str]) -> None:
    """team-stacks VERSION: package team_stacks with stacks/*.yaml, entry point `team = team_stacks:stacks`."""
    for old in site.glob("team_stacks-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    write(site, {"team_stacks/__init__.py": "",
                 **{f"team_stacks/stacks/{name}": text for name, text in fragments.items()},
                 f"team_stacks-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: team-stacks\nVersion: {version}\n",
                 f"team_stacks-{version}.dist-info/entry_points.txt": "[mlstack.catalogs]\nteam = team_stacks:stacks\n"})


@pytest.fixture
def cli(mlstack, tmp_path):
    site = tmp_path / "site"
    install(site, "0.3.1", {"api.yaml": API})
    write(tmp_path / "app", {"mlstack.yaml": "name: app\ncatalogs:\n  - {package: team}\nfragments: [team/api]\n"})

    def run(*args: str):
        return mlstack(*args, cwd=tmp_path / "app", env={"MLSTACK_CACHE_DIR": str(tmp_path / "cache"),
                                                         "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])})

    run.site = site
    run.app = tmp_path / "app"
    return run


def test_a_package_catalog_is_pinned_by_distribution_version(cli):
    assert cli("render").err.startswith("mlstack.yaml:3:5: catalogs[0]: catalog 'team' is not pinned in mlstack.lock")
    fetched = cli("catalog", "fetch")
    assert (fetched.code, fetched.out) == (0, "team: pinned 0.3.1\n"), fetched.err
    lock = (cli.app / "mlstack.lock").read_text()
    assert "    package: team-stacks\n    version: 0.3.1\n" in lock
    assert re.search(r"      api\.yaml: sha256:[0-9a-f]{64}\n", lock)
    rendered = cli("render")
    assert rendered.code == 0, rendered.err
    assert "image: registry.team/web:2.0" in rendered.out
    assert "* api       packaged api  [team team-stacks 0.3.1] (shadows built-in)" in cli("services").out


def test_another_installed_version_is_refused_until_updated(cli):
    assert cli("catalog", "fetch").code == 0
    install(cli.site, "0.4.0", {"api.yaml": API.replace("2.0", "2.1"), "worker.yaml": "services:\n  worker: {image: w:1}\n"})
    refused = cli("render")
    assert refused.code == 8
    assert refused.err.splitlines()[0] == (
        "mlstack.yaml:3:5: catalogs[0]: catalog 'team': team-stacks 0.4.0 is installed, mlstack.lock pins team-stacks "
        "0.3.1: install that version, or run `mlstack catalog update team`")
    updated = cli("catalog", "update", "team")
    assert updated.out == "team: 0.3.1 -> 0.4.0\n  changed: api.yaml\n  added: worker.yaml\n", updated.err
    assert "image: registry.team/web:2.1" in cli("render").out


def test_a_package_whose_files_changed_under_the_same_version(cli):
    assert cli("catalog", "fetch").code == 0
    write(cli.site, {"team_stacks/stacks/api.yaml": API.replace("2.0", "2.0-patched")})
    rendered = cli("render")
    assert rendered.code == 8 and "fragment api.yaml of catalog team team-stacks 0.3.1 does not match" in rendered.err
    fetched = cli("catalog", "fetch")
    assert fetched.code == 8
    assert "the installed team-stacks 0.3.1 does not match mlstack.lock (api.yaml differs)" in fetched.err


def test_an_entry_point_no_package_declares(cli):
    write(cli.app, {"mlstack.yaml": "name: app\ncatalogs: [{package: other}]\nfragments: [redis]\n"})
    run = cli("catalog", "fetch")
    assert run.code == 8
    assert run.err.splitlines()[0] == ("mlstack.yaml:2:12: catalogs[0]: no installed package declares the "
                                       "mlstack.catalogs entry point 'other'")
