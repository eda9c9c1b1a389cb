"""Git command lines as data (for versioned catalogs), run through `engine.compose.run`, the one subprocess call.

Every command works on a bare repository (`--git-dir`), never on a checkout, and runs in a clean
environment: no system or global configuration, no prompt for a password (a URL that needs one fails
at once instead of waiting for an answer), messages in English so failures read the same everywhere.
"""

from __future__ import annotations

from typing import Mapping

from mlstack.engine.compose import Completed, run

GIT = "git"
TIMEOUT_S = 300.0
# passed through from the caller's environment: finding git and ssh, ssh keys, proxies
KEPT_VARIABLES = ("PATH", "HOME", "SSH_AUTH_SOCK", "GIT_SSH_COMMAND", "http_proxy", "https_proxy", "no_proxy",
                  "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
CLEAN = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0",
         "GIT_ASKPASS": "", "SSH_ASKPASS": "", "LC_ALL": "C"}
# Branches and tags, forced: a tag moved upstream shows as moved here (the lock then says so).
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


def clean_environment(env: Mapping[str, str]) -> dict[str, str]:
    return {**{name: env[name] for name in KEPT_VARIABLES if name in env}, **CLEAN}


def init_bare(repository: str) -> list[str]:
    return [GIT, "init", "--quiet", "--bare", repository]


def fetch(repository: str, url: str) -> list[str]:
    return [GIT, "--git-dir", repository, "fetch", "--quiet", "--prune", "--no-tags", url, *REFSPECS]


def resolve(repository: str, rev: str) -> list[str]:
    """The commit a tag, branch or commit id names (tags peeled)."""
    return [GIT, "--git-dir", repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]


def refs(repository: str) -> list[str]:
    """Every branch and tag, one `REF OBJECT [COMMIT]` per line: the last word is the commit (an annotated tag peeled)."""
    return [GIT, "--git-dir", repository, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)",
            "refs/heads", "refs/tags"]


def archive(repository: str, commit: str, output: str) -> list[str]:
    return [GIT, "--git-dir", repository, "archive", "--format=tar", f"--output={output}", commit]


def git(command: list[str], env: Mapping[str, str], check: bool = True) -> Completed:
    return run(command, capture=True, check=check, stdin_closed=True, timeout=TIMEOUT_S, env=clean_environment(env))
