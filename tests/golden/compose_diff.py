"""The differential harness: Docker Compose on the original files vs Compose on mlstack's render.

A case is a directory of numbered compose files (`1.yaml`, `2.yaml`, ...), optionally a `.env`
(read by both sides), `env.json` (extra process environment) and `args.json` (extra Compose
arguments such as `["--profile", "debug"]`). Both sides run with the case directory as the
project directory, so relative paths mean the same thing.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlstack.core.dotenv import read_env_file
from mlstack.core.profiles import enabled_profiles
from mlstack.core.project import ComposeFile, Model, load_project
from mlstack.core.render import Header, dump, to_document
from mlstack.core.validate import check
from mlstack.errors import StackError
from tests import needs

PROJECT = "mlstack-diff"
COMPOSE = needs.compose_argv()  # found as mlstack finds it; None: the compose-marked tests say why
TIMEOUT_S = 60


@dataclass
class Case:
    directory: Path
    files: list[Path]
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, directory: Path) -> "Case":
        directory = directory.resolve()
        files = sorted(directory.glob("[0-9]*.yaml"), key=lambda path: int(path.stem))
        env_path, args_path = directory / "env.json", directory / "args.json"
        env = json.loads(env_path.read_text()) if env_path.is_file() else {}
        args = json.loads(args_path.read_text()) if args_path.is_file() else []
        return cls(directory, files, env, args)


@dataclass
class ComposeRun:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    def document(self) -> dict:
        if self.returncode != 0:
            raise AssertionError(f"docker compose failed ({self.returncode}): {' '.join(self.command)}\n{self.stderr}")
        return json.loads(self.stdout)


def process_env(case: Case) -> dict[str, str]:
    """A clean environment: PATH and HOME only, plus what the case adds."""
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env.update(case.env)
    return env


def run_compose(case: Case, files: list[Path], project_directory: Path | None = None,
                profiles: tuple[str, ...] = ()) -> ComposeRun:
    """The one subprocess call of the suite: `docker compose ... config --format json`."""
    directory = project_directory or case.directory
    command = [*(COMPOSE or ("docker-compose",)), "--project-directory", str(directory)]
    if project_name(case):
        command += ["-p", PROJECT]
    command += list(case.args)
    for profile in profiles:
        command += ["--profile", profile]
    for path in files:
        command += ["-f", str(path)]
    command += ["config", "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, env=process_env(case), timeout=TIMEOUT_S,
                          cwd=directory)
    if done.returncode != 0 and "MarshalJSON" in done.stderr:
        # Compose cannot write some values as JSON (`build.ssh` keys): compare its YAML instead
        command[-1] = "yaml"
        done = subprocess.run(command, capture_output=True, text=True, env=process_env(case), timeout=TIMEOUT_S,
                              cwd=directory)
        if done.returncode == 0:
            done.stdout = json.dumps(_ssh_sorted(yaml.safe_load(done.stdout)))
    return ComposeRun(command, done.returncode, done.stdout, done.stderr)


def _ssh_sorted(document: dict) -> dict:
    """Compose writes `build.ssh` from a Go map, in no fixed order: sorted, the keys compare."""
    for service in (document.get("services") or {}).values():
        build = service.get("build") if isinstance(service, dict) else None
        if isinstance(build, dict) and isinstance(build.get("ssh"), list):
            build["ssh"] = sorted(build["ssh"], key=str)
    return document


def project_name(case: Case) -> str | None:
    """`-p mlstack-diff`, except for a case that tests `name:`: there the files choose the name."""
    if any(re.search(r"(?m)^name\s*:", path.read_text()) for path in case.files):
        return None
    return PROJECT


def interpolation_env(case: Case) -> dict[str, str]:
    """What Compose interpolates with: the case's .env, overridden by the process environment."""
    env: dict[str, str] = {}
    dotenv = case.directory / ".env"
    if dotenv.is_file():
        env.update(read_env_file(dotenv, ".env", None, process_env(case)))
    env.update(process_env(case))
    return env


def compose_profiles(case: Case) -> tuple[str, ...]:
    """The service profiles Compose enables: the case's `--profile` arguments, else COMPOSE_PROFILES."""
    flags = tuple(value for option, value in zip(case.args, case.args[1:]) if option == "--profile")
    return flags or enabled_profiles(interpolation_env(case))


def load(case: Case) -> Model:
    files = [ComposeFile(path, path.name) for path in case.files]
    return load_project(files, interpolation_env(case), case.directory, project_name(case), compose_profiles(case))


def load_and_check(case: Case) -> Model:
    """Loading, then the checks the pipeline runs after it: either may reject the case."""
    model = load(case)
    errors = [diagnostic for diagnostic in check(model.root, "compose", compose_profiles(case))
              if diagnostic.severity == "error"]
    if errors:
        raise StackError(errors[0].message, errors)
    return model


def render(case: Case, out_dir: Path | None = None) -> str:
    """mlstack's pipeline, in process: load and merge the files, render one compose file for out_dir."""
    model = load(case)
    document = to_document(model.root, case.directory, out_dir)
    if "name" not in document:
        document = {"name": PROJECT, **document}
    return dump(document, Header("differential", "", [path.name for path in case.files]))


def compare(case: Case, relocated: bool = False) -> tuple[dict, dict, str]:
    """(expected, actual, rendered text): Compose on the files vs Compose on mlstack's render.

    The render is read with the case directory as the project directory; `relocated`, it is
    written to a directory of its own, its relative paths rebased there, as `mlstack render`
    writes .mlstack/<profile>/compose.yaml (the case's .env goes along: Compose reads it from
    the project directory, and this checks paths, not where .env lives; but not its
    COMPOSE_PROFILES: Compose is given the service profiles mlstack enables as `--profile`, as
    `mlstack up` gives them).
    """
    expected = run_compose(case, case.files).document()
    with tempfile.TemporaryDirectory(prefix=".render-", dir=case.directory if relocated else None) as scratch:
        out_dir = Path(scratch) / "profile" if relocated else None
        rendered = render(case, out_dir)
        where = out_dir or Path(scratch)
        where.mkdir(exist_ok=True)
        (where / "rendered.yaml").write_text(rendered)
        if relocated and (case.directory / ".env").is_file():
            lines = (case.directory / ".env").read_text().splitlines(keepends=True)
            (where / ".env").write_text("".join(line for line in lines if "COMPOSE_PROFILES" not in line))
        actual = run_compose(case, [where / "rendered.yaml"], out_dir, compose_profiles(case)).document()
    return expected, actual, rendered


def explain_mismatch(case: Case, expected: dict, actual: dict, rendered: str) -> str:
    left = json.dumps(expected, indent=2, sort_keys=True).splitlines()
    right = json.dumps(actual, indent=2, sort_keys=True).splitlines()
    diff = "\n".join(difflib.unified_diff(left, right, "compose(files)", "compose(mlstack render)", lineterm=""))
    sources = "\n".join(f"--- {path.name}\n{path.read_text()}" for path in case.files)
    return f"{case.directory.name}: mlstack's render differs from Compose\n{diff}\n\n{sources}\n--- rendered\n{rendered}"
