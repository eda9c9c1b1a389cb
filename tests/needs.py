"""What some tests need that a machine may lack, each found once per run, the way mlstack finds it.

Each need is a pytest marker (registered in pyproject.toml):

| marker    | needs                                                                  |
|-----------|------------------------------------------------------------------------|
| `compose` | a Docker Compose >= 2.24, found as `mlstack` finds it (engine.discovery): |
|           | MLSTACK_COMPOSE, the docker CLI plugin, the `compose` extra in this venv, PATH |
| `engine`  | the hermetic test engine (scripts/test-engine start) at DOCKER_HOST    |
| `netns`   | root, nsenter and the engine's network namespace                       |
| `precommit` | pre-commit and git; the hook's environment installs mlstack's dependencies from PyPI |
| `shellcheck` | the shellcheck program on PATH (`apt-get install shellcheck`)       |
| `kubectl` | `kubectl` on PATH (its built-in kustomize checks the k8s render)       |
| `graphviz` | Graphviz's `dot` on PATH (`apt-get install graphviz`): graph's SVG/PNG |
| `swarm`   | the two-node test swarm (scripts/test-swarm start)                     |

A marked test whose need is unmet is skipped with the reason, except under CI=true, where it
fails with it (tests/conftest.py): a skipped proof is no proof.
"""

from __future__ import annotations

import functools
import os
import shutil


def in_ci(environ: dict[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("CI", "").strip().lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=None)
def _compose() -> tuple[tuple[str, ...] | None, str | None]:
    from mlstack.engine.discovery import discover
    from mlstack.errors import MlstackError

    try:
        return discover(dict(os.environ)).argv, None
    except MlstackError as error:
        return None, f"{error.message} ({error.hint})" if error.hint else error.message


def compose_argv() -> tuple[str, ...] | None:
    """The Compose command line the tests run (`docker compose` or a docker-compose binary)."""
    return _compose()[0]


def _engine_reason() -> str | None:
    from tests.integration.engine import skip_reason

    return skip_reason(needs_namespace=False)


def _netns_reason() -> str | None:
    from tests.integration.engine import NETNS, NETNS_PATH

    if os.geteuid() != 0 or not shutil.which("nsenter") or not os.path.exists(NETNS_PATH):
        return f"needs root, nsenter and the {NETNS} network namespace (sudo scripts/test-engine start)"
    return None


def pre_commit_argv() -> list[str] | None:
    """The pre-commit of this environment (the `test` extra installs it), else the one on PATH."""
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "pre-commit"
    found = str(beside) if beside.is_file() else shutil.which("pre-commit")
    return [found] if found else None


def _precommit_reason() -> str | None:
    if pre_commit_argv() is None:
        return "pre-commit is not installed (pip install -e '.[test]')"
    if shutil.which("git") is None:
        return "git is not on PATH"
    return None


def _shellcheck_reason() -> str | None:
    return None if shutil.which("shellcheck") else "no shellcheck on PATH (apt-get install shellcheck)"


def _kubectl_reason() -> str | None:
    return None if shutil.which("kubectl") else "kubectl is not on PATH (apt-get install kubectl, or the Kubernetes release binary)"


def _graphviz_reason() -> str | None:
    return None if shutil.which("dot") else "Graphviz's dot is not on PATH (apt-get install graphviz)"


def _swarm_reason() -> str | None:
    from tests.integration.swarm import skip_reason

    return skip_reason()


CHECKS = {
    "compose": lambda: _compose()[1],
    "precommit": _precommit_reason,
    "engine": _engine_reason,
    "netns": _netns_reason,
    "shellcheck": _shellcheck_reason,
    "kubectl": _kubectl_reason,
    "graphviz": _graphviz_reason,
    "swarm": _swarm_reason,
    "git": lambda: None if shutil.which("git") else "the git program is not on PATH (versioned catalogs run it)",
}


@functools.lru_cache(maxsize=None)
def unmet(need: str) -> str | None:
    """Why `need` is not met here, or None when it is."""
    return CHECKS[need]()
