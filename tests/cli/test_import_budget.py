"""A cold render imports only what it uses: the modules it must not pay for stay out of sys.modules.

A render's cost is mostly imports (docs/benchmarks.md). Each module below costs milliseconds a render to
standard output never needs: `dataclasses` (and `inspect`, ast, dis) where mlstack.records does,
`typing` where every annotation is a string, `hashlib` where no versioned catalog is used,
Typer and click where mlstack/cli/arguments.py reads the options. The check runs the real entry
point (`mlstack.cli.main`, as the installed `mlstack` script does) in a fresh interpreter, cache off.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# module -> why a render to standard output must not import it
NOT_ON_A_RENDER = {
    "dataclasses": "mlstack.records gives the render path's classes their methods",
    "inspect": "imported by dataclasses and typer (ast, dis, tokenize)",
    "typing": "annotations are strings; names used only by a type checker sit under TYPE_CHECKING",
    "hashlib": "only a versioned catalog's fragments are hashed",
    "_hashlib": "OpenSSL's hashes, the bulk of hashlib's import",
    "importlib.metadata": "only a package catalog looks up entry points",
    "typer": "arguments reads a render's options without it",
    "click": "arguments reads a render's options without it",
    "subprocess": "a render runs nothing",
    "tempfile": "a render to standard output writes no file of its own",
    "secrets": "a render generates no secret value",
    "json": "the schemas are read from mlstack/schemas/parsed.py (scripts/gen-schemas); a message imports it",
    "urllib.parse": "pathlib takes only quote_from_bytes from it, for as_uri (cli._import_pathlib_alone)",
    "ipaddress": "a dotted-quad host_ip is read without it (core.fields._dotted_quad)",
}


def imported_by(args: list[str], cwd: Path, code: int = 0, **env: str) -> set[str]:
    """The modules in sys.modules when `mlstack ARGS` exits (its exit code checked: the command got that far)."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
             "from mlstack.cli import main\n"
             f"main({args!r})\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MLSTACK_")}
    environment.update(PYTHONPATH=str(REPO), MLSTACK_CACHE_DIR="off", **env)
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == code, done.stderr
    marker = done.stderr.rindex("MODULES ")
    return set(done.stderr[marker + len("MODULES "):].split())


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_a_render_of_the_default_stack_imports_none_of_the_costly_modules(tmp_path, profile):
    modules = imported_by(["render", "--profile", profile], tmp_path)

    assert "mlstack.core.pipeline" in modules   # the probe saw a real render
    assert {name: why for name, why in NOT_ON_A_RENDER.items() if name in modules} == {}


def test_a_render_with_a_directory_catalog_and_an_image_map_hashes_nothing(tmp_path):
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "cache.yaml").write_text("services:\n  cache:\n    image: redis:7\n")
    (tmp_path / "mlstack.yaml").write_text(
        "name: shop\nfragments: [cache]\ncatalogs: [./team]\nimages:\n  redis:7: mirror.example/redis:7\n")

    modules = imported_by(["render", "--profile", "dev"], tmp_path)

    assert "mlstack.core.catalogs" in modules and "mlstack.core.image_map" in modules
    assert {name: why for name, why in NOT_ON_A_RENDER.items() if name in modules} == {}


def test_help_imports_no_part_of_the_render_pipeline(tmp_path):
    modules = imported_by(["--help"], tmp_path)

    assert "typer" in modules
    assert sorted(name for name in modules if name.startswith(("mlstack.core", "mlstack.lifecycle", "yaml"))) == []


def test_seed_reads_its_line_without_typer_and_defines_no_dataclass(tmp_path):
    """`seed` pays for the engine's client, not for Typer (its line is read as Typer reads it) nor dataclasses."""
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.bin").write_bytes(b"0" * 64)
    (tmp_path / "mlstack.yaml").write_text("name: shop\nfragments: [jupyter]\n"
                                           "volumes:\n  hf-cache:\n    seed: {from: ./weights}\n")

    modules = imported_by(["seed", "--dry-run"], tmp_path, code=3, DOCKER_HOST="unix:///nonexistent/docker.sock")

    assert "mlstack.lifecycle.seeder" in modules   # it got as far as asking the engine
    assert {name for name in ("typer", "click", "dataclasses", "inspect", "decimal", "uuid", "typing") if name in modules} == set()


def test_pathlib_imported_alone_still_makes_uris_and_leaves_urllib_parse_whole():
    """The stand-in pathlib imported against is gone from sys.modules: as_uri and urllib.parse are the real ones."""
    probe = ("import sys\n"
             "from mlstack.cli import _import_pathlib_alone\n"
             "_import_pathlib_alone()\n"
             "import pathlib\n"
             "assert 'urllib.parse' not in sys.modules and 'ipaddress' not in sys.modules, sorted(sys.modules)\n"
             "assert 'nt' not in sys.modules and '_winapi' not in sys.modules   # the None answers are gone\n"
             "assert pathlib.PureWindowsPath('c:/a') / 'b' == pathlib.PureWindowsPath('C:\\\\a\\\\b')\n"
             "print(pathlib.Path('/a b/\u00e9').as_uri())\n"
             "import urllib.parse\n"
             "print(urllib.parse.quote('a b'), urllib.parse.urlsplit('http://h:1/p').port)\n")
    done = subprocess.run([sys.executable, "-c", probe], env=dict(os.environ, PYTHONPATH=str(REPO)),
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["file:///a%20b/%C3%A9", "a%20b 1"]
