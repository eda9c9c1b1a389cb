"""The documentation site: generated references kept current, every page in the navigation, and
`mkdocs build --strict` clean (offline: the built-in theme, nothing fetched)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def generator():
    """scripts/gen-docs as a module (it has no .py suffix: it is run as a command)."""
    loader = importlib.machinery.SourceFileLoader("gen_docs", str(ROOT / "scripts" / "gen-docs"))
    spec = importlib.util.spec_from_loader("gen_docs", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# --- generated references ------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["docs/reference/stack-definition.md", "docs/reference/cli.md"])
def test_the_committed_reference_is_what_the_generator_writes(page):
    committed = (ROOT / page).read_text(encoding="utf-8")
    assert committed == generator().pages()[page], f"{page} is stale: run scripts/gen-docs"


def schema_paths(node: dict, schema: dict, path: str = ""):
    """Every key path of the schema, written as the reference writes it."""
    node = generator().resolve(node, schema)
    for name, child in node.get("properties", {}).items():
        yield f"{path}.{name}" if path else name
        yield from schema_paths(child, schema, f"{path}.{name}" if path else name)


def test_the_stack_definition_reference_has_every_key_with_its_type_enum_and_description():
    schema = json.loads((ROOT / "mlstack" / "schemas" / "mlstack.schema.json").read_text())
    page = generator().stack_definition_reference()
    rows = {line.split(" | ")[0].strip("| `"): line for line in page.splitlines() if line.startswith("| `")}
    for name in schema["properties"]:
        assert f"\n## `{name}`\n" in page
    for path in [p for p in schema_paths(schema, schema) if "<" not in p]:
        assert path in rows, path
    assert rows["name"] == ("| `name` | string |  | **required**; matches `^[a-z0-9][a-z0-9_-]*$` "
                            "| Stack name; the Compose project is <name>-<profile>. |")
    assert "one of `auto`, `bind`, `archive`" in rows["seeding.method"]
    assert rows["volumes.<volume>.seed"].startswith(
        "| `volumes.<volume>.seed` | object |  | exactly one of: `from` without `image`, or `image` and `path` without "
        "`from`; no other keys |")
    assert "`profiles.<profile>.lint.severity.<MLSNNN>`" in rows["profiles.<profile>.lint.severity.<MLSNNN>"]


def test_a_new_schema_key_shows_up_in_the_reference(tmp_path, monkeypatch):
    schema = json.loads((ROOT / "mlstack" / "schemas" / "mlstack.schema.json").read_text())
    schema["properties"]["registry"] = {"type": "string", "default": "docker.io", "enum": ["docker.io", "ghcr.io"],
                                        "description": "Where images come from."}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    module = generator()
    monkeypatch.setattr(module, "SCHEMA", tmp_path / "schema.json")
    assert ("| `registry` | string | `\"docker.io\"` | one of `docker.io`, `ghcr.io` | Where images come from. |"
            in module.stack_definition_reference())


def test_the_cli_reference_has_every_command_argument_option_and_default():
    import click
    import typer.main

    from mlstack.cli.typer_app import app

    page = generator().cli_reference()
    group = typer.main.get_command(app)
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        section = page.split(f"\n## `mlstack {name}`\n", 1)[1].split("\n## ", 1)[0]
        assert (command.help or "").strip() in section, name
        for parameter in command.params:
            if parameter.param_type_name == "argument":
                assert f"| `{parameter.human_readable_name}` |" in section, (name, parameter.name)
            elif not parameter.hidden:
                assert all(f"`{opt}`" in section for opt in parameter.opts), (name, parameter.opts)
    render = page.split("\n## `mlstack render`\n", 1)[1].split("\n## ", 1)[0]
    assert ("| `--target`, `-t` | `compose` \\| `swarm` \\| `k8s` | `compose` |  | compose (docker compose), swarm "
            "(docker stack deploy) or k8s (kubectl apply -k). |") in render
    explain = page.split("\n## `mlstack explain`\n", 1)[1].split("\n## ", 1)[0]
    assert "| `TARGET` | yes | no | SERVICE or SERVICE.dotted.path, e.g. jupyter.shm_size or mlflow.ports[0]. |" in explain


def test_a_command_registered_later_is_in_the_cli_reference_with_its_environment_variable():
    """Commands from MORE_COMMANDS modules are registered at import time: the reference reads the app as it is."""
    import typer

    from mlstack.cli.typer_app import app

    def hello(name: str = typer.Argument(..., help="Whom to greet."),
              shout: bool = typer.Option(False, "--shout", envvar="MLSTACK_SHOUT", help="Louder.")) -> None:
        """Say hello."""

    app.command("hello")(hello)
    try:
        page = generator().cli_reference()
    finally:
        app.registered_commands.pop()
    section = page.split("\n## `mlstack hello`\n", 1)[1]
    assert section.startswith("\nSay hello.\n\n```\nmlstack hello [OPTIONS] NAME\n```\n")
    assert "| `NAME` | yes | no | Whom to greet. |" in section
    assert "| `--shout` | flag |  | `MLSTACK_SHOUT` | Louder. |" in section
    assert "| [`hello`](#mlstack-hello) | Say hello. |" in page


# --- the site ------------------------------------------------------------------------------------

def nav_pages(entries) -> list[str]:
    pages = []
    for entry in entries:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_is_in_the_navigation_and_every_entry_exists():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_pages(config["nav"])
    present = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(listed) == present
    assert len(listed) == len(set(listed))


def test_the_readme_documentation_list_links_existing_pages():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Documentation\n", 1)[1].split("\n## ", 1)[0]
    links = re.findall(r"\]\(([^)#]+)", section)
    assert links and all((ROOT / link).is_file() for link in links), links
    assert "docs/quickstart.md" in links and "docs/reference/cli.md" in links


def test_mkdocs_builds_the_site_strictly_and_offline(tmp_path):
    pytest.importorskip("mkdocs", reason="pip install '.[test]' (mkdocs is in the test extra)")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    for page in ("index.html", "quickstart/index.html", "reference/cli/index.html",
                 "reference/stack-definition/index.html", "recipes/ci/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    assert 'id="mlstack-render"' in cli      # the command table's links land
