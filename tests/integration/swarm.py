"""Where the two-node test swarm is (scripts/test-swarm): two engines, each in a network namespace of its own."""

from __future__ import annotations

import os
import subprocess

PREFIX = os.environ.get("MLSTACK_SWARM_PREFIX", "mlstack-swarm")
NODES = ("a", "b")                     # a: manager, advertises one NVIDIA-GPU generic resource; b: worker
HOSTS = {node: f"unix:///run/{PREFIX}-{node}/docker.sock" for node in NODES}
MANAGER = HOSTS["a"]


def docker(*args: str, host: str = MANAGER, timeout: float = 120, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", "--host", host, *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def skip_reason() -> str | None:
    """None when both nodes answer and form one swarm with two ready nodes."""
    try:
        done = docker("node", "ls", "--format", "{{.Hostname}} {{.Status}}", timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"two-node test swarm not reachable at {MANAGER} (sudo scripts/test-swarm start): {error}"
    ready = [line for line in done.stdout.splitlines() if line.endswith(" Ready")]
    if done.returncode != 0 or len(ready) != 2:
        return f"two-node test swarm not ready at {MANAGER} (sudo scripts/test-swarm start): {done.stderr.strip() or done.stdout.strip()}"
    return None
