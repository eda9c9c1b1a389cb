"""Where the hermetic test engine is (scripts/test-engine), and why a module must skip without it."""

from __future__ import annotations

import os
import shutil

NETNS = os.environ.get("MLSTACK_TEST_NETNS", "mlstack-ci")
NETNS_PATH = f"/var/run/netns/{NETNS}"
DATA_ROOT = os.environ.get("MLSTACK_TEST_ROOT", "/var/lib/mlstack-ci")
DOCKER_HOST = f"unix:///run/{NETNS}/docker.sock"


def skip_reason(needs_namespace: bool = False) -> str | None:
    """None when the hermetic engine answers at DOCKER_HOST (and its namespace is usable, if asked)."""
    if needs_namespace and (os.geteuid() != 0 or not shutil.which("nsenter") or not os.path.exists(NETNS_PATH)):
        return f"needs root, nsenter and the {NETNS} network namespace (sudo scripts/test-engine start)"
    try:
        from mlstack.engine.api import connect

        root = connect(DOCKER_HOST, 10).info().get("DockerRootDir")
    except Exception as error:  # noqa: BLE001 - any failure means: no engine
        return f"hermetic Docker engine not reachable at {DOCKER_HOST} (sudo scripts/test-engine start): {error}"
    if root != DATA_ROOT:
        return f"{DOCKER_HOST} is not the hermetic test engine (data root {root!r}, expected {DATA_ROOT!r})"
    return None
